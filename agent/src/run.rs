//! The agent's main loop: connect, open a session, take offers, and start
//! over whenever the session or its job stream is lost.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::Instant;

use phobos_proto::v1::agent_service_client::AgentServiceClient;
use phobos_proto::v1::{agent_work, AgentWork, StreamJobsRequest};
use tonic::codec::Streaming;
use tonic::transport::Channel;
use tracing::{info, info_span, warn, Instrument};

use crate::auth::BearerAuth;
use crate::backoff::{Backoff, MAX_DELAY};
use crate::config::AgentConfig;
use crate::connect::{self, AgentClient};
use crate::dispatch::{self, Dispatcher};
use crate::error::AgentError;
use crate::heartbeat::Heartbeat;
use crate::session::{self, Session};
use crate::shutdown::Shutdown;
use crate::sign_in;

/// Runs the agent until `shutdown` resolves, then returns `Ok(())`.
///
/// Connects to `config.server_url` (waiting, with backoff, while the server is
/// not up), opens a session, heartbeats it, and claims every job the server
/// offers, handing each claimed job to the configured dispatcher, and passes
/// the cancellation of a job it claimed on to that job's executor. A lost job
/// stream or session is re-opened with backoff. On shutdown the agent stops
/// taking offers; executors already started keep running to the end.
///
/// Fails at once when the configuration is unusable (bad URL or token, missing
/// executor) or the server refuses the session (e.g. a rejected token).
pub async fn run(
    config: AgentConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), AgentError> {
    let auth = match &config.service_account {
        None => Some(BearerAuth::new(&config.token)?),
        // Signed in once connected.
        Some(_) => None,
    };
    let endpoint = connect::endpoint(&config.server_url, &config.tls)?;
    let dispatcher = dispatch::from_config(&config.dispatcher)?;
    let span = info_span!("agent", name = %config.name);
    let shutdown = pin!(shutdown);
    let mut shutdown = Shutdown::new(shutdown);
    async move {
        info!(server = %config.server_url, tags = ?config.tags, internal = config.internal, "agent starting");
        let Some(channel) = shutdown.race(connect::connect(&endpoint)).await else {
            info!("agent stopped before reaching the server");
            return Ok(());
        };
        let (auth, _renewal) = match (auth, &config.service_account) {
            (Some(auth), _) => (auth, None),
            (None, Some(login)) => {
                let (auth, lifetime) = sign_in::sign_in(&channel, login, &config.name).await?;
                let renewal = tokio::spawn(sign_in::keep_renewing(
                    channel.clone(),
                    login.clone(),
                    auth.clone(),
                    lifetime,
                ));
                (auth, Some(AbortOnDrop(renewal)))
            }
            (None, None) => unreachable!("a token or a service account"),
        };
        let agent = Agent {
            client: AgentServiceClient::with_interceptor(channel.clone(), auth),
            channel,
            config,
            dispatcher,
        };
        let result = agent.serve(&mut shutdown).await;
        if result.is_ok() {
            info!("agent stopped; executors already started keep running");
        }
        result
    }
    .instrument(span)
    .await
}

/// Stops the token renewal when the agent stops.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A connected agent.
pub(crate) struct Agent {
    pub(crate) config: AgentConfig,
    pub(crate) channel: Channel,
    pub(crate) client: AgentClient,
    pub(crate) dispatcher: Arc<dyn Dispatcher>,
}

/// How one session ended.
enum SessionEnd {
    /// Shutdown was requested.
    Shutdown,
    /// The session or its stream was lost; open a new one after a delay.
    Lost,
}

/// What the offer loop waits for.
enum Event {
    Work(Result<Option<AgentWork>, tonic::Status>),
    SessionLost,
    /// A claim (and launch) finished.
    Claimed,
}

/// How many offers are claimed (and their executors started) at once.
const CONCURRENT_CLAIMS: usize = 16;

impl Agent {
    async fn serve<F: Future<Output = ()>>(
        &self,
        shutdown: &mut Shutdown<'_, F>,
    ) -> Result<(), AgentError> {
        let mut backoff = Backoff::new();
        loop {
            if let SessionEnd::Shutdown = self.session(shutdown, &mut backoff).await? {
                return Ok(());
            }
            let delay = backoff.next_delay();
            info!(?delay, "opening a new session after a delay");
            if shutdown.race(tokio::time::sleep(delay)).await.is_none() {
                return Ok(());
            }
        }
    }

