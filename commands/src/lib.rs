//! Phobos write side.
//!
//! - [`aggregates`]: cqrs-es aggregates (Organization, Project,
//!   PipelineTemplate, Pipeline, Agent, Job). Each decides, from its own
//!   events only, whether a command is allowed and which events it causes.
//! - [`bus`]: the one way to run a command, with the metadata every event
//!   carries (actor, command, correlation, causation, trace).
//! - [`log`]: reading the event log in its gap-safe global order, and
//!   [`subscription`]: checkpointed, notified-and-polling readers of it.
//!   [`wakeup`]: how followers wait for the log to grow.
//! - [`policies`]: turn events into commands (a ready task becomes a queued
//!   job; a finished job completes its pipeline node).
//! - [`db`]: connecting and migrating.
//!
//! Invariant: only code in this crate appends to `events`, and only through
//! [`bus::CommandBus`].

pub mod aggregates;
pub mod bus;
pub mod children;
pub mod clock;
pub mod db;
pub mod error;
pub mod graph_cache;
pub mod health;
mod locks;
pub mod log;
pub mod policies;
pub mod snapshots;
pub mod subscription;
pub mod testing;
pub mod timers;
pub mod wakeup;

pub use bus::{Appended, CommandBus, CommandContext};
pub use error::{CommandError, DomainError};
