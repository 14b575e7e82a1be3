//! `AgentService`: sessions, heartbeats, the job stream and claims.
//!
//! Every call is checked against the caller's credential, which names one
//! agent: an agent token (`createAgentToken`, stored as a hash) or, for the
//! server's internal agents, a token the server minted at start. A user
//! token opens no session. The agent's tags, type and organization come from
//! the agent resource, never from the caller; a job is offered to, and may
//! be claimed by, only a live session of an agent that may run it
//! ([`AgentScope::may_run`]). A refused claim appends nothing.

use phobos_core::events::aggregate;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use phobos_commands::aggregates::{agent_id, AgentCommand, JobCommand};
use phobos_commands::log::read_first;
use phobos_commands::{CommandContext, CommandError, DomainError};
use phobos_core::agent::AgentScope;
use phobos_core::events::{Actor, JobEvent};
use phobos_projections::queries::{self, AgentRow};
use phobos_proto::v1::agent_service_server::AgentService;
use phobos_proto::v1::*;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use super::dispatcher::{Dispatcher, Work};
use super::status;
use crate::auth::TokenKind;
use crate::credentials::{self, AGENT_TOKEN_PREFIX};
use crate::service::App;

struct Session {
    agent_id: String,
    scope: AgentScope,
    last_heartbeat: Instant,
    last_heartbeat_at: DateTime<Utc>,
    /// Dropped when the session ends, which ends its job stream.
    _open: watch::Sender<()>,
    ended: watch::Receiver<()>,
}

type Sessions = Arc<Mutex<HashMap<String, Session>>>;

/// One thing a job stream may send.
enum StreamItem {
    Offer(JobOffer),
    Cancel(JobCancellation),
}

pub struct AgentApi {
    app: Arc<App>,
    dispatcher: Arc<Dispatcher>,
    sessions: Sessions,
}

fn unavailable(e: impl std::fmt::Display) -> Status {
    tracing::warn!(error = %e, "agent lookup failed");
    Status::unavailable("the server cannot check the agent right now; try again")
}

fn lock(sessions: &Sessions) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
    sessions.lock().unwrap_or_else(|p| p.into_inner())
}

impl AgentApi {
    pub fn new(app: Arc<App>, dispatcher: Arc<Dispatcher>) -> Self {
        AgentApi {
            app,
            dispatcher,
            sessions: Arc::default(),
        }
    }

    /// How often agents heartbeat, and how long a silent session lives.
    fn heartbeat(&self) -> (u32, Duration) {
        let timeout = self.app.config.jobs.heartbeat_timeout_seconds;
        ((timeout / 3).max(1), Duration::from_secs(timeout.into()))
    }

