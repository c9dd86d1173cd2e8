//! Portal sessions: tower-sessions with its Postgres store (table tower_sessions.session,
//! created by our migrations). The cookie is HttpOnly, SameSite=Lax, Secure (and `__Host-`
//! prefixed) when served over https; the id is rotated at sign-in; a session ends after
//! `IDLE_TIMEOUT` without use or `ABSOLUTE_TIMEOUT` after sign-in, whichever comes first;
//! signing out deletes it from the store.
//!
//! Use is noted where it costs nothing: the query that loads the signed-in member marks its
//! `user_sessions` row as seen (at most once a minute) and refuses a row idle for longer than
//! `IDLE_TIMEOUT`. The session record itself is written only when its data changes: its own
//! lifetime is the absolute one, so a page view writes nothing.

use axum::{
    extract::{FromRef, FromRequestParts},
    http::request::Parts,
};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use tower_sessions::{Expiry, Session, SessionManagerLayer, cookie::SameSite};
use tower_sessions_sqlx_store::PostgresStore;
use uuid::Uuid;

use super::{
    db::{self, Member},
    roles::Action,
};
use crate::{
    audit::Origin,
    error::{AppError, fail, internal_error},
    platform::state::AppState,
};

pub const IDLE_TIMEOUT: tower_sessions::cookie::time::Duration =
    tower_sessions::cookie::time::Duration::hours(2);
pub const ABSOLUTE_TIMEOUT: chrono::Duration = chrono::Duration::hours(12);
/// How long a session record (and its cookie) outlives its last write: the absolute limit.
const RECORD_LIFETIME: tower_sessions::cookie::time::Duration =
    tower_sessions::cookie::time::Duration::hours(12);
const KEY: &str = "signed_in";
const SECOND_STEP_KEY: &str = "awaiting_second_factor";
/// How long the second step of signing in waits for its code after the password.
pub const SECOND_STEP_TIMEOUT: chrono::Duration = chrono::Duration::minutes(5);

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SessionUser {
    user_id: Uuid,
    /// The organization they act for (a person may belong to several); `None`: their first.
    #[serde(default)]
    organization_id: Option<Uuid>,
    /// Its row in `user_sessions` (what the Sessions page lists and ends); a session without one
    /// is signed out.
    #[serde(default)]
    handle: Option<Uuid>,
    at: chrono::DateTime<chrono::Utc>,
}

/// Someone whose password was right and whose account has two-factor authentication: the
/// session waits (for at most [`SECOND_STEP_TIMEOUT`]) for their code, signed in as nobody.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AwaitingSecondFactor {
    pub user_id: Uuid,
    pub email: String,
    /// Where to go once signed in (a path on this site).
    pub next: String,
    at: chrono::DateTime<chrono::Utc>,
}

/// The password was right: the session (under a new id) waits for the second factor.
pub async fn await_second_factor(
    session: &Session,
    user_id: Uuid,
    email: &str,
    next: String,
) -> Result<(), tower_sessions::session::Error> {
    session.cycle_id().await?;
    let awaiting = AwaitingSecondFactor {
        user_id,
        email: email.to_owned(),
        next,
        at: chrono::Utc::now(),
    };
    session.insert(SECOND_STEP_KEY, awaiting).await
}

/// Whose second factor the session waits for, if anyone's (and not for too long).
pub async fn awaiting_second_factor(
    session: &Session,
) -> Result<Option<AwaitingSecondFactor>, tower_sessions::session::Error> {
    let awaiting = session.get::<AwaitingSecondFactor>(SECOND_STEP_KEY).await?;
    match awaiting {
        Some(awaiting) if chrono::Utc::now() - awaiting.at <= SECOND_STEP_TIMEOUT => {
            Ok(Some(awaiting))
        }
        Some(_) => {
            session.remove_value(SECOND_STEP_KEY).await?;
            Ok(None)
        }
        None => Ok(None),
    }
}

/// Who a session is signed in as, and for which organization.
#[derive(Debug, Clone, Copy)]
pub struct SignedInAs {
    pub user_id: Uuid,
    pub organization_id: Option<Uuid>,
    pub handle: Option<Uuid>,
    /// When they signed in: the session ends [`ABSOLUTE_TIMEOUT`] later.
    pub since: chrono::DateTime<chrono::Utc>,
}

pub fn store(pool: PgPool) -> PostgresStore {
    PostgresStore::new(pool)
}

pub fn layer(store: PostgresStore, secure: bool) -> SessionManagerLayer<PostgresStore> {
    let name = if secure {
        "__Host-portal_session"
    } else {
        "portal_session"
    };
    SessionManagerLayer::new(store)
        .with_name(name)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(secure)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(RECORD_LIFETIME))
}

