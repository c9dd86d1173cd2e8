//! The REST API under `/api/v1/environments/{environment_id}/…`, authenticated by request
//! signatures made with one of the environment's API secrets (see [`signature`]).

pub mod error;
pub mod openapi;
pub mod replay;
pub mod webhooks;

use std::time::Duration;

use axum::{
    Json, Router,
    extract::{Request, State},
    http::{HeaderMap, HeaderName},
    routing::get,
};
use serde::Serialize;
use uuid::Uuid;

pub use crate::platform::refusal::Refusal;
use error::ApiError;

use crate::{
    error::internal_error,
    platform::{client, failures, keys, now_ms, signature, state::AppState, usage},
    secrets,
    ui::time::iso,
};

pub const PREFIX: &str = "/api/v1/environments/";
/// Request bodies beyond this are refused with 413 before any signature work.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A request whose signature checked out: the environment it may act on, the secret that
/// signed it, and its body. Every handler under [`PREFIX`] takes one (as its last argument): the
/// extractor is the authentication, so no such handler can run unsigned. (An extractor rather
/// than a layer: a `route_layer` costs a boxed-service clone and a future per request.)
#[derive(Debug)]
pub struct Signed {
    pub environment_id: Uuid,
    pub secret_id: Uuid,
    pub body: axum::body::Bytes,
}

impl axum::extract::FromRequest<AppState> for Signed {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        authenticate(state, request).await
    }
}

pub fn router() -> Router<AppState> {
    let signed = Router::new()
        .route("/api/v1/environments/{environment_id}/ping", get(ping))
        .route(
            "/api/v1/environments/{environment_id}/api-secrets",
            get(list_api_secrets),
        )
        .route(
            "/api/v1/environments/{environment_id}/failed-requests",
            get(list_failed_requests),
        )
        .route(
            "/api/v1/environments/{environment_id}/webhooks",
            get(webhooks::list).post(webhooks::create),
        )
        .route(
            "/api/v1/environments/{environment_id}/webhooks/{webhook_id}",
            axum::routing::delete(webhooks::delete),
        )
        .route(
            "/api/v1/environments/{environment_id}/webhooks/{webhook_id}/deliveries",
            get(webhooks::deliveries),
        );
    // The description itself needs no signature.
    Router::new()
        .route(
            "/api/v1/openapi.json",
            get(|| async { Json(openapi::document()) }),
        )
        .merge(signed.layer(no_store()))
}

/// Signed answers are the customer's data: no cache (a proxy's, a client library's) keeps them.
fn no_store() -> tower_http::set_header::SetResponseHeaderLayer<axum::http::HeaderValue> {
    tower_http::set_header::SetResponseHeaderLayer::if_not_present(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    )
}

/// Checks the headers and the timestamp window (cheap, before reading anything else).
pub fn check_headers(
    headers: &HeaderMap,
    now_ms: i64,
    tolerance: Duration,
) -> Result<(&str, &str), Refusal> {
    // Looked up by prebuilt names: a `&str` name is parsed and validated on every lookup.
    static TIMESTAMP: HeaderName = HeaderName::from_static(signature::TIMESTAMP_HEADER);
    static SIGNATURE: HeaderName = HeaderName::from_static(signature::SIGNATURE_HEADER);
    let header = |name: &HeaderName| headers.get(name).map(|v| v.to_str());
    let timestamp = match header(&TIMESTAMP) {
        None => return Err(Refusal::MissingTimestamp),
        Some(Err(_)) => return Err(Refusal::MalformedTimestamp),
        Some(Ok(t)) => t,
    };
    let signature = match header(&SIGNATURE) {
        None => return Err(Refusal::MissingSignature),
        Some(Err(_)) => return Err(Refusal::BadSignature),
        Some(Ok(s)) => s,
    };
    let at = parse_timestamp(timestamp).ok_or(Refusal::MalformedTimestamp)?;
    let tolerance_ms = i64::try_from(tolerance.as_millis()).unwrap_or(i64::MAX);
    if at < now_ms.saturating_sub(tolerance_ms) {
        return Err(Refusal::StaleTimestamp);
    }
    if at > now_ms.saturating_add(tolerance_ms) {
        return Err(Refusal::FutureTimestamp);
    }
    Ok((timestamp, signature))
}

