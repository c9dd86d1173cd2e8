//! The real server binary over real HTTP: stopped with SIGTERM, it writes its last requests'
//! usage on the way out; with its database stopped under traffic, it answers every request within
//! a second, each in its caller's shape, goes on verifying signed calls with the keys it holds,
//! and recovers once the database is back, losing no usage.

use std::{
    path::PathBuf,
    process::Command,
    time::{Duration, Instant},
};

use sqlx::PgPool;

use crate::{
    helpers::{TestApp, created, eventually},
    process::{Server, database_url, free_port},
};

#[sqlx::test]
async fn a_graceful_stop_writes_the_last_used_dates(pool: PgPool) {
    let (mut client, env) = TestApp::new(pool.clone()).customer("ada@example.com").await;
    let secret = created(&mut client, env).await;

    // Usage is written hourly: only the write on the way out can write it.
    let server = Server::start(
        &database_url(&pool),
        &[("PORTAL_USAGE_FLUSH_MS", "3600000")],
    )
    .await;
    let path = format!("/api/v1/environments/{env}/ping");
    let reply = server
        .signed_get(&secret.value, &path)
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

    let status = server.stop().await;
    assert!(status.success(), "{status}");
    let written = last_used().await.expect("written on the way out");
    assert!((chrono::Utc::now() - written).num_seconds().abs() < 60);
}

/// A PostgreSQL cluster of the test's own, which it stops and starts (with scripts/lib.sh's
/// functions, as scripts/test starts its own); stopped and deleted when dropped. Reached over
/// TCP, as in production: while it is stopped, connecting is refused (a socket file would just
/// be missing, which fails faster than any real outage).
struct Cluster {
    root: PathBuf,
    port: u16,
}

