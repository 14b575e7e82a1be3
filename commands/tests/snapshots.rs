//! Pipeline snapshots against a real PostgreSQL: a snapshot is exactly the
//! fold of the events up to the sequence it names, resuming from it gives
//! what a full replay gives, and a snapshot of another shape is ignored.

use std::sync::Arc;

use phobos_commands::aggregates::{Pipeline, PipelineCommand};
use phobos_commands::clock::SystemClock;
use phobos_commands::testing::fresh_database;
use phobos_commands::{CommandBus, CommandContext};
use phobos_core::events::{aggregate, Actor, PipelineEvent};
use phobos_core::pipeline::{job_id_for, NodeStatus, PipelineRun, PipelineStatus};
use phobos_core::template::{compile, CompileOptions, TemplateKind};
use sqlx::PgPool;

const EVERY: usize = 7;

async fn pool(name: &str) -> PgPool {
    let opts = fresh_database(name).await.expect("test database");
    PgPool::connect_with(opts).await.unwrap()
}

fn ctx() -> CommandContext {
    CommandContext::new(Actor::System("test".into()))
}

/// `n` tasks, each after the one before.
fn chain(n: usize) -> phobos_core::template::ExecutionGraph {
    let mut src = String::from("stage \"s\" {\n");
    for i in 0..n {
        src.push_str(&format!("  task \"t{i}\" {{\n"));
        if i > 0 {
            src.push_str(&format!("    dependencies = [\"t{}\"]\n", i - 1));
        }
        src.push_str("    action \"exec_command\" {\n      command = \"true\"\n    }\n  }\n");
    }
    src.push_str("}\n");
    let opts = CompileOptions::new(TemplateKind::Pipeline, chrono::Utc::now());
    compile(&src, &opts).unwrap().graph
}

/// Creates pipeline `id` with `graph`.
async fn create(
    bus: &CommandBus,
    id: &str,
    graph: phobos_core::template::ExecutionGraph,
) -> phobos_commands::Appended {
    let cmd = PipelineCommand::CreatePipeline {
        pipeline_id: id.into(),
        project_id: "p".into(),
        template_id: "t".into(),
        graph: Box::new(graph),
        created_at: None,
        origin: Default::default(),
    };
    bus.pipeline(id, cmd, &ctx()).await.unwrap()
}

async fn events(pool: &PgPool, id: &str) -> Vec<PipelineEvent> {
    let rows: Vec<serde_json::Value> = sqlx::query_scalar(
        "SELECT payload FROM events WHERE aggregate_type = $1 AND aggregate_id = $2 ORDER BY sequence",
    )
    .bind(aggregate::PIPELINE)
    .bind(id)
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|v| serde_json::from_value(v).unwrap())
        .collect()
}

fn fold(events: &[PipelineEvent]) -> PipelineRun {
    let mut run = PipelineRun::default();
    for e in events {
        run.apply(e);
    }
    run.graph = None;
    run
}

/// The snapshot row: (last_sequence, state).
async fn snapshot(pool: &PgPool, id: &str) -> Option<(usize, PipelineRun)> {
    let row: Option<(i64, serde_json::Value)> = sqlx::query_as(
        "SELECT last_sequence, payload FROM snapshots WHERE aggregate_type = $1 AND aggregate_id = $2",
    )
    .bind(aggregate::PIPELINE)
    .bind(id)
    .fetch_optional(pool)
    .await
    .unwrap();
    row.map(|(seq, payload)| {
        let p: Pipeline = serde_json::from_value(payload).unwrap();
        (seq as usize, p.run)
    })
}

async fn run_node(bus: &CommandBus, id: &str, path: &str, ok: bool) {
    let job_id = job_id_for(id, path, 1);
    let cmd = PipelineCommand::MarkNodeRunning {
        path: path.into(),
        job_id: job_id.clone(),
    };
    bus.pipeline(id, cmd, &ctx()).await.unwrap();
    let cmd = PipelineCommand::CompleteNode {
        canceled: false,
        path: path.into(),
        job_id,
        succeeded: ok,
        reason: if ok { String::new() } else { "exit 1".into() },
        outputs: Default::default(),
    };
    bus.pipeline(id, cmd, &ctx()).await.unwrap();
}

