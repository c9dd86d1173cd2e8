//! The server's own binary, a process of its own on a free port, reached over real HTTP: what
//! only the process shows (how it stops, how it outlives its database, what it logs).

use std::{
    path::PathBuf,
    process::{Child, Command, ExitStatus},
    time::{Duration, Instant},
};

use sqlx::PgPool;

use crate::helpers::{Client, TEST_KEYS};

/// The URL of the test's own database (the server is a separate process).
pub fn database_url(pool: &PgPool) -> String {
    let mut url = url::Url::parse(&std::env::var("DATABASE_URL").unwrap()).unwrap();
    url.set_path(&format!(
        "/{}",
        pool.connect_options().get_database().unwrap()
    ));
    url.to_string()
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The server binary, killed if the test ends without stopping it. What it writes (its log) goes
/// to a file of its own, read with [`Server::log`].
pub struct Server {
    child: Child,
    addr: String,
    http: reqwest::Client,
    log: PathBuf,
}

impl Server {
    /// Started on a free port against `database_url`, with the test master key, logging errors
    /// only, unless `settings` (environment variables) say otherwise; returns once it answers.
    pub async fn start(database_url: &str, settings: &[(&str, &str)]) -> Server {
        let addr = format!("127.0.0.1:{}", free_port());
        let log = std::env::temp_dir().join(format!("portal-server-{}.log", uuid::Uuid::new_v4()));
        let output = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_portal"))
            .env("DATABASE_URL", database_url)
            .env("DATABASE_MAX_CONNECTIONS", "3")
            .env(
                "PORTAL_LEPTOS_TOML",
                concat!(env!("CARGO_MANIFEST_DIR"), "/Leptos.toml"),
            )
            .env("LEPTOS_SITE_ADDR", &addr)
            .env("LEPTOS_ENV", "DEV")
            // The bundles are not built for these tests (no hash.txt beside the test binary).
            .env("LEPTOS_HASH_FILES", "false")
            .env("PORTAL_SECRETS_KEYS", TEST_KEYS)
            .env("RUST_LOG", "error")
            .envs(settings.iter().copied())
            .stdout(output.try_clone().unwrap())
            .stderr(output)
            .spawn()
            .unwrap();
        let server = Server {
            child,
            addr,
            http: reqwest::Client::new(),
            log,
        };
        let started = Instant::now();
        while server.get("/readyz").send().await.is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the server did not start: {}",
                server.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        server
    }

    /// A browser with no session yet, talking to this server.
    pub fn client(&self) -> Client {
        Client::over_http(&self.addr)
    }

    /// Everything the process has written so far (standard output and error).
    pub fn log(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.log).unwrap()).into_owned()
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(format!("http://{}{path}", self.addr))
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.post(format!("http://{}{path}", self.addr))
    }

    /// `GET path` signed now with `secret`, as a customer's backend sends it.
    pub fn signed_get(&self, secret: &str, path: &str) -> reqwest::RequestBuilder {
        let timestamp = chrono::Utc::now().timestamp_millis().to_string();
        let signature =
            portal::platform::signature::sign(secret.as_bytes(), "GET", path, &timestamp, b"");
        self.get(path)
            .header("x-cs-timestamp", timestamp)
            .header("x-cs-signature", signature)
    }

    /// SIGTERM, then its exit status (within 30 s).
    pub async fn stop(mut self) -> ExitStatus {
        let killed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let stopped = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                stopped.elapsed() < Duration::from_secs(30),
                "the server did not stop"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = self.log();
            let lines: Vec<&str> = log.lines().collect();
            let last = &lines[lines.len().saturating_sub(200)..];
            eprintln!("the server's log, its last lines:\n{}", last.join("\n"));
        }
        let _ = std::fs::remove_file(&self.log);
    }
}
