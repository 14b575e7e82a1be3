//! Several `phobos serve` on one database behind a load balancer: every
//! event is projected once, every job runs once, every pipeline finishes,
//! and killing one instance mid-run leaves the other to finish the work.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;

fn template(n: usize) -> String {
    format!(
        r#"
stage "one" {{
  task "a" {{
    action "exec_command" {{ command = "sleep 3; echo ran-{n}-a" }}
  }}
  task "b" {{
    action "exec_command" {{ command = "sleep 3; echo ran-{n}-b" }}
  }}
}}
stage "two" {{
  task "c" {{
    action "exec_command" {{ command = "echo ran-{n}-c" }}
  }}
}}
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_the_work_and_survive_losing_one() {
    let mut a = support::start("instances", 0).await;
    let mut b = support::start_on("instances-b", a.db.clone(), 0, &[]);
    let balancer = support::Balancer::start(vec![a.grpc, b.grpc]).await;
    a.login();
    b.login();
    let project = a.project("acme", "multi");
    let (_, t1) = a.agent_token("worker-1", None, &[], true);
    let (_, t2) = b.agent_token("worker-2", None, &[], true);
    let _agents = [
        support::AgentProcess::start(&balancer.url(), "worker-1", &t1),
        support::AgentProcess::start(&balancer.url(), "worker-2", &t2),
    ];

    // Pipelines created through either instance.
    let mut pipelines = Vec::new();
    for n in 0..6 {
        let server = if n % 2 == 0 { &a } else { &b };
        pipelines.push((n, server.run_pipeline(&project, &template(n))));
    }
    // Mid-run, one instance dies.
    std::thread::sleep(Duration::from_millis(1500));
    a.kill9();

    let deadline = Instant::now() + Duration::from_secs(120);
    for (n, id) in &pipelines {
        let left = deadline.saturating_duration_since(Instant::now());
        let done = b.wait_finished(id, left);
        assert_eq!(
            done["status"],
            "SUCCEEDED",
            "pipeline {n}: {done}\n{}",
            b.log_text()
        );
        for job in done["jobs"].as_array().unwrap() {
            let task = job["nodePath"]
                .as_str()
                .unwrap()
                .rsplit('.')
                .next()
                .unwrap();
            let log = job["logs"]["text"].as_str().unwrap();
            assert_eq!(log.matches(&format!("ran-{n}-{task}")).count(), 1, "{log}");
        }
    }

    // Exactly once, checked against the log itself.
    let pool = sqlx::PgPool::connect_with(b.db.clone()).await.unwrap();
    let twice: Vec<(String, i64)> = sqlx::query_as(
        "SELECT aggregate_id, count(*) FROM events WHERE event_type = 'JobClaimed'
          GROUP BY aggregate_id HAVING count(*) > 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(twice.is_empty(), "jobs claimed twice: {twice:?}");
    let claimed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE event_type = 'JobClaimed'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(claimed, 18);
    // Every pipeline and job event is in the read model's history once.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (events, indexed): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM events WHERE aggregate_type IN ('Pipeline', 'Job')),
                    (SELECT count(*) FROM pipeline_event_index)",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        if events == indexed {
            break;
        }
        assert!(indexed < events, "an event was projected twice");
        assert!(Instant::now() < deadline, "{indexed} of {events} projected");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let d = b.gql("{ agents { edges { node { name } } } }", json!({}));
    assert_eq!(d["agents"]["edges"].as_array().unwrap().len(), 2, "{d}");
}