#[tokio::test]
async fn every_snapshot_is_the_fold_of_the_events_it_names() {
    let pool = pool("snap_cut").await;
    let bus = CommandBus::configured(pool.clone(), Arc::new(SystemClock), EVERY);
    let id = "snap-1";
    let graph = chain(30);
    let paths: Vec<String> = graph.stages[0]
        .nodes
        .iter()
        .map(|n| n.path.clone())
        .collect();
    create(&bus, id, graph).await;

    let mut seen = std::collections::BTreeSet::new();
    for (i, path) in paths.iter().enumerate().take(21) {
        // Node 20 fails: the other nine are skipped in one command, so a
        // single commit crosses several multiples of EVERY.
        run_node(&bus, id, path, i != 20).await;
        let log = events(&pool, id).await;
        let (seq, state) = snapshot(&pool, id).await.expect("a snapshot by now");
        assert_eq!(
            state,
            fold(&log[..seq]),
            "the snapshot at sequence {seq} is the fold of events 1..={seq}"
        );
        seen.insert(seq);
    }
    assert!(seen.len() > 5, "snapshots moved along: {seen:?}");

    let log = events(&pool, id).await;
    let full = fold(&log);
    assert_eq!(full.status, PipelineStatus::Failed);
    assert_eq!(full.node(&paths[29]).unwrap().status, NodeStatus::Skipped);
    // Resuming from any cut gives the full replay.
    for cut in 0..=log.len() {
        let mut run = fold(&log[..cut]);
        for e in &log[cut..] {
            run.apply(e);
        }
        run.graph = None;
        assert_eq!(run, full, "resumed at {cut}");
    }
}

#[tokio::test]
async fn a_snapshot_of_another_shape_is_rebuilt_from_the_events_and_swept() {
    let pool = pool("snap_shape").await;
    let bus = CommandBus::configured(pool.clone(), Arc::new(SystemClock), 3);
    let id = "snap-2";
    let graph = chain(6);
    let paths: Vec<String> = graph.stages[0]
        .nodes
        .iter()
        .map(|n| n.path.clone())
        .collect();
    create(&bus, id, graph).await;
    run_node(&bus, id, &paths[0], true).await;
    assert!(snapshot(&pool, id).await.is_some());

    // A later build's snapshot: its shape is not this build's, and its
    // state claims every node succeeded.
    sqlx::query(
        "UPDATE snapshots SET payload = jsonb_set(payload, '{shape}', '99')
         WHERE aggregate_id = $1",
    )
    .bind(id)
    .execute(&pool)
    .await
    .unwrap();
    // A fresh bus (a restarted server: no graph in memory either) goes on
    // from the events, not from the foreign snapshot.
    let bus = CommandBus::configured(pool.clone(), Arc::new(SystemClock), 3);
    run_node(&bus, id, &paths[1], true).await;
    let (_, state) = snapshot(&pool, id).await.unwrap();
    assert_eq!(state, fold(&events(&pool, id).await));
    assert_eq!(state.node(&paths[2]).unwrap().status, NodeStatus::Ready);

    sqlx::query("UPDATE snapshots SET payload = jsonb_set(payload, '{shape}', '99')")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(bus.sweep_stale_snapshots().await.unwrap(), 1);
    assert!(snapshot(&pool, id).await.is_none());
    // Without a snapshot, and with the graph read back from the log.
    let bus = CommandBus::configured(pool.clone(), Arc::new(SystemClock), 3);
    for p in &paths[2..] {
        run_node(&bus, id, p, true).await;
    }
    assert_eq!(
        fold(&events(&pool, id).await).status,
        PipelineStatus::Succeeded
    );
}

#[tokio::test]
async fn the_bus_returns_where_the_aggregate_stream_ends() {
    let pool = pool("snap_pos").await;
    let bus = CommandBus::new(pool.clone());
    let id = "snap-3";
    let graph = chain(2);
    let first = graph.stages[0].nodes[0].path.clone();
    let a = create(&bus, id, graph).await.last().await.unwrap().unwrap();
    let cmd = PipelineCommand::MarkNodeRunning {
        path: first.clone(),
        job_id: job_id_for(id, &first, 1),
    };
    let b = bus
        .pipeline(id, cmd.clone(), &ctx())
        .await
        .unwrap()
        .last()
        .await
        .unwrap()
        .unwrap();
    assert!(b > a, "{b} after {a}");
    // Idempotent: nothing appended, the same end.
    let c = bus
        .pipeline(id, cmd, &ctx())
        .await
        .unwrap()
        .last()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c, b);
    let (tx, pos): (String, i64) = sqlx::query_as(
        "SELECT tx_id::text, global_position FROM events ORDER BY global_position DESC LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((c.tx_id, c.global_position), (tx.parse().unwrap(), pos));
}

