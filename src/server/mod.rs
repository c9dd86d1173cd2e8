//! Everything that runs only on the server: configuration, start-up, HTTP plumbing.

pub mod action_errors;
pub mod csrf;
pub mod health;
pub mod http;
pub mod unavailable;

use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use tracing_subscriber::EnvFilter;

use leptos::prelude::IntoAny;

use crate::{
    accounts::{password, session, throttle},
    api::replay,
    platform::{
        changes,
        config::{Config, ConfigError},
        failures,
        state::AppState,
        usage,
    },
    webhooks::delivery::{
        Worker,
        queue::{PRUNE_BATCH, RETENTION, prune},
    },
};

/// Why the server could not start. Each message says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("cannot connect to the database: {0}")]
    Database(#[source] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot build the webhooks' HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
    #[error(
        "{0} is missing: the bundles' names are hashed (hash-files in Leptos.toml), and cargo-leptos \
         writes them down there; deploy it beside the server binary, or set LEPTOS_HASH_FILES=false"
    )]
    MissingHashFile(std::path::PathBuf),
    #[error("server error: {0}")]
    Serve(#[source] std::io::Error),
}

/// Config → telemetry → pool → migrations → router → serve until SIGINT/SIGTERM.
pub async fn run() -> Result<(), StartupError> {
    init_tracing();
    let config = Config::from_env()?;
    check_hash_file(&config.leptos_options)?;

    let pool = connect(&config).await?;
    migrate(&config, &pool).await?;
    tracing::info!("database schema is up to date");

    let addr = config.leptos_options.site_addr;
    let usage_flush_interval = config.usage_flush_interval;
    let janitor_interval = config.janitor_interval;
    let state = state(config, pool);
    let app = http::router(state.clone());
    tokio::spawn(janitor(state.pool.clone(), janitor_interval));
    tokio::spawn(changes::listen(
        state.pool.clone(),
        vec![
            state.keys.clone(),
            state.pages.clone(),
            state.signed_in.clone(),
        ],
    ));
    tokio::spawn(flush_counts(state.clone(), usage_flush_interval));
    let worker = Worker::new(&state).map_err(StartupError::HttpClient)?;
    tokio::spawn(std::sync::Arc::new(worker).run());
    tokio::task::spawn_blocking(password::warm_up);

    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| StartupError::Listen { addr, source })?;
    tracing::info!("listening on http://{addr}");
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(StartupError::Serve)?;

    // The last requests' usage ("Last used", counts, callers) and refusals.
    flush(&state).await;
    state.pool.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Pages name the bundles from the hash file beside the binary (as leptos reads it): checked at
/// start, so a deploy without it fails here instead of at the first page view.
fn check_hash_file(options: &leptos::config::LeptosOptions) -> Result<(), StartupError> {
    if !options.hash_files {
        return Ok(());
    }
    let beside_binary = crate::app::hash_file_path(options);
    if beside_binary.is_file() {
        Ok(())
    } else {
        Err(StartupError::MissingHashFile(beside_binary))
    }
}

/// The app's state: the features' shared parts, and the document they render pages in.
pub fn state(config: Config, pool: sqlx::PgPool) -> AppState {
    AppState::new(config, pool, |options| {
        crate::app::shell(options).into_any()
    })
}

/// Writes what requests counted in memory (usage, refusals) every `interval` (normally
/// [`usage::FLUSH_INTERVAL`]) until the pool closes (the server flushes once more after its last
/// request on shutdown).
async fn flush_counts(state: AppState, interval: Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if state.pool.is_closed() {
            return;
        }
        flush(&state).await;
    }
}

/// Each is kept in memory for the next try if its write fails.
async fn flush(state: &AppState) {
    if let Err(e) = state.usage.flush(&state.pool).await {
        tracing::warn!(error = %e, "writing API secret usage failed; will retry");
    }
    if let Err(e) = state.failures.flush(&state.pool).await {
        tracing::warn!(error = %e, "writing failed requests failed; will retry");
    }
}

/// How long per-hour request counts and callers of API secrets are kept.
const USAGE_RETENTION_DAYS: i32 = 90;