/// Why a session could not start or end.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    // Not transparent: the cause chain keeps each error (see `error::internal_error`).
    #[error("the session store failed")]
    Store(#[from] tower_sessions::session::Error),
    #[error("a database query failed")]
    Database(#[from] sqlx::Error),
}

/// Starts a signed-in session under a new id (the old id, known before sign-in, dies), acting
/// for `organization_id` (`None`: their first organization), listed on their Sessions page.
pub async fn sign_in(
    session: &Session,
    pool: &PgPool,
    user_id: Uuid,
    organization_id: Option<Uuid>,
    origin: &Origin,
) -> Result<(), SessionError> {
    // Signing in again in this browser (or as someone else) ends the session it had.
    if let Some(previous) = session
        .get::<SessionUser>(KEY)
        .await?
        .and_then(|signed_in| signed_in.handle)
    {
        db::end_session(pool, previous).await?;
    }
    let handle = db::start_session(pool, user_id, origin).await?;
    session.remove_value(SECOND_STEP_KEY).await?;
    session.cycle_id().await?;
    session
        .insert(
            KEY,
            SessionUser {
                user_id,
                organization_id,
                handle: Some(handle),
                at: chrono::Utc::now(),
            },
        )
        .await?;
    Ok(())
}

/// From now on the session acts for `organization_id` (the caller checked the membership).
pub async fn act_for(
    session: &Session,
    organization_id: Uuid,
) -> Result<(), tower_sessions::session::Error> {
    let Some(mut signed_in) = session.get::<SessionUser>(KEY).await? else {
        return Ok(());
    };
    signed_in.organization_id = Some(organization_id);
    session.insert(KEY, signed_in).await
}

/// Deletes the Sessions page's rows of sessions past their idle or absolute limit.
pub async fn prune(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let idle = std::time::Duration::from_secs(IDLE_TIMEOUT.whole_seconds().unsigned_abs());
    let absolute = ABSOLUTE_TIMEOUT
        .to_std()
        .unwrap_or(std::time::Duration::MAX);
    db::prune_sessions(pool, idle, absolute).await
}

/// Deletes the session (its row on the Sessions page too) and expires the cookie.
pub async fn sign_out(session: &Session, pool: &PgPool) -> Result<(), SessionError> {
    if let Some(handle) = session
        .get::<SessionUser>(KEY)
        .await?
        .and_then(|signed_in| signed_in.handle)
    {
        db::end_session(pool, handle).await?;
    }
    session.flush().await?;
    Ok(())
}

/// Who is signed in, or None (never signed in, expired, or past the absolute limit).
pub async fn signed_in(
    session: &Session,
) -> Result<Option<SignedInAs>, tower_sessions::session::Error> {
    let Some(signed_in) = session.get::<SessionUser>(KEY).await? else {
        return Ok(None);
    };
    if chrono::Utc::now() - signed_in.at > ABSOLUTE_TIMEOUT {
        session.flush().await?;
        return Ok(None);
    }
    Ok(Some(SignedInAs {
        user_id: signed_in.user_id,
        organization_id: signed_in.organization_id,
        handle: signed_in.handle,
        since: signed_in.at,
    }))
}

/// The member the gate found for this request (server functions and server rendering).
pub fn current_member() -> Option<Member> {
    request_extension::<Member>()
}

/// One of this request's extensions, read in place (`use_context` would clone the whole request
/// head, headers and extensions, for it).
pub fn request_extension<T: Clone + Send + Sync + 'static>() -> Option<T> {
    leptos::prelude::with_context(|parts: &axum::http::request::Parts| {
        parts.extensions.get::<T>().cloned()
    })
    .flatten()
}

/// This request's session id (its cookie's), for what features cache with the signed-in member
/// (`AppState::signed_in`).
pub fn current_session_id() -> Option<tower_sessions::session::Id> {
    request_extension::<Session>().and_then(|session| session.id())
}

/// The signed-in member, or `AppError::Unauthorized` (status 401).
pub fn require_member() -> Result<Member, AppError> {
    current_member().ok_or_else(|| fail(AppError::Unauthorized))
}

/// The signed-in member if their role may do `action`; else `AppError::Forbidden` (status 403)
/// saying who may. An action that needs a recent confirmation (step-up) without one is
/// `AppError::ConfirmationNeeded` (403): the page asks for the password and tries again.
pub fn require(action: Action) -> Result<Member, AppError> {
    let member = require_member()?;
    allowed(&member, action)?;
    Ok(member)
}

/// Whether `member` may do `action` now: their role, then (for dangerous actions) a recent
/// confirmation. For handlers, which hold their member already.
pub fn allowed(member: &Member, action: Action) -> Result<(), AppError> {
    if !member.role.may(action) {
        Err(fail(AppError::Forbidden(action.refusal().into())))
    } else if action.needs_confirmation() && !member.confirmed {
        Err(fail(AppError::ConfirmationNeeded))
    } else {
        Ok(())
    }
}

/// Paths anyone may open. Everything else is a portal page and needs a signed-in member:
/// denied by default, so a new page cannot be public by accident.
fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/sign-in"
            | "/sign-in/two-factor"
            | "/sign-up"
            | "/status"
            | "/healthz"
            | "/readyz"
            | "/join"
    ) || path.starts_with("/join/")
        || path.starts_with("/invitations/")
        || path.starts_with("/rpc/")
        || path.starts_with("/api/")
        || is_asset(path)
}

