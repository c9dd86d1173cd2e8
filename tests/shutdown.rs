//! The real server binary, stopped with SIGTERM: the "last used" marks of its last requests are
//! written on the way out (its periodic flush is set to an hour, so only that write can do it).
#![cfg(feature = "ssr")]

#[path = "api/helpers.rs"]
mod common;

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use sqlx::PgPool;

/// The URL of the test's own database (the server is a separate process).
fn database_url(pool: &PgPool) -> String {
    let mut url = url::Url::parse(&std::env::var("DATABASE_URL").unwrap()).unwrap();
    url.set_path(&format!(
        "/{}",
        pool.connect_options().get_database().unwrap()
    ));
    url.to_string()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[sqlx::test]
async fn a_graceful_stop_writes_the_last_used_dates(pool: PgPool) {
    let (mut client, env) = common::TestApp::new(pool.clone())
        .customer("ada@example.com")
        .await;
    let secret = common::created(&mut client, env).await;

    let addr = format!("127.0.0.1:{}", free_port());
    let mut server = Command::new(env!("CARGO_BIN_EXE_portal"))
        .env("DATABASE_URL", database_url(&pool))
        .env("DATABASE_MAX_CONNECTIONS", "3")
        .env(
            "PORTAL_LEPTOS_TOML",
            concat!(env!("CARGO_MANIFEST_DIR"), "/Leptos.toml"),
        )
        .env("LEPTOS_SITE_ADDR", &addr)
        .env("LEPTOS_ENV", "DEV")
        .env("PORTAL_SECRETS_KEYS", common::TEST_KEYS)
        .env("PORTAL_USAGE_FLUSH_MS", "3600000")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();

    let http = reqwest::Client::new();
    let started = Instant::now();
    while http
        .get(format!("http://{addr}/readyz"))
        .send()
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the server did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let path = format!("/api/v1/environments/{env}/ping");
    let timestamp = chrono::Utc::now().timestamp_millis().to_string();
    let signature =
        portal::platform::signature::sign(secret.value.as_bytes(), "GET", &path, &timestamp, b"");
    let reply = http
        .get(format!("http://{addr}{path}"))
        .header("x-cs-timestamp", &timestamp)
        .header("x-cs-signature", signature)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);

    let last_used = || async {
        sqlx::query_scalar::<_, Option<chrono::DateTime<chrono::Utc>>>(
            "SELECT last_used_at FROM api_secrets WHERE id = $1",
        )
        .bind(secret.secret.id)
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    assert_eq!(
        last_used().await,
        None,
        "not written while running (hourly flush)"
    );

    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let stopped = Instant::now();
    let status = loop {
        if let Some(status) = server.try_wait().unwrap() {
            break status;
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(30),
            "the server did not stop"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status}");
    let written = last_used().await.expect("written on the way out");
    assert!((chrono::Utc::now() - written).num_seconds().abs() < 60);
}
