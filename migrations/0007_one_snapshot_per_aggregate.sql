-- One snapshot per aggregate (commands/src/snapshots.rs upserts it after the
-- commit of the events it follows, keeping the one with the highest
-- last_sequence). The old primary key allowed one row per sequence.
CREATE UNIQUE INDEX snapshots_one_per_aggregate ON snapshots (aggregate_type, aggregate_id);
