-- The live agent sessions of every instance: when each last heartbeated.
-- Operational state written by the gRPC agent service (like job_liveness),
-- read to tell whether an agent that may run a waiting job is connected.
CREATE TABLE agent_session_heartbeats (
    session_id        uuid PRIMARY KEY,
    agent_id          uuid NOT NULL,
    last_heartbeat_at timestamptz NOT NULL
);
CREATE INDEX agent_session_heartbeats_agent ON agent_session_heartbeats (agent_id);
