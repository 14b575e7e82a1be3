-- Service accounts (issue 9): machine principals with OIDC trust policies.
CREATE TABLE service_accounts (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL,
    project_id      uuid,
    path            text NOT NULL UNIQUE,
    name            text NOT NULL,
    description     text NOT NULL,
    trust_policies  jsonb NOT NULL,
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL
);
CREATE INDEX service_accounts_scope ON service_accounts (organization_id, project_id);
