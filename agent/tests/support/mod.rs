//! An in-test gRPC server (AgentService, plus JobService for the agent's
//! failure reports) that records every call, and a fake executor script.

#![allow(dead_code)]

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use phobos_proto::v1::agent_service_server::{AgentService, AgentServiceServer};
use phobos_proto::v1::job_service_server::{JobService, JobServiceServer};
use phobos_proto::v1::{
    agent_work, AgentWork, ClaimJobRequest, ClaimJobResponse, CreateServiceAccountTokenRequest,
    CreateServiceAccountTokenResponse, CreateSessionRequest, CreateSessionResponse, GetJobRequest,
    HeartbeatRequest, HeartbeatResponse, Job, JobHeartbeatRequest, JobHeartbeatResponse, JobOffer,
    JobStatus, LogChunk, ReportSessionErrorRequest, ReportSessionErrorResponse,
    SetActionOutputsRequest, SetActionOutputsResponse, SetJobStatusRequest, SetJobStatusResponse,
    StreamJobsRequest, WriteLogsResponse,
};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Notify};
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tonic::{Request, Response, Status, Streaming};

pub const AGENT_TOKEN: &str = "agent-token-s3cr3t";

/// A call the server received, with the `authorization` metadata it carried.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    CreateSession {
        request: CreateSessionRequest,
        auth: String,
    },
    Heartbeat {
        session_id: String,
        auth: String,
    },
    StreamJobs {
        session_id: String,
        auth: String,
    },
    ClaimJob {
        request: ClaimJobRequest,
        auth: String,
    },
    SetJobStatus {
        request: SetJobStatusRequest,
        auth: String,
    },
    /// An error the agent reported with its session.
    SessionError {
        request: ReportSessionErrorRequest,
        auth: String,
    },
    /// A service account sign-in (the external token as sent).
    SignIn {
        request: CreateServiceAccountTokenRequest,
    },
}

/// What one StreamJobs call does.
#[derive(Debug, Clone)]
pub enum StreamPlan {
    /// Ends the stream at once (as a restarting server would).
    End,
    /// Sends these offers, then stays open.
    Offer(Vec<JobOffer>),
}

/// How the fake server behaves.
#[derive(Clone, Default)]
pub struct Script {
    /// One plan per StreamJobs call, in order; later calls stay open, silent.
    pub streams: Vec<StreamPlan>,
    /// Jobs a claim succeeds for (token `token-<job id>`); others get `claimed = false`.
    pub claimable: HashSet<String>,
    /// Answer CreateSession with UNAUTHENTICATED.
    pub refuse_sessions: bool,
    /// When set, StreamJobs sends its offers only once this is notified.
    pub gate: Option<Arc<Notify>>,
    pub heartbeat_seconds: u32,
    /// Answer CreateServiceAccountToken (for `acme/agents` and the token
    /// `oidc-ok`) with `sa-token-<n>` living this many seconds; sessions
    /// then take the newest such token as well as AGENT_TOKEN.
    pub service_account_token_seconds: Option<i64>,
}

#[derive(Default)]
struct State {
    events: Vec<Event>,
    sessions: u32,
    streams: usize,
    sign_ins: u32,
}

#[derive(Clone)]
struct Fake {
    script: Script,
    state: Arc<Mutex<State>>,
}

