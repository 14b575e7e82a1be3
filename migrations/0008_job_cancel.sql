-- Cancellation (issue 8): a job asked to stop keeps the grace period its
-- executor was given, so the dispatcher can send the request again to an
-- agent that reconnects. `timers` gains the kind `cancel` (id
-- `cancel:<job id>`, aggregate_id the job): the executor's confirmation is
-- due then, or the job is canceled without it.
ALTER TABLE jobs ADD COLUMN cancel_grace_seconds int;
ALTER TABLE jobs ADD COLUMN cancel_forced boolean NOT NULL DEFAULT false;