    /// The agent the caller's credential names.
    async fn principal<T>(&self, req: &Request<T>) -> Result<AgentRow, Status> {
        let token = req
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
            .map(str::trim)
            .ok_or_else(|| {
                Status::unauthenticated(
                    "an agent credential is required: send `authorization: Bearer <agent token>` (createAgentToken makes one)",
                )
            })?;
        if token.starts_with(AGENT_TOKEN_PREFIX) {
            return queries::agent_by_token(&self.app.pool, &credentials::sha256_hex(token))
                .await
                .map_err(unavailable)?
                .ok_or_else(|| {
                    Status::unauthenticated(
                        "the agent token is not valid (its agent may have been deleted): create a new one with createAgentToken",
                    )
                });
        }
        let claims = super::claims(&self.app.tokens, req).await?;
        match claims.kind {
            TokenKind::Agent => {
                let id: uuid::Uuid = agent_id(&claims.sub)
                    .parse()
                    .map_err(|_| Status::internal("agent id"))?;
                queries::agent(&self.app.pool, id)
                    .await
                    .map_err(unavailable)?
                    .filter(|a| a.internal)
                    .ok_or_else(|| Status::unauthenticated("unknown internal agent"))
            }
            TokenKind::User => Err(Status::permission_denied(
                "a user token cannot act as an agent: create the agent with createAgent, a credential with createAgentToken, and start the agent with that token",
            )),
            TokenKind::ServiceAccount => {
                let name = req
                    .metadata()
                    .get(phobos_proto::AGENT_NAME_METADATA)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| {
                        Status::invalid_argument(format!(
                            "a service account acts as an agent by naming it: send `{}: <agent name>` metadata (phobos-agent does, with --name)",
                            phobos_proto::AGENT_NAME_METADATA
                        ))
                    })?;
                queries::agent_by_name(&self.app.pool, name)
                    .await
                    .map_err(unavailable)?
                    .filter(|a| a.service_account_path.as_deref() == Some(claims.sub.as_str()))
                    .ok_or_else(|| {
                        Status::permission_denied(format!(
                            "service account {:?} is not assigned to an agent named {name:?}: an Owner of the organization assigns it with assignServiceAccountToAgent",
                            claims.sub
                        ))
                    })
            }
        }
    }

    /// The caller's live session `id`, which must be its own agent's.
    fn own_session(
        &self,
        agent: &AgentRow,
        id: &str,
    ) -> Result<(AgentScope, watch::Receiver<()>), Status> {
        let sessions = lock(&self.sessions);
        let session = sessions.get(id).ok_or_else(|| {
            Status::not_found(
                "unknown agent session (it expired, or the server restarted): create a new session",
            )
        })?;
        if session.agent_id != agent.id.to_string() {
            return Err(Status::permission_denied(format!(
                "session {id} belongs to another agent than {:?}",
                agent.name
            )));
        }
        Ok((session.scope.clone(), session.ended.clone()))
    }

    /// A job stream of the caller's session: the offers its agent may take
    /// and the cancellations of the jobs it claimed, as `item` makes them
    /// (`None`: not sent on this kind of stream).
    async fn stream<T: Send + 'static>(
        &self,
        req: Request<StreamJobsRequest>,
        item: fn(StreamItem) -> Option<T>,
    ) -> Result<Response<ReceiverStream<Result<T, Status>>>, Status> {
        let agent = self.principal(&req).await?;
        let session_id = req.into_inner().session_id;
        let (scope, mut ended) = self.own_session(&agent, &session_id)?;
        let subscription = self.dispatcher.subscribe();
        let mut live = subscription.live;
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        let span = tracing::info_span!("job_stream", agent = %agent.name, session = %session_id);
        let me = agent.id.to_string();
        tokio::spawn(
            async move {
                let mine = |work: Work| -> Option<T> {
                    match work {
                        Work::Offer(job) => scope
                            .may_run(&job.offer.tags, &job.organization_id)
                            .is_ok()
                            .then_some(StreamItem::Offer(job.offer))
                            .and_then(item),
                        Work::Cancel { agent_id, cancel } => (agent_id == me)
                            .then_some(StreamItem::Cancel(cancel))
                            .and_then(item),
                    }
                };
                let first = subscription
                    .cancels
                    .into_iter()
                    .map(|(agent_id, cancel)| Work::Cancel { agent_id, cancel })
                    .chain(subscription.open.into_iter().map(Work::Offer));
                for work in first {
                    if let Some(t) = mine(work) {
                        if tx.send(Ok(t)).await.is_err() {
                            return;
                        }
                    }
                }
                loop {
                    let next = tokio::select! {
                        next = live.recv() => next,
                        _ = ended.changed() => {
                            let _ = tx.send(Err(Status::not_found("the agent session expired: create a new session"))).await;
                            return;
                        }
                    };
                    match next {
                        Ok(work) => {
                            if let Some(t) = mine(work) {
                                if tx.send(Ok(t)).await.is_err() {
                                    return;
                                }
                            }
                        }
                        Err(RecvError::Lagged(n)) => {
                            // The agent reconnects and is sent every open job again.
                            tracing::warn!(
                                skipped = n,
                                "job stream fell behind; closing it so the agent resubscribes"
                            );
                            let _ = tx
                                .send(Err(Status::aborted(
                                    "job stream fell behind: open it again",
                                )))
                                .await;
                            return;
                        }
                        Err(RecvError::Closed) => return,
                    }
                }
            }
            .instrument(span),
        );
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    /// Notes the session's heartbeat where every instance sees it. Best
    /// effort: a missed note only makes the agent look gone a little sooner.
    async fn beat(&self, session_id: &str, agent: &AgentRow) {
        let Ok(session) = session_id.parse::<uuid::Uuid>() else {
            return;
        };
        let noted = sqlx::query(
            "INSERT INTO agent_session_heartbeats (session_id, agent_id, last_heartbeat_at) VALUES ($1, $2, $3)
             ON CONFLICT (session_id) DO UPDATE SET last_heartbeat_at = $3",
        )
        .bind(session)
        .bind(agent.id)
        .bind(self.app.clock.now())
        .execute(&self.app.pool)
        .await;
        if let Err(e) = noted {
            tracing::warn!(error = %e, "could not note the agent's heartbeat");
        }
    }

    /// Ends sessions that stopped heartbeating, until `stop`. Each expiry is
    /// recorded (`AgentSessionExpired`); the jobs such an agent claimed are
    /// failed by the reaper if their executors fall silent too.
    pub fn expire_sessions(
        &self,
        mut stop: watch::Receiver<bool>,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let (sessions, app) = (self.sessions.clone(), self.app.clone());
        let (_, timeout) = self.heartbeat();
        async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = stop.changed() => return,
                }
                let expired: Vec<(String, Session)> = {
                    let mut all = lock(&sessions);
                    let ids: Vec<String> = all
                        .iter()
                        .filter(|(_, s)| s.last_heartbeat.elapsed() > timeout)
                        .map(|(id, _)| id.clone())
                        .collect();
                    ids.into_iter()
                        .filter_map(|id| all.remove(&id).map(|s| (id, s)))
                        .collect()
                };
                for (session_id, s) in expired {
                    if let Ok(id) = session_id.parse::<uuid::Uuid>() {
                        let _ = sqlx::query(
                            "DELETE FROM agent_session_heartbeats WHERE session_id = $1",
                        )
                        .bind(id)
                        .execute(&app.pool)
                        .await;
                    }
                    tracing::warn!(agent = %s.scope.name, %session_id, "agent session expired: no heartbeat");
                    let cmd = AgentCommand::ExpireAgentSession {
                        session_id,
                        last_heartbeat_at: s.last_heartbeat_at,
                    };
                    let ctx = CommandContext::new(Actor::System("sessions".into()));
                    if let Err(e) = app.bus.agent(&s.agent_id, cmd, &ctx).await {
                        tracing::warn!(error = %e, "could not record the session's expiry");
                    }
                }
            }
        }
    }
}