    /// One session: open it, heartbeat it, take offers until it ends.
    async fn session<F: Future<Output = ()>>(
        &self,
        shutdown: &mut Shutdown<'_, F>,
        backoff: &mut Backoff,
    ) -> Result<SessionEnd, AgentError> {
        let mut client = self.client.clone();
        let session = match shutdown
            .race(session::create(&mut client, &self.config))
            .await
        {
            None => return Ok(SessionEnd::Shutdown),
            Some(Ok(session)) => session,
            Some(Err(status)) if session::is_refusal(&status) => {
                return Err(AgentError::SessionRefused {
                    agent: self.config.name.clone(),
                    code: status.code(),
                    message: status.message().to_owned(),
                })
            }
            Some(Err(status)) => {
                warn!(code = ?status.code(), error = status.message(), "could not open a session");
                return Ok(SessionEnd::Lost);
            }
        };
        let span = info_span!("session", session_id = %session.id);
        async {
            info!(agent_id = %session.agent_id, heartbeat = ?session.heartbeat_interval, "session open");
            let mut heartbeat = Heartbeat::start(
                client.clone(),
                session.id.clone(),
                session.heartbeat_interval,
                self.config.health_file.clone(),
            );
            let request = StreamJobsRequest {
                session_id: session.id.clone(),
            };
            let stream = match shutdown.race(client.stream_work(request)).await {
                None => return Ok(SessionEnd::Shutdown),
                Some(Ok(response)) => response.into_inner(),
                Some(Err(status)) => {
                    warn!(code = ?status.code(), error = status.message(), "could not open the job stream");
                    return Ok(SessionEnd::Lost);
                }
            };
            info!("waiting for job offers");
            let opened = Instant::now();
            let (end, offers) = self.take_offers(stream, &session, &mut heartbeat, shutdown).await;
            if offers > 0 || opened.elapsed() >= MAX_DELAY {
                backoff.reset();
            }
            Ok(end)
        }
        .instrument(span)
        .await
    }

    /// Handles offers, up to [`CONCURRENT_CLAIMS`] at a time, until the
    /// stream or session ends or shutdown is requested; claims under way
    /// then finish first (a claim the server recorded is always launched).
    /// Returns how it ended and how many offers came.
    async fn take_offers<F: Future<Output = ()>>(
        &self,
        mut stream: Streaming<AgentWork>,
        session: &Session,
        heartbeat: &mut Heartbeat,
        shutdown: &mut Shutdown<'_, F>,
    ) -> (SessionEnd, u64) {
        use futures::StreamExt;
        let mut offers = 0;
        let mut claiming = futures::stream::FuturesUnordered::new();
        let end = loop {
            let room = claiming.len() < CONCURRENT_CLAIMS;
            let next = async {
                tokio::select! {
                    message = stream.message(), if room => Event::Work(message),
                    () = heartbeat.lost() => Event::SessionLost,
                    Some(()) = claiming.next(), if !claiming.is_empty() => Event::Claimed,
                }
            };
            let Some(event) = shutdown.race(next).await else {
                info!("shutdown requested: no longer taking job offers");
                break SessionEnd::Shutdown;
            };
            match event {
                Event::Claimed => {}
                Event::Work(Ok(Some(AgentWork {
                    work: Some(agent_work::Work::Offer(offer)),
                }))) => {
                    offers += 1;
                    claiming.push(self.handle_offer(offer, &session.id));
                }
                Event::Work(Ok(Some(AgentWork {
                    work: Some(agent_work::Work::Cancel(cancel)),
                }))) => self.handle_cancel(cancel).await,
                Event::Work(Ok(Some(AgentWork { work: None }))) => {}
                Event::Work(Ok(None)) => {
                    info!("the server closed the job stream");
                    break SessionEnd::Lost;
                }
                Event::Work(Err(status)) => {
                    warn!(code = ?status.code(), error = status.message(), "the job stream failed");
                    break SessionEnd::Lost;
                }
                Event::SessionLost => break SessionEnd::Lost,
            }
        };
        while claiming.next().await.is_some() {}
        (end, offers)
    }
}
