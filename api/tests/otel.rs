//! OpenTelemetry traces (`PHOBOS_OTEL_TRACE_*`): a real OTLP/gRPC receiver
//! (the collector's `TraceService`, served by tonic in this test) takes the
//! spans of the server, its internal agent and the executor. One pipeline
//! run is one trace, from `createPipeline` through the policies and the
//! agent to the executor's calls and the commands they run, and its spans
//! nest: each names a parent that is in the same trace.

mod support;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;

/// One span as the receiver got it.
#[derive(Debug, Clone)]
struct Received {
    service: String,
    name: String,
    trace_id: String,
    span_id: String,
    parent: String,
}

#[derive(Clone, Default)]
struct Receiver(Arc<Mutex<Vec<Received>>>);

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        req: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut got = self.0.lock().unwrap();
        for rs in req.into_inner().resource_spans {
            let service = rs
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|kv| kv.key == "service.name")
                .and_then(|kv| kv.value.as_ref()?.value.as_ref())
                .map(|v| match v {
                    AnyValue::StringValue(s) => s.clone(),
                    other => format!("{other:?}"),
                })
                .unwrap_or_default();
            for ss in rs.scope_spans {
                for s in ss.spans {
                    got.push(Received {
                        service: service.clone(),
                        name: s.name,
                        trace_id: hex(&s.trace_id),
                        span_id: hex(&s.span_id),
                        parent: hex(&s.parent_span_id),
                    });
                }
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

impl Receiver {
    /// Serves the collector's trace service on a free port.
    async fn start() -> (Receiver, u16) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let receiver = Receiver::default();
        let service = TraceServiceServer::new(receiver.clone());
        tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
                .await
                .unwrap();
        });
        (receiver, port)
    }

    fn spans(&self) -> Vec<Received> {
        self.0.lock().unwrap().clone()
    }
}

