//! `notifications`: the email outbox, for administrators.

use super::{App, ServiceError};
use crate::auth::Claims;
use crate::notifications::{NotificationRow, Status};

impl App {
    /// The newest `first` notifications (at most 500), of `status` if given.
    #[tracing::instrument(skip_all, fields(status = ?status, first))]
    pub async fn notifications(
        &self,
        claims: &Claims,
        status: Option<Status>,
        first: usize,
    ) -> Result<Vec<NotificationRow>, ServiceError> {
        self.require_admin(claims).await?;
        let rows = sqlx::query_as::<_, NotificationRow>(
            "SELECT id, kind, recipient, username, subject, link, status, attempts, last_error, created_at, sent_at
               FROM notifications
              WHERE ($1::text IS NULL OR status = $1)
              ORDER BY created_at DESC, id
              LIMIT $2",
        )
        .bind(status.map(Status::as_str))
        .bind(first.min(500) as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(phobos_projections::QueryError::from)?;
        Ok(rows)
    }
}