#[tonic::async_trait]
impl AgentService for AgentApi {
    #[tracing::instrument(skip_all)]
    async fn create_service_account_token(
        &self,
        req: Request<CreateServiceAccountTokenRequest>,
    ) -> Result<Response<CreateServiceAccountTokenResponse>, Status> {
        let r = req.into_inner();
        let (token, expires_at) = self
            .app
            .service_account_token(&r.service_account_path, &r.token)
            .await
            .map_err(status)?;
        Ok(Response::new(CreateServiceAccountTokenResponse {
            token,
            expires_at_unix: expires_at.timestamp(),
        }))
    }

    #[tracing::instrument(skip_all, fields(agent = %req.get_ref().agent_name))]
    async fn create_session(
        &self,
        req: Request<CreateSessionRequest>,
    ) -> Result<Response<CreateSessionResponse>, Status> {
        let agent = self.principal(&req).await?;
        let r = req.into_inner();
        if !r.agent_name.is_empty() && r.agent_name != agent.name {
            return Err(Status::permission_denied(format!(
                "this credential belongs to agent {:?}; it cannot open a session as {:?}",
                agent.name, r.agent_name
            )));
        }
        let (mut asked, mut has) = (r.tags.clone(), agent.tags.clone());
        asked.sort();
        has.sort();
        if !asked.is_empty() && asked != has {
            return Err(Status::invalid_argument(format!(
                "agent {:?} has tags {has:?} on the server, but was started with {asked:?}: change them with updateAgent, or start it without tags",
                agent.name
            )));
        }
        let id = agent.id.to_string();
        let session_id = uuid::Uuid::new_v4().to_string();
        let cmd = AgentCommand::StartAgentSession {
            session_id: session_id.clone(),
        };
        let ctx = CommandContext::new(Actor::Agent(id.clone()));
        self.app
            .bus
            .agent(&id, cmd, &ctx)
            .await
            .map_err(|e| status(e.into()))?;
        self.beat(&session_id, &agent).await;
        let (open, ended) = watch::channel(());
        lock(&self.sessions).insert(
            session_id.clone(),
            Session {
                agent_id: id.clone(),
                scope: agent.scope(),
                last_heartbeat: Instant::now(),
                last_heartbeat_at: self.app.clock.now(),
                _open: open,
                ended,
            },
        );
        tracing::info!(session_id = %session_id, "agent session started");
        Ok(Response::new(CreateSessionResponse {
            agent_id: id,
            session_id,
            heartbeat_interval_seconds: self.heartbeat().0,
        }))
    }

