//! Errors of the write side.

/// A command was refused by its aggregate: the request does not fit the
/// state. The message says why and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("{0} already exists")]
    AlreadyExists(String),
    #[error("{0} does not exist")]
    NotFound(String),
    /// The state does not allow it (a job already claimed, a pipeline
    /// already finished …).
    #[error("{0}")]
    Conflict(String),
    /// The request itself is wrong.
    #[error("{0}")]
    Invalid(String),
    /// The request needs something this server does not do yet; one
    /// message per place.
    #[error("{}", .0.join("; "))]
    Unsupported(Vec<String>),
    /// A resource limit refused it; the message names the limit and how to
    /// raise it.
    #[error("{0}")]
    LimitExceeded(String),
    /// What the aggregate needs to decide could not be read (the store
    /// failed under it). Not a refusal: the bus reports it as
    /// [`CommandError::Store`], so the caller retries.
    #[error("{0}")]
    Unavailable(String),
}

/// Why a command did not run.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Rejected(#[from] DomainError),
    /// Another writer kept appending to the same aggregate; retries ran out.
    #[error("{0} was changed by another request at the same time; try again")]
    Contended(String),
    #[error("the event store is unavailable: {0}")]
    Store(String),
    #[error("a stored event could not be read: {0}")]
    Corrupt(String),
}

/// Errors reading the log or running a subscription.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("event {position} could not be decoded: {message}")]
    Decode { position: String, message: String },
    #[error("{0}")]
    Handler(String),
}
