//! Email notifications. The follower (`follower.rs`) reads the event log
//! behind the read-model projector and writes one outbox row per (event,
//! recipient) in its checkpoint transaction: exactly once, never inside a
//! command's transaction, never delaying one. The sender (`sender.rs`)
//! sends due rows through the configured [`crate::email::EmailClient`],
//! at least once, retrying with backoff until `PHOBOS_EMAIL_MAX_ATTEMPTS`,
//! then marks the row FAILED (logged, and listed by the admin query
//! `notifications`). `render.rs` writes the mails.
//!
//! What is sent:
//! - APPROVAL_REQUESTED: a node's approval rules were fixed; to the users
//!   its rules name and the members of the teams they name (not the
//!   pipeline's creator when no rule allows self-approval);
//! - PIPELINE_FAILED: a pipeline created directly (a runbook) failed; to its
//!   creator;
//! - RELEASE_COMPLETED, RELEASE_FAILED: a release's lifecycle pipeline
//!   ended; to the release's creator and its participants (users, and the
//!   members of its teams).
//!
//! A recipient is a user with an email address; service accounts and
//! users without one get nothing.

mod follower;
mod render;
mod sender;

pub use follower::{start_at_head, Discard, Notifier, NOTIFICATION_SUBSCRIPTION};
pub use sender::{run as run_sender, NotificationRow, SENDER};

/// What a notification is about (GraphQL `NotificationKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    ApprovalRequested,
    PipelineFailed,
    ReleaseCompleted,
    ReleaseFailed,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ApprovalRequested => "APPROVAL_REQUESTED",
            Kind::PipelineFailed => "PIPELINE_FAILED",
            Kind::ReleaseCompleted => "RELEASE_COMPLETED",
            Kind::ReleaseFailed => "RELEASE_FAILED",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        [
            Kind::ApprovalRequested,
            Kind::PipelineFailed,
            Kind::ReleaseCompleted,
            Kind::ReleaseFailed,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// Where a notification is (GraphQL `NotificationStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pending,
    Sent,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "PENDING",
            Status::Sent => "SENT",
            Status::Failed => "FAILED",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        [Status::Pending, Status::Sent, Status::Failed]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}
