-- Where a job's log ends: written when its executor reports the final
-- status, after it stored every byte of the log (SetJobStatus.log_bytes).
-- Not an event, like the chunks: it says when a reader of the log has it
-- all (`jobLogEvents` ends there). A job that ended without its executor
-- has no row; its log is taken as complete once the executor's grace after
-- the end has passed.
CREATE TABLE job_log_ends (
    job_id     uuid   PRIMARY KEY,
    length     bigint NOT NULL CHECK (length >= 0),
    written_at timestamptz NOT NULL DEFAULT now()
);
