//! A tiny HTTP client over the real router (no network): keeps the session cookie like a
//! browser, and says where requests come from like a browser does.
#![allow(dead_code)] // each test binary uses part of it

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode, header},
    response::Response,
};
use http_body_util::BodyExt;
use portal::server::{config::leptos_options_from_str, http::router, state::AppState};
use sqlx::PgPool;
use tower::ServiceExt;

pub const PASSWORD: &str = "correct horse battery staple";

/// The master key the tests seal secrets with.
pub const TEST_KEYS: &str =
    "test-1:7f3c9a1e5b2d4f6081a3c5e7092b4d6f8a1c3e5079b2d4f6a8c0e1f3a5b7c9d1";

pub fn state(pool: PgPool) -> AppState {
    AppState::new(portal::server::state::Shared {
        leptos_options: std::sync::Arc::new(
            leptos_options_from_str(include_str!("../../Leptos.toml")).unwrap(),
        ),
        pool,
        secure_cookies: false,
        keyring: std::sync::Arc::new(portal::secrets::crypto::Keyring::parse(TEST_KEYS).unwrap()),
        keys: std::sync::Arc::new(portal::api::keys::KeyCache::new(
            std::time::Duration::from_secs(60),
        )),
        usage: std::sync::Arc::default(),
        signature_tolerance: std::time::Duration::from_secs(300),
        webhooks: std::sync::Arc::new(portal::webhooks::target::Settings {
            // Retry intervals are counted in tenths of a second.
            minute: std::time::Duration::from_millis(100),
            ..portal::webhooks::target::Settings::new(false)
        }),
        trusted_proxies: Default::default(),
        // Tests sign up many customers from one address; the throttle's own test lowers it.
        sign_ups_per_hour: 1000,
    })
}

#[derive(Clone)]
pub struct Client {
    app: Router,
    pub cookie: Option<String>,
    pub ip: std::net::IpAddr,
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
            app: router(state),
            cookie: None,
            ip: [203, 0, 113, 7].into(),
        }
    }

    pub async fn send(&mut self, request: axum::http::request::Builder, body: Body) -> Reply {
        let mut request = request
            .header("host", "portal.test")
            .header("user-agent", "portal-tests");
        if let Some(cookie) = &self.cookie {
            request = request.header(header::COOKIE, cookie.clone());
        }
        let mut request: Request<Body> = request.body(body).unwrap();
        let peer = std::net::SocketAddr::from((self.ip, 40000));
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        let response: Response = self.app.clone().oneshot(request).await.unwrap();
        for value in response.headers().get_all(header::SET_COOKIE) {
            let value = value.to_str().unwrap();
            let pair = value.split(';').next().unwrap().to_owned();
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

/// The environment id in a `/environments/{id}/api-secrets` redirect.
pub fn environment_id(location: &str) -> uuid::Uuid {
    location
        .strip_prefix("/environments/")
        .and_then(|rest| rest.split('/').next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("not an environment URL: {location}"))
}

// The API secrets actions, as the tab calls them.

/// A signed-up customer and their "Production" environment.
pub async fn customer(pool: &PgPool, email: &str) -> (Client, uuid::Uuid) {
    let mut client = Client::new(pool.clone());
    let reply = client.sign_up(email, &format!("Org of {email}")).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let env = environment_id(reply.location());
    (client, env)
}

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
