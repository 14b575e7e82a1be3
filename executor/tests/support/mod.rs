//! An in-test `JobService` server that records every call, and a way to run
//! the real `phobos-job-executor` binary against it.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use phobos_proto::v1::agent_service_server::{AgentService, AgentServiceServer};
use phobos_proto::v1::job_service_server::{JobService, JobServiceServer};
use phobos_proto::v1::{
    agent_work, Action, AgentWork, ClaimJobRequest, ClaimJobResponse, CreateSessionRequest,
    CreateSessionResponse, GetJobRequest, HeartbeatRequest, HeartbeatResponse, Job,
    JobHeartbeatRequest, JobHeartbeatResponse, JobOffer, JobStatus, LogChunk,
    SetActionOutputsRequest, SetActionOutputsResponse, SetJobStatusRequest, SetJobStatusResponse,
    StreamJobsRequest, WriteLogsResponse,
};
use tokio::process::Command;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status, Streaming};

pub const JOB_ID: &str = "job-7f3a";
pub const TOKEN: &str = "job-token-s3cr3t-value";

/// A call the server received.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    GetJob {
        job_id: String,
    },
    Status {
        status: JobStatus,
        message: String,
    },
    Chunk {
        call: usize,
        offset: u64,
        data: Vec<u8>,
    },
    LogCallEnded {
        call: usize,
    },
    Outputs {
        action: String,
        outputs: serde_json::Value,
    },
    Unauthorized {
        method: &'static str,
    },
}

/// An event and when it arrived.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub at: Instant,
    pub event: Event,
}

/// How the server misbehaves, to exercise the executor's retries.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Answer this many GetJob calls with UNAVAILABLE first.
    pub get_job_unavailable: u32,
    /// End the first WriteLogs call with UNAVAILABLE after its first chunk.
    pub break_first_log_call: bool,
    /// Also serve AgentService: one session whose job stream offers the job
    /// once; claiming it succeeds with [`TOKEN`].
    pub offer_to_agents: bool,
    /// The job's `timeout_seconds` (0: none).
    pub timeout_seconds: u32,
    /// Answer heartbeats with a cancellation of this grace period (the
    /// fallback path), once the first action's output has arrived.
    pub cancel_in_heartbeat: Option<u32>,
}

#[derive(Default)]
struct State {
    events: Vec<Recorded>,
    get_job_calls: u32,
    log_calls: usize,
}

#[derive(Clone)]
struct FakeJobService {
    job: Job,
    faults: Faults,
    state: Arc<Mutex<State>>,
}

impl FakeJobService {
    fn record(&self, event: Event) {
        self.state.lock().unwrap().events.push(Recorded {
            at: Instant::now(),
            event,
        });
    }

    fn authorize<T>(&self, method: &'static str, request: &Request<T>) -> Result<(), Status> {
        let expected = format!("Bearer {TOKEN}");
        match request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
        {
            Some(value) if value == expected => Ok(()),
            _ => {
                self.record(Event::Unauthorized { method });
                Err(Status::unauthenticated("invalid job token"))
            }
        }
    }
}

#[tonic::async_trait]
impl JobService for FakeJobService {
    async fn get_job(&self, request: Request<GetJobRequest>) -> Result<Response<Job>, Status> {
        self.authorize("GetJob", &request)?;
        let job_id = request.into_inner().job_id;
        self.record(Event::GetJob {
            job_id: job_id.clone(),
        });
        {
            let mut state = self.state.lock().unwrap();
            state.get_job_calls += 1;
            if state.get_job_calls <= self.faults.get_job_unavailable {
                return Err(Status::unavailable("server starting"));
            }
        }
        if job_id != self.job.job_id {
            return Err(Status::not_found("no such job"));
        }
        Ok(Response::new(self.job.clone()))
    }

    async fn set_job_status(
        &self,
        request: Request<SetJobStatusRequest>,
    ) -> Result<Response<SetJobStatusResponse>, Status> {
        self.authorize("SetJobStatus", &request)?;
        let request = request.into_inner();
        self.record(Event::Status {
            status: request.status(),
            message: request.message,
        });
        Ok(Response::new(SetJobStatusResponse {}))
    }

    async fn write_logs(
        &self,
        request: Request<Streaming<LogChunk>>,
    ) -> Result<Response<WriteLogsResponse>, Status> {
        self.authorize("WriteLogs", &request)?;
        let call = {
            let mut state = self.state.lock().unwrap();
            state.log_calls += 1;
            state.log_calls - 1
        };
        let mut stream = request.into_inner();
        let mut stored = 0;
        while let Some(chunk) = stream.message().await? {
            assert_eq!(chunk.job_id, self.job.job_id);
            stored += chunk.data.len() as u64;
            self.record(Event::Chunk {
                call,
                offset: chunk.offset,
                data: chunk.data,
            });
            if call == 0 && self.faults.break_first_log_call {
                return Err(Status::unavailable("log store restarting"));
            }
        }
        self.record(Event::LogCallEnded { call });
        Ok(Response::new(WriteLogsResponse {
            bytes_stored: stored,
        }))
    }

