//! The projection worker against a real PostgreSQL.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use phobos_commands::aggregates::{organization_id, OrganizationCommand};
use phobos_commands::error::LogError;
use phobos_commands::log::RecordedEvent;
use phobos_commands::subscription::{checkpoint, run, run_once, Handler, SubscriptionConfig};
use phobos_commands::testing::fresh_database;
use phobos_commands::{CommandBus, CommandContext};
use phobos_core::events::Actor;
use phobos_projections::{queries, Projector};
use sqlx::PgConnection;
use tokio::sync::{mpsc, watch};

/// The real projector, which stops in the middle of its third batch (after
/// writing half of it) and waits there to be killed.
struct StallsMidBatch {
    inner: Projector,
    batches: usize,
    stalled: mpsc::Sender<()>,
}

#[async_trait]
impl Handler for StallsMidBatch {
    async fn handle(
        &mut self,
        tx: &mut PgConnection,
        events: &[RecordedEvent],
    ) -> Result<(), LogError> {
        self.batches += 1;
        if self.batches < 3 {
            return self.inner.handle(tx, events).await;
        }
        let half = events.len() / 2;
        self.inner.handle(tx, &events[..half]).await?;
        self.stalled.send(()).await.ok();
        tokio::time::sleep(Duration::from_secs(3600)).await;
        self.inner.handle(tx, &events[half..]).await
    }
}

async fn org_count(pool: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM organizations")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_worker_mid_batch_loses_nothing_and_applies_nothing_twice() {
    let opts = fresh_database("proj_kill").await.unwrap();
    let pool = sqlx::PgPool::connect_with(opts).await.unwrap();
    let bus = Arc::new(CommandBus::new(pool.clone()));
    const N: usize = 120;
    for i in 0..N {
        let name = format!("org-{i:03}");
        bus.organization(
            &organization_id(&name),
            OrganizationCommand::CreateOrganization {
                name,
                description: String::new(),
            },
            &CommandContext::new(Actor::System("test".into())),
        )
        .await
        .unwrap();
    }

    let mut config = SubscriptionConfig::new("kill_test");
    config.batch_size = 25;
    let (stalled_tx, mut stalled) = mpsc::channel(1);
    let (_stop_tx, stop) = watch::channel(false);
    let worker = tokio::spawn(run(
        pool.clone(),
        config.clone(),
        Box::new(StallsMidBatch {
            inner: Projector,
            batches: 0,
            stalled: stalled_tx,
        }),
        None,
        stop,
    ));
    tokio::time::timeout(Duration::from_secs(30), stalled.recv())
        .await
        .expect("the worker reached its third batch");
    // Kill it: the task and its connection go away mid-transaction.
    worker.abort();
    let _ = worker.await;

    // Two batches committed; the half-written third rolled back with its
    // checkpoint. (The server notices the closed connection at once, but
    // give it a moment to finish the rollback.)
    let mut committed = 0;
    for _ in 0..50 {
        committed = org_count(&pool).await;
        if committed == 50 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        committed, 50,
        "exactly the two committed batches are visible"
    );
    let cp = checkpoint(&pool, "kill_test").await.unwrap();
    let page = queries::organizations(&pool, None, &Default::default())
        .await
        .unwrap();
    assert_eq!(page.items.len(), 50);

    // A new worker resumes from the checkpoint and finishes the log.
    let mut fresh = Projector;
    loop {
        let (n, _) = run_once(&pool, &config, &mut fresh).await.unwrap();
        if n == 0 {
            break;
        }
    }
    assert_eq!(org_count(&pool).await, N as i64, "every event applied");
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM organizations ORDER BY name")
        .fetch_all(&pool)
        .await
        .unwrap();
    let expected: Vec<String> = (0..N).map(|i| format!("org-{i:03}")).collect();
    assert_eq!(names, expected, "each exactly once");
    assert!(checkpoint(&pool, "kill_test").await.unwrap() > cp);
}

#[tokio::test]
async fn read_models_page_by_cursor() {
    let opts = fresh_database("proj_page").await.unwrap();
    let pool = sqlx::PgPool::connect_with(opts).await.unwrap();
    let bus = CommandBus::new(pool.clone());
    for i in 0..7 {
        let name = format!("o{i}");
        bus.organization(
            &organization_id(&name),
            OrganizationCommand::CreateOrganization {
                name,
                description: "d".into(),
            },
            &CommandContext::new(Actor::User("u@example.com".into())),
        )
        .await
        .unwrap();
    }
    let config = SubscriptionConfig::new("read_models");
    run_once(&pool, &config, &mut Projector).await.unwrap();
    let mut req = queries::PageRequest {
        first: Some(3),
        after: None,
    };
    let mut seen = vec![];
    loop {
        let page = queries::organizations(&pool, None, &req).await.unwrap();
        seen.extend(page.items.iter().map(|(_, o)| o.name.clone()));
        if !page.has_next_page {
            break;
        }
        req.after = page.items.last().map(|(c, _)| c.clone());
    }
    assert_eq!(seen, ["o0", "o1", "o2", "o3", "o4", "o5", "o6"]);
    let one = &queries::organizations(&pool, None, &Default::default())
        .await
        .unwrap()
        .items[0]
        .1;
    assert_eq!(one.created_by, "user:u@example.com");
    let bad = queries::organizations(
        &pool,
        None,
        &queries::PageRequest {
            first: None,
            after: Some("nonsense".into()),
        },
    )
    .await;
    assert!(bad.unwrap_err().to_string().contains("not a cursor"));
}