impl Cluster {
    fn new() -> Cluster {
        let root = std::env::temp_dir().join(format!("portal-outage-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&root).unwrap();
        // The cluster's owner (`postgres` when the tests run as root) must reach its folders.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
        let cluster = Cluster {
            root,
            port: free_port(),
        };
        cluster.start();
        cluster
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn start(&self) {
        self.lib(&format!(
            r#"pg_start "$1/data" "$1/sock" fsync=off listen_addresses=127.0.0.1 port={}"#,
            self.port
        ));
    }

    fn stop(&self) {
        self.lib(r#"pg_stop "$1/data""#);
    }

    fn lib(&self, command: &str) {
        let script = format!(
            "source {}/scripts/lib.sh && {command}",
            env!("CARGO_MANIFEST_DIR")
        );
        let status = Command::new("bash")
            .args(["-c", &script, "cluster"])
            .arg(&self.root)
            .status()
            .unwrap();
        assert!(status.success(), "{command}: {status}");
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// Requests answered during the outage, by kind.
#[derive(Debug, Default)]
struct Answered {
    pages: u32,
    actions: u32,
    rest_reads: u32,
    pings: u32,
}

/// A signed ping, which must be accepted.
async fn ping_accepted(server: &Server, secret: &str, ping: &str) {
    let reply = server.signed_get(secret, ping).send().await.unwrap();
    assert_eq!(reply.status(), 200, "{:?}", reply.text().await);
}

#[tokio::test]
async fn a_database_outage_is_answered_at_once_and_survived() {
    let cluster = Cluster::new();
    let pool = PgPool::connect(&cluster.url()).await.unwrap();
    sqlx::migrate!().run(&pool).await.unwrap();
    let (mut client, env) = TestApp::new(pool.clone()).customer("ada@example.com").await;
    let secret = created(&mut client, env).await;
    let cookie = client.cookie.clone().unwrap();
    pool.close().await;

    let server = Server::start(&cluster.url(), &[("PORTAL_USAGE_FLUSH_MS", "200")]).await;
    let tab = format!("/environments/{env}/api-secrets");
    let ping = format!("/api/v1/environments/{env}/ping");
    let list = format!("/api/v1/environments/{env}/api-secrets");
    let webhooks = format!("/api/v1/environments/{env}/webhooks");
    let page = || server.get(&tab).header("cookie", &cookie);
    let action = || {
        server
            .post("/rpc/list_api_secrets")
            .header("cookie", &cookie)
            .header("sec-fetch-site", "same-origin")
            .header("accept", "application/json")
            .form(&[("environment_id", env.to_string())])
    };
    // Warm: the page works, and the secret's keys are cached by a first call.
    assert_eq!(page().send().await.unwrap().status(), 200);
    let mut accepted = 0;
    ping_accepted(&server, &secret.value, &ping).await;
    accepted += 1;

    cluster.stop();
    let mut answered = Answered::default();
    let outage = Instant::now();
    // Several rounds, however slow this machine: each is a fresh chance to hang.
    while outage.elapsed() < Duration::from_secs(3) || answered.pages < 3 {
        let sent = Instant::now();
        let reply = page().send().await.unwrap();
        let took = sent.elapsed();
        assert_eq!(reply.status(), 503);
        assert!(took < Duration::from_secs(1), "a page took {took:?}");
        assert_eq!(reply.headers()["retry-after"], "5");
        assert_eq!(reply.headers()["cache-control"], "no-store");
        let body = reply.text().await.unwrap();
        assert!(body.contains(portal::error::UNAVAILABLE), "{body}");
        // The portal's layout: its header and footer around the sentence.
        assert!(body.contains(r#"class="site-header""#), "{body}");
        assert!(body.contains("System status"), "{body}");
        answered.pages += 1;

        let sent = Instant::now();
        let reply = action().send().await.unwrap();
        let took = sent.elapsed();
        assert!(took < Duration::from_secs(1), "an action took {took:?}");
        assert_eq!(reply.status(), 503);
        assert_eq!(reply.headers()["retry-after"], "5");
        assert_eq!(reply.headers()["content-type"], "application/json");
        let error: portal::error::AppError =
            serde_json::from_str(&reply.text().await.unwrap()).unwrap();
        assert_eq!(error, portal::error::AppError::Unavailable);
        answered.actions += 1;

        // Verified with the cached keys (so counted as a use), then refused for want of the
        // database it reads.
        let sent = Instant::now();
        let reply = server
            .signed_get(&secret.value, &webhooks)
            .send()
            .await
            .unwrap();
        let took = sent.elapsed();
        assert!(took < Duration::from_secs(1), "a REST read took {took:?}");
        assert_eq!(reply.status(), 503);
        assert!(reply.headers().contains_key("retry-after"));
        let error: serde_json::Value = serde_json::from_str(&reply.text().await.unwrap()).unwrap();
        assert_eq!(error["error"], "unavailable", "{error}");
        answered.rest_reads += 1;
        accepted += 1;

        // The secrets' list is cached with their keys: it needs no database.
        let reply = server
            .signed_get(&secret.value, &list)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 200, "{:?}", reply.text().await);
        let listed: serde_json::Value = serde_json::from_str(&reply.text().await.unwrap()).unwrap();
        assert_eq!(listed[0]["masked"], secret.secret.masked, "{listed}");
        accepted += 1;

        // Its keys are cached: a signed call that needs no database still works.
        ping_accepted(&server, &secret.value, &ping).await;
        answered.pings += 1;
        accepted += 1;
    }
    assert!(answered.pages >= 3, "{answered:?}");
    assert_eq!(answered.pings, answered.pages, "{answered:?}");

    cluster.start();
    let back = Instant::now();
    loop {
        let status = page().send().await.unwrap().status();
        if status == 200 {
            break;
        }
        assert_eq!(status, 503);
        assert!(
            back.elapsed() < Duration::from_secs(5),
            "not recovered 5 s after the database came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let reply = server
        .signed_get(&secret.value, &list)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    accepted += 1;
    ping_accepted(&server, &secret.value, &ping).await;
    accepted += 1;

    // Every accepted call was counted in memory and written once the database was back: none
    // lost.
    let pool = PgPool::connect(&cluster.url()).await.unwrap();
    let written = || async {
        sqlx::query_scalar::<_, Option<i64>>(
            "SELECT sum(requests)::bigint FROM api_secret_usage WHERE secret_id = $1",
        )
        .bind(secret.secret.id)
        .fetch_one(&pool)
        .await
        .unwrap()
        .unwrap_or(0)
    };
    eventually("every accepted call's usage is written", || async {
        written().await == accepted
    })
    .await;
    let status = server.stop().await;
    assert!(status.success(), "{status}");
    assert_eq!(written().await, accepted, "none written twice");
}
