//! The account forms' POST handlers. They are plain HTML form posts, so signing up, in and out
//! works before the WASM loads and with JavaScript disabled; a failure renders the same page
//! again with the message, the HTTP status that goes with it, and what was typed (never the
//! password).

use axum::{
    Form,
    extract::{Query, State},
    http::{StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use leptos::prelude::provide_context;
use serde::Deserialize;
use tower_sessions::Session;
use uuid::Uuid;

use super::{
    Email, check_password, db, parse_organization_name, password, safe_next,
    session::{self, SignedIn},
    throttle::{self, Reservation},
    views::FormFeedback,
};
use crate::{
    audit::{self, AuditAction, Origin},
    error::{AppError, internal_error},
    platform::state::AppState,
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

/// `POST /sign-up`: creates the user, their organization and its "Production" environment in
/// one transaction, signs them in and opens that environment's API secrets tab.
pub async fn sign_up(
    State(state): State<AppState>,
    session: Session,
    origin: Origin,
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
    let outcome = async {
        let ip = origin.address();
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
        let organization = Some(account.organization_id);
        session::sign_in(
            &session,
            &state.pool,
            account.user_id,
            organization,
            &origin,
        )
        .await
        .map_err(internal)?;
        Ok(Outcome::Onward(format!(
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
    origin: Origin,
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
    let Ok(email) = Email::parse(&form.email) else {
        feedback.error = Some(REFUSED.into());
        return render(&state, &page, feedback, StatusCode::UNAUTHORIZED).await;
    };
    let outcome = async {
        let checked = authenticate(&state, &email, form.password, &origin).await;
        match checked.map_err(IntoResponse::into_response)? {
            Authentication::Verified(user_id) => {
                if !start_session(&state, &session, user_id, &origin).await? {
                    return Ok(Outcome::Again(StatusCode::FORBIDDEN, NO_ORGANIZATION));
                }
                Ok(Outcome::Onward(next))
            }
            Authentication::NeedsSecondFactor(user_id) => {
                session::await_second_factor(&session, user_id, email.as_str(), next)
                    .await
                    .map_err(internal)?;
                Ok(Outcome::Onward(SECOND_STEP.to_owned()))
            }
            Authentication::Throttled(wait) => {
                Ok(Outcome::Throttled(wait, "Too many failed sign-ins."))
            }
            Authentication::Wrong => Ok(Outcome::Again(StatusCode::UNAUTHORIZED, REFUSED)),
        }
    };
    answer(&state, &page, feedback, outcome.await).await
}

/// Signs the person in for their first organization (the trail and the Members tab note it);
/// `false` when they belong to none any more and so are not signed in.
pub async fn start_session(
    state: &AppState,
    session: &Session,
    user_id: Uuid,
    origin: &Origin,
) -> Result<bool, Response> {
    let mut tx = state.pool.begin().await.map_err(internal)?;
    let organization = db::record_sign_in(&mut tx, user_id, origin)
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    // Without an organization there is nothing to show (an invitation link signs them in to
    // join). The session names the one it acts for: removed from it, the session ends,
    // whatever other organizations the person belongs to.
    if organization.is_none() {
        return Ok(false);
    }
    session::sign_in(session, &state.pool, user_id, organization, origin)
        .await
        .map_err(internal)?;
    Ok(true)
}

/// The second step of signing in, for accounts with two-factor authentication.
pub const SECOND_STEP: &str = "/sign-in/two-factor";

/// The same answer for an unknown email, a malformed one and a wrong password.
pub const REFUSED: &str = "The email address or password is not right.";

/// Whether an email address and password are someone's.
pub enum Authentication {
    Verified(Uuid),
    /// The password is right; the account also has two-factor authentication, whose code is
    /// still to come.
    NeedsSecondFactor(Uuid),
    /// Wrong (the address unknown, or the password not its own): counted against both.
    Wrong,
    /// Too many recent failures for this account or address: not even checked.
    Throttled(throttle::RetryAfter),
}

/// Checks `password` for `email` under the sign-in throttle (which counts the attempt as a
/// failure until it succeeds). Unknown addresses cost the same hash as known ones.
pub async fn authenticate(
    state: &AppState,
    email: &Email,
    password: String,
    origin: &Origin,
) -> Result<Authentication, AppError> {
    let reservation = throttle::reserve(&state.pool, email, origin.address()).await?;
    if let Reservation::Throttled(wait) = reservation {
        return Ok(Authentication::Throttled(wait));
    }
    let credentials = db::credentials(&state.pool, email).await?;
    let user_id = credentials.as_ref().map(|c| c.user_id);
    let two_factor = credentials.as_ref().is_some_and(|c| c.two_factor);
    // Longer than any password can be (sign-up refuses it): wrong, without hashing a megabyte.
    let verified = password.len() <= super::PASSWORD_MAX_BYTES
        && password::verify(password, credentials.map(|c| c.password_hash)).await?;
    match (verified, user_id) {
        // The attempt stays counted until the code is right too: a stolen password cannot
        // reset the count and guess codes without end.
        (true, Some(user_id)) if two_factor => Ok(Authentication::NeedsSecondFactor(user_id)),
        (true, Some(user_id)) => {
            throttle::clear_account(&state.pool, email).await?;
            Ok(Authentication::Verified(user_id))
        }
        (_, user_id) => {
            // Each of the person's teams sees failed sign-ins on their account (the sign-in
            // that starts a session is recorded with it: `db::record_sign_in`).
            if let Some(user_id) = user_id {
                let failed = AuditAction::MemberSignInFailed;
                audit::record_for_each_organization(&state.pool, user_id, origin, failed).await?;
            }
            Ok(Authentication::Wrong)
        }
    }
}

/// Said at sign-in to someone whose every membership was removed.
pub const NO_ORGANIZATION: &str = "Your account no longer belongs to any organization. \
     Ask an admin of your team for a new invitation.";

#[derive(Deserialize)]
pub struct SwitchForm {
    id: String,
}

/// `POST /organizations/switch`: the header's organization switcher. The session acts for the
/// chosen organization (one the person belongs to) from the next request on.
pub async fn switch_organization(
    State(state): State<AppState>,
    session: Session,
    SignedIn(member): SignedIn,
    Form(form): Form<SwitchForm>,
) -> Result<Redirect, AppError> {
    let id = form.id.parse().map_err(|_| AppError::NotFound)?;
    let organizations = db::organizations(&state.pool, member.user_id).await?;
    if !organizations
        .iter()
        .any(|organization| organization.id == id)
    {
        return Err(AppError::NotFound);
    }
    session::act_for(&session, id)
        .await
        .map_err(|e| internal_error("switching organizations", &e))?;
    Ok(Redirect::to("/"))
}

/// `POST /sign-out`: deletes the session server-side and expires the cookie.
pub async fn sign_out(State(state): State<AppState>, session: Session, origin: Origin) -> Response {
    let signed_out = async {
        if let Some(who) = session::signed_in(&session).await.map_err(internal)? {
            let action = AuditAction::MemberSignedOut;
            audit::record_for_each_organization(&state.pool, who.user_id, &origin, action)
                .await
                .map_err(internal)?;
        }
        session::sign_out(&session, &state.pool)
            .await
            .map_err(internal)
    };
    match signed_out.await {
        Ok(()) => Redirect::to("/sign-in").into_response(),
        Err(response) => response,
    }
}

/// How a sign-up or sign-in form post ended, short of a failure answered on its own.
pub(super) enum Outcome {
    /// On to this page: signed in, or on to the second step.
    Onward(String),
    /// The form again, with this message and status.
    Again(StatusCode, &'static str),
    /// The throttle's refusal: the form again, saying what and when to try again (429,
    /// Retry-After).
    Throttled(throttle::RetryAfter, &'static str),
}

/// The answer to a form post: a redirect, or the page at `page` with the form's feedback.
pub(super) async fn answer(
    state: &AppState,
    page: &str,
    mut feedback: FormFeedback,
    outcome: Result<Outcome, Response>,
) -> Response {
    match outcome {
        Ok(Outcome::Onward(to)) => Redirect::to(&to).into_response(),
        Ok(Outcome::Again(status, message)) => {
            feedback.error = Some(message.into());
            render(state, page, feedback, status).await
        }
        Ok(Outcome::Throttled(wait, what)) => {
            feedback.error = Some(wait.message(what));
            let mut response = render(state, page, feedback, StatusCode::TOO_MANY_REQUESTS).await;
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, wait.header());
            response
        }
        Err(response) => response,
    }
}

/// All password checks were busy for too long (a flood): try again shortly.
pub fn password_error(error: password::PasswordError) -> Response {
    AppError::from(error).into_response()
}

pub fn internal<E: std::error::Error + 'static>(error: E) -> Response {
    internal_error("an account action", &error).into_response()
}

/// Renders the page at `uri` with the form's feedback and `status`.
pub(super) async fn render(
    state: &AppState,
    uri: &str,
    feedback: FormFeedback,
    status: StatusCode,
) -> Response {
    state
        .render_page(uri, status, Default::default(), move || {
            provide_context(feedback.clone())
        })
        .await
}
