//! Webhooks end to end over real HTTP: the portal and REST API add them, the delivery worker
//! POSTs events to a receiver on loopback that checks signatures on its own (hmac + sha2, not the
//! portal's code), fails on purpose, and counts what arrives. Real Postgres throughout.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use crate::helpers::{Client, Reply, TestApp, count, eventually, signed_call};
use axum::{
    body::{Body, Bytes},
    http::{HeaderMap, Request, StatusCode},
    response::IntoResponse,
};
use hmac::{Hmac, Mac};
use portal::{
    platform::state::AppState,
    webhooks::{
        NO_SIGNER,
        delivery::{Worker, queue},
    },
};
use sqlx::PgPool;
use uuid::Uuid;

/// What the receiver saw of one request.
#[derive(Debug, Clone)]
struct Received {
    path_and_query: String,
    headers: HeaderMap,
    body: String,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }

    /// Whether `signature_header` is the HMAC-SHA256 of this request keyed with `secret`,
    /// computed here from the scheme's definition.
    fn signed_with(&self, secret: &str, signature_header: &str) -> bool {
        let Some(signature) = self.header(signature_header) else {
            return false;
        };
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(b"POST");
        mac.update(self.path_and_query.as_bytes());
        mac.update(self.header("x-cs-timestamp").unwrap().as_bytes());
        mac.update(self.body.as_bytes());
        hex::encode(mac.finalize().into_bytes()) == signature
    }

    /// Whether `webhook-signature` holds, in this order, the Standard Webhooks signature of this
    /// request under each of `secrets` (computed here from that specification), for the
    /// delivery's id and the `X-CS-Timestamp`'s second.
    fn standard_signed_with(&self, secrets: &[&str]) -> bool {
        use base64::Engine;
        let (Some(id), Some(seconds), Some(header)) = (
            self.header("webhook-id"),
            self.header("webhook-timestamp"),
            self.header("webhook-signature"),
        ) else {
            return false;
        };
        let millis: i64 = self.header("x-cs-timestamp").unwrap().parse().unwrap();
        if Some(id) != self.header("x-cs-delivery") || seconds != (millis / 1000).to_string() {
            return false;
        }
        let expected: Vec<String> = secrets
            .iter()
            .map(|secret| {
                let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
                mac.update(format!("{id}.{seconds}.{}", self.body).as_bytes());
                let tag = mac.finalize().into_bytes();
                format!(
                    "v1,{}",
                    base64::engine::general_purpose::STANDARD.encode(tag)
                )
            })
            .collect();
        header == expected.join(" ")
    }

    /// What the `standardwebhooks` package from PyPI (as a customer installs it) says of this
    /// request keyed as docs/signing.md tells them, and of the same request with a changed
    /// body: `["verified", "refused"]` when the signature holds.
    fn python_standard_webhooks(&self, secret: &str) -> Vec<String> {
        use std::io::Write;
        let script = r#"
import base64, json, sys
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
request = json.load(sys.stdin)
webhook = Webhook("whsec_" + base64.b64encode(request["secret"].encode()).decode())
def verdict(body):
    try:
        webhook.verify(body, request["headers"])
        return "verified"
    except WebhookVerificationError:
        return "refused"
print(json.dumps([verdict(request["body"]), verdict(request["body"] + " ")]))
"#;
        let headers: serde_json::Map<String, serde_json::Value> = self
            .headers
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_str().unwrap().into()))
            .collect();
        let input = serde_json::json!({ "secret": secret, "body": self.body, "headers": headers });
        let python = std::env::var("PORTAL_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let mut child = std::process::Command::new(&python)
            .args(["-c", script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input.to_string().as_bytes()).unwrap();
        drop(stdin);
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{python} (scripts/test installs standardwebhooks and sets PORTAL_TEST_PYTHON): {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    }
}

/// A webhook receiver on 127.0.0.1: answers 500 to its first `failures` requests, then
/// `status`.
#[derive(Clone)]
struct Receiver {
    url: String,
    seen: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start(failures: usize, status: StatusCode) -> Receiver {
        Receiver::start_with(move |n| {
            if n < failures {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                status
            }
        })
        .await
    }

    async fn start_with(
        answer: impl Fn(usize) -> StatusCode + Clone + Send + Sync + 'static,
    ) -> Receiver {
        let seen: Arc<Mutex<Vec<Received>>> = Arc::default();
        let log = seen.clone();
        let app = axum::Router::new().fallback(move |request: Request<Body>| {
            let log = log.clone();
            let answer = answer.clone();
            async move {
                let (parts, body) = request.into_parts();
                let body: Bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
                let mut log = log.lock().unwrap();
                let n = log.len();
                log.push(Received {
                    path_and_query: parts.uri.path_and_query().unwrap().to_string(),
                    headers: parts.headers,
                    body: String::from_utf8(body.to_vec()).unwrap(),
                });
                let status = answer(n);
                // A redirect points at a path that is never asked for.
                (status, [("location", "/elsewhere")]).into_response()
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver {
            url: format!("http://{addr}/hooks/cs?team=a%20b"),
            seen,
        }
    }

    fn seen(&self) -> Vec<Received> {
        self.seen.lock().unwrap().clone()
    }
}

/// "Add webhook" as the portal's form posts it, all events.
async fn add_webhook(
    client: &mut Client,
    env: Uuid,
    url: &str,
    retries: &str,
    interval: &str,
) -> Reply {
    client
        .post_form(
            "/rpc/add_webhook",
            &[
                ("environment_id", &env.to_string()),
                ("url", url),
                ("event_ping", "on"),
                ("event_api_secret_created", "on"),
                ("event_api_secret_removed", "on"),
                ("event_webhook_signer_changed", "on"),
                ("max_retries", retries),
                ("retry_interval_minutes", interval),
            ],
        )
        .await
}

fn spawn_worker(state: &AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(Arc::new(Worker::new(state).unwrap()).run())
}

/// url, status, attempts, last status code, last error
type LogRow = (String, String, i32, Option<i32>, Option<String>);

async fn statuses(pool: &PgPool) -> Vec<(String, String, i32, Option<i32>)> {
    sqlx::query_as("SELECT event, status, attempts, last_status_code FROM webhook_deliveries ORDER BY created_at")
        .fetch_all(pool)
        .await
        .unwrap()
}

async fn all_finished(pool: &PgPool) -> bool {
    let pending: i64 =
        sqlx::query_scalar("SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'")
            .fetch_one(pool)
            .await
            .unwrap();
    pending == 0
}

#[sqlx::test]
async fn a_ping_is_signed_retried_until_delivered_and_logged(pool: PgPool) {
    let state = crate::helpers::state(pool.clone());
    let (mut client, env, secrets) = TestApp::from(state.clone()).customer_with_secrets(1).await;
    let receiver = Receiver::start(2, StatusCode::NO_CONTENT).await;
    let reply = add_webhook(&mut client, env, &receiver.url, "3", "1").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let worker = spawn_worker(&state);

    eventually("the ping delivered", || async { all_finished(&pool).await }).await;
    worker.abort();
    assert_eq!(
        statuses(&pool).await,
        [("ping".to_owned(), "delivered".to_owned(), 3, Some(204))]
    );
    let seen = receiver.seen();
    assert_eq!(seen.len(), 3, "two failures, then success");
    for request in &seen {
        assert_eq!(request.path_and_query, "/hooks/cs?team=a%20b");
        assert!(
            request.signed_with(&secrets[0].value, "x-cs-signature"),
            "{request:?}"
        );
        assert!(
            request.standard_signed_with(&[&secrets[0].value]),
            "{request:?}"
        );
        assert_eq!(request.header("x-cs-signature-previous"), None);
        assert_eq!(
            request.python_standard_webhooks(&secrets[0].value),
            ["verified", "refused"]
        );
        assert_eq!(request.header("content-type"), Some("application/json"));
        let body = request.json();
        assert_eq!(body["event"], "ping");
        assert_eq!(body["environment_id"], env.to_string());
        assert!(body["payload"]["webhook_id"].is_string());
        let sent_at =
            chrono::DateTime::parse_from_rfc3339(body["sent_at"].as_str().unwrap()).unwrap();
        let timestamp: i64 = request.header("x-cs-timestamp").unwrap().parse().unwrap();
        assert_eq!(sent_at.timestamp_millis(), timestamp, "signed at sending");
    }
    // Re-signed with a fresh timestamp each attempt; one delivery id throughout.
    let timestamps: Vec<_> = seen
        .iter()
        .map(|r| r.header("x-cs-timestamp").unwrap())
        .collect();
    assert!(
        timestamps[0] < timestamps[1] && timestamps[1] < timestamps[2],
        "{timestamps:?}"
    );
    assert!(
        seen.iter()
            .all(|r| r.header("x-cs-delivery") == seen[0].header("x-cs-delivery"))
    );
    // Retries waited about the interval (1 "minute" = 100 ms here, ±10 %).
    let gap = timestamps[1].parse::<i64>().unwrap() - timestamps[0].parse::<i64>().unwrap();
    assert!(gap >= 90, "retried after {gap} ms");

    // Signing marked the signer used.
    state.usage.flush(&pool).await.unwrap();
    let last_used: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT last_used_at FROM api_secrets WHERE id = $1")
            .bind(secrets[0].secret.id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(last_used.is_some());

    // The portal's log and the REST API show it.
    let page = client.get(&format!("/environments/{env}/webhooks")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Delivered"), "{}", page.body);
    assert!(page.body.contains(&receiver.url.replace('&', "&amp;")));
}

/// A receiver that never answers holds up its own delivery only: the worker goes on claiming
/// and delivers the others meanwhile (well before the stuck attempt's 15 s timeout).
#[sqlx::test]
async fn a_receiver_that_never_answers_does_not_hold_up_the_others(pool: PgPool) {
    let state = crate::helpers::state(pool.clone());
    let (mut client, env, _) = TestApp::from(state.clone()).customer_with_secrets(1).await;
    // Accepts connections, reads nothing, answers nothing.
    let stuck = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stuck_url = format!("http://{}/stuck", stuck.local_addr().unwrap());
    let (connected, mut connections) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((socket, _)) = stuck.accept().await {
            let _ = connected.send(socket);
        }
    });
    let reply = add_webhook(&mut client, env, &stuck_url, "0", "1").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let worker = spawn_worker(&state);
    let _held = tokio::time::timeout(Duration::from_secs(10), connections.recv())
        .await
        .expect("the stuck receiver is attempted")
        .unwrap();

    // Added while that attempt hangs: delivered within seconds.
    let receiver = Receiver::start(0, StatusCode::OK).await;
    let reply = add_webhook(&mut client, env, &receiver.url, "0", "1").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while receiver.seen().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the other webhook waited for the stuck one"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let statuses: Vec<(String, bool)> = sqlx::query_as(
        "SELECT w.url, d.attempt_started_at IS NOT NULL
           FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
          WHERE d.event = 'ping' AND d.status = 'pending'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        statuses,
        [(stuck_url, true)],
        "the stuck attempt is still under way"
    );
    worker.abort();
}

/// One customer's backlog to a receiver that hangs takes at most its organization's share of
/// the slots: with 100 of its deliveries due (more than an instance's 64 slots), another
/// customer's ping is still delivered within seconds, and the first never has more than
/// `MAX_IN_FLIGHT_PER_ORGANIZATION` attempts under way.
#[sqlx::test]
async fn one_customers_hanging_receiver_does_not_starve_the_others(pool: PgPool) {
    use portal::webhooks::delivery::MAX_IN_FLIGHT_PER_ORGANIZATION;
    let state = crate::helpers::state(pool.clone());
    let (mut flooder, env, _) = TestApp::from(state.clone()).customer_with_secrets(1).await;
    let stuck = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stuck_url = format!("http://{}/stuck", stuck.local_addr().unwrap());
    let held = Arc::new(Mutex::new(Vec::new()));
    tokio::spawn({
        let held = held.clone();
        async move {
            while let Ok((socket, _)) = stuck.accept().await {
                held.lock().unwrap().push(socket);
            }
        }
    });
    let reply = add_webhook(&mut flooder, env, &stuck_url, "0", "1").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    sqlx::query(
        "INSERT INTO webhook_deliveries (environment_id, webhook_id, event, payload, next_attempt_at)
         SELECT environment_id, webhook_id, event, payload, now() - interval '1 minute'
           FROM webhook_deliveries, generate_series(1, 99)",
    )
    .execute(&pool)
    .await
    .unwrap();

    let mut other = Client::with_state(state.clone());
    let reply = other.sign_up("bob@example.com", "Bobco").await;
    let other_env = crate::helpers::environment_id(reply.location());
    crate::helpers::created(&mut other, other_env).await;
    let receiver = Receiver::start(0, StatusCode::OK).await;

    let worker = spawn_worker(&state);
    let in_flight = || async {
        count(
            &pool,
            "SELECT count(*) FROM webhook_deliveries WHERE attempt_started_at IS NOT NULL",
        )
        .await
    };
    eventually("the flooder's share is under way", || async {
        in_flight().await == MAX_IN_FLIGHT_PER_ORGANIZATION
    })
    .await;
    // Added while the flooder's attempts hang: delivered within seconds.
    let reply = add_webhook(&mut other, other_env, &receiver.url, "0", "1").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while receiver.seen().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the other customer's ping waited for the flooder's"
        );
        assert!(in_flight().await <= MAX_IN_FLIGHT_PER_ORGANIZATION + 1);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The other's attempt ends as its receiver answers (its row is written just after).
    eventually("only the flooder's share is left in flight", || async {
        in_flight().await == MAX_IN_FLIGHT_PER_ORGANIZATION
    })
    .await;
    let share = usize::try_from(MAX_IN_FLIGHT_PER_ORGANIZATION).unwrap();
    eventually("the hanging receiver holds the flooder's share", || async {
        held.lock().unwrap().len() == share
    })
    .await;
    assert_eq!(held.lock().unwrap().len(), share, "and no more");
    worker.abort();
}

#[sqlx::test]
async fn events_follow_the_secrets_and_a_switch_carries_both_signatures(pool: PgPool) {
    let state = crate::helpers::state(pool.clone());
    let (mut client, env, secrets) = TestApp::from(state.clone()).customer_with_secrets(1).await;
    let receiver = Receiver::start(0, StatusCode::OK).await;
    let reply = add_webhook(&mut client, env, &receiver.url, "0", "1").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let second = crate::helpers::created(&mut client, env).await;
    let reply = crate::helpers::switch(&mut client, env, second.secret.id).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let third = crate::helpers::created(&mut client, env).await;
    let phrase = portal::secrets::removal_phrase(&third.secret.masked);
    let reply = crate::helpers::remove(&mut client, env, third.secret.id, &phrase).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let worker = spawn_worker(&state);
    eventually("all delivered", || async { all_finished(&pool).await }).await;
    worker.abort();

    let mut seen = receiver.seen();
    seen.sort_by_key(|r| r.json()["sent_at"].as_str().unwrap().to_owned());
    let by_event: HashMap<String, Vec<Received>> =
        seen.iter().fold(HashMap::new(), |mut map, r| {
            map.entry(r.json()["event"].as_str().unwrap().to_owned())
                .or_default()
                .push(r.clone());
            map
        });
    assert_eq!(by_event["ping"].len(), 1);
    assert_eq!(by_event["api_secret.created"].len(), 2);
    assert_eq!(by_event["webhook_signer.changed"].len(), 1);
    assert_eq!(by_event["api_secret.removed"].len(), 1);
    let changed = &by_event["webhook_signer.changed"][0].json()["payload"];
    assert_eq!(changed["id"], second.secret.id.to_string());
    assert_eq!(changed["previous"]["id"], secrets[0].secret.id.to_string());
    assert_eq!(
        by_event["api_secret.removed"][0].json()["payload"]["masked"],
        third.secret.masked
    );
    // No payload carries a secret's value.
    for request in &seen {
        for value in [&secrets[0].value, &second.value, &third.value] {
            assert!(!request.body.contains(value.as_str()));
        }
    }
    // Every delivery (all sent after the switch) is signed by the new signer, and during the
    // grace period also by the previous one.
    for request in &seen {
        assert!(
            request.signed_with(&second.value, "x-cs-signature"),
            "{request:?}"
        );
        assert!(
            request.signed_with(&secrets[0].value, "x-cs-signature-previous"),
            "{request:?}"
        );
        assert!(
            request.standard_signed_with(&[&second.value, &secrets[0].value]),
            "{request:?}"
        );
    }
    // Customers' library takes either key while both sign, and not the third.
    let last = seen.last().unwrap();
    for (secret, verdicts) in [
        (&second.value, ["verified", "refused"]),
        (&secrets[0].value, ["verified", "refused"]),
        (&third.value, ["refused", "refused"]),
    ] {
        assert_eq!(last.python_standard_webhooks(secret), verdicts);
    }

    // A grace period of 0: only the current signer's signature.
    let mut settings = (*state.webhooks).clone();
    settings.signer_grace = Duration::ZERO;
    let mut state = state.clone();
    state.make_mut().webhooks = Arc::new(settings);
    let cookie = client.cookie.clone();
    let mut client = Client::with_state(state.clone());
    client.cookie = cookie;
    let fourth = crate::helpers::created(&mut client, env).await;
    let worker = spawn_worker(&state);
    eventually("delivered", || async { all_finished(&pool).await }).await;
    worker.abort();
    let last = receiver.seen().pop().unwrap();
    assert_eq!(last.json()["payload"]["id"], fourth.secret.id.to_string());
    assert!(last.signed_with(&second.value, "x-cs-signature"));
    assert!(last.standard_signed_with(&[&second.value]));
    assert_eq!(last.header("x-cs-signature-previous"), None);
}

#[sqlx::test]
async fn failed_deliveries_stop_after_max_retries_and_redirects_are_not_followed(pool: PgPool) {
    let state = crate::helpers::state(pool.clone());
    let (mut client, env, _) = TestApp::from(state.clone()).customer_with_secrets(1).await;
    let failing = Receiver::start(usize::MAX, StatusCode::OK).await;
    let redirecting = Receiver::start_with(|_| StatusCode::FOUND).await;
    assert_eq!(
        add_webhook(&mut client, env, &failing.url, "2", "1")
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        add_webhook(&mut client, env, &redirecting.url, "0", "1")
            .await
            .status,
        StatusCode::OK
    );
    // Nothing listens there: a network error.
    assert_eq!(
        add_webhook(&mut client, env, "http://127.0.0.1:9/closed", "1", "1")
            .await
            .status,
        StatusCode::OK
    );
    let worker = spawn_worker(&state);
    eventually("all given up", || async { all_finished(&pool).await }).await;
    worker.abort();

    let rows: Vec<LogRow> = sqlx::query_as(
        "SELECT w.url, d.status, d.attempts, d.last_status_code, d.last_error
           FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id ORDER BY w.created_at",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        (rows[0].1.as_str(), rows[0].2, rows[0].3),
        ("failed", 3, Some(500))
    );
    assert_eq!(failing.seen().len(), 3, "the first attempt and 2 retries");
    assert_eq!(
        (rows[1].1.as_str(), rows[1].2, rows[1].3),
        ("failed", 1, Some(302))
    );
    assert_eq!(redirecting.seen().len(), 1, "the redirect was not followed");
    assert_eq!(
        (rows[2].1.as_str(), rows[2].2, rows[2].3),
        ("failed", 2, None)
    );
    assert!(
        rows[2]
            .4
            .as_deref()
            .unwrap()
            .starts_with("Could not connect"),
        "{:?}",
        rows[2].4
    );
}

#[sqlx::test]
async fn a_restart_mid_retry_loses_nothing(pool: PgPool) {
    let state = crate::helpers::state(pool.clone());
    let (mut client, env, secrets) = TestApp::from(state.clone()).customer_with_secrets(1).await;
    let receiver = Receiver::start(1, StatusCode::OK).await;
    // A long interval ("minute" = 100 ms: 20 minutes = 2 s): the stop happens while it waits.
    assert_eq!(
        add_webhook(&mut client, env, &receiver.url, "5", "20")
            .await
            .status,
        StatusCode::OK
    );
    let first = spawn_worker(&state);
    eventually("the first attempt failed", || async {
        receiver.seen().len() == 1
    })
    .await;
    eventually("the failure recorded", || async {
        statuses(&pool).await == [("ping".to_owned(), "pending".to_owned(), 1, Some(500))]
    })
    .await;
    first.abort();
    let _ = first.await;

    // A new instance (new state, new worker) on the same database finishes the job.
    let restarted = crate::helpers::state(pool.clone());
    let second = spawn_worker(&restarted);
    eventually("delivered after the restart", || async {
        all_finished(&pool).await
    })
    .await;
    second.abort();
    assert_eq!(
        statuses(&pool).await,
        [("ping".to_owned(), "delivered".to_owned(), 2, Some(200))]
    );
    let seen = receiver.seen();
    assert_eq!(seen.len(), 2);
    assert!(seen[1].signed_with(&secrets[0].value, "x-cs-signature"));
}

#[sqlx::test]
async fn two_instances_deliver_each_event_once(pool: PgPool) {
    let state = crate::helpers::state(pool.clone());
    let (mut client, env, _) = TestApp::from(state.clone()).customer_with_secrets(1).await;
    let receiver = Receiver::start(0, StatusCode::OK).await;
    for _ in 0..10 {
        let reply = add_webhook(&mut client, env, &receiver.url, "0", "1").await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    // 10 pings and 2 × 10 api_secret.created: 30 deliveries.
    crate::helpers::created(&mut client, env).await;
    crate::helpers::created(&mut client, env).await;
    let other = crate::helpers::state(pool.clone());
    let workers = [spawn_worker(&state), spawn_worker(&other)];
    eventually("all delivered", || async { all_finished(&pool).await }).await;
    for worker in workers {
        worker.abort();
    }
    let seen = receiver.seen();
    let mut ids: Vec<&str> = seen
        .iter()
        .map(|r| r.header("x-cs-delivery").unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 30);
    assert_eq!(seen.len(), 30, "each delivery arrived once");
    let delivered = count(
        &pool,
        "SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered' AND attempts = 1",
    )
    .await;
    assert_eq!(delivered, 30);
}

/// The REST API's webhooks: the same rules, SSRF refusals in production, the signer needed.
#[sqlx::test]
async fn the_rest_api_adds_lists_and_removes_webhooks_under_the_rules(pool: PgPool) {
    let mut state = crate::helpers::state(pool.clone());
    state.make_mut().webhooks = Arc::new(portal::platform::config::WebhookSettings::new(true)); // production
    let (client, env, secrets) = TestApp::from(state.clone()).customer_with_secrets(1).await;
    let secret = &secrets[0].value;
    let base = format!("/api/v1/environments/{env}/webhooks");

    let api = |method: &'static str, uri: String, body: String| {
        let (client, secret) = (client.clone(), secret.clone());
        async move { signed_call(&client, &secret, method, &uri, &body).await }
    };
    let create = |url: &str| {
        serde_json::json!({ "url": url, "events": ["ping", "api_secret.removed"] }).to_string()
    };
    for refused in [
        "http://hooks.example.com/",
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/",
        "https://10.0.0.8/",
        "https://user:pw@hooks.example.com/",
    ] {
        let reply = api("POST", base.clone(), create(refused)).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{refused}: {}",
            reply.body
        );
        assert!(reply.body.contains("invalid_webhook"));
    }
    for bad in [
        r#"{"url": "https://hooks.example.com/", "events": []}"#.to_owned(),
        r#"{"url": "https://hooks.example.com/", "events": ["nope"]}"#.to_owned(),
        r#"{"url": "https://hooks.example.com/", "events": ["ping"], "max_retries": 99}"#
            .to_owned(),
        r#"{"url": "https://hooks.example.com/", "events": ["ping"], "retry_interval_minutes": 0}"#
            .to_owned(),
        r#"{"url": "https://hooks.example.com/"}"#.to_owned(),
        "not json".to_owned(),
    ] {
        let reply = api("POST", base.clone(), bad.clone()).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            reply.body
        );
    }
    let webhooks = count(&pool, "SELECT count(*) FROM webhooks").await;
    assert_eq!(webhooks, 0, "refusals change nothing");

    let reply = api("POST", base.clone(), create("https://hooks.example.com/cs")).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let webhook: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(webhook["max_retries"], 5);
    assert_eq!(webhook["retry_interval_minutes"], 10);
    let id = webhook["id"].as_str().unwrap().to_owned();
    let reply = api("GET", base.clone(), String::new()).await;
    let listed: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let reply = api("GET", format!("{base}/{id}/deliveries"), String::new()).await;
    assert_eq!(reply.status, StatusCode::OK);
    let deliveries: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(deliveries[0]["event"], "ping");
    assert_eq!(deliveries[0]["status"], "pending");
    assert_eq!(deliveries[0]["attempt_in_progress"], false);

    // A worker's attempt is reported as under way until its outcome is written, or until its
    // lease runs out (the worker died: the delivery is due again).
    let in_progress = || async {
        let reply = api("GET", format!("{base}/{id}/deliveries"), String::new()).await;
        let deliveries: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        (
            deliveries[0]["attempt_in_progress"].as_bool().unwrap(),
            deliveries[0]["status"].as_str().unwrap().to_owned(),
        )
    };
    let claimed = queue::claim(&pool, 10, 10, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(in_progress().await, (true, "pending".to_owned()));
    let retry = queue::Outcome::Retry {
        status_code: Some(500),
        error: None,
        after: Duration::from_secs(60),
    };
    assert!(queue::record(&pool, &claimed[0], &retry).await.unwrap());
    assert_eq!(in_progress().await, (false, "pending".to_owned()));
    sqlx::query("UPDATE webhook_deliveries SET next_attempt_at = now()")
        .execute(&pool)
        .await
        .unwrap();
    let claimed = queue::claim(&pool, 10, 10, Duration::from_millis(1))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(in_progress().await, (false, "pending".to_owned()));

    // Another environment's webhook is not found from here.
    let reply = api(
        "GET",
        format!("{base}/{}/deliveries", Uuid::new_v4()),
        String::new(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let reply = api("DELETE", format!("{base}/{id}"), String::new()).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let reply = api("DELETE", format!("{base}/{id}"), String::new()).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let left = count(&pool, "SELECT count(*) FROM webhook_deliveries").await;
    assert_eq!(left, 0, "its log went with it");

    // Without an API secret there is no signer: the portal says so and refuses.
    let mut newcomer = Client::with_state(state.clone());
    let reply = newcomer.sign_up("bob@example.com", "Bobco").await;
    let bare = crate::helpers::environment_id(reply.location());
    let reply = add_webhook(&mut newcomer, bare, "https://hooks.example.com/", "5", "10").await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert!(reply.body.contains(&NO_SIGNER[..40]), "{}", reply.body);
    let page = newcomer
        .get(&format!("/environments/{bare}/webhooks"))
        .await;
    assert!(page.body.contains(&NO_SIGNER[..40]));
    // And Bob cannot touch Ada's environment.
    let reply = add_webhook(&mut newcomer, env, "https://hooks.example.com/", "5", "10").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

#[sqlx::test]
async fn finished_deliveries_are_deleted_after_their_retention(pool: PgPool) {
    use portal::webhooks::delivery::queue::{RETENTION, prune};
    let state = crate::helpers::state(pool.clone());
    let (mut client, env, _) = TestApp::from(state.clone()).customer_with_secrets(1).await;
    // No worker runs here: the ping stays pending.
    let reply = add_webhook(&mut client, env, "http://127.0.0.1:9/hook", "3", "1").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let webhook: Uuid = sqlx::query_scalar("SELECT id FROM webhooks")
        .fetch_one(&pool)
        .await
        .unwrap();
    // A pending delivery that has been retried for long is kept: it has not finished.
    sqlx::query("UPDATE webhook_deliveries SET created_at = now() - interval '90 days'")
        .execute(&pool)
        .await
        .unwrap();
    let day = 24 * 60 * 60;
    for (event, status, finished_secs_ago) in [
        ("api_secret.created", "delivered", 31 * day),
        ("api_secret.removed", "failed", 31 * day),
        ("webhook_signer.changed", "delivered", 29 * day),
        ("api_secret.created", "failed", 60),
    ] {
        sqlx::query(
            "INSERT INTO webhook_deliveries
                    (environment_id, webhook_id, event, payload, status, attempts, created_at, finished_at)
             VALUES ($1, $2, $3, '{}', $4, 1, now() - interval '40 days',
                     now() - make_interval(secs => $5))",
        )
        .bind(env)
        .bind(webhook)
        .bind(event)
        .bind(status)
        .bind(finished_secs_ago as f64)
        .execute(&pool)
        .await
        .unwrap();
    }

    // One row per statement with a batch of 1; then the rest; then nothing is left to delete.
    assert_eq!(prune(&pool, RETENTION, 1).await.unwrap(), 1);
    assert_eq!(prune(&pool, RETENTION, 100).await.unwrap(), 1);
    assert_eq!(prune(&pool, RETENTION, 100).await.unwrap(), 0);
    let mut left: Vec<(String, String)> =
        sqlx::query_as("SELECT event, status FROM webhook_deliveries")
            .fetch_all(&pool)
            .await
            .unwrap();
    left.sort();
    assert_eq!(
        left,
        [
            ("api_secret.created".to_string(), "failed".to_string()),
            ("ping".to_string(), "pending".to_string()),
            (
                "webhook_signer.changed".to_string(),
                "delivered".to_string()
            ),
        ]
    );
}

/// Webhooks added and removed are in the audit trail, with who did it: the member in the
/// portal, the API secret that signed the call from the REST API. Refused actions leave no trace.
#[sqlx::test]
async fn webhook_changes_are_in_the_audit_trail(pool: PgPool) {
    let (mut client, env, secrets) = TestApp::new(pool.clone()).customer_with_secrets(1).await;
    let secret = &secrets[0];
    let base = format!("/api/v1/environments/{env}/webhooks");

    let reply = add_webhook(&mut client, env, "http://127.0.0.1:9/portal", "0", "1").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let from_portal: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    let body = r#"{"url": "http://127.0.0.1:9/api", "events": ["ping"]}"#;
    let reply = signed_call(&client, &secret.value, "POST", &base, body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let from_api: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    let (portal_id, api_id) = (
        from_portal["id"].as_str().unwrap().to_owned(),
        from_api["id"].as_str().unwrap().to_owned(),
    );

    // Each removes the other's.
    let reply = signed_call(
        &client,
        &secret.value,
        "DELETE",
        &format!("{base}/{portal_id}"),
        "",
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    let remove = |id: String| {
        let mut client = client.clone();
        async move {
            let fields = [("environment_id", env.to_string()), ("webhook_id", id)];
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            client.post_form("/rpc/remove_webhook", &fields).await
        }
    };
    let reply = remove(api_id.clone()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    // Refused: already gone, and never added (no signer elsewhere is tested above).
    assert_eq!(remove(api_id.clone()).await.status, StatusCode::NOT_FOUND);
    let reply = signed_call(&client, &secret.value, "POST", &base, "{}").await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);

    type Row = (
        String,
        Option<String>,
        Option<Uuid>,
        Uuid,
        String,
        Option<Uuid>,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT action, actor_email, actor_secret_id, webhook_id, webhook_url, secret_id, ip,
                user_agent
           FROM audit_events WHERE action LIKE 'webhook.%' ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let portal_id: Uuid = portal_id.parse().unwrap();
    let api_id: Uuid = api_id.parse().unwrap();
    let (portal_url, api_url) = ("http://127.0.0.1:9/portal", "http://127.0.0.1:9/api");
    // Who, and from where: Ada in her browser, or her backend with the secret.
    let ada = (
        Some("ada@example.com".to_owned()),
        None,
        Some("203.0.113.7".to_owned()),
        Some("portal-tests".to_owned()),
    );
    let backend = (
        None,
        Some(secret.secret.id),
        Some("198.51.100.20".to_owned()),
        Some("customer-backend/1.0".to_owned()),
    );
    let rows: Vec<_> = rows
        .into_iter()
        .map(
            |(action, email, by_secret, id, url, secret_id, ip, agent)| {
                assert_eq!(secret_id, None, "a webhook's event names no secret");
                (action, id, url, (email, by_secret, ip, agent))
            },
        )
        .collect();
    let row = |action: &str, id: Uuid, url: &str, who: &(_, _, _, _)| {
        (action.to_owned(), id, url.to_owned(), who.clone())
    };
    assert_eq!(
        rows,
        [
            row("webhook.added", portal_id, portal_url, &ada),
            row("webhook.added", api_id, api_url, &backend),
            row("webhook.removed", portal_id, portal_url, &backend),
            row("webhook.removed", api_id, api_url, &ada),
        ]
    );

    // The schema holds the shape too: one kind of actor, and a webhook event names a webhook.
    for bad in [
        "INSERT INTO audit_events (organization_id, environment_id, actor_secret_id, action,
                                   webhook_id, webhook_url)
         VALUES (gen_random_uuid(), gen_random_uuid(), NULL, 'webhook.added', gen_random_uuid(), 'u')",
        "INSERT INTO audit_events (organization_id, environment_id, actor_secret_id, action,
                                   secret_id, secret_masked)
         VALUES (gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), 'webhook.added',
                 gen_random_uuid(), 'csk_…abcd')",
    ] {
        let error = sqlx::query(bad).execute(&pool).await.unwrap_err();
        assert!(error.to_string().contains("check constraint"), "{error}");
    }
}

/// The delivery log the open tab follows is for the webhook's organization only.
#[sqlx::test]
async fn a_delivery_log_is_shown_to_its_organization_only(pool: PgPool) {
    let state = crate::helpers::state(pool.clone());
    let (mut ada, env, _) = TestApp::from(state.clone()).customer_with_secrets(1).await;
    let reply = add_webhook(&mut ada, env, "http://127.0.0.1:9/hook", "0", "1").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let webhook: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    let id = webhook["id"].as_str().unwrap().to_owned();
    async fn log(client: &mut Client, env: Uuid, webhook_id: &str) -> Reply {
        let env = env.to_string();
        let fields = [("environment_id", env.as_str()), ("webhook_id", webhook_id)];
        client.post_form("/rpc/list_deliveries", &fields).await
    }

    let reply = log(&mut ada, env, &id).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let deliveries: Vec<serde_json::Value> = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0]["event"], "ping");

    let mut bob = Client::with_state(state.clone());
    let reply = bob.sign_up("bob@example.com", "Bobco").await;
    let bobs_env = crate::helpers::environment_id(reply.location());
    assert_eq!(log(&mut bob, env, &id).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        log(&mut bob, bobs_env, &id).await.status,
        StatusCode::NOT_FOUND
    );
    let mut signed_out = ada.clone();
    signed_out.cookie = None;
    assert_eq!(
        log(&mut signed_out, env, &id).await.status,
        StatusCode::UNAUTHORIZED
    );
}
