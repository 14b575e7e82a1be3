//! An event store that loads long-lived aggregates from a snapshot plus the
//! events after it, so a command's cost does not grow with the aggregate's
//! history.
//!
//! Why not postgres-es's own snapshot store: in cqrs-es 0.5 the framework
//! hands the loaded aggregate to `handle`, whose `EventSink` applies each
//! new event to it, and the snapshot store then applies the same events to
//! that aggregate again before serializing it. An `apply` that appends (a
//! node's attempts) would be stored twice. This store serializes the
//! aggregate as `handle` left it: every event of the command applied once.
//!
//! Invariants:
//! - the events are the truth; a snapshot is a cache. The events are
//!   appended first (postgres-es `persist`, whose primary key on the
//!   sequence is the optimistic concurrency); then the snapshot is upserted
//!   with the sequence of the last of them, and only over an older one. A
//!   crash between the two only leaves an older snapshot. (Writing both in
//!   postgres-es's one transaction with its `current_snapshot` guard turned
//!   a lost race on the snapshot row into a conflict after the events had
//!   committed, and the bus then re-ran a command that had been saved.)
//! - the state this process last committed for an aggregate is kept in
//!   memory (the 128 most recently used) with its sequence; a load takes a
//!   copy and applies the events after that sequence (none, unless another
//!   instance appended), so a command on a large pipeline decodes neither
//!   its snapshot nor its graph. Only a committed state is kept: a command
//!   that was refused or lost a race leaves it as it was;
//! - a snapshot that does not decode (its shape changed) is ignored and the
//!   aggregate is rebuilt from all its events; [`sweep_stale`] removes
//!   snapshots of an older shape at start-up.

use std::collections::HashMap;
use std::marker::PhantomData;

use cqrs_es::persist::{
    EventStoreAggregateContext, PersistedEventRepository, PersistenceError, SerializedEvent,
};
use cqrs_es::{Aggregate, AggregateError, EventEnvelope, EventStore};
use indexmap::IndexMap;
use postgres_es::PostgresEventRepository;
use sqlx::PgPool;
use std::sync::Mutex;

/// How many committed states stay in memory.
const RECENT: usize = 128;

/// An aggregate with a snapshot every `every` events.
pub struct SnapshotStore<A> {
    pool: PgPool,
    /// By aggregate id: the last committed sequence and the state after it.
    recent: Mutex<IndexMap<String, (usize, A)>>,
    repo: PostgresEventRepository,
    every: usize,
    _aggregate: PhantomData<A>,
}

impl<A> SnapshotStore<A> {
    pub fn new(pool: PgPool, every: usize) -> Self {
        SnapshotStore {
            repo: PostgresEventRepository::new(pool.clone()),
            pool,
            recent: Mutex::default(),
            every: every.max(1),
            _aggregate: PhantomData,
        }
    }
}

/// Whether a commit that grows a stream from `before` to `after` events
/// writes a snapshot: when it passes a multiple of `every`, and with the
/// first commit (a pipeline's first event holds its whole graph, which a
/// load would otherwise decode until the 100th event), unless snapshots
/// are off (`usize::MAX`).
fn crosses(before: usize, after: usize, every: usize) -> bool {
    every != usize::MAX && (before == 0 || after / every > before / every)
}

fn decode<A: Aggregate>(
    events: Vec<SerializedEvent>,
) -> Result<Vec<EventEnvelope<A>>, AggregateError<A::Error>> {
    events
        .into_iter()
        .map(|e| EventEnvelope::<A>::try_from(e).map_err(AggregateError::from))
        .collect()
}