/// A timestamp in its one canonical spelling: `[1-9][0-9]*`, at most 16 digits. The signed
/// string has no separators, so a second spelling of the same number would let a signature for
/// `…?x=10` at `T` pass for `…?x=1` at `0T`.
fn parse_timestamp(timestamp: &str) -> Option<i64> {
    let bytes = timestamp.as_bytes();
    let canonical = matches!(bytes.first(), Some(b'1'..=b'9'))
        && bytes.len() <= 16
        && bytes.iter().all(u8::is_ascii_digit);
    canonical.then(|| timestamp.parse().ok()).flatten()
}

/// Verifies the request's signature; a refusal is recorded for the environment's "Failed
/// requests" (within bounds: see [`failures`]).
async fn authenticate(state: &AppState, request: Request) -> Result<Signed, ApiError> {
    let now_ms = now_ms();
    let (parts, body) = request.into_parts();
    let environment_id = environment_of(&parts.uri);
    match verify(state, &parts, body, environment_id, now_ms).await {
        Ok(signed) => Ok(signed),
        Err(Rejected::Refused(refusal)) => {
            if let Some(environment_id) = environment_id {
                record_refusal(state, &parts, environment_id, refusal, now_ms);
            }
            Err(refusal.into())
        }
        Err(Rejected::Failed(error)) => Err(error),
    }
}

/// Why [`verify`] did not accept a request: a refusal (the caller's doing, recorded), or our
/// own failure.
enum Rejected {
    Refused(Refusal),
    Failed(ApiError),
}

impl From<Refusal> for Rejected {
    fn from(refusal: Refusal) -> Self {
        Rejected::Refused(refusal)
    }
}

impl From<ApiError> for Rejected {
    fn from(error: ApiError) -> Self {
        Rejected::Failed(error)
    }
}

/// The environment id in a REST path. An id that does not parse is treated like an environment
/// without secrets. (Ids are hyphenated, 36 characters: no search for the next `/`.)
fn environment_of(uri: &axum::http::Uri) -> Option<Uuid> {
    uri.path()
        .strip_prefix(PREFIX)
        .filter(|rest| matches!(rest.as_bytes().get(36), None | Some(b'/')))
        .and_then(|rest| rest.get(..36))
        .and_then(|id| Uuid::try_parse(id).ok())
}

