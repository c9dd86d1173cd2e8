//! The account forms' POST handlers. They are plain HTML form posts, so signing up, in and out
//! works before the WASM loads and with JavaScript disabled; a failure renders the same page
//! again with the message, the HTTP status that goes with it, and what was typed (never the
//! password).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::{
    Extension, Form,
    body::Body,
    extract::{ConnectInfo, Query, State},
    http::{HeaderMap, HeaderValue, Request, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use leptos::prelude::provide_context;
use serde::Deserialize;
use tower_sessions::Session;

use super::{
    Email, check_password, db, parse_organization_name, password, safe_next, session,
    throttle::{self, Reservation},
    views::FormFeedback,
};
use crate::{
    error::internal_error,
    platform::{csp, state::AppState},
};

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct SignUpForm {
    email: String,
    password: String,
    organization_name: String,
}

#[derive(Deserialize)]
pub struct SignInForm {
    email: String,
    password: String,
}

type Peer = Option<Extension<ConnectInfo<SocketAddr>>>;

/// The client's address (see [`crate::platform::client`]); unspecified if unknown.
fn client_ip(state: &AppState, peer: &Peer, headers: &HeaderMap) -> IpAddr {
    let peer = peer.as_ref().map(|Extension(ConnectInfo(addr))| addr.ip());
    state
        .trusted_proxies
        .client_address(peer, headers)
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// `POST /sign-up`: creates the user, their organization and its "Production" environment in
/// one transaction, signs them in and opens that environment's API secrets tab.
pub async fn sign_up(
    State(state): State<AppState>,
    session: Session,
    peer: Peer,
    headers: HeaderMap,
    Form(form): Form<SignUpForm>,
) -> Response {
    let mut feedback = FormFeedback {
        email: form.email.trim().to_owned(),
        organization_name: form.organization_name.trim().to_owned(),
        ..FormFeedback::default()
    };
    let checked = Email::parse(&form.email).and_then(|email| {
        check_password(&form.password)?;
        Ok((email, parse_organization_name(&form.organization_name)?))
    });
    let (email, organization_name) = match checked {
        Ok(valid) => valid,
        Err(message) => {
            feedback.error = Some(message.to_owned());
            return render(
                &state,
                "/sign-up",
                feedback,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let ip = client_ip(&state, &peer, &headers);
    let outcome = async {
        let reservation = throttle::reserve_sign_up(&state.pool, ip, state.sign_ups_per_hour)
            .await
            .map_err(internal)?;
        if let Reservation::Throttled(wait) = reservation {
            return Ok(Outcome::Throttled(
                wait,
                "Too many sign-ups from your network.",
            ));
        }
        let hash = password::hash(form.password)
            .await
            .map_err(password_error)?;
        let mut tx = state.pool.begin().await.map_err(internal)?;
        let account = db::create_account(&mut tx, &email, &hash, &organization_name).await;
        let account = match account {
            Ok(account) => account,
            Err(db::SignUpError::EmailTaken) => {
                return Ok(Outcome::Again(
                    StatusCode::CONFLICT,
                    "An account with this email address already exists. Sign in instead.",
                ));
            }
            Err(db::SignUpError::Db(e)) => return Err(internal(e)),
        };
        tx.commit().await.map_err(internal)?;
        session::sign_in(&session, account.user_id)
            .await
            .map_err(internal)?;
        Ok(Outcome::SignedIn(format!(
            "/environments/{}/api-secrets",
            account.environment_id
        )))
    };
    answer(&state, "/sign-up", feedback, outcome.await).await
}

/// `POST /sign-in?next=…`: checks the throttle, then the password; on success rotates the
/// session id and goes to `next` (a path on this site) or the portal's home.
pub async fn sign_in(
    State(state): State<AppState>,
    session: Session,
    peer: Peer,
    headers: HeaderMap,
    Query(query): Query<NextQuery>,
    Form(form): Form<SignInForm>,
) -> Response {
    let next = safe_next(query.next.as_deref());
    let mut feedback = FormFeedback {
        email: form.email.trim().to_owned(),
        next: query.next.clone().unwrap_or_default(),
        ..FormFeedback::default()
    };
    let page = match &query.next {
        Some(_) => format!("/sign-in?next={}", super::percent_encode(&next)),
        None => "/sign-in".to_owned(),
    };
    // The same answer for an unknown email, a malformed one and a wrong password.
    let refused = "The email address or password is not right.";
    let Ok(email) = Email::parse(&form.email) else {
        feedback.error = Some(refused.into());
        return render(&state, &page, feedback, StatusCode::UNAUTHORIZED).await;
    };
    let ip = client_ip(&state, &peer, &headers);

    let outcome = async {
        let reservation = throttle::reserve(&state.pool, &email, ip)
            .await
            .map_err(internal)?;
        if let Reservation::Throttled(wait) = reservation {
            return Ok(Outcome::Throttled(wait, "Too many failed sign-ins."));
        }
        let credentials = db::credentials(&state.pool, &email)
            .await
            .map_err(internal)?;
        let user_id = credentials.as_ref().map(|c| c.user_id);
        let verified = password::verify(form.password, credentials.map(|c| c.password_hash))
            .await
            .map_err(password_error)?;
        match (verified, user_id) {
            (true, Some(user_id)) => {
                throttle::clear_account(&state.pool, &email)
                    .await
                    .map_err(internal)?;
                session::sign_in(&session, user_id)
                    .await
                    .map_err(internal)?;
                Ok(Outcome::SignedIn(next))
            }
            // The attempt was counted as a failure when it was reserved.
            _ => Ok(Outcome::Again(StatusCode::UNAUTHORIZED, refused)),
        }
    };
    answer(&state, &page, feedback, outcome.await).await
}

/// `POST /sign-out`: deletes the session server-side and expires the cookie.
pub async fn sign_out(session: Session) -> Response {
    match session::sign_out(&session).await {
        Ok(()) => Redirect::to("/sign-in").into_response(),
        Err(e) => internal(e),
    }
}

/// How a sign-up or sign-in form post ended, short of a failure answered on its own.
enum Outcome {
    /// Signed in: on to this page.
    SignedIn(String),
    /// The form again, with this message and status.
    Again(StatusCode, &'static str),
    /// The throttle's refusal: the form again, saying what and when to try again (429,
    /// Retry-After).
    Throttled(throttle::RetryAfter, &'static str),
}

/// The answer to a form post: a redirect, or the page at `page` with the form's feedback.
async fn answer(
    state: &AppState,
    page: &str,
    mut feedback: FormFeedback,
    outcome: Result<Outcome, Response>,
) -> Response {
    match outcome {
        Ok(Outcome::SignedIn(to)) => Redirect::to(&to).into_response(),
        Ok(Outcome::Again(status, message)) => {
            feedback.error = Some(message.into());
            render(state, page, feedback, status).await
        }
        Ok(Outcome::Throttled(throttle::RetryAfter(wait), what)) => {
            let minutes = wait.as_secs().div_ceil(60);
            feedback.error = Some(format!(
                "{what} Try again in {minutes} minute{}.",
                if minutes == 1 { "" } else { "s" }
            ));
            let mut response = render(state, page, feedback, StatusCode::TOO_MANY_REQUESTS).await;
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(wait.as_secs().max(1)),
            );
            response
        }
        Err(response) => response,
    }
}

/// All password checks were busy for too long (a flood): try again shortly.
fn password_error(error: password::PasswordError) -> Response {
    match error {
        password::PasswordError::Busy => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, HeaderValue::from_static("5"))],
            "The portal is busy. Please try again in a few seconds.",
        )
            .into_response(),
        other => internal(other),
    }
}

fn internal<E: std::error::Error + 'static>(error: E) -> Response {
    internal_error("an account action", &error);
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong on our side. Please try again.",
    )
        .into_response()
}

/// Renders the page at `uri` (server-side, whole) with the form's feedback and `status`.
async fn render(
    state: &AppState,
    uri: &str,
    feedback: FormFeedback,
    status: StatusCode,
) -> Response {
    let options = (*state.leptos_options).clone();
    let context_state = state.clone();
    let document = state.document;
    let handler = leptos_axum::render_app_async_with_context(
        move || {
            provide_context(context_state.clone());
            provide_context(feedback.clone());
            csp::set_for_this_page();
        },
        move || document(options.clone()),
    );
    let request = match Request::get(uri).body(Body::empty()) {
        Ok(request) => request,
        Err(e) => return internal(e),
    };
    let mut response = handler(request).await;
    *response.status_mut() = status;
    response
}
