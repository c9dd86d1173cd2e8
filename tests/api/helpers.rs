//! A tiny HTTP client over the real router (no network) or, for the tests of the server's own
//! process, over real HTTP: keeps the session cookie like a browser, and says where requests come
//! from like a browser does.

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode, header},
    response::Response,
};
use http_body_util::BodyExt;
use portal::{
    platform::{config::Config, state::AppState},
    server::http::router,
};
use sqlx::PgPool;
use tower::ServiceExt;

pub const PASSWORD: &str = "correct horse battery staple";

/// The master key the tests seal secrets with.
pub const TEST_KEYS: &str =
    "test-1:7f3c9a1e5b2d4f6081a3c5e7092b4d6f8a1c3e5079b2d4f6a8c0e1f3a5b7c9d1";

/// The settings the tests run with, read by the server's own configuration code: development
/// defaults made explicit (plain-http, local webhook receivers), the test master key, retry
/// intervals counted in tenths of a second, and room for the many customers the tests sign up
/// from one address (the throttle's own test lowers it).
pub fn test_config() -> Config {
    let config = Config::from_vars(|name| {
        let value = match name {
            "PORTAL_LEPTOS_TOML" => concat!(env!("CARGO_MANIFEST_DIR"), "/Leptos.toml"),
            // Each test's pool is its own database; the configuration's is not used.
            "DATABASE_URL" => "postgres://localhost/unused",
            "PORTAL_SECRETS_KEYS" => TEST_KEYS,
            "PORTAL_SECURE_COOKIES" => "false",
            "PORTAL_WEBHOOK_ALLOW_HTTP" => "true",
            "PORTAL_WEBHOOK_ALLOW_PRIVATE" => "true",
            "PORTAL_WEBHOOK_MINUTE_MS" => "100",
            "PORTAL_SIGN_UPS_PER_HOUR" => "1000",
            _ => return None,
        };
        Some(value.to_owned())
    });
    let mut config = config.unwrap();
    // No bundles are built beside the test binary: pages link the plain names.
    config.leptos_options.hash_files = false;
    config
}

/// The app's state as the server assembles it, with the test settings.
pub fn state(pool: PgPool) -> AppState {
    portal::server::state(test_config(), pool)
}

/// The app under test (its state as the server assembles it), and what tests do with it.
#[derive(Clone)]
pub struct TestApp {
    pub state: AppState,
}

impl From<AppState> for TestApp {
    /// An app whose state a test has changed (`AppState::make_mut`).
    fn from(state: AppState) -> Self {
        TestApp { state }
    }
}

impl TestApp {
    /// With the test settings, on the test's own database.
    pub fn new(pool: PgPool) -> TestApp {
        TestApp::from(state(pool))
    }

    /// A browser with no session yet.
    pub fn client(&self) -> Client {
        Client::with_state(self.state.clone())
    }

    /// A signed-up customer (of an organization named after them) and their "Production"
    /// environment.
    pub async fn customer(&self, email: &str) -> (Client, uuid::Uuid) {
        let mut client = self.client();
        let reply = client.sign_up(email, &format!("Org of {email}")).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
        let env = environment_id(reply.location());
        (client, env)
    }

    /// "ada@example.com" of "Acme", signed up, with `count` new secrets in her first
    /// environment.
    pub async fn customer_with_secrets(
        &self,
        count: usize,
    ) -> (Client, uuid::Uuid, Vec<portal::secrets::CreatedSecret>) {
        let mut client = self.client();
        let reply = client.sign_up("ada@example.com", "Acme").await;
        let env = environment_id(reply.location());
        let mut secrets = Vec::new();
        for _ in 0..count {
            secrets.push(created(&mut client, env).await);
        }
        (client, env, secrets)
    }
}

#[derive(Clone)]
pub struct Client {
    to: Transport,
    pub cookie: Option<String>,
    /// The client's address, as the router sees it (over HTTP, the socket's is used).
    pub ip: std::net::IpAddr,
}

/// How a [`Client`]'s requests reach the portal.
#[derive(Clone)]
enum Transport {
    Router(Router),
    /// A server process listening at this address (`host:port`).
    Http(String, reqwest::Client),
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .map_or("", |v| v.to_str().unwrap())
    }
}

impl Client {
    pub fn new(pool: PgPool) -> Client {
        Client::with_state(state(pool))
    }

