-- When each job's executor was last heard from (any call with its job
-- token, or a heartbeat). Operational state written by the gRPC job
-- service, not a read model: it is not derived from the event log, and a
-- lost row only means the executor is judged by its claim time instead.
CREATE TABLE job_liveness (
    job_id       uuid PRIMARY KEY,
    last_seen_at timestamptz NOT NULL
);
