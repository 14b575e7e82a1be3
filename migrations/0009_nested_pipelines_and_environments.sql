-- Nested and deployment pipelines (issue 8): a pipeline's type, the node
-- that started it, its environment; a node's child pipeline; a project's
-- environments.
ALTER TABLE pipelines ADD COLUMN pipeline_type text NOT NULL DEFAULT 'RUNBOOK';
ALTER TABLE pipelines ADD COLUMN parent_pipeline_id uuid;
ALTER TABLE pipelines ADD COLUMN parent_node_path text;
ALTER TABLE pipelines ADD COLUMN environment_name text;
CREATE INDEX pipelines_environment ON pipelines (project_id, environment_name, created_at)
    WHERE environment_name IS NOT NULL;

ALTER TABLE pipeline_nodes ADD COLUMN child_pipeline_id uuid;

CREATE TABLE environments (
    id          uuid PRIMARY KEY,
    project_id  uuid NOT NULL,
    name        text NOT NULL,
    description text NOT NULL,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL,
    UNIQUE (project_id, name)
);