    pub fn with_state(state: AppState) -> Client {
        Client {
            to: Transport::Router(router(state)),
            cookie: None,
            ip: [203, 0, 113, 7].into(),
        }
    }

    /// A browser talking to the server process listening at `addr` (`host:port`).
    pub fn over_http(addr: &str) -> Client {
        Client {
            to: Transport::Http(
                addr.to_owned(),
                // As the router answers: redirects are the test's to read, not to follow.
                reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .unwrap(),
            ),
            cookie: None,
            ip: [127, 0, 0, 1].into(),
        }
    }

    pub async fn send(&mut self, request: axum::http::request::Builder, body: Body) -> Reply {
        let mut request = request.header("host", "portal.test");
        if !request
            .headers_ref()
            .is_some_and(|h| h.contains_key(header::USER_AGENT))
        {
            request = request.header(header::USER_AGENT, "portal-tests");
        }
        if let Some(cookie) = &self.cookie {
            request = request.header(header::COOKIE, cookie.clone());
        }
        let mut request: Request<Body> = request.body(body).unwrap();
        let response = match &self.to {
            Transport::Router(app) => {
                let peer = std::net::SocketAddr::from((self.ip, 40000));
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                app.clone().oneshot(request).await.unwrap()
            }
            Transport::Http(addr, http) => over_http(http, addr, request).await,
        };
        for value in response.headers().get_all(header::SET_COOKIE) {
            let value = value.to_str().unwrap();
            let pair = value.split(';').next().unwrap().to_owned();
            // The session's only: tests read the others (the tab's notice) from the reply.
            if !pair.contains("portal_session=") {
                continue;
            }
            if value.contains("Max-Age=0") || pair.ends_with('=') {
                self.cookie = None;
            } else {
                self.cookie = Some(pair);
            }
        }
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&mut self, uri: &str) -> Reply {
        self.send(Request::get(uri), Body::empty()).await
    }

    /// A form post from one of the portal's own pages.
    pub async fn post_form(&mut self, uri: &str, fields: &[(&str, &str)]) -> Reply {
        self.post_form_from(uri, fields, "same-origin").await
    }

    pub async fn post_form_from(
        &mut self,
        uri: &str,
        fields: &[(&str, &str)],
        sec_fetch_site: &str,
    ) -> Reply {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{k}={}", portal::accounts::percent_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let request = Request::post(uri)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .header("sec-fetch-site", sec_fetch_site);
        self.send(request, Body::from(body)).await
    }

    pub async fn sign_up(&mut self, email: &str, organization: &str) -> Reply {
        self.post_form(
            "/sign-up",
            &[
                ("email", email),
                ("password", PASSWORD),
                ("organization_name", organization),
            ],
        )
        .await
    }

    pub async fn sign_in(&mut self, email: &str, password: &str) -> Reply {
        self.post_form("/sign-in", &[("email", email), ("password", password)])
            .await
    }
}

/// Sends `request` to the server process at `addr` (the `Host` header kept as the test set it),
/// and reads its whole answer.
async fn over_http(http: &reqwest::Client, addr: &str, request: Request<Body>) -> Response {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    let url = format!("http://{addr}{}", parts.uri);
    let reply = http
        .request(parts.method, url)
        .headers(parts.headers)
        .body(body)
        .send()
        .await
        .unwrap();
    let mut response = Response::builder().status(reply.status());
    *response.headers_mut().unwrap() = reply.headers().clone();
    response
        .body(Body::from(reply.bytes().await.unwrap()))
        .unwrap()
}

/// The environment id in a `/environments/{id}/api-secrets` redirect.
pub fn environment_id(location: &str) -> uuid::Uuid {
    location
        .strip_prefix("/environments/")
        .and_then(|rest| rest.split('/').next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("not an environment URL: {location}"))
}

// The API secrets actions, as the tab calls them.

pub async fn create(client: &mut Client, env: uuid::Uuid, label: &str) -> Reply {
    client
        .post_form(
            "/rpc/create_api_secret",
            &[("environment_id", &env.to_string()), ("label", label)],
        )
        .await
}

pub async fn created(client: &mut Client, env: uuid::Uuid) -> portal::secrets::CreatedSecret {
    let reply = create(client, env, "").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    serde_json::from_str(&reply.body).unwrap()
}

pub async fn switch(client: &mut Client, env: uuid::Uuid, secret: uuid::Uuid) -> Reply {
    client
        .post_form(
            "/rpc/use_api_secret_with_webhooks",
            &[
                ("environment_id", &env.to_string()),
                ("secret_id", &secret.to_string()),
            ],
        )
        .await
}

