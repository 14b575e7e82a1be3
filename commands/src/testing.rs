//! Support for tests that need a real PostgreSQL: each test gets a database
//! of its own on the server named by `PHOBOS_TEST_DATABASE_URL` (which
//! `cargo xtask test` starts and sets).

use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection, PgPool};

/// Errors setting up a test database.
#[derive(Debug, thiserror::Error)]
pub enum TestDbError {
    #[error("PHOBOS_TEST_DATABASE_URL is not set: run the tests with `cargo xtask test`, which starts a PostgreSQL for them")]
    NoServer,
    #[error("test database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("test database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// The server's connection options, from `PHOBOS_TEST_DATABASE_URL`.
pub fn server_options() -> Result<PgConnectOptions, TestDbError> {
    let url = std::env::var("PHOBOS_TEST_DATABASE_URL").map_err(|_| TestDbError::NoServer)?;
    Ok(PgConnectOptions::from_str(&url)?)
}

/// Creates a fresh, migrated database named after `prefix` and returns its
/// options.
pub async fn fresh_database(prefix: &str) -> Result<PgConnectOptions, TestDbError> {
    let server = server_options()?;
    let name = format!(
        "{}_{}",
        prefix
            .to_lowercase()
            .replace(|c: char| !c.is_ascii_alphanumeric(), "_"),
        uuid::Uuid::new_v4().simple()
    );
    let mut admin = PgConnection::connect_with(&server.clone().database("postgres")).await?;
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    let opts = server.database(&name);
    let pool = PgPool::connect_with(opts.clone()).await?;
    crate::db::migrate(&pool).await?;
    pool.close().await;
    Ok(opts)
}
