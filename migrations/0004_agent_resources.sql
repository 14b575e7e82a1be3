-- Agents are resources (createAgent): a type, an organization for
-- organization agents, whether they run untagged jobs; names are unique per
-- organization, and among shared agents.
ALTER TABLE agents DROP CONSTRAINT agents_name_key;
ALTER TABLE agents
    ADD COLUMN agent_type        text NOT NULL DEFAULT 'SHARED',
    ADD COLUMN organization_id   uuid,
    ADD COLUMN run_untagged_jobs boolean NOT NULL DEFAULT true,
    ADD COLUMN updated_at        timestamptz;
CREATE UNIQUE INDEX agents_name ON agents (COALESCE(organization_id, '00000000-0000-0000-0000-000000000000'::uuid), name);

-- Agent credentials, by the SHA-256 of the secret (the secret is kept
-- nowhere). Rows go with their agent.
CREATE TABLE agent_tokens (
    token_sha256 text PRIMARY KEY,
    agent_id     uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    token_id     uuid NOT NULL,
    created_at   timestamptz NOT NULL
);
CREATE INDEX agent_tokens_agent ON agent_tokens (agent_id);
