-- Durable timers (issue 8): one mechanism for schedules now, gate intervals,
-- cancel grace periods and job timeouts later.
--
-- `timers` is a read model: the projector writes it from the log in its
-- batch transaction (a row exists exactly while the log says a timer is
-- pending), so a replay rebuilds it and nothing else writes it.
CREATE TABLE timers (
    id           text PRIMARY KEY,   -- node:<pipeline id>:<node path>
    kind         text NOT NULL,      -- node
    aggregate_id text NOT NULL,
    node_path    text,
    fire_at      timestamptz NOT NULL
);
CREATE INDEX timers_due ON timers (fire_at);

-- Which instance is firing a timer, so two do not fire it together.
-- Operational state (like job_liveness), written by the timers worker; a
-- lost row only means a timer may fire twice, which changes nothing.
CREATE TABLE timer_leases (
    id           text PRIMARY KEY,
    leased_by    text NOT NULL,
    leased_until timestamptz NOT NULL
);

-- When a scheduled node starts (NodeScheduled).
ALTER TABLE pipeline_nodes ADD COLUMN scheduled_start_time timestamptz;
