//! The event log against a real PostgreSQL (`cargo xtask test` provides it).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use phobos_commands::aggregates::{JobCommand, OrganizationCommand};
use phobos_commands::log::{read_after, read_aggregate, Position};
use phobos_commands::testing::fresh_database;
use phobos_commands::{CommandBus, CommandContext, CommandError, DomainError};
use phobos_core::events::{Actor, JobSpec};
use rand::Rng;
use sqlx::PgPool;

async fn pool(name: &str) -> PgPool {
    let opts = fresh_database(name).await.expect("test database");
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(40)
        .connect_with(opts)
        .await
        .unwrap()
}

fn ctx() -> CommandContext {
    CommandContext::new(Actor::User("tester@example.com".into()))
}

#[tokio::test]
async fn events_carry_metadata_and_cannot_be_changed() {
    let pool = pool("log_meta").await;
    let bus = CommandBus::new(pool.clone());
    let c = ctx();
    bus.organization(
        "o1",
        OrganizationCommand::CreateOrganization {
            name: "acme".into(),
            description: "".into(),
        },
        &c,
    )
    .await
    .unwrap();
    let evs = read_aggregate(&pool, "Organization", "o1").await.unwrap();
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].event_type, "OrganizationCreated");
    assert_eq!(evs[0].event_version, "1");
    let m = evs[0].metadata().expect("complete metadata");
    assert_eq!(m.actor, Actor::User("tester@example.com".into()));
    assert_eq!(m.command, "CreateOrganization");
    assert_eq!(m.correlation_id, c.correlation_id);
    assert_eq!(m.trace_id, c.trace_id);

    // A second create is refused by the aggregate, and nothing is appended.
    let again = bus
        .organization(
            "o1",
            OrganizationCommand::CreateOrganization {
                name: "acme".into(),
                description: "".into(),
            },
            &c,
        )
        .await;
    assert!(
        matches!(
            again,
            Err(CommandError::Rejected(DomainError::AlreadyExists(_)))
        ),
        "{again:?}"
    );

    for sql in [
        "UPDATE events SET event_type = 'x'",
        "DELETE FROM events",
        "TRUNCATE events",
    ] {
        let err = sqlx::query(sql).execute(&pool).await.expect_err(sql);
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(
        read_aggregate(&pool, "Organization", "o1")
            .await
            .unwrap()
            .len(),
        1
    );
}

/// Writers hold their transactions open for random times, so commits come
/// out of position order; readers polling all the while must see every
/// event exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readers_never_skip_or_repeat_events_of_interleaved_writers() {
    let pool = pool("log_order").await;
    const WRITERS: usize = 12;
    const PER_WRITER: usize = 40;
    let finished = Arc::new(std::sync::atomic::AtomicBool::new(false));

    let mut readers = Vec::new();
    for _ in 0..3 {
        let pool = pool.clone();
        let finished = finished.clone();
        readers.push(tokio::spawn(async move {
            let mut cursor = Position::START;
            let mut seen = Vec::new();
            // Transactions anywhere in the cluster (other tests) can hold
            // the horizon back for a while, so after the writers finish a
            // reader keeps polling until it has them all or time runs out.
            let mut deadline = None;
            loop {
                let batch = read_after(&pool, cursor, 7).await.unwrap();
                for e in &batch {
                    assert!(e.position > cursor, "order went backwards");
                    cursor = e.position;
                    seen.push(e.event_id);
                }
                if batch.is_empty() {
                    if finished.load(std::sync::atomic::Ordering::SeqCst) {
                        let d = *deadline.get_or_insert_with(|| {
                            std::time::Instant::now() + Duration::from_secs(20)
                        });
                        if seen.len() >= WRITERS * PER_WRITER || std::time::Instant::now() > d {
                            return seen;
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        }));
    }

    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let pool = pool.clone();
        writers.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..PER_WRITER {
                let hold = rand::rng().random_range(0..6u64);
                let mut tx = pool.begin().await.unwrap();
                let id: uuid::Uuid = sqlx::query_scalar(
                    "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
                     VALUES ('Test', $1, $2, 'Tested', '1', '{}', '{}') RETURNING event_id",
                )
                .bind(format!("w{w}"))
                .bind(i as i64 + 1)
                .fetch_one(&mut *tx)
                .await
                .unwrap();
                tokio::time::sleep(Duration::from_millis(hold)).await;
                tx.commit().await.unwrap();
                ids.push(id);
            }
            ids
        }));
    }
    let mut written = HashSet::new();
    for w in writers {
        written.extend(w.await.unwrap());
    }
    finished.store(true, std::sync::atomic::Ordering::SeqCst);
    for r in readers {
        let seen = r.await.unwrap();
        let unique: HashSet<_> = seen.iter().copied().collect();
        assert_eq!(unique.len(), seen.len(), "a reader saw an event twice");
        let missed = written.difference(&unique).count();
        let extra = unique.difference(&written).count();
        assert_eq!(
            (missed, extra),
            (0, 0),
            "a reader missed {missed} events (or saw {extra} unknown ones)"
        );
    }
    assert_eq!(written.len(), WRITERS * PER_WRITER);
}