/// Deletes expired sessions, sign-in failures older than the throttling window, accepted
/// signatures whose timestamps have left the window and webhook deliveries past their
/// retention, and queues API secrets' expiry notices, every `interval` (a minute unless
/// configured otherwise).
async fn janitor(pool: sqlx::PgPool, interval: Duration) {
    use tower_sessions::ExpiredDeletion;
    let store = session::store(pool.clone());
    let mut tick = tokio::time::interval(interval);
    loop {
        tick.tick().await;
        // Shutting down: nothing to prune with.
        if pool.is_closed() {
            return;
        }
        if let Err(e) = store.delete_expired().await {
            tracing::warn!(error = %e, "deleting expired sessions failed");
        }
        if let Err(e) = session::prune(&pool).await {
            tracing::warn!(error = %e, "pruning ended sessions failed");
        }
        if let Err(e) = throttle::prune(&pool).await {
            tracing::warn!(error = %e, "pruning old sign-in failures failed");
        }
        if let Err(e) = replay::prune(&pool).await {
            tracing::warn!(error = %e, "pruning expired accepted signatures failed");
        }
        prune_deliveries(&pool).await;
        if let Err(e) = usage::prune(&pool, USAGE_RETENTION_DAYS).await {
            tracing::warn!(error = %e, "pruning old API secret usage failed");
        }
        if let Err(e) = failures::prune(&pool).await {
            tracing::warn!(error = %e, "pruning old failed requests failed");
        }
        if let Err(e) = crate::secrets::db::prune_reveals(&pool).await {
            tracing::warn!(error = %e, "pruning untaken API secret reveals failed");
        }
        if let Err(e) = crate::secrets::expiry::announce(&pool, chrono::Utc::now()).await {
            tracing::warn!(error = %e, "queueing API secret expiry notices failed");
        }
    }
}

/// Deletes finished deliveries past their retention, a batch at a time (at most 20 per minute,
/// so that a backlog is worked off without one long transaction or a busy loop).
async fn prune_deliveries(pool: &sqlx::PgPool) {
    for _ in 0..20 {
        match prune(pool, RETENTION, PRUNE_BATCH).await {
            Ok(deleted) if deleted < PRUNE_BATCH.unsigned_abs() => return,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "pruning old webhook deliveries failed");
                return;
            }
        }
    }
}

/// Logs to stderr, filtered by `RUST_LOG` (default: `info`).
fn init_tracing() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // A second call (tests) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// How long a request waits for a database connection: a page view holds one for a millisecond
/// or two, so waiting longer means the database is out of reach (or overwhelmed), and the
/// customer is told so (503) within a second instead of after a long wait, even by a signed call
/// that waits twice (for its keys, then for its data).
const ACQUIRE_TIMEOUT: Duration = Duration::from_millis(400);

/// The pool, with its connections opened before the server serves (and, should any close, by
/// the pool in the background): a request never waits for a connection to be established, which
/// on a busy machine can take longer than [`ACQUIRE_TIMEOUT`]. The database must answer once
/// for the server to start.
async fn connect(config: &Config) -> Result<sqlx::PgPool, StartupError> {
    let size = config.database_max_connections;
    let pool = PgPoolOptions::new()
        .max_connections(size)
        .min_connections(size)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_lazy_with(config.database.clone());
    // Held until all are open, so that each acquire opens one more.
    let mut opened = vec![pool.acquire().await.map_err(StartupError::Database)?];
    for _ in 1..size {
        match pool.acquire().await {
            Ok(connection) => opened.push(connection),
            Err(e) => {
                tracing::warn!(error = %e, opened = opened.len(), "opening the pool's connections");
                break;
            }
        }
    }
    Ok(pool)
}

/// Runs the migrations as the schema's owner (`DATABASE_MIGRATION_URL`, one connection for as
/// long as they take) when one is configured, else through the server's own pool (whose role
/// then owns the schema).
async fn migrate(config: &Config, pool: &sqlx::PgPool) -> Result<(), StartupError> {
    use sqlx::Connection;
    match &config.migration_database {
        Some(owner) => {
            let mut owner = sqlx::PgConnection::connect_with(owner)
                .await
                .map_err(StartupError::Database)?;
            sqlx::migrate!().run(&mut owner).await?;
            owner.close().await.map_err(StartupError::Database)
        }
        None => Ok(sqlx::migrate!().run(pool).await?),
    }
}

async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