    async fn set_action_outputs(
        &self,
        request: Request<SetActionOutputsRequest>,
    ) -> Result<Response<SetActionOutputsResponse>, Status> {
        self.authorize("SetActionOutputs", &request)?;
        let request = request.into_inner();
        assert_eq!(request.job_id, self.job.job_id);
        let outputs = serde_json::from_str(&request.outputs_json).expect("outputs_json is JSON");
        self.record(Event::Outputs {
            action: request.action,
            outputs,
        });
        Ok(Response::new(SetActionOutputsResponse {}))
    }

    async fn heartbeat(
        &self,
        request: Request<JobHeartbeatRequest>,
    ) -> Result<Response<JobHeartbeatResponse>, Status> {
        self.authorize("Heartbeat", &request)?;
        let started = self
            .state
            .lock()
            .unwrap()
            .events
            .iter()
            .any(|e| matches!(e.event, Event::Chunk { .. }));
        Ok(Response::new(match self.faults.cancel_in_heartbeat {
            Some(grace) if started => JobHeartbeatResponse {
                cancel_requested: true,
                cancel_grace_seconds: grace,
            },
            _ => JobHeartbeatResponse::default(),
        }))
    }
}

#[tonic::async_trait]
impl AgentService for FakeJobService {
    async fn create_service_account_token(
        &self,
        _: Request<phobos_proto::v1::CreateServiceAccountTokenRequest>,
    ) -> Result<Response<phobos_proto::v1::CreateServiceAccountTokenResponse>, Status> {
        Err(Status::unimplemented(
            "this fake signs in no service account",
        ))
    }

    async fn create_session(
        &self,
        _: Request<CreateSessionRequest>,
    ) -> Result<Response<CreateSessionResponse>, Status> {
        Ok(Response::new(CreateSessionResponse {
            agent_id: "agent-1".into(),
            session_id: "session-1".into(),
            heartbeat_interval_seconds: 30,
        }))
    }

    async fn heartbeat(
        &self,
        _: Request<HeartbeatRequest>,
    ) -> Result<Response<HeartbeatResponse>, Status> {
        Ok(Response::new(HeartbeatResponse {}))
    }

    async fn report_session_error(
        &self,
        request: Request<phobos_proto::v1::ReportSessionErrorRequest>,
    ) -> Result<Response<phobos_proto::v1::ReportSessionErrorResponse>, Status> {
        // These tests launch working executors: an error is a bug.
        panic!(
            "the agent reported a session error: {:?}",
            request.into_inner()
        );
    }

    type StreamJobsStream = tokio_stream::wrappers::ReceiverStream<Result<JobOffer, Status>>;

    async fn stream_jobs(
        &self,
        _: Request<StreamJobsRequest>,
    ) -> Result<Response<Self::StreamJobsStream>, Status> {
        Err(Status::unimplemented("agents of this build use StreamWork"))
    }

    type StreamWorkStream = tokio_stream::wrappers::ReceiverStream<Result<AgentWork, Status>>;

    async fn stream_work(
        &self,
        _: Request<StreamJobsRequest>,
    ) -> Result<Response<Self::StreamWorkStream>, Status> {
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        let offer = JobOffer {
            job_id: self.job.job_id.clone(),
            pipeline_id: self.job.pipeline_id.clone(),
            node_path: self.job.node_path.clone(),
            tags: vec![],
            traceparent: String::new(),
        };
        tokio::spawn(async move {
            let work = AgentWork {
                work: Some(agent_work::Work::Offer(offer)),
            };
            if tx.send(Ok(work)).await.is_ok() {
                tx.closed().await;
            }
        });
        Ok(Response::new(tokio_stream::wrappers::ReceiverStream::new(
            rx,
        )))
    }

    async fn claim_job(
        &self,
        request: Request<ClaimJobRequest>,
    ) -> Result<Response<ClaimJobResponse>, Status> {
        let claimed = request.into_inner().job_id == self.job.job_id;
        Ok(Response::new(ClaimJobResponse {
            claimed,
            job_token: if claimed { TOKEN.into() } else { String::new() },
        }))
    }
}