fn auth<T>(request: &Request<T>) -> String {
    request
        .metadata()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

impl Fake {
    fn record(&self, event: Event) {
        self.state.lock().unwrap().events.push(event);
    }
}

#[tonic::async_trait]
impl AgentService for Fake {
    async fn create_service_account_token(
        &self,
        request: Request<CreateServiceAccountTokenRequest>,
    ) -> Result<Response<CreateServiceAccountTokenResponse>, Status> {
        let request = request.into_inner();
        self.record(Event::SignIn {
            request: request.clone(),
        });
        let Some(seconds) = self.script.service_account_token_seconds else {
            return Err(Status::unimplemented("no service accounts here"));
        };
        if request.service_account_path != "acme/agents" || request.token != "oidc-ok" {
            return Err(Status::unauthenticated("the token is not accepted"));
        }
        let n = {
            let mut state = self.state.lock().unwrap();
            state.sign_ins += 1;
            state.sign_ins
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        Ok(Response::new(CreateServiceAccountTokenResponse {
            token: format!("sa-token-{n}"),
            expires_at_unix: now + seconds,
        }))
    }

    async fn create_session(
        &self,
        request: Request<CreateSessionRequest>,
    ) -> Result<Response<CreateSessionResponse>, Status> {
        let auth = auth(&request);
        // A service account's token names the agent it acts as.
        let named = request
            .metadata()
            .get(phobos_proto::AGENT_NAME_METADATA)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let request = request.into_inner();
        let sa_ok = self.script.service_account_token_seconds.is_some()
            && auth.starts_with("Bearer sa-token-")
            && named.as_deref() == Some(request.agent_name.as_str());
        self.record(Event::CreateSession {
            request,
            auth: auth.clone(),
        });
        if self.script.refuse_sessions || (auth != format!("Bearer {AGENT_TOKEN}") && !sa_ok) {
            return Err(Status::unauthenticated("unknown access token"));
        }
        let n = {
            let mut state = self.state.lock().unwrap();
            state.sessions += 1;
            state.sessions
        };
        Ok(Response::new(CreateSessionResponse {
            agent_id: "agent-1".into(),
            session_id: format!("session-{n}"),
            heartbeat_interval_seconds: self.script.heartbeat_seconds,
        }))
    }

    async fn report_session_error(
        &self,
        request: Request<ReportSessionErrorRequest>,
    ) -> Result<Response<ReportSessionErrorResponse>, Status> {
        let auth = auth(&request);
        self.record(Event::SessionError {
            request: request.into_inner(),
            auth,
        });
        Ok(Response::new(ReportSessionErrorResponse {}))
    }

    async fn heartbeat(
        &self,
        request: Request<HeartbeatRequest>,
    ) -> Result<Response<HeartbeatResponse>, Status> {
        let auth = auth(&request);
        self.record(Event::Heartbeat {
            session_id: request.into_inner().session_id,
            auth,
        });
        Ok(Response::new(HeartbeatResponse {}))
    }

    type StreamJobsStream = ReceiverStream<Result<JobOffer, Status>>;

    async fn stream_jobs(
        &self,
        _: Request<StreamJobsRequest>,
    ) -> Result<Response<Self::StreamJobsStream>, Status> {
        Err(Status::unimplemented("agents of this build use StreamWork"))
    }

    type StreamWorkStream = ReceiverStream<Result<AgentWork, Status>>;

    /// Recorded as `Event::StreamJobs`.
    async fn stream_work(
        &self,
        request: Request<StreamJobsRequest>,
    ) -> Result<Response<Self::StreamWorkStream>, Status> {
        let auth = auth(&request);
        self.record(Event::StreamJobs {
            session_id: request.into_inner().session_id,
            auth,
        });
        let call = {
            let mut state = self.state.lock().unwrap();
            state.streams += 1;
            state.streams - 1
        };
        let (tx, rx) = mpsc::channel(16);
        let plan = self
            .script
            .streams
            .get(call)
            .cloned()
            .unwrap_or(StreamPlan::Offer(vec![]));
        let gate = self.script.gate.clone();
        tokio::spawn(async move {
            let StreamPlan::Offer(offers) = plan else {
                return; // dropping tx ends the stream
            };
            if let Some(gate) = gate {
                gate.notified().await;
            }
            for offer in offers {
                let work = AgentWork {
                    work: Some(agent_work::Work::Offer(offer)),
                };
                if tx.send(Ok(work)).await.is_err() {
                    return;
                }
            }
            tx.closed().await;
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn claim_job(
        &self,
        request: Request<ClaimJobRequest>,
    ) -> Result<Response<ClaimJobResponse>, Status> {
        let auth = auth(&request);
        let request = request.into_inner();
        let claimed = self.script.claimable.contains(&request.job_id);
        let job_token = if claimed {
            format!("token-{}", request.job_id)
        } else {
            String::new()
        };
        self.record(Event::ClaimJob { request, auth });
        Ok(Response::new(ClaimJobResponse { claimed, job_token }))
    }
}

#[tonic::async_trait]
impl JobService for Fake {
    async fn get_job(&self, _: Request<GetJobRequest>) -> Result<Response<Job>, Status> {
        Err(Status::unimplemented("not in this test"))
    }

    async fn set_job_status(
        &self,
        request: Request<SetJobStatusRequest>,
    ) -> Result<Response<SetJobStatusResponse>, Status> {
        let auth = auth(&request);
        self.record(Event::SetJobStatus {
            request: request.into_inner(),
            auth,
        });
        Ok(Response::new(SetJobStatusResponse {}))
    }

    async fn write_logs(
        &self,
        _: Request<Streaming<LogChunk>>,
    ) -> Result<Response<WriteLogsResponse>, Status> {
        Err(Status::unimplemented("not in this test"))
    }

    async fn set_action_outputs(
        &self,
        _: Request<SetActionOutputsRequest>,
    ) -> Result<Response<SetActionOutputsResponse>, Status> {
        Err(Status::unimplemented("not in this test"))
    }

    async fn heartbeat(
        &self,
        _: Request<JobHeartbeatRequest>,
    ) -> Result<Response<JobHeartbeatResponse>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
}

/// A running fake server.
pub struct FakeServer {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl FakeServer {
    /// Serves `script` on `listener`.
    pub fn serve(listener: TcpListener, script: Script) -> Self {
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let fake = Fake {
            script,
            state: state.clone(),
        };
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(AgentServiceServer::new(fake.clone()))
                .add_service(JobServiceServer::new(fake))
                .serve_with_incoming(TcpListenerStream::new(listener)),
        );
        Self { addr, state }
    }

    pub async fn start(script: Script) -> Self {
        Self::serve(TcpListener::bind("127.0.0.1:0").await.unwrap(), script)
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn events(&self) -> Vec<Event> {
        self.state.lock().unwrap().events.clone()
    }

    /// Waits (up to 10 s) until an event matches `predicate`.
    pub async fn wait_for(&self, what: &str, predicate: impl Fn(&Event) -> bool) -> Event {
        for _ in 0..200 {
            if let Some(event) = self.events().into_iter().find(&predicate) {
                return event;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no {what} within 10 s; events: {:#?}", self.events());
    }
}

/// A job offer.
pub fn offer(job_id: &str) -> JobOffer {
    JobOffer {
        job_id: job_id.into(),
        pipeline_id: "pipeline-1".into(),
        node_path: "stage.build.task.compile".into(),
        tags: vec!["linux".into()],
        traceparent: String::new(),
    }
}

/// A fake executor: a shell script that writes its PHOBOS_ environment,
/// then the token it read on standard input, to `<dir>/<job id>.env`.
pub fn fake_executor(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("fake-executor.sh");
    let script = format!(
        "#!/bin/sh\nout=\"{dir}/$PHOBOS_JOB_ID\"\nenv | grep '^PHOBOS_' | sort > \"$out.tmp\"\nread -r token\necho \"stdin token=$token\" >> \"$out.tmp\"\nmv \"$out.tmp\" \"$out.env\"\n",
        dir = dir.display()
    );
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Waits (up to 10 s) for `path` to exist and returns its contents.
pub async fn wait_for_file(path: &Path) -> String {
    for _ in 0..200 {
        if let Ok(text) = std::fs::read_to_string(path) {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{} was not written within 10 s", path.display());
}

/// The status values, for readable asserts.
pub fn failed() -> i32 {
    JobStatus::Failed.into()
}