/// Many agents claim one job at once: exactly one claim succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exactly_one_claim_of_a_job_wins() {
    let pool = pool("log_claim").await;
    let bus = Arc::new(CommandBus::new(pool.clone()));
    for round in 0..5 {
        let job = format!("job-{round}");
        bus.job(
            &job,
            JobCommand::QueueJob {
                pipeline_id: "p".into(),
                project_id: "pr".into(),
                node_path: "stage.s.task.t".into(),
                spec: JobSpec {
                    tags: vec![],
                    actions: vec![],
                },
            },
            &ctx(),
        )
        .await
        .unwrap();
        let mut racers = Vec::new();
        for a in 0..8 {
            let bus = bus.clone();
            let job = job.clone();
            racers.push(tokio::spawn(async move {
                bus.job(
                    &job,
                    JobCommand::ClaimJob {
                        token_sha256: format!("hash-{a}"),
                        agent_id: format!("agent-{a}"),
                        session_id: format!("s-{a}"),
                    },
                    &CommandContext::new(Actor::Agent(format!("agent-{a}"))),
                )
                .await
            }));
        }
        let mut wins = 0;
        for r in racers {
            match r.await.unwrap() {
                Ok(_) => wins += 1,
                Err(CommandError::Rejected(DomainError::Conflict(_))) => {}
                Err(e) => panic!("unexpected error: {e}"),
            }
        }
        assert_eq!(wins, 1, "round {round}");
        let events = read_aggregate(&pool, "Job", &job).await.unwrap();
        let claims = events
            .iter()
            .filter(|e| e.event_type == "JobClaimed")
            .count();
        assert_eq!(claims, 1);
    }
}

#[tokio::test]
async fn one_notification_per_appending_transaction() {
    let pool = pool("log_notify").await;
    let mut listener = sqlx::postgres::PgListener::connect_with(&pool)
        .await
        .unwrap();
    listener.listen("phobos_events").await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    for i in 1..=5i64 {
        sqlx::query(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
             VALUES ('Test', 'n', $1, 'Tested', '1', '{}', '{}')",
        )
        .bind(i)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let first = tokio::time::timeout(Duration::from_secs(5), listener.recv()).await;
    assert!(first.is_ok(), "no notification after commit");
    let second = tokio::time::timeout(Duration::from_millis(300), listener.recv()).await;
    assert!(
        second.is_err(),
        "five inserts in one transaction must notify once"
    );
}

/// Regression: the order compared transaction ids as text, so 100 came
/// before 99 (and batches skipped or repeated events once ids gained a
/// digit). Transaction ids are written explicitly here, below any real one.
#[tokio::test]
async fn global_order_compares_transaction_ids_as_numbers() {
    let pool = pool("log_numeric").await;
    for (seq, tx) in [(1i64, "99"), (2, "100"), (3, "1000")] {
        sqlx::query(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata, tx_id)
             VALUES ('Test', 'n', $1, 'Tested', '1', '{}', '{}', $2::xid8)",
        )
        .bind(seq)
        .bind(tx)
        .execute(&pool)
        .await
        .unwrap();
    }
    let all = read_after(&pool, Position::START, 10).await.unwrap();
    let txs: Vec<u64> = all.iter().map(|e| e.position.tx_id).collect();
    assert_eq!(txs, [99, 100, 1000]);
    let after_first = read_after(&pool, all[0].position, 1).await.unwrap();
    assert_eq!(after_first[0].position.tx_id, 100);
}

/// Aggregates take the time from the bus's clock, not the machine's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregates_stamp_events_with_the_buss_clock() {
    use chrono::TimeZone;
    let pool = pool("log_clock").await;
    let at = chrono::Utc.with_ymd_and_hms(2031, 2, 3, 4, 5, 6).unwrap();
    let clock = phobos_commands::clock::ManualClock::at(at);
    let bus = CommandBus::with_clock(pool.clone(), std::sync::Arc::new(clock.clone()));
    let cmd = |name: &str| OrganizationCommand::CreateOrganization {
        name: name.into(),
        description: String::new(),
    };
    bus.organization("clock-1", cmd("clock-1"), &ctx())
        .await
        .unwrap();
    clock.advance(chrono::Duration::hours(1));
    bus.organization("clock-2", cmd("clock-2"), &ctx())
        .await
        .unwrap();
    for (id, want) in [
        ("clock-1", at),
        ("clock-2", at + chrono::Duration::hours(1)),
    ] {
        let events = phobos_commands::log::read_aggregate(&pool, "Organization", id)
            .await
            .unwrap();
        let created = &events[0].payload["OrganizationCreated"]["created_at"];
        assert_eq!(
            created
                .as_str()
                .unwrap()
                .parse::<chrono::DateTime<chrono::Utc>>()
                .unwrap(),
            want,
            "{created}"
        );
    }
}
