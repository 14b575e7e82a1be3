//! What an agent is doing: its sessions (the errors it reported in them,
//! for those who manage it) and the jobs it claimed that the caller sees.

use phobos_projections::agent_sessions::{self, SessionErrorRow, SessionRow};
use phobos_projections::queries::{self, AgentRow, JobRow, ProjectRow};
use uuid::Uuid;

use super::{App, ServiceError};
use crate::auth::Claims;

/// How many rows one of these reads returns: `first`, by default 20, at
/// most 100.
fn limit(first: Option<i32>) -> i64 {
    i64::from(first.unwrap_or(20).clamp(0, 100))
}

impl App {
    /// The sessions of `agent` (which the caller sees), newest first.
    #[tracing::instrument(skip_all, fields(agent = %agent.name))]
    pub async fn agent_sessions(
        &self,
        agent: &AgentRow,
        first: Option<i32>,
    ) -> Result<Vec<SessionRow>, ServiceError> {
        Ok(agent_sessions::sessions_of_agent(&self.pool, agent.id, limit(first)).await?)
    }

    /// Whether `session` is open: not expired, and heard from within the
    /// heartbeat timeout (a session of a server that was killed is never
    /// expired by it, but stops being heard from).
    pub fn agent_session_active(&self, session: &SessionRow) -> bool {
        let timeout = chrono::Duration::seconds(self.config.jobs.heartbeat_timeout_seconds.into());
        session.ended_at.is_none()
            && session
                .last_contact_at
                .is_some_and(|at| self.clock.now() - at <= timeout)
    }

    /// The errors of session `session` of `agent`, newest first; None when
    /// the caller may not manage the agent (an error may name another
    /// organization's job).
    #[tracing::instrument(skip_all, fields(agent = %agent.name))]
    pub async fn agent_session_errors(
        &self,
        claims: &Claims,
        agent: &AgentRow,
        session: Uuid,
        first: Option<i32>,
    ) -> Result<Option<Vec<SessionErrorRow>>, ServiceError> {
        if !self
            .viewer_can_manage_agent(claims, agent.organization_id)
            .await
        {
            return Ok(None);
        }
        Ok(Some(
            agent_sessions::session_errors(&self.pool, session, limit(first)).await?,
        ))
    }

    /// The jobs `agent` claimed, the most recent first, of the projects the
    /// caller sees (a shared agent runs every organization's).
    #[tracing::instrument(skip_all, fields(agent = %agent.name))]
    pub async fn agent_jobs(
        &self,
        claims: &Claims,
        agent: &AgentRow,
        first: Option<i32>,
    ) -> Result<Vec<(JobRow, ProjectRow)>, ServiceError> {
        let visible = self.subject(claims).await?.visible_scopes();
        let jobs =
            agent_sessions::jobs_of_agent(&self.pool, agent.id, visible.as_ref(), limit(first))
                .await?;
        let mut ids: Vec<Uuid> = jobs.iter().map(|j| j.project_id).collect();
        ids.sort();
        ids.dedup();
        let projects = queries::projects_by_ids(&self.pool, &ids).await?;
        Ok(jobs
            .into_iter()
            .filter_map(|j| {
                let p = projects.iter().find(|p| p.id == j.project_id)?.clone();
                Some((j, p))
            })
            .collect())
    }
}
