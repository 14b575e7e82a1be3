-- The nodes waiting for someone (an approval or a manual start), for the
-- to-do items of `me.todoItems` (projections/src/todo.rs): few at any time,
-- so a partial index keeps the read from scanning every node of every
-- pipeline.
CREATE INDEX pipeline_nodes_waiting ON pipeline_nodes (pipeline_id)
    WHERE status IN ('APPROVAL_PENDING', 'WAITING');
