-- Release lifecycles (each version of its template kept) and releases.
CREATE TABLE release_lifecycles (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL,
    project_id      uuid,
    path            text NOT NULL UNIQUE,
    name            text NOT NULL,
    version         int  NOT NULL,
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX release_lifecycles_scope ON release_lifecycles (organization_id, project_id, name);

CREATE TABLE release_lifecycle_versions (
    lifecycle_id uuid NOT NULL,
    version      int  NOT NULL,
    object_key   text NOT NULL,
    sha256       text NOT NULL,
    size         bigint NOT NULL,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (lifecycle_id, version)
);

CREATE TABLE releases (
    id                   uuid PRIMARY KEY,
    project_id           uuid NOT NULL,
    lifecycle_id         uuid NOT NULL,
    lifecycle_version    int  NOT NULL,
    semantic_version     text NOT NULL,
    pipeline_id          uuid NOT NULL UNIQUE,
    deployment_templates jsonb NOT NULL,
    variables            jsonb NOT NULL,
    due_date             timestamptz,
    notes                text NOT NULL,
    pre_release          boolean NOT NULL,
    created_by           text NOT NULL,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    UNIQUE (project_id, semantic_version)
);
CREATE INDEX releases_project ON releases (project_id, created_at DESC);
