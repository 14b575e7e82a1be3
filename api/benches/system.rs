//! `cargo xtask bench` (system part): the event log, the projection worker
//! and job dispatch, against the PostgreSQL `cargo xtask bench` starts.
//! Each figure is reported with the baseline measured in the same run.
//! Under `cargo test` (no `--bench` argument) it does nothing.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use phobos_commands::aggregates::{organization_id, OrganizationCommand};
use phobos_commands::subscription::{run_once, SubscriptionConfig};
use phobos_commands::{CommandBus, CommandContext};
use phobos_core::events::Actor;
use phobos_projections::Projector;
use phobos_proto::v1::agent_service_client::AgentServiceClient;
use phobos_proto::v1::{CreateSessionRequest, StreamJobsRequest};
use serde_json::json;
use sqlx::PgPool;

const CLIENTS: usize = 8;
const PER_CLIENT: usize = 400;

#[tokio::main]
async fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("system bench: run it with `cargo xtask bench`");
        return;
    }
    // `-- --bench speed`: only the end-to-end comparison with Prefect.
    if std::env::args().any(|a| a == "speed") {
        speed_vs_prefect().await;
        return;
    }
    // `-- --bench ui`: only the UI's large-pipeline figures.
    if std::env::args().any(|a| a == "ui") {
        ui_pages().await;
        return;
    }
    let opts = phobos_commands::testing::fresh_database("bench_log")
        .await
        .expect("bench database");
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(CLIENTS as u32 + 2)
        .connect_with(opts)
        .await
        .unwrap();

    println!(
        "\nevent log: one-event appends from {CLIENTS} concurrent clients, {} each",
        PER_CLIENT
    );
    let (base, cmds) = appends(&pool).await;
    println!(
        "  baseline: single-row INSERT transactions, same table shape   {base:>9.0} /s  1.00x"
    );
    println!(
        "  cqrs-es commands (load aggregate, decide, append + NOTIFY)   {cmds:>9.0} /s  {:.2}x the baseline's time per append",
        base / cmds
    );

    tracing_off(cmds);

    let n = CLIENTS * PER_CLIENT;
    let started = Instant::now();
    let mut projector = Projector;
    let config = SubscriptionConfig::new("bench_projection");
    let mut applied = 0;
    loop {
        let (k, _) = run_once(&pool, &config, &mut projector).await.unwrap();
        if k == 0 {
            break;
        }
        applied += k;
    }
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(applied, n);
    println!("\nprojection worker: {applied} events into read models in {secs:.2} s = {:.0} events/s (batches of 500)", applied as f64 / secs);

    pipeline_cost(opts_for("bench_cost").await).await;
    latency().await;
    ui_pages().await;
    speed_vs_prefect().await;
}

/// Issue 13's "tracing off costs nothing measurable": with
/// `PHOBOS_OTEL_TRACE_ENABLED` off, what the telemetry hooks of one command
/// cost (the calls the command bus, the three followers handling its event,
/// and one gRPC call's interceptor and server make), against the time per
/// command measured by `appends` in this run.
fn tracing_off(commands_per_second: f64) {
    const N: u32 = 1_000_000;
    let span = tracing::Span::none();
    let started = Instant::now();
    for _ in 0..N {
        // The command: its context, its span's name and parent, its
        // metadata.
        let trace = match phobos_telemetry::current_ids() {
            Some((t, _)) => t,
            None => phobos_telemetry::new_trace_id(),
        };
        phobos_telemetry::name(&span, || format!("command {trace}"));
        if phobos_telemetry::exporting() {
            phobos_telemetry::set_parent(&span, &trace, "");
        }
        std::hint::black_box(phobos_telemetry::current_span_id());
        // Its event, handled by the policies, the projector and the
        // notifications follower.
        for _ in 0..3 {
            phobos_telemetry::name(&span, || format!("policy {trace}"));
            phobos_telemetry::set_parent(&span, &trace, "");
        }
        // One gRPC call: the caller's interceptor, the server's call span.
        let mut metadata = tonic::metadata::MetadataMap::new();
        phobos_telemetry::inject(&mut metadata);
        phobos_telemetry::name(&span, || format!("grpc {trace}"));
        phobos_telemetry::extract(&span, |_| None);
        std::hint::black_box((trace, metadata));
    }
    let hooks = started.elapsed().as_secs_f64() / f64::from(N);
    let command = 1.0 / commands_per_second;
    println!(
        "  tracing off: the telemetry hooks of one command           {:>9.0} ns  {:.4}% of a command's {:.0} µs",
        hooks * 1e9,
        100.0 * hooks / command,
        command * 1e6
    );
}