#[tokio::test]
async fn a_pipeline_is_created_at_the_time_its_graph_was_compiled_at() {
    use chrono::TimeZone;
    let pool = pool("created_at").await;
    let compiled = chrono::Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
    let clock = phobos_commands::clock::ManualClock::at(compiled + chrono::Duration::seconds(2));
    let bus = CommandBus::with_clock(pool.clone(), Arc::new(clock));
    let id = "created-1";
    let cmd = PipelineCommand::CreatePipeline {
        pipeline_id: id.into(),
        project_id: "p".into(),
        template_id: "t".into(),
        graph: Box::new(chain(1)),
        created_at: Some(compiled),
        origin: Default::default(),
    };
    bus.pipeline(id, cmd, &ctx()).await.unwrap();
    let log = events(&pool, id).await;
    let PipelineEvent::PipelineCreated { created_at, .. } = &log[0] else {
        panic!("{log:?}")
    };
    // What `timestamp()` returned in the graph, not the command's latency.
    assert_eq!(*created_at, compiled);
    let PipelineEvent::PipelineStarted { at } = &log[1] else {
        panic!("{log:?}")
    };
    assert_eq!(*at, compiled + chrono::Duration::seconds(2));
}

#[tokio::test]
async fn two_instances_take_turns_on_one_pipeline_and_each_sees_the_other() {
    // Each bus keeps the state it committed in memory; a load must still
    // apply what the other appended since.
    let pool = pool("two_buses").await;
    let a = CommandBus::configured(pool.clone(), Arc::new(SystemClock), EVERY);
    let b = CommandBus::configured(pool.clone(), Arc::new(SystemClock), EVERY);
    let id = "two-1";
    let graph = chain(12);
    let paths: Vec<String> = graph.stages[0]
        .nodes
        .iter()
        .map(|n| n.path.clone())
        .collect();
    create(&a, id, graph).await;
    for (i, path) in paths.iter().enumerate() {
        // Started on one instance, finished on the other.
        let (first, second) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let job_id = job_id_for(id, path, 1);
        let cmd = PipelineCommand::MarkNodeRunning {
            path: path.clone(),
            job_id: job_id.clone(),
        };
        first.pipeline(id, cmd, &ctx()).await.unwrap();
        let cmd = PipelineCommand::CompleteNode {
            canceled: false,
            path: path.clone(),
            job_id,
            succeeded: true,
            reason: String::new(),
            outputs: Default::default(),
        };
        second.pipeline(id, cmd, &ctx()).await.unwrap();
    }
    let log = events(&pool, id).await;
    assert_eq!(fold(&log).status, PipelineStatus::Succeeded);
    // Nothing was appended twice or missed: one start and one end a node.
    let started = log
        .iter()
        .filter(|e| matches!(e, PipelineEvent::NodeStarted { .. }))
        .count();
    let done = log
        .iter()
        .filter(|e| matches!(e, PipelineEvent::NodeSucceeded { .. }))
        .count();
    assert_eq!((started, done), (12, 12));
}

/// A batch of policy commands (`PipelineCommand::Many`) appends in one
/// transaction what each would have alone; a refused one is skipped.
#[tokio::test]
async fn a_batch_of_commands_appends_once_and_skips_what_is_refused() {
    let pool = pool("pipeline_many").await;
    let bus = CommandBus::configured(pool.clone(), Arc::new(SystemClock), EVERY);
    let id = "0c3a2e1b-0000-4000-8000-000000000001";
    create(&bus, id, chain(2)).await;
    let path = "stage.s.task.t0";
    let job_id = job_id_for(id, path, 1);
    let before = events(&pool, id).await.len();
    let cmd = PipelineCommand::Many(vec![
        PipelineCommand::MarkNodeRunning {
            path: path.into(),
            job_id: job_id.clone(),
        },
        // Refused (no such node): the others still apply.
        PipelineCommand::StartNode {
            path: "stage.s.task.nope".into(),
        },
        PipelineCommand::CompleteNode {
            path: path.into(),
            job_id,
            succeeded: true,
            canceled: false,
            reason: String::new(),
            outputs: Default::default(),
        },
    ]);
    bus.pipeline(id, cmd, &ctx()).await.unwrap();
    let log = events(&pool, id).await;
    let new: Vec<&str> = log[before..]
        .iter()
        .map(|e| {
            use phobos_core::events::NamedEvent;
            e.name()
        })
        .collect();
    assert_eq!(new, ["NodeStarted", "NodeSucceeded", "NodeBecameReady"]);
    let txs: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT tx_id::text) FROM events WHERE aggregate_id = $1 AND sequence > $2",
    )
    .bind(id)
    .bind(before as i64)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(txs, 1, "one append for the whole batch");
    let run = fold(&log);
    assert_eq!(run.nodes[path].status, NodeStatus::Succeeded);
    assert_eq!(run.nodes["stage.s.task.t1"].status, NodeStatus::Ready);
}