impl<A> EventStore<A> for SnapshotStore<A>
where
    A: Aggregate + Send + Sync + Clone,
{
    type AC = EventStoreAggregateContext<A>;

    async fn load_events(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<EventEnvelope<A>>, AggregateError<A::Error>> {
        decode(self.repo.get_events::<A>(aggregate_id).await?)
    }

    async fn load_aggregate(
        &self,
        aggregate_id: &str,
    ) -> Result<EventStoreAggregateContext<A>, AggregateError<A::Error>> {
        // Snapshots off (the benchmark's plain event-sourced baseline):
        // nothing kept in memory either.
        let hit = (self.every != usize::MAX)
            .then(|| {
                self.recent()
                    .get(aggregate_id)
                    .map(|(seq, state)| (*seq, state.clone()))
            })
            .flatten();
        if let Some((current_sequence, aggregate)) = hit {
            let context = EventStoreAggregateContext {
                aggregate_id: aggregate_id.to_string(),
                aggregate,
                current_sequence,
                current_snapshot: None,
            };
            return self.catch_up(context).await;
        }
        let snapshot = self.repo.get_snapshot::<A>(aggregate_id).await?;
        let context = match snapshot.map(EventStoreAggregateContext::<A>::try_from) {
            Some(Ok(context)) => context,
            Some(Err(PersistenceError::DeserializationError(e))) => {
                // Another shape: rebuild from the events; the next snapshot
                // replaces it.
                tracing::debug!(error = %e, aggregate = A::TYPE, "snapshot ignored");
                EventStoreAggregateContext {
                    aggregate_id: aggregate_id.to_string(),
                    aggregate: A::default(),
                    current_sequence: 0,
                    current_snapshot: None,
                }
            }
            Some(Err(e)) => return Err(e.into()),
            None => EventStoreAggregateContext {
                aggregate_id: aggregate_id.to_string(),
                aggregate: A::default(),
                current_sequence: 0,
                current_snapshot: None,
            },
        };
        self.catch_up(context).await
    }

    async fn commit(
        &self,
        events: Vec<A::Event>,
        context: EventStoreAggregateContext<A>,
        metadata: HashMap<String, String>,
    ) -> Result<Vec<EventEnvelope<A>>, AggregateError<A::Error>> {
        let before = context.current_sequence;
        let wrapped: Vec<EventEnvelope<A>> = events
            .into_iter()
            .zip(before + 1..)
            .map(|(payload, sequence)| EventEnvelope {
                aggregate_id: context.aggregate_id.clone(),
                sequence,
                payload,
                metadata: metadata.clone(),
            })
            .collect();
        let serialized = wrapped
            .iter()
            .map(SerializedEvent::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        // `context.aggregate` is the state `handle` left: every new event
        // applied once (see the module note).
        if wrapped.is_empty() {
            return Ok(wrapped);
        }
        self.repo.persist::<A>(&serialized, None).await?;
        if crosses(before, before + wrapped.len(), self.every) {
            let payload = serde_json::to_value(&context.aggregate)
                .map_err(|e| AggregateError::UnexpectedError(Box::new(e)))?;
            let last = (before + wrapped.len()) as i64;
            if let Err(e) = self
                .write_snapshot::<A>(&context.aggregate_id, last, payload)
                .await
            {
                // A cache: the events are saved; the next snapshot catches up.
                tracing::warn!(error = %e, aggregate = A::TYPE, "snapshot not written");
            }
        }
        if self.every != usize::MAX {
            self.remember(
                context.aggregate_id,
                before + wrapped.len(),
                context.aggregate,
            );
        }
        Ok(wrapped)
    }
}

impl<A: Aggregate> SnapshotStore<A> {
    fn recent(&self) -> std::sync::MutexGuard<'_, IndexMap<String, (usize, A)>> {
        self.recent.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn remember(&self, id: String, sequence: usize, state: A) {
        let mut recent = self.recent();
        if recent.shift_remove(&id).is_none() && recent.len() >= RECENT {
            recent.shift_remove_index(0);
        }
        recent.insert(id, (sequence, state));
    }

    /// Applies the events after `context`'s sequence.
    async fn catch_up(
        &self,
        mut context: EventStoreAggregateContext<A>,
    ) -> Result<EventStoreAggregateContext<A>, AggregateError<A::Error>> {
        let events = self
            .repo
            .get_last_events::<A>(&context.aggregate_id, context.current_sequence)
            .await?;
        for envelope in decode::<A>(events)? {
            context.current_sequence = envelope.sequence;
            context.aggregate.apply(envelope.payload);
        }
        Ok(context)
    }
}

impl<A> SnapshotStore<A> {
    async fn write_snapshot<B: Aggregate>(
        &self,
        id: &str,
        last_sequence: i64,
        payload: serde_json::Value,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO snapshots (aggregate_type, aggregate_id, last_sequence, current_snapshot, payload)
             VALUES ($1, $2, $3, 1, $4)
             ON CONFLICT (aggregate_type, aggregate_id) DO UPDATE
               SET last_sequence = EXCLUDED.last_sequence,
                   current_snapshot = snapshots.current_snapshot + 1,
                   payload = EXCLUDED.payload
             WHERE snapshots.last_sequence < EXCLUDED.last_sequence",
        )
        .bind(B::TYPE)
        .bind(id)
        .bind(last_sequence)
        .bind(payload)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// Deletes the snapshots of `aggregate_type` whose `shape` is not `shape`
/// (snapshots are a cache; the events stay). Run at start-up, before any
/// command.
pub async fn sweep_stale(
    pool: &PgPool,
    aggregate_type: &str,
    shape: u32,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM snapshots WHERE aggregate_type = $1
           AND COALESCE((payload->>'shape')::int, 0) <> $2",
    )
    .bind(aggregate_type)
    .bind(shape as i32)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::crosses;

    #[test]
    fn a_snapshot_is_written_when_the_stream_passes_a_multiple() {
        assert!(crosses(0, 5, 100), "the first commit");
        assert!(!crosses(5, 99, 100));
        assert!(crosses(5, 100, 100));
        assert!(!crosses(0, 5, usize::MAX), "off");
        assert!(crosses(99, 101, 100));
        assert!(!crosses(100, 199, 100));
        assert!(crosses(150, 420, 100));
    }
}
