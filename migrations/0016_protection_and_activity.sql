-- Environment protection rules, the environment a deployment node deploys
-- into, the release a pipeline belongs to, release participants, and the
-- activity feed.

-- {"principals": [Member], "roles": [role]}; NULL: unprotected.
ALTER TABLE environments ADD COLUMN protection jsonb;

-- The environment of a node that deploys (a deployment pipeline node or a
-- lifecycle deployment); NULL for every other node. Filled in for the rows
-- already there: a lifecycle deployment is named after its environment,
-- and a deployment node that has started has its child's.
ALTER TABLE pipeline_nodes ADD COLUMN environment_name text;
UPDATE pipeline_nodes SET environment_name = name WHERE kind = 'deployment';
UPDATE pipeline_nodes n SET environment_name = c.environment_name
  FROM pipelines c
 WHERE c.id = n.child_pipeline_id AND c.pipeline_type = 'DEPLOYMENT' AND n.environment_name IS NULL;

-- The release a pipeline belongs to: its lifecycle pipeline and every
-- pipeline below it. A pipeline nested in a deployment pipeline runs in
-- its environment: `environment_name` is handed down too (the projector
-- does the same for new pipelines).
ALTER TABLE pipelines ADD COLUMN release_id uuid;
WITH RECURSIVE tree (id, release_id, environment_name) AS (
    SELECT p.id, r.id, p.environment_name
      FROM pipelines p LEFT JOIN releases r ON r.pipeline_id = p.id
     WHERE p.parent_pipeline_id IS NULL
    UNION ALL
    SELECT c.id, t.release_id, COALESCE(c.environment_name, t.environment_name)
      FROM pipelines c JOIN tree t ON c.parent_pipeline_id = t.id
)
UPDATE pipelines p SET release_id = t.release_id, environment_name = t.environment_name
  FROM tree t WHERE t.id = p.id;
CREATE INDEX pipelines_release ON pipelines (release_id) WHERE release_id IS NOT NULL;
-- A release's pipelines were shown as created by the policy that made
-- them: they are its creator's.
UPDATE pipelines p SET created_by = r.created_by FROM releases r WHERE p.release_id = r.id;

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