/// Records a refusal, unless the environment is known to have no secrets (or not to exist):
/// then nobody could have signed for it, and nobody would read it.
fn record_refusal(
    state: &AppState,
    parts: &axum::http::request::Parts,
    environment_id: Uuid,
    refusal: Refusal,
    now_ms: i64,
) {
    let known = state
        .keys
        .with_cached(environment_id, |keys| !keys.is_empty());
    if known == Some(false) {
        return;
    }
    state
        .failures
        .record(environment_id, known.is_some(), now_ms, || {
            let skew_ms = matches!(refusal, Refusal::StaleTimestamp | Refusal::FutureTimestamp)
                .then(|| {
                    parts
                        .headers
                        .get(signature::TIMESTAMP_HEADER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(parse_timestamp)
                        .map(|at| at - now_ms)
                })
                .flatten();
            let address = state
                .trusted_proxies
                .client_address(client::peer(&parts.extensions), &parts.headers);
            failures::Failure {
                environment_id,
                at_ms: now_ms,
                method: failures::bounded(parts.method.as_str(), failures::MAX_METHOD_BYTES),
                path: failures::bounded(parts.uri.path(), failures::MAX_PATH_BYTES),
                address,
                user_agent: usage::Caller::new(address, &parts.headers)
                    .user_agent
                    .into_owned(),
                reason: refusal.code(),
                skew_ms,
            }
        });
}

/// Checks the headers, the timestamp and the signature against each of the environment's
/// secrets (at most 3), and counts the one that matched as used.
async fn verify(
    state: &AppState,
    parts: &axum::http::request::Parts,
    body: axum::body::Body,
    environment_id: Option<Uuid>,
    now_ms: i64,
) -> Result<Signed, Rejected> {
    let (timestamp, signature) = check_headers(&parts.headers, now_ms, state.signature_tolerance)?;
    // Not hex, or not 32 bytes: no key can match it.
    let (Some(environment_id), Some(expected)) = (environment_id, signature::decode(signature))
    else {
        return Err(Refusal::BadSignature.into());
    };
    let body_size = axum::body::HttpBody::size_hint(&body);
    if body_size.lower() > MAX_BODY_BYTES as u64 {
        return Err(Refusal::BodyTooLarge.into());
    }
    // Keys loaded here (on a cache miss) are used below; cached ones are used in place, under
    // the cache's read lock, with no reference count taken.
    let mut loaded = None;
    // Most calls are GETs without a body: nothing to read then. A body is read only for an
    // environment that has secrets (so a made-up id costs no upload).
    let body = if body_size.exact() == Some(0) {
        axum::body::Bytes::new()
    } else {
        let has_keys = match state
            .keys
            .with_cached(environment_id, |keys| !keys.is_empty())
        {
            Some(has_keys) => has_keys,
            None => {
                let keys = load_keys(state, environment_id).await?;
                let has_keys = !keys.is_empty();
                loaded = Some(keys);
                has_keys
            }
        };
        if !has_keys {
            return Err(Refusal::BadSignature.into());
        }
        match Box::pin(axum::body::to_bytes(body, MAX_BODY_BYTES)).await {
            Ok(bytes) => bytes,
            Err(_) => return Err(Refusal::BodyTooLarge.into()),
        }
    };

    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or(parts.uri.path(), |pq| pq.as_str());
    // Tried first: the key that was used last (a caller signs with one secret at a time), so an
    // accepted request usually costs one HMAC; the search stops at the first match. A refused
    // request is checked against every key, each compared in constant time: its timing is the
    // same whatever its signature, and only a request signed with a secret, by its holder, can be
    // accepted sooner.
    let check = |keys: &[keys::SecretKey]| -> Option<Result<Uuid, Refusal>> {
        use std::sync::atomic::Ordering::Relaxed;
        let first = (0..keys.len()).max_by_key(|&i| keys[i].last_marked_ms.load(Relaxed))?;
        let matches = |key: &&keys::SecretKey| {
            key.key.verify(
                parts.method.as_str(),
                path_and_query,
                timestamp,
                &body,
                &expected,
            )
        };
        let key = std::iter::once(&keys[first])
            .chain(keys[..first].iter())
            .chain(keys[first + 1..].iter())
            .find(matches)?;
        // Compared with this request's moment: the same instant on every instance.
        if now_ms >= key.expires_ms {
            return Some(Err(Refusal::ExpiredSecret));
        }
        // A shared atomic (it orders the keys): stored at most every 100 ms.
        if now_ms.saturating_sub(key.last_marked_ms.load(Relaxed)) >= 100 {
            key.last_marked_ms.store(now_ms, Relaxed);
        }
        Some(Ok(key.id))
    };
    let matched = match loaded {
        Some(keys) => check(&keys),
        None => match state.keys.with_cached(environment_id, check) {
            Some(matched) => matched,
            None => check(&load_keys(state, environment_id).await?),
        },
    };
    let secret_id = matched.unwrap_or(Err(Refusal::BadSignature))?;
    if replay::applies_to(&parts.method) {
        // Checked once the signature is known to be genuine: only its holder can fill the table.
        let at = parse_timestamp(timestamp).unwrap_or_default();
        match replay::accept_once(&state.pool, &expected, at, state.signature_tolerance).await {
            Ok(true) => {}
            Ok(false) => return Err(Refusal::Replayed.into()),
            Err(e) => {
                internal_error("recording a signed request against replays", &e);
                return Err(ApiError::unavailable(
                    "The request could not be recorded (our database is unreachable); nothing was changed. Sign it again and retry shortly.",
                )
                .into());
            }
        }
    }
    // Every accepted request is counted (per hour and per caller, in memory: see `usage`).
    let address = state
        .trusted_proxies
        .client_address(client::peer(&parts.extensions), &parts.headers);
    state.usage.count(
        secret_id,
        now_ms,
        &usage::Caller::new(address, &parts.headers),
    );
    Ok(Signed {
        environment_id,
        secret_id,
        body,
    })
}

/// The environment's keys from the database (a cache miss). Boxed: the cold path's future stays
/// out of every request's (hot) future.
async fn load_keys(state: &AppState, environment_id: Uuid) -> Result<keys::Keys, ApiError> {
    Box::pin(state.keys.keys(&state.pool, &state.keyring, environment_id))
        .await
        .map_err(|e| match e {
            keys::KeyError::Busy => ApiError::unavailable(
                "Too many requests are waiting for their API secrets to be loaded; nothing was changed. Retry shortly.",
            ),
            keys::KeyError::Unreachable => ApiError::database_unreachable(),
            e => ApiError::internal("loading API secrets to verify a request", &e),
        })
}

#[derive(Serialize)]
struct Pong {
    environment_id: Uuid,
    /// The id of the API secret whose signature matched.
    signed_with: Uuid,
}

/// `GET …/ping`: checks a caller's signing (no database work beyond the cached keys).
async fn ping(auth: Signed) -> Json<Pong> {
    Json(Pong {
        environment_id: auth.environment_id,
        signed_with: auth.secret_id,
    })
}

#[derive(Serialize)]
struct ApiSecret {
    id: Uuid,
    /// `csk_…a1B2`: the value itself is never available.
    masked: String,
    label: String,
    created_at: String,
    last_used_at: Option<String>,
    webhook_signer: bool,
    expires_at: Option<String>,
}

/// `GET …/api-secrets`: the environment's secrets' metadata, from the keys that verified the
/// request (cached with them, and invalidated with them): no query.
async fn list_api_secrets(
    State(state): State<AppState>,
    auth: Signed,
) -> Result<Json<Vec<ApiSecret>>, ApiError> {
    let list = |keys: &[keys::SecretKey]| -> Vec<ApiSecret> {
        keys.iter()
            .map(|key| {
                let listing = &key.listing;
                ApiSecret {
                    id: key.id,
                    masked: listing.masked.clone(),
                    label: listing.label.clone(),
                    created_at: iso(listing.created_at),
                    last_used_at: key.last_used_at().map(iso),
                    webhook_signer: listing.webhook_signer,
                    expires_at: listing.expires_at.map(iso),
                }
            })
            .collect()
    };
    let secrets = match state.keys.with_cached(auth.environment_id, list) {
        Some(secrets) => secrets,
        // Changed since the request was verified: as loaded now.
        None => list(&load_keys(&state, auth.environment_id).await?),
    };
    Ok(Json(secrets))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(timestamp: Option<&str>, signature: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(t) = timestamp {
            headers.insert(
                signature::TIMESTAMP_HEADER,
                HeaderValue::from_str(t).unwrap(),
            );
        }
        if let Some(s) = signature {
            headers.insert(
                signature::SIGNATURE_HEADER,
                HeaderValue::from_str(s).unwrap(),
            );
        }
        headers
    }

    #[test]
    fn timestamps_are_checked_against_the_window() {
        let now = 1_800_000_000_000;
        let five_min = Duration::from_secs(300);
        let check =
            |t: &str| check_headers(&headers(Some(t), Some("ab")), now, five_min).map(|_| ());
        assert!(check(&now.to_string()).is_ok());
        assert!(check(&(now - 300_000).to_string()).is_ok());
        assert!(check(&(now + 300_000).to_string()).is_ok());
        assert_eq!(
            check(&(now - 300_001).to_string()).unwrap_err(),
            Refusal::StaleTimestamp
        );
        assert_eq!(
            check(&(now + 300_001).to_string()).unwrap_err(),
            Refusal::FutureTimestamp
        );
        for bad in [
            "",
            "abc",
            "-5",
            "1.5e12",
            "99999999999999999999",
            " 1800000000000",
            "01800000000000",
            "0",
            "+1800000000000",
            "1800000000000 ",
            "１800000000000",
        ] {
            assert_eq!(
                check(bad).unwrap_err(),
                Refusal::MalformedTimestamp,
                "{bad:?}"
            );
        }
        assert_eq!(
            check_headers(&headers(None, Some("ab")), now, five_min).unwrap_err(),
            Refusal::MissingTimestamp
        );
        assert_eq!(
            check_headers(&headers(Some("1"), None), now, five_min).unwrap_err(),
            Refusal::MissingSignature
        );
    }
}

/// Any change to what was signed fails: a property test over methods, paths, queries,
/// timestamps, bodies and the boundaries between them (the signed string has no separators).
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// What the server accepts, minus the lookups: a canonical timestamp within the window and
    /// a matching signature.
    fn accepted(
        key: &signature::SigningKey,
        request: &(String, String, String, Vec<u8>),
        signature: &[u8; 32],
        now_ms: i64,
    ) -> bool {
        let (method, path_and_query, timestamp, body) = request;
        let in_window = parse_timestamp(timestamp).is_some_and(|at| (at - now_ms).abs() <= 300_000);
        in_window && key.verify(method, path_and_query, timestamp, body, signature)
    }

    fn text(chars: &'static [u8], len: std::ops::Range<usize>) -> impl Strategy<Value = String> {
        proptest::collection::vec(proptest::sample::select(chars), len)
            .prop_map(|bytes| String::from_utf8(bytes).unwrap())
    }

    proptest! {
        #[test]
        fn any_change_to_a_signed_request_is_refused(
            method in text(b"ACDEGHILOPRSTU", 3..8),
            path in text(b"abcxyz019/-_.", 0..24),
            query in text(b"abc019=&%", 0..24),
            at in 1_000_000_000_000i64..9_999_999_999_999,
            body in proptest::collection::vec(any::<u8>(), 0..64),
            change in 0usize..8,
            pick in any::<usize>(),
            byte in any::<u8>(),
        ) {
            let key = signature::SigningKey::new(b"csk_property");
            let path_and_query = if query.is_empty() { format!("/{path}") } else { format!("/{path}?{query}") };
            let original = (method, path_and_query, at.to_string(), body);
            let signature = signature::decode(&key.sign(&original.0, &original.1, &original.2, &original.3)).unwrap();
            prop_assert!(accepted(&key, &original, &signature, at));

            let (mut method, mut path_and_query, mut timestamp, mut body) = original.clone();
            match change {
                // Another method (the case of a method is not part of it).
                0 => {
                    let i = pick % method.len();
                    let other = if method.as_bytes()[i] == b'Z' { "Y" } else { "Z" };
                    method.replace_range(i..=i, other);
                }
                // Another path or query, one byte changed, added or removed.
                1 => {
                    let i = pick % path_and_query.len();
                    let c = path_and_query.as_bytes()[i];
                    let other = if c == b'q' { "r" } else { "q" };
                    path_and_query.replace_range(i..=i, other);
                }
                2 => path_and_query.push(char::from(b'a' + byte % 26)),
                3 => { path_and_query.pop(); }
                // Another moment, or the same one spelled differently.
                4 => timestamp = if byte % 2 == 0 { format!("0{timestamp}") } else { (at + 1 + i64::from(byte)).to_string() },
                // Another body.
                5 => {
                    if body.is_empty() || byte % 3 == 0 {
                        body.push(byte);
                    } else {
                        let i = pick % body.len();
                        body[i] ^= 1 << (byte % 8);
                    }
                }
                // The same bytes signed, split differently: `…?x=10` at `T` as `…?x=1` at `0T`.
                6 => {
                    path_and_query.push('0');
                    let signature = signature::decode(&key.sign(&original.0, &path_and_query, &original.2, &original.3)).unwrap();
                    path_and_query.pop();
                    timestamp.insert(0, '0');
                    let changed = (method, path_and_query, timestamp, body);
                    prop_assert!(!accepted(&key, &changed, &signature, at), "{changed:?}");
                    return Ok(());
                }
                // A byte moved across the path/timestamp boundary, either way.
                _ => {
                    if byte % 2 == 0 {
                        let last = path_and_query.pop().unwrap();
                        timestamp.insert(0, last);
                    } else {
                        let first = timestamp.remove(0);
                        path_and_query.push(first);
                    }
                }
            }
            let changed = (method, path_and_query, timestamp, body);
            prop_assume!(changed != original);
            prop_assert!(!accepted(&key, &changed, &signature, at), "{original:?} -> {changed:?}");
        }
    }
}

#[derive(Serialize)]
struct FailedRequest {
    at: String,
    method: String,
    path: String,
    address: Option<String>,
    user_agent: String,
    reason: String,
    message: String,
}

/// `GET …/failed-requests`: the environment's latest refused requests, newest first.
async fn list_failed_requests(
    State(state): State<AppState>,
    auth: Signed,
) -> Result<Json<Vec<FailedRequest>>, ApiError> {
    let failed = secrets::failures::db::latest(&state.pool, auth.environment_id).await?;
    Ok(Json(
        failed
            .requests
            .into_iter()
            .map(|f| FailedRequest {
                at: f.at.iso,
                method: f.method,
                path: f.path,
                address: f.address,
                user_agent: f.user_agent,
                reason: f.reason,
                message: f.explanation,
            })
            .collect(),
    ))
}
