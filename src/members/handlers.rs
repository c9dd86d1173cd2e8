//! The Members tab's invite form and the invitation link's pages, as plain form posts (they work
//! without JavaScript). The invite answers with the Members page showing the link once (never
//! cached); the link's token is traded at once for the invitation's id in the visitor's session,
//! so it leaves the address bar and the history, and the join page never holds it.

use axum::{
    Form,
    extract::{Query, State},
    http::{Extensions, HeaderMap, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use leptos::prelude::provide_context;
use serde::Deserialize;
use tower_sessions::Session;
use uuid::Uuid;

use super::{InviteFeedback, JoinFeedback, NewInvitation, db, invitation, parse_role};
use crate::{
    accounts::{
        Email, check_password,
        db::{self as accounts_db, SignUpError},
        handlers::{Authentication, authenticate, internal, password_error},
        password,
        roles::Action,
        session::{self, SignedIn},
        throttle::{self, Reservation},
        two_factor::{
            handlers::WRONG_CODE,
            verify::{Proof, Purpose, check},
        },
    },
    audit::Origin,
    error::{AppError, internal_error},
    platform::state::AppState,
};

/// The session key of the invitation the visitor opened.
const OPENED: &str = "invitation";

#[derive(Deserialize)]
pub struct InviteForm {
    email: String,
    role: String,
}

/// `POST /members/invite`: invites an address with a role and shows the Members page with the
/// link, once.
pub async fn invite(
    State(state): State<AppState>,
    extensions: Extensions,
    SignedIn(member): SignedIn,
    origin: Origin,
    headers: HeaderMap,
    Form(form): Form<InviteForm>,
) -> Response {
    let mut feedback = InviteFeedback {
        email: form.email.trim().to_owned(),
        role: form.role.clone(),
        ..InviteFeedback::default()
    };
    let outcome = async {
        session::allowed(&member, Action::ManageMembers)?;
        let email = Email::parse(&form.email).map_err(|m| AppError::Invalid(m.into()))?;
        let role = parse_role(&form.role)?;
        let token = db::invite(&state.pool, &member, &origin, &email, role).await?;
        Ok::<_, AppError>(NewInvitation {
            email: email.as_str().to_owned(),
            role,
            link: format!(
                "{}/invitations/accept?token={token}",
                site(&state, &headers)
            ),
        })
    };
    let status = match outcome.await {
        Ok(created) => {
            feedback = InviteFeedback {
                created: Some(created),
                ..InviteFeedback::default()
            };
            StatusCode::OK
        }
        Err(error) => {
            let status = StatusCode::from_u16(error.status_code())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            feedback.error = Some(error.to_string());
            status
        }
    };
    state
        .render_page("/members", status, extensions, move || {
            provide_context(feedback.clone())
        })
        .await
}

/// Where the portal is: `PORTAL_PUBLIC_URL`, else the host the inviter reached it at (their own
/// browser's request: the link is for them to pass on).
fn site(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.public_url {
        return url.clone();
    }
    let scheme = if state.secure_cookies {
        "https"
    } else {
        "http"
    };
    let host = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .filter(|host| {
            host.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        });
    match host {
        Some(host) => format!("{scheme}://{host}"),
        None => String::new(),
    }
}

#[derive(Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

/// `GET /invitations/accept?token=…`: the invitation link. A good token's invitation is kept in
/// the session and the visitor goes on to `/join`; any other is "not valid" (404).
pub async fn open(
    State(state): State<AppState>,
    extensions: Extensions,
    session: Session,
    Query(query): Query<TokenQuery>,
) -> Response {
    let token = query.token.unwrap_or_default();
    let invitation = if invitation::is_well_formed(&token) {
        match db::open_by_token(&state.pool, &token).await {
            Ok(invitation) => invitation,
            Err(e) => return internal(e),
        }
    } else {
        None
    };
    match invitation {
        Some(invitation) => match session.insert(OPENED, invitation.id).await {
            Ok(()) => Redirect::to("/join").into_response(),
            Err(e) => internal(e),
        },
        None => {
            if let Err(e) = session.remove::<Uuid>(OPENED).await {
                return internal(e);
            }
            join_page(&state, extensions, StatusCode::NOT_FOUND, None).await
        }
    }
}

/// The invitation this visitor opened, if it is still open.
pub async fn opened(
    state: &AppState,
    session: &Session,
) -> Result<Option<db::OpenInvitation>, AppError> {
    let id = session
        .get::<Uuid>(OPENED)
        .await
        .map_err(|e| internal_error("reading the opened invitation", &e))?;
    match id {
        Some(id) => Ok(db::open_by_id(&state.pool, id).await?),
        None => Ok(None),
    }
}

/// `POST /join/accept`: the signed-in person accepts the invitation they opened (it must be for
/// their address), and from then on acts for that organization.
pub async fn accept(
    State(state): State<AppState>,
    extensions: Extensions,
    session: Session,
    SignedIn(member): SignedIn,
    origin: Origin,
) -> Response {
    let outcome = async {
        let invitation = opened(&state, &session).await?.ok_or(AppError::NotFound)?;
        if invitation.email != member.email {
            return Err(AppError::Forbidden(format!(
                "This invitation is for {}. Sign out, then open the link again.",
                invitation.email
            )));
        }
        let mut tx = state.pool.begin().await?;
        // `None`: revoked or expired since the page was opened.
        let organization_id = db::accept(
            &mut tx,
            invitation.id,
            member.user_id,
            &member.email,
            &origin,
        )
        .await?
        .ok_or(AppError::NotFound)?;
        tx.commit().await?;
        joined_as(&session, organization_id).await
    };
    match outcome.await {
        Ok(to) => to,
        Err(error) => join_error(&state, extensions, error).await,
    }
}

#[derive(Deserialize)]
pub struct JoinSignUpForm {
    password: String,
}

/// `POST /join/sign-up`: someone without an account creates one for the invited address with
/// their password, accepting the invitation in the same transaction.
pub async fn sign_up(
    State(state): State<AppState>,
    extensions: Extensions,
    session: Session,
    origin: Origin,
    Form(form): Form<JoinSignUpForm>,
) -> Response {
    let ip = origin.address();
    let outcome = async {
        let invitation = opened(&state, &session).await?.ok_or(AppError::NotFound)?;
        check_password(&form.password).map_err(|m| AppError::Invalid(m.into()))?;
        let email = Email::parse(&invitation.email).map_err(|m| AppError::Invalid(m.into()))?;
        let reservation =
            throttle::reserve_sign_up(&state.pool, ip, state.sign_ups_per_hour).await?;
        if let Reservation::Throttled(wait) = reservation {
            let what = "Too many sign-ups from your network.";
            return Ok(throttled(&state, extensions.clone(), what, wait).await);
        }
        let hash = match password::hash(form.password).await {
            Ok(hash) => hash,
            Err(e) => return Ok(password_error(e)),
        };
        let mut tx = state.pool.begin().await?;
        let user_id = match accounts_db::create_user(&mut tx, &email, &hash).await {
            Ok(user_id) => user_id,
            Err(SignUpError::EmailTaken) => {
                return Err(AppError::Conflict(
                    "An account with this email address already exists. Sign in to accept.".into(),
                ));
            }
            Err(SignUpError::Db(e)) => return Err(e.into()),
        };
        let joining = Joining {
            invitation_id: invitation.id,
            user_id,
            email: &email,
            signing_in: false,
        };
        join_and_sign_in(&state, &session, tx, joining, &origin).await
    };
    match outcome.await {
        Ok(to) => to,
        Err(error) => join_error(&state, extensions, error).await,
    }
}

#[derive(Deserialize)]
pub struct JoinSignInForm {
    password: String,
    /// A two-factor code (or recovery code), for accounts that use it.
    #[serde(default)]
    code: String,
}

/// `POST /join/sign-in`: someone with an account for the invited address signs in with their
/// password and accepts, in one step (they may belong to no organization yet, so there is no
/// portal to sign in to first).
pub async fn sign_in(
    State(state): State<AppState>,
    extensions: Extensions,
    session: Session,
    origin: Origin,
    Form(form): Form<JoinSignInForm>,
) -> Response {
    let outcome = async {
        let invitation = opened(&state, &session).await?.ok_or(AppError::NotFound)?;
        let email = Email::parse(&invitation.email).map_err(|m| AppError::Invalid(m.into()))?;
        let user_id = match authenticate(&state, &email, form.password, &origin).await? {
            Authentication::Verified(user_id) => user_id,
            // Both factors in one post: the form asks for the code once the password is known
            // to be right.
            Authentication::NeedsSecondFactor(_) if form.code.trim().is_empty() => {
                let message = "Your account uses two-factor authentication: enter a code from \
                     your authenticator app (or a recovery code) too.";
                let feedback = JoinFeedback {
                    error: Some(message.into()),
                    needs_code: true,
                };
                let status = StatusCode::UNPROCESSABLE_ENTITY;
                return Ok(join_page_with(&state, extensions.clone(), status, feedback).await);
            }
            Authentication::NeedsSecondFactor(user_id) => {
                let purpose = Purpose::SignIn;
                match check(&state, user_id, &email, &form.code, &origin, purpose).await? {
                    Proof::Accepted(tx) => {
                        tx.commit().await?;
                        user_id
                    }
                    Proof::Wrong => {
                        let feedback = JoinFeedback {
                            error: Some(WRONG_CODE.into()),
                            needs_code: true,
                        };
                        let status = StatusCode::UNAUTHORIZED;
                        return Ok(
                            join_page_with(&state, extensions.clone(), status, feedback).await
                        );
                    }
                    Proof::Throttled(wait) => {
                        let what = "Too many wrong codes.";
                        return Ok(throttled(&state, extensions.clone(), what, wait).await);
                    }
                }
            }
            Authentication::Wrong => {
                let message = "The password is not right.".to_owned();
                return Ok(join_page(
                    &state,
                    extensions.clone(),
                    StatusCode::UNAUTHORIZED,
                    Some(message),
                )
                .await);
            }
            Authentication::Throttled(wait) => {
                let what = "Too many failed sign-ins.";
                return Ok(throttled(&state, extensions.clone(), what, wait).await);
            }
        };
        let tx = state.pool.begin().await?;
        let joining = Joining {
            invitation_id: invitation.id,
            user_id,
            email: &email,
            signing_in: true,
        };
        join_and_sign_in(&state, &session, tx, joining, &origin).await
    };
    match outcome.await {
        Ok(to) => to,
        Err(error) => join_error(&state, extensions, error).await,
    }
}

/// Who joins through the opened invitation, and how.
struct Joining<'a> {
    invitation_id: Uuid,
    user_id: Uuid,
    email: &'a Email,
    /// With their password (a sign-in, recorded once the membership exists, so the organization
    /// joined sees it too), or by creating the account.
    signing_in: bool,
}

/// Accepts the opened invitation in `tx` (with what it already holds: a new account), records
/// the sign-in, commits, and signs the session in for the organization joined.
async fn join_and_sign_in(
    state: &AppState,
    session: &Session,
    mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
    joining: Joining<'_>,
    origin: &Origin,
) -> Result<Response, AppError> {
    let Joining {
        invitation_id,
        user_id,
        email,
        signing_in,
    } = joining;
    // `None`: revoked or expired since the page was opened.
    let organization_id = db::accept(&mut tx, invitation_id, user_id, email.as_str(), origin)
        .await?
        .ok_or(AppError::NotFound)?;
    if signing_in {
        accounts_db::record_sign_in(&mut tx, user_id, origin).await?;
    }
    tx.commit().await?;
    session::sign_in(session, &state.pool, user_id, Some(organization_id), origin)
        .await
        .map_err(|e| internal_error("signing in to join", &e))?;
    joined_as(session, organization_id).await
}

/// The join page again, saying what was throttled and when to try again (429, Retry-After).
async fn throttled(
    state: &AppState,
    extensions: Extensions,
    what: &str,
    wait: throttle::RetryAfter,
) -> Response {
    let message = wait.message(what);
    let mut page = join_page(
        state,
        extensions,
        StatusCode::TOO_MANY_REQUESTS,
        Some(message),
    )
    .await;
    page.headers_mut()
        .insert(header::RETRY_AFTER, wait.header());
    page
}

/// Joined: the invitation is spent, the session acts for the organization, on to its home.
async fn joined_as(session: &Session, organization_id: Uuid) -> Result<Response, AppError> {
    let done = async {
        session.remove::<Uuid>(OPENED).await?;
        session::act_for(session, organization_id).await
    };
    done.await
        .map_err(|e| internal_error("joining an organization", &e))?;
    Ok(Redirect::to("/").into_response())
}

async fn join_error(state: &AppState, extensions: Extensions, error: AppError) -> Response {
    let status =
        StatusCode::from_u16(error.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    join_page(state, extensions, status, Some(error.to_string())).await
}

async fn join_page(
    state: &AppState,
    extensions: Extensions,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let feedback = JoinFeedback {
        error,
        needs_code: false,
    };
    join_page_with(state, extensions, status, feedback).await
}

async fn join_page_with(
    state: &AppState,
    extensions: Extensions,
    status: StatusCode,
    feedback: JoinFeedback,
) -> Response {
    state
        .render_page("/join", status, extensions, move || {
            provide_context(feedback.clone())
        })
        .await
}
