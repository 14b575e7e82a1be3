-- Organization agents that sign in as a service account
-- (AgentServiceAccountAssigned / AgentServiceAccountUnassigned).
ALTER TABLE agents
    ADD COLUMN service_account_id uuid,
    ADD COLUMN service_account_path text;
