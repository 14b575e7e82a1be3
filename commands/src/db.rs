//! Connecting to PostgreSQL and applying the schema.

use std::borrow::Cow;
use std::time::Duration;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

/// The migrations in `migrations/`, compiled in so the binary carries its
/// schema. The folder is the schema's single source.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "event log",
        include_str!("../../migrations/0001_event_log.sql"),
    ),
    (
        2,
        "read models",
        include_str!("../../migrations/0002_read_models.sql"),
    ),
    (
        3,
        "job liveness",
        include_str!("../../migrations/0003_job_liveness.sql"),
    ),
    (
        4,
        "agent resources",
        include_str!("../../migrations/0004_agent_resources.sql"),
    ),
    (
        5,
        "agent heartbeats",
        include_str!("../../migrations/0005_agent_heartbeats.sql"),
    ),
    (
        6,
        "timers",
        include_str!("../../migrations/0006_timers.sql"),
    ),
    (
        7,
        "one snapshot per aggregate",
        include_str!("../../migrations/0007_one_snapshot_per_aggregate.sql"),
    ),
    (
        8,
        "job cancel",
        include_str!("../../migrations/0008_job_cancel.sql"),
    ),
    (
        9,
        "nested pipelines and environments",
        include_str!("../../migrations/0009_nested_pipelines_and_environments.sql"),
    ),
    (
        10,
        "identity",
        include_str!("../../migrations/0010_identity.sql"),
    ),
    (
        11,
        "approvals",
        include_str!("../../migrations/0011_approvals.sql"),
    ),
    (
        12,
        "service accounts",
        include_str!("../../migrations/0012_service_accounts.sql"),
    ),
    (
        13,
        "resource limits",
        include_str!("../../migrations/0013_resource_limits.sql"),
    ),
    (
        14,
        "agent service accounts",
        include_str!("../../migrations/0014_agent_service_accounts.sql"),
    ),
    (
        15,
        "releases",
        include_str!("../../migrations/0015_releases.sql"),
    ),
    (
        16,
        "protection and activity",
        include_str!("../../migrations/0016_protection_and_activity.sql"),
    ),
    (
        17,
        "notifications",
        include_str!("../../migrations/0017_notifications.sql"),
    ),
    (
        18,
        "job log ends",
        include_str!("../../migrations/0018_job_log_ends.sql"),
    ),
    (
        19,
        "waiting nodes",
        include_str!("../../migrations/0019_waiting_nodes.sql"),
    ),
    (
        20,
        "agent sessions",
        include_str!("../../migrations/0020_agent_sessions.sql"),
    ),
];

/// The migrator for [`MIGRATIONS`].
pub fn migrator() -> Migrator {
    Migrator {
        migrations: Cow::Owned(
            MIGRATIONS
                .iter()
                .map(|(v, d, sql)| {
                    Migration::new(
                        *v,
                        Cow::Borrowed(*d),
                        MigrationType::Simple,
                        Cow::Borrowed(*sql),
                        false,
                    )
                })
                .collect(),
        ),
        ignore_missing: false,
        locking: true,
        no_tx: false,
    }
}

/// Applies every migration not applied yet.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    migrator().run(pool).await
}

/// The versions of this build's migrations the database has not applied
/// (all of them when it has none).
pub async fn pending_migrations(pool: &PgPool) -> Result<Vec<i64>, sqlx::Error> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(pool)
        .await?;
    let applied: Vec<i64> = if exists {
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(pool)
            .await?
    } else {
        Vec::new()
    };
    Ok(MIGRATIONS
        .iter()
        .map(|(v, _, _)| *v)
        .filter(|v| !applied.contains(v))
        .collect())
}

/// A pool with `max_connections`, failing fast when the server is away.
pub async fn connect(
    options: PgConnectOptions,
    max_connections: u32,
) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
}

#[cfg(test)]
mod tests {
    /// A file added to `migrations/` but not to [`super::MIGRATIONS`] would
    /// never be applied (it happened).
    #[test]
    fn every_migration_file_is_compiled_in() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations");
        let mut files: Vec<i64> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| {
                let name = e.unwrap().file_name().into_string().unwrap();
                name.strip_suffix(".sql")?.split('_').next()?.parse().ok()
            })
            .collect();
        files.sort();
        let listed: Vec<i64> = super::MIGRATIONS.iter().map(|(v, _, _)| *v).collect();
        assert_eq!(files, listed);
    }

    /// A database migrated into a schema other than `public` (named by the
    /// connection's search path) has nothing pending; it once had all of
    /// its migrations pending, which stopped a server with auto-migration
    /// off.
    #[tokio::test]
    async fn pending_migrations_reads_the_schema_of_the_search_path() {
        use sqlx::Connection;
        let server = crate::testing::server_options().expect("a test PostgreSQL");
        let name = format!("search_path_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect_with(&server.clone().database("postgres"))
            .await
            .unwrap();
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await
            .unwrap();
        let opts = server.database(&name);
        let mut c = sqlx::PgConnection::connect_with(&opts).await.unwrap();
        sqlx::query("CREATE SCHEMA app")
            .execute(&mut c)
            .await
            .unwrap();
        c.close().await.unwrap();
        let pool = sqlx::PgPool::connect_with(opts.options([("search_path", "app")]))
            .await
            .unwrap();
        assert!(!super::pending_migrations(&pool).await.unwrap().is_empty());
        super::migrate(&pool).await.unwrap();
        let in_app: bool =
            sqlx::query_scalar("SELECT to_regclass('app._sqlx_migrations') IS NOT NULL")
                .fetch_one(&pool)
                .await
                .unwrap();
        assert!(in_app, "the migrations went to the search path's schema");
        assert_eq!(
            super::pending_migrations(&pool).await.unwrap(),
            Vec::<i64>::new()
        );
        pool.close().await;
    }
}
