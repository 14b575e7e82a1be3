-- Approvals (issue 9): approval rules, and each node's approvals.
CREATE TABLE approval_rules (
    id                  uuid PRIMARY KEY,
    organization_id     uuid NOT NULL,
    project_id          uuid,
    prn                 text NOT NULL,
    name                text NOT NULL,
    description         text NOT NULL,
    principals          jsonb NOT NULL,
    approvals_required  integer NOT NULL,
    allow_self_approval boolean NOT NULL,
    deleted             boolean NOT NULL DEFAULT false,
    created_by          text NOT NULL,
    created_at          timestamptz NOT NULL
);
CREATE INDEX approval_rules_scope ON approval_rules (organization_id, project_id);

-- The node's approval state (core's ApprovalState), from when it entered
-- APPROVAL_PENDING.
ALTER TABLE pipeline_nodes ADD COLUMN approval jsonb;
