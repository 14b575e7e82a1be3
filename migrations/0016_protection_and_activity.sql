-- Environment protection rules, the environment a deployment node deploys
-- into, the release a pipeline belongs to, release participants, and the
-- activity feed.

-- {"principals": [Member], "roles": [role]}; NULL: unprotected.
ALTER TABLE environments ADD COLUMN protection jsonb;

-- The environment of a node that deploys (a deployment pipeline node or a
-- lifecycle deployment); NULL for every other node.
ALTER TABLE pipeline_nodes ADD COLUMN environment_name text;

-- The release a pipeline belongs to: its lifecycle pipeline and every
-- pipeline below it.
ALTER TABLE pipelines ADD COLUMN release_id uuid;
CREATE INDEX pipelines_release ON pipelines (release_id) WHERE release_id IS NOT NULL;

-- [Member]: who takes part in a release.
ALTER TABLE releases ADD COLUMN participants jsonb NOT NULL DEFAULT '[]';

-- Who did what to which resource, one row per event that is an action,
-- keyed by the event's place in the log (so a row is written once).
CREATE TABLE activity (
    tx_id           xid8        NOT NULL,
    global_position bigint      NOT NULL,
    at              timestamptz NOT NULL,
    actor           text        NOT NULL,
    action          text        NOT NULL,
    resource_type   text        NOT NULL,
    resource_id     text        NOT NULL,
    -- A node's path, an environment's name: what in the resource.
    subject         text,
    organization_id uuid        NOT NULL,
    project_id      uuid,
    release_id      uuid,
    details         jsonb       NOT NULL DEFAULT '{}',
    PRIMARY KEY (tx_id, global_position)
);
CREATE INDEX activity_organization ON activity (organization_id, tx_id DESC, global_position DESC);
CREATE INDEX activity_project ON activity (project_id, tx_id DESC, global_position DESC) WHERE project_id IS NOT NULL;
CREATE INDEX activity_release ON activity (release_id, tx_id DESC, global_position DESC) WHERE release_id IS NOT NULL;
