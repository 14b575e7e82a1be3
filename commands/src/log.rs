//! Reading the event log in its global order.
//!
//! Invariant (see `migrations/0001_event_log.sql`): a reader that takes
//! events `(tx_id, global_position) > cursor` with
//! `tx_id < pg_snapshot_xmin(pg_current_snapshot())`, ordered by that pair,
//! sees every committed event exactly once, whatever order concurrent
//! writers commit in. A position alone is not enough: an identity value is
//! taken at INSERT time, and a transaction holding a smaller one can commit
//! after a reader has passed it.

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, Utc};
use phobos_core::events::EventMetadata;
use serde::de::DeserializeOwned;
use sqlx::postgres::PgRow;
use sqlx::{PgExecutor, Row};

use crate::error::LogError;

/// A place in the global order. `Position::START` is before every event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub tx_id: u64,
    pub global_position: i64,
}

impl Position {
    pub const START: Position = Position {
        tx_id: 0,
        global_position: 0,
    };
}

impl Position {
    /// Reads a position from a row's `tx_text` (`tx_id::text`) and
    /// `global_position` columns. (Selecting `tx_id::text` under its own
    /// name would make ORDER BY sort it as text; see the note on `COLUMNS`.)
    pub fn from_row(row: &PgRow) -> Result<Position, sqlx::Error> {
        let tx: String = row.try_get("tx_text")?;
        Ok(Position {
            tx_id: tx.parse().map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            global_position: row.try_get("global_position")?,
        })
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.tx_id, self.global_position)
    }
}

impl std::str::FromStr for Position {
    type Err = String;
    /// Parses the `tx.position` form [`Display`](fmt::Display) writes; used
    /// as an opaque resume cursor by clients.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!(
                "{s:?} is not an event cursor: expected the `cursor` of an event already received"
            )
        };
        let (t, p) = s.split_once('.').ok_or_else(bad)?;
        Ok(Position {
            tx_id: t.parse().map_err(|_| bad())?,
            global_position: p.parse().map_err(|_| bad())?,
        })
    }
}

/// One stored event with its place in the log.
#[derive(Debug, Clone)]
pub struct RecordedEvent {
    pub position: Position,
    pub event_id: uuid::Uuid,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    pub payload: serde_json::Value,
    pub metadata: HashMap<String, String>,
    pub recorded_at: DateTime<Utc>,
}

impl RecordedEvent {
    /// The payload as an aggregate's event type. cqrs-es stores events
    /// externally tagged (`{"PipelineCreated": {...}}`), as serde does.
    pub fn decode<E: DeserializeOwned>(&self) -> Result<E, LogError> {
        serde_json::from_value(self.payload.clone()).map_err(|e| LogError::Decode {
            position: self.position.to_string(),
            message: e.to_string(),
        })
    }

    /// The event's metadata, when it is complete.
    pub fn metadata(&self) -> Option<EventMetadata> {
        EventMetadata::from_map(&self.metadata)
    }

    /// Makes `span` (not yet entered) continue the trace of the command
    /// that appended this event, under that command's span (when traces
    /// are exported).
    pub fn continue_trace(&self, span: &tracing::Span) {
        if let (Some(t), s) = (self.metadata.get("trace_id"), self.metadata.get("span_id")) {
            phobos_telemetry::set_parent(span, t, s.map(String::as_str).unwrap_or(""));
        }
    }

    /// A span for `handler` handling this event, in the trace of the
    /// command that appended it; none (and no cost) when traces are not
    /// exported. For handlers that see every event (projectors), whose
    /// per-event spans would only crowd the log.
    pub fn handler_span(&self, handler: &'static str) -> tracing::Span {
        if !phobos_telemetry::exporting() {
            return tracing::Span::none();
        }
        let span = tracing::info_span!(
            "handle",
            otel.name = %format!("{handler} {}", self.event_type),
            handler,
            event = %self.event_type,
            aggregate = %self.aggregate_type,
            position = %self.position,
        );
        self.continue_trace(&span);
        span
    }

    fn from_row(row: &PgRow) -> Result<RecordedEvent, sqlx::Error> {
        let metadata: serde_json::Value = row.try_get("metadata")?;
        Ok(RecordedEvent {
            position: Position::from_row(row)?,
            event_id: row.try_get("event_id")?,
            aggregate_type: row.try_get("aggregate_type")?,
            aggregate_id: row.try_get("aggregate_id")?,
            sequence: row.try_get("sequence")?,
            event_type: row.try_get("event_type")?,
            event_version: row.try_get("event_version")?,
            payload: row.try_get("payload")?,
            metadata: serde_json::from_value(metadata).unwrap_or_default(),
            recorded_at: row.try_get("recorded_at")?,
        })
    }
}