pub async fn remove(
    client: &mut Client,
    env: uuid::Uuid,
    secret: uuid::Uuid,
    phrase: &str,
) -> Reply {
    client
        .post_form(
            "/rpc/remove_api_secret",
            &[
                ("environment_id", &env.to_string()),
                ("secret_id", &secret.to_string()),
                ("phrase", phrase),
            ],
        )
        .await
}

/// A server function's error, in the words the portal shows.
pub fn message(reply: &Reply) -> String {
    let error: portal::error::AppError =
        serde_json::from_str(&reply.body).unwrap_or_else(|e| panic!("{e}: {}", reply.body));
    error.to_string()
}

/// "Rotate": `retire_on` is `YYYY-MM-DD`, or empty for never.
pub async fn rotate(
    client: &mut Client,
    env: uuid::Uuid,
    secret: uuid::Uuid,
    retire_on: &str,
) -> Reply {
    client
        .post_form(
            "/rpc/rotate_api_secret",
            &[
                ("environment_id", &env.to_string()),
                ("secret_id", &secret.to_string()),
                ("retire_on", retire_on),
            ],
        )
        .await
}

/// "Expiry": `expires_on` is `YYYY-MM-DD`, or empty for never.
pub async fn set_expiry(
    client: &mut Client,
    env: uuid::Uuid,
    secret: uuid::Uuid,
    expires_on: &str,
) -> Reply {
    client
        .post_form(
            "/rpc/set_api_secret_expiry",
            &[
                ("environment_id", &env.to_string()),
                ("secret_id", &secret.to_string()),
                ("expires_on", expires_on),
            ],
        )
        .await
}

/// The one number a `SELECT count(*) …` (or any single bigint) query answers.
pub async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

pub async fn list(client: &mut Client, env: uuid::Uuid) -> Vec<portal::secrets::SecretSummary> {
    let reply = client
        .post_form(
            "/rpc/list_api_secrets",
            &[("environment_id", &env.to_string())],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let tab: portal::secrets::SecretsTab = serde_json::from_str(&reply.body).unwrap();
    tab.secrets
}

// The REST API, as a customer's backend calls it.

pub type Headers = Vec<(&'static str, String)>;

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The signature headers for `method uri` with `body`, signed with `secret` at `timestamp`.
pub fn signed(secret: &str, method: &str, uri: &str, body: &str, timestamp: i64) -> Headers {
    let ts = timestamp.to_string();
    vec![
        (
            "x-cs-signature",
            portal::platform::signature::sign(secret.as_bytes(), method, uri, &ts, body.as_bytes()),
        ),
        ("x-cs-timestamp", ts),
    ]
}

/// Sends `method uri` with `body` and these headers, as a server does: no session cookie, no
/// browser headers.
pub async fn call(
    client: &mut Client,
    method: &str,
    uri: &str,
    body: &str,
    headers: &[(&str, String)],
) -> Reply {
    let mut api = client.clone();
    api.cookie = None;
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    api.send(request, Body::from(body.to_owned())).await
}

/// A JSON call signed now with `secret`, from the customer's backend (its own address and
/// user agent).
pub async fn signed_call(
    client: &Client,
    secret: &str,
    method: &str,
    uri: &str,
    body: &str,
) -> Reply {
    let mut api = client.clone();
    api.ip = [198, 51, 100, 20].into();
    let mut headers = signed(secret, method, uri, body, now_ms());
    headers.push(("content-type", "application/json".into()));
    headers.push(("user-agent", "customer-backend/1.0".into()));
    call(&mut api, method, uri, body, &headers).await
}

/// Waits (up to 20 s) until `check` holds.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for: {what}");
}

// Teams, as the Members tab and an invitation link work them.

/// The invitation link the Members page shows once after an invite (its path and query).
pub fn invitation_link(page: &str) -> Option<String> {
    let field = &page[page.find("id=\"invitation-link\"")?..];
    let value = &field[field.find("value=\"")? + "value=\"".len()..];
    let link = &value[..value.find('"')?];
    Some(link.strip_prefix("http://portal.test")?.to_owned())
}

impl Client {
    /// Invites `email` as `role` from the Members tab.
    pub async fn invite(&mut self, email: &str, role: &str) -> Reply {
        self.post_form("/members/invite", &[("email", email), ("role", role)])
            .await
    }

    /// Opens an invitation link: on to the join page, with the invitation kept in the session.
    pub async fn open_invitation(&mut self, link: &str) -> Reply {
        self.get(link).await
    }
}

impl TestApp {
    /// `email` joins `inviter`'s organization as `role` the way a new teammate does: the
    /// inviter invites them, they open the link in their own browser and choose a password.
    pub async fn teammate(&self, inviter: &mut Client, email: &str, role: &str) -> Client {
        let invited = inviter.invite(email, role).await;
        assert_eq!(invited.status, StatusCode::OK, "{}", invited.body);
        let link = invitation_link(&invited.body).expect("the page shows the link");
        let mut client = self.client();
        let opened = client.open_invitation(&link).await;
        assert_eq!(opened.location(), "/join", "{}", opened.body);
        let joined = client
            .post_form("/join/sign-up", &[("password", PASSWORD)])
            .await;
        assert_eq!(joined.status, StatusCode::SEE_OTHER, "{}", joined.body);
        client
    }
}

// Two-factor authentication, as an authenticator app and a person do it.

/// Decodes RFC 4648 base32 (no padding; spaces ignored), as apps read a typed key.
pub fn base32(key: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut value, mut out) = (0, 0u32, Vec::new());
    for c in key.bytes().filter(|c| *c != b' ') {
        let index = ALPHABET
            .iter()
            .position(|a| *a == c)
            .unwrap_or_else(|| panic!("not base32: {key:?}")) as u32;
        value = (value << 5) | index;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((value >> bits) as u8);
            value &= (1 << bits) - 1;
        }
    }
    out
}

