//! Fault injection: the server, an agent and job executors are killed
//! (`kill -9`) at random points while pipelines run. After each kill, every
//! pipeline reaches a final state, every event was projected exactly once,
//! no job is left running, and every output an executor reported is in the
//! read model.
//!
//! `PHOBOS_CHAOS_KILLS` (20) and `PHOBOS_CHAOS_SEED` (random, printed) set
//! the run; `cargo xtask chaos [--kills N] [--seed S]` runs it longer.

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sqlx::PgPool;

/// splitmix64: a small, seeded, reproducible generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn pipeline(rng: &mut Rng, round: usize) -> String {
    let mut hcl = String::new();
    for stage in 0..2 {
        hcl.push_str(&format!("stage \"s{stage}\" {{\n"));
        for task in 0..2 {
            let ms = rng.below(1500);
            hcl.push_str(&format!(
                "  task \"t{task}\" {{\n    action \"exec_command\" {{\n      alias = \"run\"\n      command = \"echo start-{round}; sleep {}.{:03}; echo done-{round}\"\n    }}\n  }}\n",
                ms / 1000,
                ms % 1000
            ));
        }
        hcl.push_str("}\n");
    }
    hcl
}

/// Pids of the job executors running now.
fn executors() -> Vec<String> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        if comm.trim() == "phobos-job-exec" {
            pids.push(pid);
        }
    }
    pids
}

async fn wait_all_final(server: &support::Server, ids: &[String]) {
    let deadline = Instant::now() + Duration::from_secs(90);
    for id in ids {
        let left = deadline.saturating_duration_since(Instant::now());
        let done = server.wait_finished(id, left);
        let status = done["status"].as_str().unwrap();
        assert!(status == "SUCCEEDED" || status == "FAILED", "{done}");
    }
}

/// Waits until the projector has applied the whole log, then checks the
/// invariants against the log itself.
async fn check_invariants(server: &support::Server, pool: &PgPool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let body: Value = ureq::get(&format!("http://127.0.0.1:{}/readyz", server.http))
            .config()
            .http_status_as_error(false)
            .build()
            .call()
            .unwrap()
            .body_mut()
            .read_json()
            .unwrap();
        let lag = body["workers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["name"] == "read_models")
            .map(|w| w["lag"].clone());
        if lag == Some(json!(0)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the projector does not catch up: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Exactly once: each pipeline or job event is in the history index once.
    let (events, indexed, distinct): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM events WHERE aggregate_type IN ('Pipeline', 'Job')),
                (SELECT count(*) FROM pipeline_event_index),
                (SELECT count(DISTINCT (tx_id, global_position)) FROM pipeline_event_index)",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(
        (indexed, distinct),
        (events, events),
        "events projected other than once"
    );
    // No job is left claimed or running.
    let open: Vec<(uuid::Uuid, String)> = sqlx::query_as(
        "SELECT id, status FROM jobs WHERE status IN ('QUEUED', 'CLAIMED', 'RUNNING')",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(
        open.is_empty(),
        "jobs still open after their pipelines ended: {open:?}"
    );
    // Each job's read-model status is the one its events end in.
    let wrong: Vec<(String, String)> = sqlx::query_as(
        "SELECT j.id::text, j.status FROM jobs j
          WHERE j.status <> (SELECT CASE e.event_type WHEN 'JobSucceeded' THEN 'SUCCEEDED'
                                                      WHEN 'JobFailed' THEN 'FAILED' ELSE 'OTHER' END
                               FROM events e WHERE e.aggregate_type = 'Job' AND e.aggregate_id = j.id::text
                                AND e.event_type IN ('JobSucceeded', 'JobFailed'))",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(
        wrong.is_empty(),
        "read model differs from the log: {wrong:?}"
    );
    // Every output an executor reported is in the read model.
    let missing: Vec<(String, String)> = sqlx::query_as(
        "SELECT e.aggregate_id, e.payload->'ActionOutputsRecorded'->>'action'
           FROM events e JOIN jobs j ON j.id::text = e.aggregate_id
          WHERE e.event_type = 'ActionOutputsRecorded'
            AND j.outputs -> (e.payload->'ActionOutputsRecorded'->>'action')
                IS DISTINCT FROM e.payload->'ActionOutputsRecorded'->'outputs'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(missing.is_empty(), "reported outputs missing: {missing:?}");
    // A job that failed says why (what died, or what its command did).
    let silent: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM jobs WHERE status = 'FAILED' AND coalesce(message, '') = ''",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(silent, 0, "a job failed without a reason");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_server_agents_and_executors_loses_nothing() {
    let kills: usize = std::env::var("PHOBOS_CHAOS_KILLS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(20);
    let seed: u64 = std::env::var("PHOBOS_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    println!("chaos: {kills} kills, seed {seed} (rerun with PHOBOS_CHAOS_SEED={seed})");
    let mut rng = Rng(seed);
    let mut server =
        support::start_with("chaos", 1, &[("PHOBOS_JOB_HEARTBEAT_TIMEOUT_SECONDS", "3")]).await;
    server.login();
    let project = server.project("chaos", "p");
    let (_, token) = server.agent_token("chaos-agent", None, &[], true);
    let url = format!("http://127.0.0.1:{}", server.grpc);
    let mut agent = support::AgentProcess::start(&url, "chaos-agent", &token);
    let pool = PgPool::connect_with(server.db.clone()).await.unwrap();

    let mut pipelines = Vec::new();
    let (mut servers, mut agents, mut executor_kills) = (0, 0, 0);
    for round in 0..kills {
        let ids: Vec<String> = (0..2)
            .map(|_| server.run_pipeline(&project, &pipeline(&mut rng, round)))
            .collect();
        tokio::time::sleep(Duration::from_millis(200 + rng.below(1800))).await;
        match rng.below(3) {
            0 => {
                server.kill9();
                tokio::time::sleep(Duration::from_millis(rng.below(3000))).await;
                server.restart();
                server.login();
                servers += 1;
            }
            1 => {
                drop(agent);
                tokio::time::sleep(Duration::from_millis(rng.below(1000))).await;
                agent = support::AgentProcess::start(&url, "chaos-agent", &token);
                agents += 1;
            }
            _ => {
                let running = executors();
                if let Some(pid) = running.get(rng.below(running.len().max(1) as u64) as usize) {
                    let _ = std::process::Command::new("kill")
                        .args(["-9", pid])
                        .status();
                    executor_kills += 1;
                } else {
                    // Nothing running at this instant: kill the agent instead.
                    drop(agent);
                    agent = support::AgentProcess::start(&url, "chaos-agent", &token);
                    agents += 1;
                }
            }
        }
        pipelines.extend(ids);
        wait_all_final(&server, &pipelines).await;
        check_invariants(&server, &pool).await;
        println!(
            "chaos: round {round} survived ({} pipelines)",
            pipelines.len()
        );
    }
    let outcomes: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, count(*) FROM pipelines GROUP BY status ORDER BY status")
            .fetch_all(&pool)
            .await
            .unwrap();
    println!("chaos: pipelines by outcome: {outcomes:?}");
    println!(
        "chaos: survived {} kills (server {servers}, agent {agents}, executor {executor_kills}), seed {seed}",
        servers + agents + executor_kills
    );
    assert_eq!(servers + agents + executor_kills, kills);
    drop(agent);
}
