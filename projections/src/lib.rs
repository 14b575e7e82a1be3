//! Phobos read side.
//!
//! - [`projector::Projector`]: folds the event log into the read-model
//!   tables (`migrations/0002_read_models.sql`). It runs as a
//!   [`subscription`](phobos_commands::subscription), so each batch's
//!   writes and its checkpoint commit together: every event is applied
//!   exactly once, even across crashes.
//! - [`queries`]: plain SQL reads of those tables for the API.
//!
//! Read models are eventually consistent: they trail the log by one batch.
//! Callers that must see their own write wait for the projection's
//! checkpoint (see `phobos_commands::subscription::run`'s `applied`).

pub mod activity;
pub mod agent_sessions;
pub mod identity;
pub mod projector;
pub mod queries;
pub mod releases;
pub mod timers;
pub mod todo;

pub use projector::{Projector, PROJECTION_SUBSCRIPTION};

/// Errors reading the read models.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{0}")]
    BadCursor(String),
}