async fn opts_for(name: &str) -> sqlx::postgres::PgConnectOptions {
    phobos_commands::testing::fresh_database(name)
        .await
        .expect("bench database")
}

/// A chain of `n` tasks, each depending on the one before.
fn chain(n: usize) -> phobos_core::template::ExecutionGraph {
    use phobos_core::template::{compile, CompileOptions, TemplateKind};
    let mut src = String::from("stage \"big\" {\n");
    for i in 0..n {
        src.push_str(&format!("  task \"t{i}\" {{\n"));
        if i > 0 {
            src.push_str(&format!("    dependencies = [\"t{}\"]\n", i - 1));
        }
        src.push_str("    action \"exec_command\" {\n      command = \"true\"\n    }\n  }\n");
    }
    src.push_str("}\n");
    let opts = CompileOptions::new(TemplateKind::Pipeline, chrono::Utc::now());
    compile(&src, &opts).expect("the chain compiles").graph
}

/// The cost of completing node k of an n-node chain, as k grows: each node
/// gets its job's two pipeline commands (started, succeeded) straight
/// through a `CommandBus`, no agents; the completion is timed.
/// Returns (median of the first 20, median of the last 20) in ms.
async fn complete_chain(bus: &CommandBus, pipeline: &str, n: usize) -> (f64, f64) {
    use phobos_commands::aggregates::PipelineCommand;
    use phobos_core::pipeline::job_id_for;
    let graph = chain(n);
    let paths: Vec<String> = graph.stages[0]
        .nodes
        .iter()
        .map(|n| n.path.clone())
        .collect();
    let ctx = CommandContext::new(Actor::System("bench".into()));
    bus.pipeline(
        pipeline,
        PipelineCommand::CreatePipeline {
            pipeline_id: pipeline.to_string(),
            project_id: "bench".into(),
            template_id: "bench".into(),
            graph: Box::new(graph),
            created_at: None,
            origin: Default::default(),
        },
        &ctx,
    )
    .await
    .unwrap();
    let mut times = Vec::with_capacity(n);
    for path in paths {
        let job_id = job_id_for(pipeline, &path, 1);
        bus.pipeline(
            pipeline,
            PipelineCommand::MarkNodeRunning {
                path: path.clone(),
                job_id: job_id.clone(),
            },
            &ctx,
        )
        .await
        .unwrap();
        let started = Instant::now();
        bus.pipeline(
            pipeline,
            PipelineCommand::CompleteNode {
                canceled: false,
                path,
                job_id,
                succeeded: true,
                reason: String::new(),
                outputs: Default::default(),
            },
            &ctx,
        )
        .await
        .unwrap();
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let median = |xs: &[f64]| {
        let mut v = xs.to_vec();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    };
    (median(&times[..20]), median(&times[times.len() - 20..]))
}

/// Issue 8's "cost that does not grow with history": completing the last
/// node of a 2,000-node chain against completing the first, with
/// snapshots; the baseline is the same without snapshots on 500 nodes.
async fn pipeline_cost(opts: sqlx::postgres::PgConnectOptions) {
    use phobos_commands::clock::SystemClock;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .connect_with(opts)
        .await
        .unwrap();
    println!("\npipeline cost: completing node k of a chain (two commands a node, no agents)");
    let plain = CommandBus::configured(pool.clone(), Arc::new(SystemClock), usize::MAX);
    let (first, last) = complete_chain(&plain, "cost-plain", 500).await;
    println!(
        "  baseline, no snapshots, 500 nodes: first 20 {first:.2} ms, last 20 {last:.2} ms  {:.2}x",
        last / first
    );
    let bus = CommandBus::configured(
        pool.clone(),
        Arc::new(SystemClock),
        phobos_commands::aggregates::PIPELINE_SNAPSHOT_EVERY,
    );
    let (first, last) = complete_chain(&bus, "cost-snap", 2000).await;
    println!(
        "  snapshots every {} events, 2,000 nodes: first 20 {first:.2} ms, last 20 {last:.2} ms  {:.2}x (target <= 2)",
        phobos_commands::aggregates::PIPELINE_SNAPSHOT_EVERY,
        last / first
    );
    let (events, bytes): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM events WHERE aggregate_id = 'cost-snap'),
                (SELECT COALESCE(sum(pg_column_size(payload)), 0)::bigint FROM snapshots WHERE aggregate_id = 'cost-snap')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    println!("  the 2,000-node pipeline: {events} events, a snapshot of {bytes} bytes");
}

