//! Durable timers on a clock the test moves: the projector keeps the
//! `timers` read model from the log, two timers workers racing fire a due
//! timer once, nothing fires early, a worker started after the time fires
//! at once, and a repeated firing changes nothing.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use phobos_commands::aggregates::PipelineCommand;
use phobos_commands::clock::{Clock, ManualClock};
use phobos_commands::health::Health;
use phobos_commands::subscription::{run_once, SubscriptionConfig};
use phobos_commands::testing::fresh_database;
use phobos_commands::{CommandBus, CommandContext};
use phobos_core::events::{aggregate, Actor, PipelineEvent};
use phobos_core::template::{compile, CompileOptions, TemplateKind};
use phobos_projections::Projector;
use sqlx::PgPool;
use tokio::sync::watch;

/// Seed 001's health check waits 2 minutes between attempts; a schedule of
/// the same distance.
const TEMPLATE: &str = r#"
stage "s" {
  task "later" {
    schedule {
      type    = "datetime"
      options = { value = "2026-12-01T12:02:00Z" }
    }
    action "exec_command" { command = "true" }
  }
}
"#;

/// Projects until every event committed so far is in the read models. (A
/// batch that finds nothing is not the end: a transaction of another test
/// on the same cluster can hold the readers back for a moment.)
async fn project(pool: &PgPool) {
    let config = SubscriptionConfig::new("read_models");
    let mut projector = Projector;
    let last: Option<i64> = sqlx::query_scalar("SELECT max(global_position) FROM events")
        .fetch_one(pool)
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (_, at) = run_once(pool, &config, &mut projector).await.unwrap();
        if last.is_none_or(|l| at.global_position >= l) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the projector did not reach event {last:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
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

fn ready_count(evs: &[PipelineEvent]) -> usize {
    evs.iter()
        .filter(|e| matches!(e, PipelineEvent::NodeBecameReady { .. }))
        .count()
}

async fn timers(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM timers")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// A fresh database with TEMPLATE's pipeline created and projected (its
/// timer pending), on a manual clock at `t0`.
struct Scheduled {
    pool: PgPool,
    t0: chrono::DateTime<Utc>,
    manual: ManualClock,
    clock: Arc<dyn Clock>,
    bus: Arc<CommandBus>,
    ctx: CommandContext,
    id: String,
}

async fn scheduled(name: &str) -> Scheduled {
    let opts = fresh_database(name).await.unwrap();
    let pool = PgPool::connect_with(opts).await.unwrap();
    let t0 = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
    let manual = ManualClock::at(t0);
    let clock: Arc<dyn Clock> = Arc::new(manual.clone());
    let bus = Arc::new(CommandBus::with_clock(pool.clone(), clock.clone()));
    let ctx = CommandContext::new(Actor::System("test".into()));
    let id = uuid::Uuid::new_v4().to_string();
    let graph = compile(TEMPLATE, &CompileOptions::new(TemplateKind::Pipeline, t0))
        .unwrap()
        .graph;
    let cmd = PipelineCommand::CreatePipeline {
        pipeline_id: id.clone(),
        project_id: uuid::Uuid::new_v4().to_string(),
        template_id: uuid::Uuid::new_v4().to_string(),
        graph: Box::new(graph),
        created_at: None,
        origin: Default::default(),
    };
    bus.pipeline(&id, cmd, &ctx).await.unwrap();
    project(&pool).await;
    Scheduled {
        pool,
        t0,
        manual,
        clock,
        bus,
        ctx,
        id,
    }
}

fn worker(
    pool: &PgPool,
    bus: &Arc<CommandBus>,
    clock: &Arc<dyn Clock>,
    name: &str,
    stop: &watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let run = phobos_commands::timers::run(
        pool.clone(),
        bus.clone(),
        clock.clone(),
        name.to_string(),
        Arc::new(Health::default()),
        stop.clone(),
    );
    tokio::spawn(async move {
        run.await.unwrap();
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timer_fires_once_at_its_time_whoever_races_for_it() {
    let Scheduled {
        pool,
        t0,
        manual,
        clock,
        bus,
        ctx,
        id,
    } = scheduled("timers").await;
    assert_eq!(timers(&pool).await, 1, "the projector made the timer");

    let (stop_tx, stop) = watch::channel(false);
    let a = worker(&pool, &bus, &clock, "a", &stop);
    let b = worker(&pool, &bus, &clock, "b", &stop);
    // A minute before its time: nothing, however long the workers look.
    manual.advance(chrono::Duration::minutes(1));
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(ready_count(&events(&pool, &id).await), 0, "fired early");

    // Its time: one of them fires it, within a second.
    manual.advance(chrono::Duration::minutes(1));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while ready_count(&events(&pool, &id).await) == 0 {
        assert!(tokio::time::Instant::now() < deadline, "never fired");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Until the projector catches up the row stays, and the racing
    // workers may fire again after the lease: nothing more is appended.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    manual.advance(chrono::Duration::seconds(30)); // past every lease
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let evs = events(&pool, &id).await;
    assert_eq!(ready_count(&evs), 1, "fired once: {evs:#?}");
    let PipelineEvent::NodeBecameReady { at, .. } = evs
        .iter()
        .find(|e| matches!(e, PipelineEvent::NodeBecameReady { .. }))
        .unwrap()
    else {
        unreachable!()
    };
    assert_eq!(
        *at,
        t0 + chrono::Duration::minutes(2),
        "stamped by the moved clock"
    );

    // A duplicate firing by hand changes nothing either.
    let before = evs.len();
    let cmd = PipelineCommand::FireTimer {
        path: "stage.s.task.later".into(),
    };
    bus.pipeline(&id, cmd, &ctx).await.unwrap();
    assert_eq!(events(&pool, &id).await.len(), before);

    project(&pool).await;
    assert_eq!(timers(&pool).await, 0, "the projector removed the timer");
    stop_tx.send(true).unwrap();
    a.await.unwrap();
    b.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_started_after_the_time_fires_at_once() {
    let Scheduled {
        pool,
        manual,
        clock,
        bus,
        id,
        ..
    } = scheduled("timers_late").await;
    // The server was down across the time; it comes back an hour later.
    manual.advance(chrono::Duration::hours(1));
    let (stop_tx, stop) = watch::channel(false);
    let w = worker(&pool, &bus, &clock, "late", &stop);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while ready_count(&events(&pool, &id).await) == 0 {
        assert!(tokio::time::Instant::now() < deadline, "never fired");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop_tx.send(true).unwrap();
    w.await.unwrap();
}

/// A job past the deadline its `JobStarted` set (its executor alive but not
/// stopping it) is failed by its `timeout:` timer, naming the settings; a
/// job that ended first leaves no timer behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_past_its_deadline_is_failed_by_its_timer() {
    use phobos_commands::aggregates::JobCommand;
    use phobos_core::events::JobSpec;
    let Scheduled {
        pool,
        manual,
        clock,
        bus,
        ctx,
        ..
    } = scheduled("timers_job_timeout").await;
    let queue = || JobCommand::QueueJob {
        pipeline_id: uuid::Uuid::new_v4().to_string(),
        project_id: uuid::Uuid::new_v4().to_string(),
        node_path: "stage.s.task.t".into(),
        spec: JobSpec {
            tags: vec![],
            actions: vec![],
        },
    };
    let claim = || JobCommand::ClaimJob {
        agent_id: uuid::Uuid::new_v4().to_string(),
        session_id: "s".into(),
        token_sha256: "0".repeat(64),
    };
    let (stuck, done) = (
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
    );
    for job in [&stuck, &done] {
        bus.job(job, queue(), &ctx).await.unwrap();
        bus.job(job, claim(), &ctx).await.unwrap();
        let start = JobCommand::StartJob {
            deadline_seconds: Some(60),
        };
        bus.job(job, start, &ctx).await.unwrap();
    }
    bus.job(&done, JobCommand::SucceedJob, &ctx).await.unwrap();
    project(&pool).await;
    let pending: Vec<String> = sqlx::query_scalar("SELECT id FROM timers WHERE kind = 'timeout'")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(pending, [format!("timeout:{stuck}")]);

    let (stop_tx, stop) = watch::channel(false);
    let w = worker(&pool, &bus, &clock, "timeouts", &stop);
    tokio::time::sleep(Duration::from_millis(700)).await;
    let status = |id: String| {
        let pool = pool.clone();
        async move {
            let job = phobos_commands::aggregates::Job::load(&pool, &id)
                .await
                .unwrap()
                .unwrap();
            job.status()
        }
    };
    assert_eq!(
        status(stuck.clone()).await,
        phobos_commands::aggregates::JobStatus::Running,
        "nothing fires early"
    );
    manual.advance(chrono::Duration::seconds(61));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while status(stuck.clone()).await != phobos_commands::aggregates::JobStatus::Failed {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the timeout never fired"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop_tx.send(true).unwrap();
    w.await.unwrap();
    let message: String = sqlx::query_scalar(
        "SELECT payload->'JobFailed'->>'message' FROM events WHERE aggregate_id = $1 AND event_type = 'JobFailed'",
    )
    .bind(&stuck)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(message.contains("PHOBOS_JOB_TIMEOUT_SECONDS"), "{message}");
    project(&pool).await;
    assert_eq!(timers(&pool).await, 1, "only the schedule's timer is left");
}