/// What a member who must set up two-factor authentication may still open: the set-up, its
/// confirmation, their sessions, signing out (or in as someone else), another organization.
/// Server functions are not: they are the portal's actions.
fn opens_before_two_factor(path: &str) -> bool {
    (is_public(path) && !path.starts_with("/rpc/"))
        || matches!(
            path,
            "/security" | "/sessions" | "/sign-out" | "/organizations/switch"
        )
        || path.starts_with("/security/")
        || matches!(
            path,
            "/rpc/confirm_password"
                | "/rpc/security_status"
                | "/rpc/end_session"
                | "/rpc/end_other_sessions"
        )
}

fn is_asset(path: &str) -> bool {
    path.starts_with("/pkg/") || matches!(path, "/favicon.ico" | "/robots.txt")
}

/// The member signed in with this request's session `id`: from this instance's cache, else from
/// the session store and the database (then cached until it could have changed).
async fn member_of(
    state: &AppState,
    session: &Session,
    id: Option<tower_sessions::session::Id>,
) -> Result<Option<Member>, axum::response::Response> {
    use axum::response::IntoResponse;

    if let Some(member) = id.and_then(|id| state.signed_in.get::<Member>(id)) {
        return Ok(Some(member));
    }
    let generation = state.signed_in.generation();
    let who = match signed_in(session).await {
        Ok(Some(who)) => who,
        Ok(None) => return Ok(None),
        Err(e) => return Err(internal_error("reading the session", &e).into_response()),
    };
    match db::member(&state.pool, who).await {
        Ok(Some(member)) => {
            if let Some(id) = id {
                // Not past the absolute limit, nor past a confirmation it carries.
                let mut deadline = who.since + ABSOLUTE_TIMEOUT;
                if member.confirmed {
                    deadline = deadline.min(member.confirmed_until.unwrap_or(deadline));
                }
                let left = (deadline - chrono::Utc::now()).to_std().unwrap_or_default();
                let deadline = std::time::Instant::now() + left;
                let whose = (member.user_id, member.organization_id);
                state
                    .signed_in
                    .put(id, whose, member.clone(), generation, deadline);
            }
            Ok(Some(member))
        }
        // Removed from the organization, ended from the Sessions page, idle too long, or the
        // account is gone: the session ends, on this very request.
        Ok(None) => {
            if let Err(e) = sign_out(session, &state.pool).await {
                internal_error("ending a session", &e);
            }
            Ok(None)
        }
        Err(e) => Err(AppError::from(e).into_response()),
    }
}

/// Middleware: loads the signed-in member (if any) into the request's extensions, and sends
/// visitors without a session who open a portal page to `/sign-in?next=<where they were going>`.
pub async fn gate(
    axum::extract::State(state): axum::extract::State<AppState>,
    session: Session,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::{
        http::Method,
        response::{IntoResponse, Redirect},
    };

    let path = request.uri().path().to_owned();
    if is_asset(&path) {
        return next.run(request).await;
    }
    let id = session.id();
    let member = match member_of(&state, &session, id).await {
        Ok(member) => member,
        Err(response) => return response,
    };
    match member {
        Some(member) if member.must_set_up_two_factor() && !opens_before_two_factor(&path) => {
            // Their organization requires two-factor authentication: setting it up comes first.
            if request.method() == Method::GET {
                return Redirect::to("/security").into_response();
            }
            let refusal = format!(
                "{} requires two-factor authentication. Set it up on your Security page first.",
                member.organization_name
            );
            return AppError::Forbidden(refusal).into_response();
        }
        Some(member) => {
            let user_id = member.user_id;
            let acts = !matches!(*request.method(), Method::GET | Method::HEAD);
            request.extensions_mut().insert(member);
            // What a signed-in member is shown is theirs: no cache (the browser's back-forward
            // cache on a shared computer, a proxy's) keeps it.
            let mut response = next.run(request).await;
            if acts || session.is_modified() {
                // What they did may change what they are read as (confirmed their password,
                // turned on two-factor, switched organization, signed out): this instance
                // forgets at once, before their next request; the others hear it at commit.
                state.signed_in.forget_user(user_id);
            }
            response
                .headers_mut()
                .entry(axum::http::header::CACHE_CONTROL)
                .or_insert(axum::http::HeaderValue::from_static("no-store"));
            return response;
        }
        None if !is_public(&path) && request.method() == Method::GET => {
            let target = request
                .uri()
                .path_and_query()
                .map_or("/", |pq| pq.as_str())
                .to_owned();
            let location = format!("/sign-in?next={}", super::percent_encode(&target));
            return Redirect::to(&location).into_response();
        }
        None => {}
    }
    next.run(request).await
}

/// The axum extractor for handlers that need a signed-in member.
pub struct SignedIn(pub Member);

impl<S: Send + Sync> FromRequestParts<S> for SignedIn
where
    AppState: FromRef<S>,
{
    type Rejection = axum::response::Redirect;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Member>()
            .cloned()
            .map(SignedIn)
            .ok_or_else(|| axum::response::Redirect::to("/sign-in"))
    }
}
