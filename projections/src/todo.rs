//! Candidates for a caller's to-do items (`me.todoItems`): nodes waiting for
//! someone and releases near or past their due date, in the projects the
//! caller sees. Whether the caller may act on a node is the API's question
//! (its abilities service); this reads only what might qualify.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::releases::ReleaseRow;
use crate::QueryError;

/// The projects a caller sees: all, or those of these organizations and
/// these projects.
#[derive(Debug, Clone, Copy)]
pub struct Visible<'a> {
    pub all: bool,
    pub organizations: &'a [Uuid],
    pub projects: &'a [Uuid],
}

/// A node that waits for someone: an approval, or a manual start.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WaitingNode {
    pub pipeline_id: Uuid,
    pub path: String,
    /// `APPROVAL_PENDING` or `WAITING`.
    pub status: String,
}

/// At most `limit` nodes waiting for someone, in pipelines that have not
/// ended, newest pipeline first, then in the pipeline's order. Uses the
/// partial index `pipeline_nodes_waiting` (migration 0019).
pub async fn waiting_nodes(
    pool: &PgPool,
    visible: Visible<'_>,
    limit: i64,
) -> Result<Vec<WaitingNode>, QueryError> {
    Ok(sqlx::query_as(
        "SELECT n.pipeline_id, n.path, n.status
           FROM pipeline_nodes n
           JOIN pipelines p ON p.id = n.pipeline_id
           JOIN projects pr ON pr.id = p.project_id
          WHERE n.status IN ('APPROVAL_PENDING', 'WAITING')
            AND p.status NOT IN ('SUCCEEDED', 'FAILED', 'CANCELED')
            AND ($1 OR pr.organization_id = ANY($2) OR p.project_id = ANY($3))
          ORDER BY p.created_at DESC, p.id, n.position
          LIMIT $4",
    )
    .bind(visible.all)
    .bind(visible.organizations)
    .bind(visible.projects)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// At most `limit` releases not yet completed whose due date is before
/// `before`, the earliest due first.
pub async fn releases_due(
    pool: &PgPool,
    visible: Visible<'_>,
    before: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<ReleaseRow>, QueryError> {
    Ok(sqlx::query_as(&format!(
        "{} JOIN projects pr ON pr.id = r.project_id
          WHERE r.due_date < $1
            AND COALESCE(p.status, 'CREATED') NOT IN ('SUCCEEDED', 'FAILED', 'CANCELED')
            AND ($2 OR pr.organization_id = ANY($3) OR r.project_id = ANY($4))
          ORDER BY r.due_date, r.id
          LIMIT $5",
        crate::releases::RELEASE_SELECT
    ))
    .bind(before)
    .bind(visible.all)
    .bind(visible.organizations)
    .bind(visible.projects)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}