/// The 6-digit code of `seed` at `seconds` since the epoch (RFC 6238: HOTP of the 30-second
/// step, dynamic truncation).
pub fn code_at(seed: &[u8], seconds: i64) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, seed);
    let tag = ring::hmac::sign(&key, &((seconds / 30) as u64).to_be_bytes());
    let mac = tag.as_ref();
    let offset = usize::from(mac[19] & 0x0f);
    let number = u32::from_be_bytes(mac[offset..offset + 4].try_into().unwrap()) & 0x7fff_ffff;
    format!("{:06}", number % 1_000_000)
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// What a page shows between `start` and the next `end`.
pub fn between<'a>(body: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = body.find(start)? + start.len();
    Some(&body[from..from + body[from..].find(end)?])
}

/// The text of an HTML fragment, as a person reads it: without its tags and comments (the
/// renderer may leave `<!>` markers beside dynamic text).
pub fn text(fragment: &str) -> String {
    let mut text = String::new();
    for piece in fragment.split('<') {
        text.push_str(piece.split_once('>').map_or(piece, |(_, after)| after));
    }
    text
}

/// The text of the `<code class="manual-key">` element: the two-factor key to type.
pub fn manual_key(body: &str) -> Option<String> {
    between(body, "<code class=\"manual-key\">", "</code>").map(text)
}

pub fn recovery_codes(body: &str) -> Vec<String> {
    let list = between(body, "class=\"recovery-codes\"", "</ol>").unwrap_or_default();
    list.split("<code>")
        .skip(1)
        .filter_map(|item| item.split("</code>").next())
        .map(text)
        .collect()
}

/// Sets two-factor authentication up for the signed-in `client`: its seed (read from the page,
/// as a person would type it) and recovery codes. The code used is the current step's.
pub async fn turn_on(client: &mut Client) -> (Vec<u8>, Vec<String>) {
    let (_, seed, codes) = turn_on_with_key(client).await;
    (seed, codes)
}

/// [`turn_on`], and the key as the page showed it.
pub async fn turn_on_with_key(client: &mut Client) -> (String, Vec<u8>, Vec<String>) {
    let setup = client.post_form("/security/two-factor/setup", &[]).await;
    assert_eq!(setup.status, StatusCode::OK, "{}", setup.body);
    assert!(setup.body.contains("<svg"), "a QR code");
    let key = manual_key(&setup.body).expect("the key");
    let seed = base32(&key);
    assert_eq!(seed.len(), 20);
    let code = code_at(&seed, now());
    let on = client
        .post_form("/security/two-factor/enable", &[("code", &code)])
        .await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);
    let codes = recovery_codes(&on.body);
    assert_eq!(codes.len(), 10, "{}", on.body);
    (key, seed, codes)
}