/// Appends per second: the baseline (plain INSERT transactions into a copy
/// of the events table) and one-event commands through the command bus.
async fn appends(pool: &PgPool) -> (f64, f64) {
    sqlx::query("CREATE TABLE plain_events (LIKE events INCLUDING ALL)")
        .execute(pool)
        .await
        .unwrap();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..PER_CLIENT {
                let mut tx = pool.begin().await.unwrap();
                sqlx::query(
                    "INSERT INTO plain_events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
                     VALUES ('Organization', $1, 1, 'OrganizationCreated', '1', $2, $3)",
                )
                .bind(format!("{c}-{i}"))
                .bind(json!({"OrganizationCreated": {"name": format!("o-{c}-{i}"), "description": "", "created_at": "2026-11-21T00:00:00Z"}}))
                .bind(json!({"actor": "system:bench", "command": "CreateOrganization", "correlation_id": "x", "causation_id": "x", "trace_id": "x"}))
                .execute(&mut *tx)
                .await
                .unwrap();
                tx.commit().await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let base = (CLIENTS * PER_CLIENT) as f64 / started.elapsed().as_secs_f64();

    let bus = Arc::new(CommandBus::new(pool.clone()));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let bus = bus.clone();
        tasks.push(tokio::spawn(async move {
            let ctx = CommandContext::new(Actor::System("bench".into()));
            for i in 0..PER_CLIENT {
                let name = format!("o-{c}-{i}");
                bus.organization(
                    &organization_id(&name),
                    OrganizationCommand::CreateOrganization {
                        name,
                        description: String::new(),
                    },
                    &ctx,
                )
                .await
                .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let cmds = (CLIENTS * PER_CLIENT) as f64 / started.elapsed().as_secs_f64();
    (base, cmds)
}

/// Node-ready commit → job offer received by an agent over gRPC, through
/// the real server: the NodeBecameReady event's timestamp (taken in its
/// appending transaction) to the moment the offer arrives here.
async fn latency() {
    const PIPELINES: usize = 100;
    let mut server = support::start("bench_dispatch", 0).await;
    server.login();
    let (_, token) = server.agent_token("bench", None, &[], true);
    let project = server.project("bench", "latency");
    let d = server.gql(
        "mutation($i: CreatePipelineTemplateInput!) { createPipelineTemplate(input: $i) { pipelineTemplate { id } problems { message } } }",
        json!({ "i": { "projectId": project, "hcl": "stage \"s\" {\n  task \"t\" {\n    action \"exec_command\" { command = \"true\" }\n  }\n}\n" } }),
    );
    let template = d["createPipelineTemplate"]["pipelineTemplate"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    let mut client = AgentServiceClient::connect(format!("http://127.0.0.1:{}", server.grpc))
        .await
        .unwrap();
    let auth: tonic::metadata::MetadataValue<_> = format!("Bearer {token}").parse().unwrap();
    let mut req = tonic::Request::new(CreateSessionRequest {
        agent_name: "bench".into(),
        tags: vec![],
        internal: false,
    });
    req.metadata_mut().insert("authorization", auth.clone());
    let session = client.create_session(req).await.unwrap().into_inner();
    let mut req = tonic::Request::new(StreamJobsRequest {
        session_id: session.session_id,
    });
    req.metadata_mut().insert("authorization", auth);
    let mut stream = client.stream_jobs(req).await.unwrap().into_inner();
    let received: Arc<tokio::sync::Mutex<HashMap<String, chrono::DateTime<chrono::Utc>>>> =
        Default::default();
    let rx = received.clone();
    tokio::spawn(async move {
        while let Ok(Some(offer)) = stream.message().await {
            rx.lock()
                .await
                .insert(offer.pipeline_id, chrono::Utc::now());
        }
    });

    let mut ids = Vec::new();
    for _ in 0..PIPELINES {
        let d = server.gql(
            "mutation($i: CreatePipelineInput!) { createPipeline(input: $i) { pipeline { id } problems { message } } }",
            json!({ "i": { "pipelineTemplateId": template } }),
        );
        let gid = d["createPipeline"]["pipeline"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        ids.push(gid);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while received.lock().await.len() < PIPELINES && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let received = received.lock().await.clone();
    let mut lat = Vec::new();
    for gid in &ids {
        let events = server.gql(
            "query($id: ID!) { pipelineEvents(pipelineId: $id, first: 10) { eventType recordedAt aggregateId } }",
            json!({ "id": gid }),
        );
        let ready = events["pipelineEvents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["eventType"] == "NodeBecameReady")
            .unwrap()
            .clone();
        let at: chrono::DateTime<chrono::Utc> =
            ready["recordedAt"].as_str().unwrap().parse().unwrap();
        let pid = ready["aggregateId"].as_str().unwrap();
        if let Some(got) = received.get(pid) {
            lat.push((*got - at).num_microseconds().unwrap() as f64 / 1000.0);
        }
    }
    assert_eq!(lat.len(), PIPELINES, "every pipeline's job was offered");
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "\njob dispatch: NodeBecameReady appended -> offer received by an agent over gRPC ({} pipelines)\n  p50 {:.1} ms   p99 {:.1} ms   max {:.1} ms",
        lat.len(),
        pct(0.5),
        pct(0.99),
        lat[lat.len() - 1]
    );
    println!("  (path: commit -> NOTIFY -> policy worker -> QueueJob commit -> NOTIFY -> dispatcher -> gRPC stream)");
}

/// A template of `n` no-op tasks (`true`): a chain (each depending on the
/// one before) or all independent in one stage.
fn no_op_tasks(n: usize, chained: bool) -> String {
    let mut hcl = String::from("stage \"s\" {\n");
    for i in 0..n {
        hcl.push_str(&format!("  task \"t{i}\" {{\n"));
        if chained && i > 0 {
            hcl.push_str(&format!("    dependencies = [\"t{}\"]\n", i - 1));
        }
        hcl.push_str("    action \"exec_command\" {\n      command = \"true\"\n    }\n  }\n");
    }
    hcl.push_str("}\n");
    hcl
}

/// Runs `hcl` once on `server`; returns the seconds from `createPipeline`'s
/// start to SUCCEEDED (as the events' times say) and the events.
fn phobos_run(server: &support::Server, project: &str, hcl: &str) -> (f64, Vec<serde_json::Value>) {
    let asked = chrono::Utc::now();
    let id = server.run_pipeline(project, hcl);
    let done = server.wait_finished(&id, Duration::from_secs(600));
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    let events = server.gql(
        "query($id: ID!) { pipelineEvents(pipelineId: $id, first: 10000) { eventType recordedAt aggregateType aggregateId } }",
        json!({ "id": id }),
    )["pipelineEvents"]
        .as_array()
        .unwrap()
        .clone();
    let at = |e: &serde_json::Value| -> chrono::DateTime<chrono::Utc> {
        e["recordedAt"].as_str().unwrap().parse().unwrap()
    };
    let end = events
        .iter()
        .find(|e| e["eventType"] == "PipelineSucceeded")
        .map(at)
        .unwrap();
    (
        (end - asked).num_microseconds().unwrap() as f64 / 1e6,
        events,
    )
}

/// Where the time of a sequential run goes: the mean gap before each kind
/// of event, after the event before it (everything is on one path).
fn breakdown(events: &[serde_json::Value], tasks: usize) {
    let at = |e: &serde_json::Value| -> chrono::DateTime<chrono::Utc> {
        e["recordedAt"].as_str().unwrap().parse().unwrap()
    };
    let mut gaps: Vec<(String, Vec<f64>)> = Vec::new();
    for w in events.windows(2) {
        let step = format!(
            "{} -> {}",
            w[0]["eventType"].as_str().unwrap(),
            w[1]["eventType"].as_str().unwrap()
        );
        let ms = (at(&w[1]) - at(&w[0])).num_microseconds().unwrap() as f64 / 1000.0;
        match gaps.iter_mut().find(|(s, _)| *s == step) {
            Some((_, t)) => t.push(ms),
            None => gaps.push((step, vec![ms])),
        }
    }
    let total = |v: &Vec<f64>| v.iter().sum::<f64>();
    gaps.sort_by(|a, b| total(&b.1).partial_cmp(&total(&a.1)).unwrap());
    println!("  where a task's time goes (per task: the run's sum / {tasks}; and the median and slowest gap), largest first:");
    for (step, v) in gaps.iter_mut().take(8) {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!(
            "    {:>6.1} ms  (median {:>5.1}, max {:>6.1})  {step}",
            total(v) / tasks as f64,
            v[v.len() / 2],
            v[v.len() - 1]
        );
    }
}

/// Prefect 3.9 in a virtualenv under the target directory (installed on
/// first use), with a local server; `None` (and why) when it cannot be had.
struct Prefect {
    python: std::path::PathBuf,
    script: std::path::PathBuf,
    env: Vec<(String, String)>,
    server: std::process::Child,
}

impl Drop for Prefect {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

fn prefect() -> Result<Prefect, String> {
    use std::process::Command;
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let venv = target.join("prefect-venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .map_err(|e| format!("python3 -m venv: {e}"))?;
        if !made.success() {
            return Err("python3 -m venv failed".into());
        }
    }
    let have = Command::new(&python)
        .args(["-c", "import prefect"])
        .status()
        .map_err(|e| e.to_string())?;
    if !have.success() {
        println!("  (installing prefect 3.9.1 into {} …)", venv.display());
        let pip = Command::new(venv.join("bin/pip"))
            .args(["install", "-q", "prefect==3.9.1"])
            .status()
            .map_err(|e| format!("pip: {e}"))?;
        if !pip.success() {
            return Err("pip install prefect failed (is PyPI reachable?)".into());
        }
    }
    let home = target.join("prefect-home");
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(&home).map_err(|e| e.to_string())?;
    let port = support::free_port();
    let env = vec![
        ("PREFECT_HOME".to_string(), home.display().to_string()),
        (
            "PREFECT_API_URL".to_string(),
            format!("http://127.0.0.1:{port}/api"),
        ),
        ("PREFECT_LOGGING_LEVEL".to_string(), "WARNING".to_string()),
    ];
    let server = Command::new(venv.join("bin/prefect"))
        .args([
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ])
        .envs(env.iter().cloned())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("prefect server: {e}"))?;
    let p = Prefect {
        python,
        script: target.join("prefect_bench.py"),
        env,
        server,
    };
    std::fs::write(&p.script, include_str!("prefect_bench.py")).map_err(|e| e.to_string())?;
    let health = format!("http://127.0.0.1:{port}/api/health");
    let deadline = Instant::now() + Duration::from_secs(90);
    while ureq::get(&health).call().is_err() {
        if Instant::now() > deadline {
            return Err("prefect server did not answer within 90 s".into());
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    Ok(p)
}

impl Prefect {
    fn run(&self, mode: &str, n: usize) -> Result<f64, String> {
        let out = std::process::Command::new(&self.python)
            .arg(&self.script)
            .args([mode, &n.to_string()])
            .envs(self.env.iter().cloned())
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("failed")
                .to_string());
        }
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .lines()
            .last()
            .unwrap_or("")
            .parse()
            .map_err(|e| format!("{e}"))
    }
}

/// 40 sequential and 500 independent no-op tasks, end to end (real server,
/// internal agent, one executor process per job), against Prefect running
/// the same in the same invocation.
async fn speed_vs_prefect() {
    const SEQUENTIAL: usize = 40;
    const INDEPENDENT: usize = 500;
    let mut server = support::start_with("bench_speed", 1, &[("RUST_LOG", "warn")]).await;
    server.login();
    let project = server.project("bench", "speed");
    // Warm-up: the internal agent's session and stream are up.
    phobos_run(&server, &project, &no_op_tasks(1, true));
    let (seq, events) = phobos_run(&server, &project, &no_op_tasks(SEQUENTIAL, true));
    let (ind, _) = phobos_run(&server, &project, &no_op_tasks(INDEPENDENT, false));
    let peer = prefect();
    println!("\npipeline speed: no-op tasks (`true`), createPipeline -> SUCCEEDED, one executor process per task");
    let row = |what: &str, ours: f64, n: usize, theirs: &Result<f64, String>| {
        match theirs {
        Ok(t) => println!(
            "  {what:<28} phobos {ours:>7.2} s ({:>5.1} ms/task)   prefect {t:>7.2} s ({:>5.1} ms/task)   phobos/prefect {:.2}x",
            ours * 1000.0 / n as f64,
            t * 1000.0 / n as f64,
            ours / t
        ),
        Err(why) => println!(
            "  {what:<28} phobos {ours:>7.2} s ({:>5.1} ms/task)   prefect: missing ({why})",
            ours * 1000.0 / n as f64
        ),
    }
    };
    let (p_seq, p_ind) = match &peer {
        Ok(p) => (
            p.run("sequential", SEQUENTIAL),
            p.run("independent", INDEPENDENT),
        ),
        Err(why) => (Err(why.clone()), Err(why.clone())),
    };
    row(&format!("{SEQUENTIAL} sequential"), seq, SEQUENTIAL, &p_seq);
    row(
        &format!("{INDEPENDENT} independent, one stage"),
        ind,
        INDEPENDENT,
        &p_ind,
    );
    breakdown(&events, SEQUENTIAL);
}

/// A pipeline that waits at its first node (`stage.gate.task.go`, manual)
/// and then has `stages` stages of `per_stage` tasks without actions, which
/// succeed as soon as they may run (no job, no agent): started, its node
/// completions stream as fast as the server makes them.
fn gated_tasks(stages: usize, per_stage: usize) -> String {
    let mut hcl =
        String::from("stage \"gate\" {\n  task \"go\" {\n    when = \"manual\"\n  }\n}\n");
    for s in 0..stages {
        hcl.push_str(&format!("stage \"s{s}\" {{\n"));
        for t in 0..per_stage {
            hcl.push_str(&format!("  task \"t{t}\" {{\n  }}\n"));
        }
        hcl.push_str("}\n");
    }
    hcl
}

/// Issue 11's large pipelines, in headless Chromium (`ui/e2e/bench.mjs`):
/// the page of a 2,000-node pipeline ready (title and graph drawn) against
/// a 20-node one's, loaded alternately in the same browser; and the longest
/// main-thread task while the 2,000 nodes' completions stream into the open
/// page.
async fn ui_pages() {
    use std::io::{BufRead, BufReader, Write};
    const SMALL: (usize, usize) = (2, 10);
    const LARGE: (usize, usize) = (20, 100);
    println!("\nthe UI in headless Chromium: a pipeline's page ready (title and graph drawn, median of 5 loads), and the main thread while its nodes complete");
    if !support::browser_available() {
        return;
    }
    let mut server = support::start_with("bench_ui", 0, &[("RUST_LOG", "warn")]).await;
    if !support::serves_ui(&server) {
        return;
    }
    server.login();
    let project = server.project("bench", "ui");
    let page_of = |hcl: &str| -> (String, String) {
        let id = server.run_pipeline(&project, hcl);
        let d = server.gql(
            "query($id: ID!) { pipeline(id: $id) { prn } }",
            json!({ "id": id }),
        );
        let uuid = d["pipeline"]["prn"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_string();
        (
            id,
            format!(
                "{}/organizations/bench/projects/ui/pipelines/{uuid}",
                server.base()
            ),
        )
    };
    let (_, small_url) = page_of(&gated_tasks(SMALL.0, SMALL.1));
    let (large_id, large_url) = page_of(&gated_tasks(LARGE.0, LARGE.1));
    let ui = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui");
    let mut node = std::process::Command::new("node")
        .arg(ui.join("e2e/bench.mjs"))
        .current_dir(&ui)
        .env("PHOBOS_URL", server.base())
        .env("PHOBOS_EMAIL", support::ADMIN)
        .env("PHOBOS_PASSWORD", support::PASSWORD)
        .env("SMALL_URL", &small_url)
        .env("LARGE_URL", &large_url)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("node runs");
    let mut stdin = node.stdin.take().unwrap();
    let mut figures = None;
    let mut streamed_in = 0.0;
    for line in BufReader::new(node.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if line == "stream-now" {
            let started = Instant::now();
            let d = server.gql(
                "mutation($p: ID!) { startPipelineNode(input: {pipelineId: $p, nodePath: \"stage.gate.task.go\"}) { problems { message } } }",
                json!({ "p": large_id }),
            );
            assert_eq!(d["startPipelineNode"]["problems"], json!([]), "{d}");
            let done = server.wait_finished(&large_id, Duration::from_secs(600));
            assert_eq!(done["status"], "SUCCEEDED", "{done}");
            streamed_in = started.elapsed().as_secs_f64();
            writeln!(stdin, "streamed").unwrap();
        } else if line.starts_with('{') {
            figures = serde_json::from_str::<serde_json::Value>(&line).ok();
        }
    }
    let status = node.wait().expect("node ends");
    let Some(f) = figures.filter(|_| status.success()) else {
        println!("  failed: the browser run did not finish (see its output above)");
        return;
    };
    let median = |k: &str| {
        let mut v: Vec<f64> = f[k]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|x| x.as_f64())
            .collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (small, large) = (median("small"), median("large"));
    let n_small = SMALL.0 * SMALL.1;
    let n_large = LARGE.0 * LARGE.1;
    println!(
        "  page ready, {n_small} nodes (baseline)                       {small:>8.0} ms  1.00x"
    );
    println!(
        "  page ready, {n_large} nodes                                  {large:>8.0} ms  {:.2}x the baseline's (target: at most 5x)",
        large / small
    );
    println!(
        "  longest main-thread task while its {n_large} completions stream in (the server took {streamed_in:.1} s): {:.0} ms (target: at most 200 ms; {} tasks over 50 ms)",
        f["longest"].as_f64().unwrap_or(0.0),
        f["tasks"]
    );
    let frames = f["frames"].as_f64().unwrap_or(0.0);
    let for_s = f["streamedFor"].as_f64().unwrap_or(0.0) / 1000.0;
    println!(
        "  (the page received {frames} socket frames in {for_s:.1} s, {:.0}/s; its longest task while the pages loaded: {:.0} ms)",
        frames / for_s.max(0.001),
        f["loadingLongest"].as_f64().unwrap_or(0.0)
    );
}
