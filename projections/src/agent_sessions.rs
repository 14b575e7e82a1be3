//! An agent's sessions, the errors it reported in each, and the jobs it
//! claimed: what the agents page shows of an agent at work.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::queries::{job_row, JobRow, JOB_COLS};
use crate::QueryError;

/// A session: opened by `CreateSession`, alive while it heartbeats, ended
/// when the server expired it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub id: Uuid,
    pub agent_id: Uuid,
    pub tags: Vec<String>,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    /// Its last heartbeat: the live one while it is open, the one its
    /// expiry recorded after.
    pub last_contact_at: Option<DateTime<Utc>>,
    pub error_count: i32,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
}

/// One error an agent reported in a session.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionErrorRow {
    pub message: String,
    pub reported_at: DateTime<Utc>,
}

/// Agent `agent_id`'s sessions, newest first.
pub async fn sessions_of_agent(
    pool: &PgPool,
    agent_id: Uuid,
    limit: i64,
) -> Result<Vec<SessionRow>, QueryError> {
    Ok(sqlx::query_as(
        "SELECT s.id, s.agent_id, s.tags, s.started_at, s.ended_at,
                COALESCE(h.last_heartbeat_at, s.last_heartbeat_at) AS last_contact_at,
                s.error_count, s.last_error, s.last_error_at
           FROM agent_sessions s
           LEFT JOIN agent_session_heartbeats h ON h.session_id = s.id
          WHERE s.agent_id = $1
          ORDER BY s.started_at DESC, s.id
          LIMIT $2",
    )
    .bind(agent_id)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// The errors of session `session_id`, newest first.
pub async fn session_errors(
    pool: &PgPool,
    session_id: Uuid,
    limit: i64,
) -> Result<Vec<SessionErrorRow>, QueryError> {
    Ok(sqlx::query_as(
        "SELECT message, reported_at FROM agent_session_errors
          WHERE session_id = $1 ORDER BY sequence DESC LIMIT $2",
    )
    .bind(session_id)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// The jobs agent `agent_id` claimed, the most recently claimed first, in
/// `visible`'s organizations (every project of each) and projects; None:
/// everywhere.
pub async fn jobs_of_agent(
    pool: &PgPool,
    agent_id: Uuid,
    visible: Option<&(Vec<Uuid>, Vec<Uuid>)>,
    limit: i64,
) -> Result<Vec<JobRow>, QueryError> {
    let rows = sqlx::query(&format!(
        "SELECT {JOB_COLS} FROM jobs
          WHERE agent_id = $1
            AND ($2::uuid[] IS NULL OR project_id = ANY($3)
                 OR project_id IN (SELECT id FROM projects WHERE organization_id = ANY($2)))
          ORDER BY claimed_at DESC NULLS LAST, id
          LIMIT $4"
    ))
    .bind(agent_id)
    .bind(visible.map(|(orgs, _)| orgs.clone()))
    .bind(visible.map(|(_, p)| p.clone()).unwrap_or_default())
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(job_row)
        .collect::<Result<_, sqlx::Error>>()?)
}
