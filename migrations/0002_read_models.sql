-- Read models: written only by projectors, in the transaction that moves
-- their checkpoint; rebuilt from the log by deleting them and the checkpoint.

CREATE TABLE organizations (
    id          uuid PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    description text NOT NULL,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL
);

CREATE TABLE projects (
    id                uuid PRIMARY KEY,
    organization_id   uuid NOT NULL,
    organization_name text NOT NULL,
    name              text NOT NULL,
    description       text NOT NULL,
    created_by        text NOT NULL,
    created_at        timestamptz NOT NULL,
    UNIQUE (organization_id, name)
);

CREATE TABLE pipeline_templates (
    id          uuid PRIMARY KEY,
    project_id  uuid NOT NULL,
    name        text NOT NULL,
    object_key  text NOT NULL,
    sha256      text NOT NULL,
    size        bigint NOT NULL,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL
);
CREATE INDEX pipeline_templates_project ON pipeline_templates (project_id, created_at);

CREATE TABLE pipelines (
    id           uuid PRIMARY KEY,
    project_id   uuid NOT NULL,
    template_id  uuid NOT NULL,
    status       text NOT NULL,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL,
    started_at   timestamptz,
    finished_at  timestamptz,
    reason       text
);
CREATE INDEX pipelines_project ON pipelines (project_id, created_at);

CREATE TABLE pipeline_stages (
    pipeline_id uuid NOT NULL,
    name        text NOT NULL,
    position    int  NOT NULL,
    status      text NOT NULL,
    PRIMARY KEY (pipeline_id, name)
);

CREATE TABLE pipeline_nodes (
    pipeline_id  uuid NOT NULL,
    path         text NOT NULL,
    stage        text NOT NULL,
    section      text NOT NULL,
    kind         text NOT NULL,
    name         text NOT NULL,
    position     int  NOT NULL,
    dependencies text[] NOT NULL,
    status       text NOT NULL,
    job_id       uuid,
    reason       text,
    outputs      jsonb NOT NULL DEFAULT '{}',
    started_at   timestamptz,
    finished_at  timestamptz,
    PRIMARY KEY (pipeline_id, path)
);

CREATE TABLE agents (
    id          uuid PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    internal    boolean NOT NULL,
    tags        text[] NOT NULL DEFAULT '{}',
    session_id  uuid,
    created_at  timestamptz NOT NULL,
    last_session_at timestamptz
);

CREATE TABLE jobs (
    id          uuid PRIMARY KEY,
    pipeline_id uuid NOT NULL,
    project_id  uuid NOT NULL,
    node_path   text NOT NULL,
    status      text NOT NULL,
    tags        text[] NOT NULL,
    agent_id    uuid,
    message     text,
    outputs     jsonb NOT NULL DEFAULT '{}',
    queued_at   timestamptz NOT NULL,
    claimed_at  timestamptz,
    started_at  timestamptz,
    finished_at timestamptz
);
CREATE INDEX jobs_pipeline ON jobs (pipeline_id);
CREATE INDEX jobs_queued ON jobs (queued_at) WHERE status = 'QUEUED';

-- Which log events belong to a pipeline's history (its own and its jobs'),
-- so a pipeline's events can be listed and followed by cursor.
CREATE TABLE pipeline_event_index (
    pipeline_id     uuid   NOT NULL,
    tx_id           xid8   NOT NULL,
    global_position bigint NOT NULL,
    PRIMARY KEY (pipeline_id, tx_id, global_position)
);

-- Job logs. Not events: log text is output, not a state change. Chunks are
-- keyed by byte offset, so a chunk sent twice is stored once.
CREATE TABLE job_log_chunks (
    job_id     uuid   NOT NULL,
    byte_offset bigint NOT NULL,
    data       bytea  NOT NULL,
    written_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, byte_offset)
);