// The text form of tx_id must not be called `tx_id`: ORDER BY resolves a
// bare name to an output column first, and would sort the numbers as text
// ("1000" < "999"), which breaks the order once transaction ids gain a digit.
const COLUMNS: &str =
    "tx_id::text AS tx_text, global_position, event_id, aggregate_type, aggregate_id, \
     sequence, event_type, event_version, payload, metadata, recorded_at";

/// Up to `limit` events after `after`, in global order, of transactions no
/// reader can still be overtaken by (see the module invariant).
pub async fn read_after<'e>(
    db: impl PgExecutor<'e>,
    after: Position,
    limit: i64,
) -> Result<Vec<RecordedEvent>, LogError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM events
          WHERE (tx_id, global_position) > ($1::text::xid8, $2)
            AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
          ORDER BY tx_id, global_position
          LIMIT $3"
    );
    let rows = sqlx::query(&sql)
        .bind(after.tx_id.to_string())
        .bind(after.global_position)
        .bind(limit)
        .fetch_all(db)
        .await?;
    rows.iter()
        .map(|r| RecordedEvent::from_row(r).map_err(LogError::from))
        .collect()
}

/// The events of one aggregate, in its own order (for audit and tests).
pub async fn read_aggregate<'e>(
    db: impl PgExecutor<'e>,
    aggregate_type: &str,
    aggregate_id: &str,
) -> Result<Vec<RecordedEvent>, LogError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM events WHERE aggregate_type = $1 AND aggregate_id = $2 ORDER BY sequence"
    );
    let rows = sqlx::query(&sql)
        .bind(aggregate_type)
        .bind(aggregate_id)
        .fetch_all(db)
        .await?;
    rows.iter()
        .map(|r| RecordedEvent::from_row(r).map_err(LogError::from))
        .collect()
}

/// Every event of one aggregate type, in global order (for the few
/// aggregates a process loads whole at start-up, such as signing keys).
pub async fn read_type<'e>(
    db: impl PgExecutor<'e>,
    aggregate_type: &str,
) -> Result<Vec<RecordedEvent>, LogError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM events WHERE aggregate_type = $1 ORDER BY tx_id, global_position"
    );
    let rows = sqlx::query(&sql).bind(aggregate_type).fetch_all(db).await?;
    rows.iter()
        .map(|r| RecordedEvent::from_row(r).map_err(LogError::from))
        .collect()
}

/// Events at the given positions, in global order (used to list a
/// pipeline's history from its index).
pub async fn read_positions<'e>(
    db: impl PgExecutor<'e>,
    positions: &[Position],
) -> Result<Vec<RecordedEvent>, LogError> {
    let tx: Vec<String> = positions.iter().map(|p| p.tx_id.to_string()).collect();
    let gp: Vec<i64> = positions.iter().map(|p| p.global_position).collect();
    let sql = format!(
        "SELECT {COLUMNS} FROM events
          WHERE (tx_id, global_position) IN (SELECT t::xid8, g FROM unnest($1::text[], $2::bigint[]) AS u(t, g))
          ORDER BY tx_id, global_position"
    );
    let rows = sqlx::query(&sql).bind(&tx).bind(&gp).fetch_all(db).await?;
    rows.iter()
        .map(|r| RecordedEvent::from_row(r).map_err(LogError::from))
        .collect()
}

/// The position of the newest event no reader can be overtaken by (START
/// when the log is empty).
pub async fn head<'e>(db: impl PgExecutor<'e>) -> Result<Position, LogError> {
    let row = sqlx::query(
        "SELECT tx_id::text AS tx_text, global_position FROM events
          WHERE tx_id < pg_snapshot_xmin(pg_current_snapshot())
          ORDER BY tx_id DESC, global_position DESC LIMIT 1",
    )
    .fetch_optional(db)
    .await?;
    Ok(match row {
        Some(r) => Position::from_row(&r)?,
        None => Position::START,
    })
}

/// The first event of one aggregate (its creation), if it has any.
pub async fn read_first<'e>(
    db: impl PgExecutor<'e>,
    aggregate_type: &str,
    aggregate_id: &str,
) -> Result<Option<RecordedEvent>, LogError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM events WHERE aggregate_type = $1 AND aggregate_id = $2 ORDER BY sequence LIMIT 1"
    );
    let row = sqlx::query(&sql)
        .bind(aggregate_type)
        .bind(aggregate_id)
        .fetch_optional(db)
        .await?;
    row.as_ref()
        .map(RecordedEvent::from_row)
        .transpose()
        .map_err(LogError::from)
}