    async fn heartbeat(
        &self,
        req: Request<HeartbeatRequest>,
    ) -> Result<Response<HeartbeatResponse>, Status> {
        let agent = self.principal(&req).await?;
        let id = req.into_inner().session_id;
        self.own_session(&agent, &id)?;
        if let Some(s) = lock(&self.sessions).get_mut(&id) {
            s.last_heartbeat = Instant::now();
            s.last_heartbeat_at = self.app.clock.now();
        }
        self.beat(&id, &agent).await;
        Ok(Response::new(HeartbeatResponse {}))
    }

    type StreamJobsStream = ReceiverStream<Result<JobOffer, Status>>;

    async fn stream_jobs(
        &self,
        req: Request<StreamJobsRequest>,
    ) -> Result<Response<Self::StreamJobsStream>, Status> {
        self.stream(req, |work| match work {
            StreamItem::Offer(offer) => Some(offer),
            StreamItem::Cancel(_) => None,
        })
        .await
    }

    type StreamWorkStream = ReceiverStream<Result<AgentWork, Status>>;

    async fn stream_work(
        &self,
        req: Request<StreamJobsRequest>,
    ) -> Result<Response<Self::StreamWorkStream>, Status> {
        self.stream(req, |work| {
            Some(AgentWork {
                work: Some(match work {
                    StreamItem::Offer(offer) => agent_work::Work::Offer(offer),
                    StreamItem::Cancel(cancel) => agent_work::Work::Cancel(cancel),
                }),
            })
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(session_id = %req.get_ref().session_id))]
    async fn report_session_error(
        &self,
        req: Request<ReportSessionErrorRequest>,
    ) -> Result<Response<ReportSessionErrorResponse>, Status> {
        let agent = self.principal(&req).await?;
        let r = req.into_inner();
        self.own_session(&agent, &r.session_id)?;
        let id = agent.id.to_string();
        let cmd = AgentCommand::ReportAgentSessionError {
            session_id: r.session_id,
            message: r.message,
        };
        let ctx = CommandContext::new(Actor::Agent(id.clone()));
        self.app
            .bus
            .agent(&id, cmd, &ctx)
            .await
            .map_err(|e| status(e.into()))?;
        Ok(Response::new(ReportSessionErrorResponse {}))
    }

    #[tracing::instrument(skip_all, fields(job_id = %req.get_ref().job_id))]
    async fn claim_job(
        &self,
        req: Request<ClaimJobRequest>,
    ) -> Result<Response<ClaimJobResponse>, Status> {
        let agent = self.principal(&req).await?;
        let r = req.into_inner();
        self.own_session(&agent, &r.session_id)?;
        let queued = read_first(&self.app.pool, aggregate::JOB, &r.job_id)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| Status::not_found("no such job"))?;
        let Ok(JobEvent::JobQueued {
            project_id, spec, ..
        }) = queued.decode::<JobEvent>()
        else {
            return Err(Status::internal("the job's first event is not JobQueued"));
        };
        let project: uuid::Uuid = project_id
            .parse()
            .map_err(|_| Status::internal("the job's project id is not an id"))?;
        let organization = queries::project_organization(&self.app.pool, project)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| Status::not_found("the job's project does not exist"))?;
        // The agent as it is now (the principal was read for this call).
        if let Err(why) = agent.scope().may_run(&spec.tags, &organization.to_string()) {
            return Err(Status::permission_denied(format!(
                "this agent may not run the job: {why}"
            )));
        }
        let (token, token_sha256) = credentials::new_secret(credentials::JOB_TOKEN_PREFIX)
            .map_err(|e| {
                tracing::error!(error = %e, "no randomness for a job token");
                Status::unavailable("cannot make a job token right now; try again")
            })?;
        let cmd = JobCommand::ClaimJob {
            agent_id: agent.id.to_string(),
            session_id: r.session_id,
            token_sha256,
        };
        let ctx = super::jobs::context_of(Some(&queued), Actor::Agent(agent.id.to_string()));
        match self.app.bus.job(&r.job_id, cmd, &ctx).await {
            Ok(_) => {
                tracing::info!(agent = %agent.name, "job claimed");
                Ok(Response::new(ClaimJobResponse {
                    claimed: true,
                    job_token: token,
                }))
            }
            Err(CommandError::Rejected(DomainError::Conflict(_))) => {
                Ok(Response::new(ClaimJobResponse {
                    claimed: false,
                    job_token: String::new(),
                }))
            }
            Err(e) => Err(status(e.into())),
        }
    }
}
