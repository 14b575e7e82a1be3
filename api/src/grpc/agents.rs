//! `AgentService`: sessions, heartbeats, the job stream and claims.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use phobos_commands::aggregates::{agent_id, AgentCommand, JobCommand};
use phobos_commands::{CommandError, DomainError};
use phobos_proto::v1::agent_service_server::AgentService;
use phobos_proto::v1::*;
use tokio::sync::broadcast::error::RecvError;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use super::dispatcher::{tags_fit, Dispatcher};
use super::{claims, status};
use crate::service::App;

const HEARTBEAT_SECONDS: u32 = 10;

struct Session {
    agent_id: String,
    tags: Vec<String>,
    last_heartbeat: Instant,
}

pub struct AgentApi {
    app: Arc<App>,
    dispatcher: Arc<Dispatcher>,
    sessions: Mutex<HashMap<String, Session>>,
}

impl AgentApi {
    pub fn new(app: Arc<App>, dispatcher: Arc<Dispatcher>) -> Self {
        AgentApi {
            app,
            dispatcher,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    fn authorize<T>(&self, req: &Request<T>) -> Result<crate::auth::Claims, Status> {
        claims(&self.app.tokens, req)
    }

    fn session(&self, id: &str) -> Result<(String, Vec<String>), Status> {
        let sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions
            .get(id)
            .map(|s| (s.agent_id.clone(), s.tags.clone()))
            .ok_or_else(|| {
                Status::not_found(
                    "unknown agent session (the server may have restarted): create a new session",
                )
            })
    }
}

#[tonic::async_trait]
impl AgentService for AgentApi {
    #[tracing::instrument(skip_all, fields(agent = %req.get_ref().agent_name))]
    async fn create_session(
        &self,
        req: Request<CreateSessionRequest>,
    ) -> Result<Response<CreateSessionResponse>, Status> {
        let c = self.authorize(&req)?;
        let r = req.into_inner();
        if r.agent_name.is_empty() {
            return Err(Status::invalid_argument("agent_name is required"));
        }
        let id = agent_id(&r.agent_name);
        let session_id = uuid::Uuid::new_v4().to_string();
        let cmd = AgentCommand::StartAgentSession {
            name: r.agent_name.clone(),
            internal: r.internal,
            session_id: session_id.clone(),
            tags: r.tags.clone(),
        };
        self.app
            .bus
            .agent(&id, cmd, &self.app.context(&c))
            .await
            .map_err(|e| status(e.into()))?;
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                session_id.clone(),
                Session {
                    agent_id: id.clone(),
                    tags: r.tags,
                    last_heartbeat: Instant::now(),
                },
            );
        tracing::info!(session_id = %session_id, "agent session started");
        Ok(Response::new(CreateSessionResponse {
            agent_id: id,
            session_id,
            heartbeat_interval_seconds: HEARTBEAT_SECONDS,
        }))
    }

    async fn heartbeat(
        &self,
        req: Request<HeartbeatRequest>,
    ) -> Result<Response<HeartbeatResponse>, Status> {
        self.authorize(&req)?;
        let id = req.into_inner().session_id;
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        match sessions.get_mut(&id) {
            Some(s) => {
                s.last_heartbeat = Instant::now();
                Ok(Response::new(HeartbeatResponse {}))
            }
            None => Err(Status::not_found(
                "unknown agent session: create a new session",
            )),
        }
    }

    type StreamJobsStream = ReceiverStream<Result<JobOffer, Status>>;

    async fn stream_jobs(
        &self,
        req: Request<StreamJobsRequest>,
    ) -> Result<Response<Self::StreamJobsStream>, Status> {
        self.authorize(&req)?;
        let session_id = req.into_inner().session_id;
        let (agent, tags) = self.session(&session_id)?;
        let (open, mut live) = self.dispatcher.subscribe();
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        let span = tracing::info_span!("job_stream", agent = %agent, session = %session_id);
        tokio::spawn(
            async move {
                for offer in open.into_iter().filter(|o| tags_fit(&o.tags, &tags)) {
                    if tx.send(Ok(offer)).await.is_err() {
                        return;
                    }
                }
                loop {
                    match live.recv().await {
                        Ok(offer) if tags_fit(&offer.tags, &tags) => {
                            if tx.send(Ok(offer)).await.is_err() {
                                return;
                            }
                        }
                        Ok(_) => {}
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

    #[tracing::instrument(skip_all, fields(job_id = %req.get_ref().job_id))]
    async fn claim_job(
        &self,
        req: Request<ClaimJobRequest>,
    ) -> Result<Response<ClaimJobResponse>, Status> {
        self.authorize(&req)?;
        let r = req.into_inner();
        let (agent, _) = self.session(&r.session_id)?;
        let (token, token_sha256) =
            crate::credentials::new_secret(crate::credentials::JOB_TOKEN_PREFIX).map_err(|e| {
                tracing::error!(error = %e, "no randomness for a job token");
                Status::unavailable("cannot make a job token right now; try again")
            })?;
        let cmd = JobCommand::ClaimJob {
            agent_id: agent.clone(),
            session_id: r.session_id,
            token_sha256,
        };
        let ctx = super::jobs::job_context(
            &self.app,
            &r.job_id,
            phobos_core::events::Actor::Agent(agent),
        )
        .await?;
        match self.app.bus.job(&r.job_id, cmd, &ctx).await {
            Ok(()) => {
                tracing::info!("job claimed");
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