/// Runs the hello pipeline on a server exporting `kind` traces to a
/// receiver; returns the spans of the run's trace once the executor's have
/// arrived, and the trace id.
async fn one_run(name: &str, kind: &str) -> (Vec<Received>, String) {
    let (receiver, port) = Receiver::start().await;
    let port = port.to_string();
    let extra = [
        ("PHOBOS_OTEL_TRACE_ENABLED", "true"),
        ("PHOBOS_OTEL_TRACE_TYPE", kind),
        ("PHOBOS_OTEL_TRACE_HOST", "127.0.0.1"),
        ("PHOBOS_OTEL_TRACE_PORT", port.as_str()),
        // The SDK's batch delay (5 s by default), so the test waits less.
        ("OTEL_BSP_SCHEDULE_DELAY", "200"),
    ];
    let mut server = support::start_with(name, 1, &extra).await;
    server.login();
    let project = server.project("acme", "web");
    let hello = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/hello.hcl"),
    )
    .unwrap();
    let pipeline = server.run_pipeline(&project, &hello);
    let done = server.wait_finished(&pipeline, Duration::from_secs(60));
    assert_eq!(done["status"], "SUCCEEDED", "{done}");

    // The trace of createPipeline's command; wait until the executor's
    // spans and the server's last commands of the run are in it.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let spans = receiver.spans();
        let trace = spans
            .iter()
            .find(|s| s.name == "command CreatePipeline")
            .map(|s| s.trace_id.clone());
        if let Some(trace) = trace {
            let run: Vec<Received> = spans.into_iter().filter(|s| s.trace_id == trace).collect();
            let executor = run
                .iter()
                .filter(|s| s.service == "phobos-job-executor")
                .count();
            let jobs = done["jobs"].as_array().unwrap().len();
            let finished = run.iter().filter(|s| s.name == "execute job").count();
            // A parent ends after its children: wait until every parent
            // named has arrived too.
            let ids: std::collections::HashSet<&str> =
                run.iter().map(|s| s.span_id.as_str()).collect();
            let whole = run
                .iter()
                .all(|s| s.parent.is_empty() || ids.contains(s.parent.as_str()));
            if executor > 0 && finished == jobs && whole {
                return (run, trace);
            }
        }
        if Instant::now() > deadline {
            let names: Vec<String> = receiver
                .spans()
                .iter()
                .map(|s| {
                    format!(
                        "{} {} {} {} parent={}",
                        s.service, s.name, s.trace_id, s.span_id, s.parent
                    )
                })
                .collect();
            panic!(
                "the run's spans did not all arrive: {names:#?}\n{}",
                server.log_text()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The span `name` (the first of them), or a failure listing the trace.
fn named<'a>(run: &'a [Received], name: &str) -> &'a Received {
    run.iter().find(|s| s.name == name).unwrap_or_else(|| {
        let names: Vec<&str> = run.iter().map(|s| s.name.as_str()).collect();
        panic!("no span {name:?} in the trace: {names:#?}")
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn one_pipeline_run_is_one_trace_across_server_agent_and_executor() {
    let (run, _trace) = one_run("otel", "otlp").await;
    let mut names: Vec<String> = run
        .iter()
        .map(|s| format!("{} {}", s.service, s.name))
        .collect();
    names.sort();
    names.dedup();
    eprintln!("the run's trace: {names:#?}");
    let by_id: HashMap<&str, &Received> = run.iter().map(|s| (s.span_id.as_str(), s)).collect();
    let parent_of = |s: &Received| -> &Received {
        by_id
            .get(s.parent.as_str())
            .copied()
            .unwrap_or_else(|| panic!("the parent {} of {s:?} is not in the trace", s.parent))
    };

    // createPipeline: the GraphQL operation is the command's parent.
    let create = named(&run, "command CreatePipeline");
    assert_eq!(create.service, "phobos");
    let mut up = parent_of(create);
    while !up.name.starts_with("graphql") {
        up = parent_of(up);
    }
    assert_eq!(up.service, "phobos");

    // The policies' spans continue the commands whose events they handle,
    // and the commands they run nest under them.
    assert!(
        run.iter().any(|s| s.name.starts_with("policy ")),
        "no policy spans"
    );
    let queue = named(&run, "command QueueJob");
    assert!(parent_of(queue).name.starts_with("policy "), "{queue:?}");

    // The agent's span for the job continues the command that queued it;
    // the executor's, the agent's.
    let agent_job = named(&run, "agent job");
    assert_eq!(
        agent_job.service, "phobos",
        "the internal agent runs in the server"
    );
    assert_eq!(parent_of(agent_job).name, "command QueueJob");
    let execute = named(&run, "execute job");
    assert_eq!(execute.service, "phobos-job-executor");
    assert_eq!(parent_of(execute).name, "agent job");

    // The executor's gRPC calls: the server's span for each is a child of
    // an executor span, and the commands they run nest under them.
    let calls: Vec<&Received> = run
        .iter()
        .filter(|s| s.name.starts_with("grpc phobos.v1.JobService/"))
        .collect();
    for method in ["GetJob", "SetJobStatus", "WriteLogs", "SetActionOutputs"] {
        named(&run, &format!("grpc phobos.v1.JobService/{method}"));
    }
    for call in &calls {
        assert_eq!(call.service, "phobos");
        assert_eq!(parent_of(call).service, "phobos-job-executor", "{call:?}");
    }
    let under_a_call = run
        .iter()
        .filter(|s| s.name.starts_with("command "))
        .any(|s| {
            let mut up = s;
            while let Some(p) = by_id.get(up.parent.as_str()) {
                if p.name.starts_with("grpc phobos.v1.JobService/") {
                    return true;
                }
                up = p;
            }
            false
        });
    assert!(under_a_call, "no command under an executor's call");
    // The agent's claim is a call of its own, under its job span.
    let claim = named(&run, "grpc phobos.v1.AgentService/ClaimJob");
    assert_eq!(parent_of(claim).name, "agent job");

    // The operation's span is the only root.
    let roots: Vec<&Received> = run.iter().filter(|s| s.parent.is_empty()).collect();
    assert!(
        roots.iter().all(|s| s.name.starts_with("graphql")),
        "roots other than the GraphQL operation: {roots:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn xray_traces_carry_the_start_time_in_their_id() {
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (run, trace) = one_run("otel-xray", "xray").await;
    let seconds = u64::from_str_radix(&trace[..8], 16).unwrap();
    assert!(
        seconds + 5 >= started && seconds <= started + 300,
        "trace {trace}: its first 8 digits are not the time it began"
    );
    assert!(run.iter().any(|s| s.service == "phobos-job-executor"));
    // The executor's calls carried the trace in `X-Amzn-Trace-Id`.
    assert!(
        run.iter()
            .any(|s| s.name.starts_with("grpc phobos.v1.JobService/")),
        "no JobService call in the trace"
    );
}
