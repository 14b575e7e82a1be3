//! `notifications` (administrators): each email the server queued, with
//! its status, attempts and last error.

use async_graphql::{Enum, Object, ID};
use chrono::{DateTime, Utc};

use super::enums::mirror;
use crate::notifications::{Kind as CoreKind, NotificationRow, Status as CoreStatus};

mirror!(
    /// What a notification is about.
    NotificationKind from CoreKind {
        /// A node waits for approvals the recipient may give.
        ApprovalRequested,
        /// A pipeline the recipient created failed.
        PipelineFailed,
        /// A release the recipient created or takes part in completed.
        ReleaseCompleted,
        /// A release the recipient created or takes part in failed.
        ReleaseFailed,
    }
);

mirror!(
    /// Where a notification is.
    NotificationStatus from CoreStatus {
        /// Not sent yet (or being tried again after a failure).
        Pending,
        /// The email provider accepted it.
        Sent,
        /// Every attempt failed (`PHOBOS_EMAIL_MAX_ATTEMPTS`); see `lastError`.
        Failed,
    }
);

/// One email to one recipient.
pub struct Notification(pub NotificationRow);

/// One email to one recipient: what it is about, where it went, and
/// whether the provider took it.
#[Object]
impl Notification {
    /// Its id: the idempotency key sent with the mail.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// What it is about.
    async fn kind(&self) -> async_graphql::Result<NotificationKind> {
        NotificationKind::from_row(&self.0.kind)
    }
    /// Sent, failed, or still to be sent.
    async fn status(&self) -> async_graphql::Result<NotificationStatus> {
        NotificationStatus::from_row(&self.0.status)
    }
    /// The address it goes to.
    async fn recipient(&self) -> &str {
        &self.0.recipient
    }
    /// The user it goes to.
    async fn username(&self) -> &str {
        &self.0.username
    }
    /// The mail's subject.
    async fn subject(&self) -> &str {
        &self.0.subject
    }
    /// The page of its resource at `PHOBOS_UI_URL`.
    async fn link(&self) -> &str {
        &self.0.link
    }
    /// Sends tried so far.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// What the email provider answered to the last failed send.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    /// When its event happened.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the provider accepted it.
    async fn sent_at(&self) -> Option<DateTime<Utc>> {
        self.0.sent_at
    }
}
