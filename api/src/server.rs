//! `phobos serve`: the whole server in one process.
//!
//! Start-up: configuration → database (+ migrations) → the three log
//! followers (read-model projector, policies, job dispatcher) → gRPC →
//! HTTP → internal agents. Ctrl-C or SIGTERM stops them in reverse.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use phobos_commands::clock::{Clock, SystemClock};
use phobos_commands::health::{supervise, Health};
use phobos_commands::policies::{Policies, POLICY_SUBSCRIPTION};
use phobos_commands::subscription::{self, SubscriptionConfig};
use phobos_commands::CommandBus;
use phobos_projections::{Projector, PROJECTION_SUBSCRIPTION};
use phobos_proto::v1::agent_service_server::AgentServiceServer;
use phobos_proto::v1::job_service_server::JobServiceServer;
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use tokio::sync::watch;

use crate::auth::{TokenKind, Tokens};
use crate::config::{Config, ObjectStoreConfig};
use crate::graphql::build_schema;
use crate::grpc::{agents::AgentApi, dispatcher::Dispatcher, jobs::JobApi};
use crate::object_store::{Filesystem, ObjectStore, S3};
use crate::service::App;

fn db_options(config: &Config) -> anyhow::Result<PgConnectOptions> {
    let db = &config.db;
    let ssl: PgSslMode = db
        .ssl_mode
        .parse()
        .map_err(|_| anyhow::anyhow!("PHOBOS_DB_SSL_MODE: {:?} is not an SSL mode", db.ssl_mode))?;
    let mut o = PgConnectOptions::new()
        .host(&db.host)
        .port(db.port)
        .username(&db.username)
        .database(&db.name)
        .ssl_mode(ssl)
        .application_name("phobos");
    if let Some(p) = &db.password {
        o = o.password(&p.0);
    }
    Ok(o)
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

pub async fn serve(config: Config) -> anyhow::Result<()> {
    // A wrong certificate or key stops start-up before anything runs.
    let tls = match &config.tls {
        Some(files) => Some(crate::tls::ServerTls::load(files)?),
        None => None,
    };
    let db = &config.db;
    tracing::info!(host = %db.host, port = db.port, database = %db.name, "connecting to PostgreSQL");
    let pool = phobos_commands::db::connect(db_options(&config)?, db.max_connections)
        .await
        .with_context(|| {
            format!(
                "cannot connect to PostgreSQL at {}:{} (database {:?}, user {:?}); check PHOBOS_DB_HOST, PHOBOS_DB_PORT, PHOBOS_DB_NAME, PHOBOS_DB_USERNAME and PHOBOS_DB_PASSWORD",
                db.host, db.port, db.name, db.username
            )
        })?;
    if db.auto_migrate {
        phobos_commands::db::migrate(&pool)
            .await
            .context("applying database migrations")?;
        tracing::info!("database schema is up to date");
    } else {
        // Without migrations a server on an older schema would fail on
        // its first query instead: say so once, here.
        let pending = phobos_commands::db::pending_migrations(&pool)
            .await
            .context("reading the database's migrations")?;
        if !pending.is_empty() {
            anyhow::bail!(
                "PHOBOS_DB_AUTO_MIGRATE_ENABLED is false and the database {:?} lacks {} of this build's migrations (versions {:?}); apply them (set PHOBOS_DB_AUTO_MIGRATE_ENABLED=true once) and start again",
                db.name,
                pending.len(),
                pending
            );
        }
    }

    let (stop_tx, stop) = watch::channel(false);
    // The one clock: aggregates, services and workers read it.
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let bus = Arc::new(CommandBus::with_clock(pool.clone(), clock.clone()));
    let swept = bus
        .sweep_stale_snapshots()
        .await
        .context("removing snapshots of an older shape")?;
    if swept > 0 {
        tracing::info!(
            swept,
            "removed snapshots written by another build; they are rebuilt from the events"
        );
    }
    let (projected_tx, projected) =
        watch::channel(subscription::checkpoint(&pool, PROJECTION_SUBSCRIPTION).await?);
    // Commands record metrics from the first one on.
    if crate::metrics::install().is_none() {
        tracing::warn!(
            "a metrics recorder was installed before the server's: /metrics stays empty"
        );
    }
    let health = Arc::new(Health::default());
    let projected_tx = Arc::new(projected_tx);
    let mut workers = Vec::new();
    workers.push(supervised(PROJECTION_SUBSCRIPTION, &health, &stop, {
        let (pool, stop, health, projected_tx) = (
            pool.clone(),
            stop.clone(),
            health.clone(),
            projected_tx.clone(),
        );
        move || {
            subscription::run(
                pool.clone(),
                SubscriptionConfig::new(PROJECTION_SUBSCRIPTION).with_health(health.clone()),
                Box::new(Projector),
                Some(projected_tx.clone()),
                stop.clone(),
            )
        }
    }));

    let objects: Box<dyn ObjectStore> = match &config.object_store {
        ObjectStoreConfig::Filesystem { directory } => {
            std::fs::create_dir_all(directory).with_context(|| {
                format!(
                    "PHOBOS_OBJECT_STORE_PLUGIN_DATA_DIRECTORY: cannot create {}",
                    directory.display()
                )
            })?;
            Box::new(Filesystem::new(directory.clone()))
        }
        ObjectStoreConfig::AwsS3 {
            bucket,
            region,
            access_key_id,
            secret_access_key,
            endpoint,
        } => {
            let store = S3::new(
                bucket,
                region,
                access_key_id.as_deref(),
                secret_access_key.as_ref(),
                endpoint.as_deref(),
            )
            .await;
            // A missing bucket or a refused key stops start-up, saying which.
            store.check().await.map_err(anyhow::Error::msg)?;
            tracing::info!(%bucket, "object store: aws_s3");
            Box::new(store)
        }
    };
    let (tokens, first_keys) = match &config.jws {
        crate::config::JwsConfig::Memory => Tokens::in_memory(
            &config.token_issuer_url,
            &config.internal_idp_client_id,
            clock.clone(),
            config.signing_key_rotation_days,
            config.signing_key_decommission_days,
        ),
        crate::config::JwsConfig::Awskms(kms) => Tokens::with_ring(
            &config.token_issuer_url,
            &config.internal_idp_client_id,
            clock.clone(),
            crate::keys::KeyRing::kms(
                crate::keys::Kms::new(kms).await,
                config.signing_key_rotation_days,
                config.signing_key_decommission_days,
            ),
            Some(pool.clone()),
        ),
    }
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    crate::keys::record(&bus, first_keys)
        .await
        .map_err(|e| anyhow::anyhow!("cannot record the signing key: {e}"))?;
    // A shared ring learns the log's keys (making the first one if there is
    // none) before the server answers.
    tokens
        .maintain(&pool, &bus)
        .await
        .map_err(|e| anyhow::anyhow!("PHOBOS_JWS_PROVIDER_PLUGIN_TYPE: {e}"))?;
    let rate_limits: Box<dyn crate::rate::RateLimitStore> = match (
        std::num::NonZeroU32::new(config.http_rate_limit),
        &config.rate_limit_store,
    ) {
        (None, _) => Box::new(crate::rate::Unlimited),
        (Some(n), crate::config::RateLimitStoreConfig::Memory) => {
            Box::new(crate::rate::MemoryStore::new(n))
        }
        (Some(n), crate::config::RateLimitStoreConfig::Redis { endpoint }) => Box::new(
            crate::rate::RedisStore::connect(endpoint, n.get())
                .await
                .map_err(anyhow::Error::msg)?,
        ),
    };
    let app = Arc::new(App {
        login_attempts: crate::rate::MemoryStore::with_quota(governor::Quota::per_minute(
            std::num::NonZeroU32::MIN.saturating_add(9),
        )),
        rate_limits,
        config: config.clone(),
        pool: pool.clone(),
        bus,
        tokens,
        objects,
        projected,
        health: health.clone(),
        clock,
        issuers: crate::oidc::ExternalIssuers::new(
            &config.oauth_providers,
            crate::http_client::HttpClient::new(std::time::Duration::from_secs(10))
                .map_err(|e| anyhow::anyhow!("cannot read the machine's root certificates: {e}"))?,
        ),
        known_users: Default::default(),
    });
    // The built-in admin user exists from the start, so no external user
    // can take its username first.
    if let Some(email) = &config.admin_email {
        if let Err(e) = app
            .create_user(
                email,
                Some(email.clone()),
                &config.token_issuer_url,
                email,
                true,
            )
            .await
        {
            tracing::error!(error = %e.message, "the built-in admin user could not be created; an external user may hold its username (PHOBOS_ADMIN_USER_EMAIL)");
        }
    }
    // Policies build the children of nested pipeline nodes with the
    // template store and compiler, which the app has.
    workers.push(supervised(POLICY_SUBSCRIPTION, &health, &stop, {
        let (pool, stop, health, app) = (pool.clone(), stop.clone(), health.clone(), app.clone());
        move || {
            let policies = Policies::new(app.bus.clone())
                .with_children(Arc::new(crate::service::ChildBuilder::new(app.clone())));
            subscription::run(
                pool.clone(),
                SubscriptionConfig::new(POLICY_SUBSCRIPTION).with_health(health.clone()),
                Box::new(policies),
                None,
                stop.clone(),
            )
        }
    }));

    let dispatcher = Arc::new(Dispatcher::default());
    workers.push(supervised(DISPATCHER, &health, &stop, {
        let (d, pool, stop, health) = (
            dispatcher.clone(),
            pool.clone(),
            stop.clone(),
            health.clone(),
        );
        move || {
            let (d, pool, stop, health) = (d.clone(), pool.clone(), stop.clone(), health.clone());
            async move {
                d.run(pool, stop, &health).await;
                Ok::<(), std::convert::Infallible>(())
            }
        }
    }));
    workers.push(supervised(TIMERS, &health, &stop, {
        let (pool, bus, clock, health, stop) = (
            pool.clone(),
            app.bus.clone(),
            app.clock.clone(),
            health.clone(),
            stop.clone(),
        );
        let instance = format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
        move || {
            phobos_commands::timers::run(
                pool.clone(),
                bus.clone(),
                clock.clone(),
                instance.clone(),
                health.clone(),
                stop.clone(),
            )
        }
    }));
    // Email notifications: a follower behind the projector fills the
    // outbox; the sender empties it.
    crate::notifications::start_at_head(&pool, config.email.is_some())
        .await
        .context("setting up the notifications follower")?;
    if let Some(email) = &config.email {
        let client: Arc<dyn crate::email::EmailClient> = Arc::from(
            crate::email::from_config(&email.client)
                .await
                .map_err(|e| anyhow::anyhow!("PHOBOS_EMAIL_CLIENT_PLUGIN_TYPE: {e}"))?,
        );
        workers.push(supervised(
            crate::notifications::NOTIFICATION_SUBSCRIPTION,
            &health,
            &stop,
            {
                let (pool, stop, health, app) =
                    (pool.clone(), stop.clone(), health.clone(), app.clone());
                move || {
                    let notifier = crate::notifications::Notifier::new(
                        &app.config.ui_url,
                        app.config.email_footer.clone(),
                        app.projected.clone(),
                    );
                    subscription::run(
                        pool.clone(),
                        SubscriptionConfig::new(crate::notifications::NOTIFICATION_SUBSCRIPTION)
                            .with_health(health.clone()),
                        Box::new(notifier),
                        None,
                        stop.clone(),
                    )
                }
            },
        ));
        workers.push(supervised(crate::notifications::SENDER, &health, &stop, {
            let (pool, stop, clock, max, app) = (
                pool.clone(),
                stop.clone(),
                app.clock.clone(),
                email.max_attempts,
                app.clone(),
            );
            move || {
                crate::notifications::run_sender(
                    pool.clone(),
                    client.clone(),
                    clock.clone(),
                    max,
                    Duration::from_secs(app.config.async_task_timeout_seconds),
                    stop.clone(),
                )
            }
        }));
        tracing::info!("email notifications: on");
    } else {
        workers.push(supervised(
            crate::notifications::NOTIFICATION_SUBSCRIPTION,
            &health,
            &stop,
            {
                let (pool, stop, health) = (pool.clone(), stop.clone(), health.clone());
                move || {
                    subscription::run(
                        pool.clone(),
                        SubscriptionConfig::new(crate::notifications::NOTIFICATION_SUBSCRIPTION)
                            .with_health(health.clone()),
                        Box::new(crate::notifications::Discard),
                        None,
                        stop.clone(),
                    )
                }
            },
        ));
    }
    workers.push(supervised(crate::keys::ROTATION, &health, &stop, {
        let (app, stop) = (app.clone(), stop.clone());
        move || crate::keys::rotate(app.clone(), stop.clone())
    }));
    workers.push(supervised(REAPER, &health, &stop, {
        let (app, stop) = (app.clone(), stop.clone());
        move || {
            let (app, stop) = (app.clone(), stop.clone());
            async move {
                crate::reaper::run(app, stop).await;
                Ok::<(), std::convert::Infallible>(())
            }
        }
    }));

    // gRPC
    let grpc_addr = std::net::SocketAddr::from(([0, 0, 0, 0], config.grpc_port));
    let grpc_listener = tokio::net::TcpListener::bind(grpc_addr)
        .await
        .with_context(|| {
            format!(
                "PHOBOS_GRPC_SERVER_PORT: cannot listen on port {}",
                config.grpc_port
            )
        })?;
    let agent_api = Arc::new(AgentApi::new(app.clone(), dispatcher.clone()));
    workers.push(supervised(SESSIONS, &health, &stop, {
        let (api, stop) = (agent_api.clone(), stop.clone());
        move || {
            let expiry = api.expire_sessions(stop.clone());
            async move {
                expiry.await;
                Ok::<(), std::convert::Infallible>(())
            }
        }
    }));
    let grpc = {
        let mut stop = stop.clone();
        let mut builder = tonic::transport::Server::builder();
        if let Some(tls) = &tls {
            builder = builder
                .tls_config(tls.grpc())
                .context("PHOBOS_TLS_CERT_FILE: the gRPC server cannot use the certificate")?;
        }
        builder
            .trace_fn(crate::grpc::call_span)
            .add_service(AgentServiceServer::from_arc(agent_api))
            .add_service(JobServiceServer::new(JobApi::new(app.clone())))
            .serve_with_incoming_shutdown(
                tokio_stream::wrappers::TcpListenerStream::new(grpc_listener),
                async move {
                    let _ = stop.wait_for(|s| *s).await;
                },
            )
    };
    let grpc_task = tokio::spawn(grpc);

    // HTTP
    let schema = build_schema(app.clone());
    let http_app = app.clone();
    let origins = config.cors_allowed_origins.clone();
    let http = actix_web::HttpServer::new(move || {
        actix_web::App::new()
            .wrap(crate::http::cors(&origins))
            .app_data(actix_web::web::Data::new(http_app.clone()))
            .app_data(actix_web::web::Data::new(schema.clone()))
            .configure(crate::http::routes)
    })
    .disable_signals()
    .shutdown_timeout(5);
    let address = ("0.0.0.0", config.http_port);
    let http = match &tls {
        Some(tls) => http.bind_rustls_0_23(address, tls.http.clone()),
        None => http.bind(address),
    }
    .with_context(|| {
        format!(
            "PHOBOS_HTTP_SERVER_PORT: cannot listen on port {}",
            config.http_port
        )
    })?
    .run();
    let http_handle = http.handle();
    let scheme = if tls.is_some() { "https" } else { "http" };
    let http_task = tokio::spawn(http);
    tracing::info!(
        http = %format!("{scheme}://localhost:{}/graphql", config.http_port),
        grpc_port = config.grpc_port,
        ui = if crate::ui::built() { "embedded" } else { "not built (cargo xtask ui)" },
        "phobos is serving"
    );

    // Internal agents, speaking gRPC to this server like any other agent.
    let mut agents = Vec::new();
    for a in &config.internal_agents {
        app.ensure_internal_agent(&a.name, &a.tags)
            .await
            .map_err(|e| anyhow::anyhow!("internal agent {:?}: {e}", a.name))?;
        let executor_path = match &a.executor_path {
            Some(p) => p.clone(),
            None => default_executor_path(),
        };
        let cfg = phobos_agent::AgentConfig {
            // Over TLS: trust exactly the server's own certificate file,
            // checked against the name it was issued for.
            server_url: format!("{scheme}://127.0.0.1:{}", config.grpc_port),
            tls: match &tls {
                Some(tls) => phobos_agent::ServerTrust {
                    ca_pem: Some(String::from_utf8_lossy(&tls.cert_pem).into_owned()),
                    domain: Some(tls.name.clone()),
                },
                None => Default::default(),
            },
            token: app
                .tokens
                .issue(TokenKind::Agent, &a.name, chrono::Duration::days(3650))
                .await,
            service_account: None,
            name: a.name.clone(),
            tags: a.tags.clone(),
            internal: true,
            otel: config.otel.clone(),
            dispatcher: phobos_agent::DispatcherConfig::Local { executor_path },
            health_file: None,
        };
        let mut stop = stop.clone();
        let name = a.name.clone();
        agents.push(tokio::spawn(async move {
            let shutdown = async move {
                let _ = stop.wait_for(|s| *s).await;
            };
            if let Err(e) = phobos_agent::run(cfg, shutdown).await {
                tracing::error!(agent = %name, error = %e, "internal agent stopped");
            }
        }));
    }

    shutdown_signal().await;
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    http_handle.stop(true).await;
    let _ = http_task.await;
    let _ = tokio::time::timeout(Duration::from_secs(5), grpc_task).await;
    for t in agents {
        let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
    }
    for w in workers {
        let _ = tokio::time::timeout(Duration::from_secs(5), w).await;
    }
    pool.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Names of the workers on `/readyz` (besides the two subscriptions).
const DISPATCHER: &str = crate::grpc::dispatcher::NAME;
const REAPER: &str = crate::reaper::NAME;
const TIMERS: &str = phobos_commands::timers::NAME;
const SESSIONS: &str = "agent-sessions";

/// Runs the worker `start` makes under [`supervise`]: restarted with
/// backoff when it fails or panics, its state on `/readyz`.
fn supervised<F, Fut, E>(
    name: &'static str,
    health: &Arc<Health>,
    stop: &watch::Receiver<bool>,
    mut start: F,
) -> tokio::task::JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), E>> + Send + 'static,
    E: std::fmt::Display,
{
    tokio::spawn(supervise(name, health.clone(), stop.clone(), move || {
        let run = start();
        async move { run.await.map_err(|e| e.to_string()) }
    }))
}

/// `phobos-job-executor` next to this binary.
fn default_executor_path() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("phobos-job-executor")))
        .unwrap_or_else(|| PathBuf::from("phobos-job-executor"))
}