/// A running fake server.
pub struct FakeServer {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl FakeServer {
    /// Serves `actions` as job [`JOB_ID`] on 127.0.0.1 (any free port).
    pub async fn start(actions: Vec<Action>, faults: Faults) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let service = FakeJobService {
            job: Job {
                job_id: JOB_ID.into(),
                pipeline_id: "pipeline-1".into(),
                node_path: "stage.build.task.compile".into(),
                actions,
                timeout_seconds: faults.timeout_seconds,
                heartbeat_interval_seconds: 1,
            },
            faults,
            state: state.clone(),
        };
        let agents = service
            .faults
            .offer_to_agents
            .then(|| AgentServiceServer::new(service.clone()));
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(JobServiceServer::new(service))
                .add_optional_service(agents)
                .serve_with_incoming(TcpListenerStream::new(listener)),
        );
        Self { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn events(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().events.clone()
    }

    /// Waits (up to 30 s) until the job's final status has been reported.
    pub async fn wait_until_finished(&self) {
        for _ in 0..600 {
            if self
                .statuses()
                .iter()
                .any(|(status, _)| matches!(status, JobStatus::Succeeded | JobStatus::Failed))
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the job did not finish within 30 s: {:#?}", self.events());
    }

    pub fn log_calls(&self) -> usize {
        self.state.lock().unwrap().log_calls
    }

    /// The statuses set, in order.
    pub fn statuses(&self) -> Vec<(JobStatus, String)> {
        self.events()
            .into_iter()
            .filter_map(|r| match r.event {
                Event::Status { status, message } => Some((status, message)),
                _ => None,
            })
            .collect()
    }

    /// The outputs set, in order.
    pub fn outputs(&self) -> Vec<(String, serde_json::Value)> {
        self.events()
            .into_iter()
            .filter_map(|r| match r.event {
                Event::Outputs { action, outputs } => Some((action, outputs)),
                _ => None,
            })
            .collect()
    }

    /// The chunks of one WriteLogs call, in arrival order.
    pub fn chunks(&self, call: usize) -> Vec<(Instant, u64, Vec<u8>)> {
        self.events()
            .into_iter()
            .filter_map(|r| match r.event {
                Event::Chunk {
                    call: c,
                    offset,
                    data,
                } if c == call => Some((r.at, offset, data)),
                _ => None,
            })
            .collect()
    }

    /// The log as the server would store it: chunks of every call placed at
    /// their offsets, a chunk sent twice stored once. Panics on a gap or on
    /// two different chunks at one offset.
    pub fn stored_log(&self) -> String {
        let mut by_offset: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
        for r in self.events() {
            if let Event::Chunk { offset, data, .. } = r.event {
                if let Some(previous) = by_offset.insert(offset, data.clone()) {
                    assert_eq!(previous, data, "two different chunks at offset {offset}");
                }
            }
        }
        let mut log = Vec::new();
        for (offset, data) in by_offset {
            assert!(offset <= log.len() as u64, "gap before offset {offset}");
            let skip = log.len() - offset as usize;
            if skip < data.len() {
                log.extend_from_slice(&data[skip..]);
            }
        }
        String::from_utf8(log).expect("the log is UTF-8 here")
    }

    /// No call came without the right token.
    pub fn assert_all_authorized(&self) {
        let refused: Vec<_> = self
            .events()
            .into_iter()
            .filter(|r| matches!(r.event, Event::Unauthorized { .. }))
            .collect();
        assert!(
            refused.is_empty(),
            "calls without the job token: {refused:?}"
        );
    }

    /// When the first event matching `predicate` arrived, and its position.
    pub fn first(&self, predicate: impl Fn(&Event) -> bool) -> Option<(usize, Instant)> {
        self.events()
            .iter()
            .enumerate()
            .find(|(_, r)| predicate(&r.event))
            .map(|(i, r)| (i, r.at))
    }
}

/// An `exec_command` action.
pub fn exec(name: &str, command: &str) -> Action {
    Action {
        name: name.into(),
        plugin: "exec".into(),
        action: "command".into(),
        inputs_json: serde_json::json!({ "command": command }).to_string(),
    }
}

/// The result of one executor run.
pub struct Run {
    pub output: Output,
    pub exited_at: Instant,
}

impl Run {
    pub fn code(&self) -> Option<i32> {
        self.output.status.code()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
}

/// A temporary directory of one executor's own (its `TMPDIR`): every test
/// runs job [`JOB_ID`], and executors running at once must not share the
/// job's working directory under it.
pub fn private_tmp() -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("phobos-executor-test-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the real `phobos-job-executor` with `vars` as its only PHOBOS_ variables.
pub async fn run_executor_with(vars: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_phobos-job-executor"));
    for (name, _) in std::env::vars() {
        if name.starts_with("PHOBOS_") {
            command.env_remove(name);
        }
    }
    command
        .envs(vars.iter().copied())
        .env("TMPDIR", private_tmp())
        .env("RUST_LOG", "info")
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("the executor finished within 60 s")
        .expect("the executor ran");
    Run {
        output,
        exited_at: Instant::now(),
    }
}

/// Runs the executor for job [`JOB_ID`] against `server`.
pub async fn run_executor(server: &FakeServer) -> Run {
    let url = server.url();
    run_executor_with(&[
        ("PHOBOS_JOB_ID", JOB_ID),
        ("PHOBOS_JOB_TOKEN", TOKEN),
        ("PHOBOS_GRPC_URL", &url),
    ])
    .await
}
