-- Every session of every agent, with the errors the agent reported in it
-- (`AgentSessionErrorReported`), for the agents page: when it opened, when
-- it was last heard from, when it ended. A live session's last contact is
-- its row in agent_session_heartbeats; `last_heartbeat_at` here is the one
-- its expiry recorded.
CREATE TABLE agent_sessions (
    id                uuid PRIMARY KEY,
    agent_id          uuid        NOT NULL,
    tags              text[]      NOT NULL,
    started_at        timestamptz NOT NULL,
    ended_at          timestamptz,
    last_heartbeat_at timestamptz,
    error_count       integer     NOT NULL DEFAULT 0,
    last_error        text,
    last_error_at     timestamptz
);
CREATE INDEX agent_sessions_agent ON agent_sessions (agent_id, started_at DESC);

-- One row per reported error, keyed by its event's place in its agent's
-- history (so a row is written once).
CREATE TABLE agent_session_errors (
    agent_id    uuid        NOT NULL,
    sequence    bigint      NOT NULL,
    session_id  uuid        NOT NULL,
    message     text        NOT NULL,
    reported_at timestamptz NOT NULL,
    PRIMARY KEY (agent_id, sequence)
);
CREATE INDEX agent_session_errors_session ON agent_session_errors (session_id, sequence DESC);

-- The sessions already in the log (none of them reported errors: the event
-- is new with this table).
INSERT INTO agent_sessions (id, agent_id, tags, started_at)
SELECT (payload->'AgentSessionStarted'->>'session_id')::uuid,
       aggregate_id::uuid,
       ARRAY(SELECT jsonb_array_elements_text(payload->'AgentSessionStarted'->'tags')),
       (payload->'AgentSessionStarted'->>'started_at')::timestamptz
  FROM events
 WHERE aggregate_type = 'Agent' AND event_type = 'AgentSessionStarted'
ON CONFLICT (id) DO NOTHING;
UPDATE agent_sessions s
   SET ended_at = (e.payload->'AgentSessionExpired'->>'expired_at')::timestamptz,
       last_heartbeat_at = (e.payload->'AgentSessionExpired'->>'last_heartbeat_at')::timestamptz
  FROM events e
 WHERE e.aggregate_type = 'Agent' AND e.event_type = 'AgentSessionExpired'
   AND (e.payload->'AgentSessionExpired'->>'session_id')::uuid = s.id;

-- The jobs an agent claimed, newest first (`Agent.jobs`).
CREATE INDEX jobs_agent ON jobs (agent_id, claimed_at DESC) WHERE agent_id IS NOT NULL;
