//! `Agent.sessions` and `Agent.jobs`: an agent at work.

use async_graphql::{Context, Object, Result, SimpleObject, ID};
use chrono::{DateTime, Utc};
use phobos_projections::agent_sessions::SessionRow;
use phobos_projections::queries::AgentRow;

use super::{app, authed, gql_err};

/// A session of an agent: opened when the agent connects, kept alive by
/// its heartbeats, ended when the server stops hearing from it.
pub struct AgentSession {
    pub row: SessionRow,
    pub agent: AgentRow,
}

/// A session of an agent: opened when the agent connects, kept alive by
/// its heartbeats, ended when the server stops hearing from it.
#[Object]
impl AgentSession {
    /// The session's id (the one the agent's log names).
    async fn id(&self) -> ID {
        ID(self.row.id.to_string())
    }
    /// When the agent opened it.
    async fn started_at(&self) -> DateTime<Utc> {
        self.row.started_at
    }
    /// When the server last heard from the agent in it (its last
    /// heartbeat).
    async fn last_contact_at(&self) -> Option<DateTime<Utc>> {
        self.row.last_contact_at
    }
    /// When the server ended it for want of heartbeats (null while open).
    async fn ended_at(&self) -> Option<DateTime<Utc>> {
        self.row.ended_at
    }
    /// Whether it is open: not ended, and heard from within the heartbeat
    /// timeout (`PHOBOS_JOB_HEARTBEAT_TIMEOUT_SECONDS`).
    async fn active(&self, ctx: &Context<'_>) -> bool {
        app(ctx).agent_session_active(&self.row)
    }
    /// The agent's tags when it opened.
    async fn tags(&self) -> &[String] {
        &self.row.tags
    }
    /// How many errors the agent reported in it (at most 100 are kept).
    async fn error_count(&self) -> i32 {
        self.row.error_count
    }
    /// When it last reported one.
    async fn last_error_at(&self) -> Option<DateTime<Utc>> {
        self.row.last_error_at
    }
    /// The errors the agent reported in it, newest first; null when the
    /// caller may not manage the agent (`viewerCanUpdate`), since one may
    /// name another organization's job.
    async fn errors(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return (default 20, at most 100).")] first: Option<i32>,
    ) -> Result<Option<Vec<AgentSessionError>>> {
        let claims = authed(ctx)?;
        Ok(app(ctx)
            .agent_session_errors(claims, &self.agent, self.row.id, first)
            .await
            .map_err(gql_err)?
            .map(|rows| {
                rows.into_iter()
                    .map(|r| AgentSessionError {
                        message: r.message,
                        reported_at: r.reported_at,
                    })
                    .collect()
            }))
    }
}

/// Something that went wrong in a session, as the agent reported it.
#[derive(SimpleObject)]
pub struct AgentSessionError {
    /// What went wrong (the agent's words).
    pub message: String,
    /// When the agent reported it.
    pub reported_at: DateTime<Utc>,
}
