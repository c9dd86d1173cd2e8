//! The Security page's form posts (set up, confirm, new recovery codes, turn off) and the sign-in's
//! second step. Plain forms: each answers with the page itself, showing what it reveals once
//! (the set-up's QR code and key, new recovery codes) or what went wrong, with its status.

use axum::{
    Form,
    extract::State,
    http::{Extensions, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use leptos::prelude::provide_context;
use serde::Deserialize;
use sqlx::{Postgres, Transaction};
use tower_sessions::Session;

use super::{
    Revealed, db,
    totp::{self, Seed},
    verify::{Proof, Purpose, check},
};
use crate::{
    accounts::{
        Email,
        db::Member,
        handlers::{NO_ORGANIZATION, Outcome, SECOND_STEP, answer, internal, start_session},
        session::{self, SignedIn},
        throttle::RetryAfter,
        views::FormFeedback,
    },
    audit::{self, AuditAction, Origin},
    error::{AppError, internal_error},
    platform::{crypto::Binding, state::AppState},
};

/// The page these forms answer with.
pub const SECURITY_PAGE: &str = "/security";
/// How authenticator apps name the account (with the person's address).
const ISSUER: &str = "Customer Portal";
/// Said when a typed code is not right.
pub const WRONG_CODE: &str = "The code is not right, or it was used already. \
     Enter the code your app shows now.";

#[derive(Deserialize)]
pub struct CodeForm {
    code: String,
}

/// Why a Security form was refused.
enum Refused {
    Error(AppError),
    Throttled(RetryAfter),
}

impl<E: Into<AppError>> From<E> for Refused {
    fn from(error: E) -> Self {
        Refused::Error(error.into())
    }
}

/// `POST /security/two-factor/setup`: a new seed, waiting for its first code; the answer is the
/// only one that shows it (as a QR code and as a key to type).
pub async fn setup(
    State(state): State<AppState>,
    SignedIn(member): SignedIn,
    extensions: Extensions,
) -> Response {
    let outcome = async {
        confirmed(&member)?;
        let seed = Seed::generate().map_err(|e| internal_error("drawing a seed", &e))?;
        let binding = Binding::TwoFactorSeed {
            user_id: member.user_id,
        };
        let sealed = (state.keyring.seal(binding, seed.as_bytes()))
            .map_err(|e| internal_error("sealing a seed", &e))?;
        if !db::begin_setup(&state.pool, member.user_id, &sealed).await? {
            return Err(AppError::Conflict(ALREADY_ON.into()).into());
        }
        let uri = seed.uri(ISSUER, &member.email);
        let qr = qrcode::QrCode::new(uri.as_bytes())
            .map_err(|e| internal_error("drawing a QR code", &e))?
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .build();
        // The document's <svg> alone: the XML declaration before it has no place in HTML.
        let svg = qr
            .find("<svg")
            .map_or(qr.as_str(), |at| &qr[at..])
            .to_owned();
        Ok(Revealed {
            setup: Some((svg, seed.manual_key().to_string())),
            ..Revealed::default()
        })
    };
    page(&state, extensions, outcome.await).await
}

const ALREADY_ON: &str = "Two-factor authentication is on already.";

/// `POST /security/two-factor/enable`: the set-up's first code turns it on, with new recovery
/// codes (shown in this answer only), in one transaction.
pub async fn enable(
    State(state): State<AppState>,
    SignedIn(member): SignedIn,
    origin: Origin,
    extensions: Extensions,
    Form(form): Form<CodeForm>,
) -> Response {
    let outcome = async {
        let status = db::status(&state.pool, member.user_id).await?;
        if status.enabled_at.is_some() {
            return Err(AppError::Conflict(ALREADY_ON.into()).into());
        } else if !status.pending {
            return Err(AppError::Conflict(NOT_SET_UP.into()).into());
        }
        let mut tx = proved(&state, &member, &form.code, &origin, Purpose::Enable).await?;
        let enabled = AuditAction::TwoFactorEnabled;
        let revealed = new_recovery_codes(&mut tx, &member, &origin, enabled).await?;
        tx.commit().await?;
        Ok(revealed)
    };
    page(&state, extensions, outcome.await).await
}

const NOT_SET_UP: &str = "Start the set-up first: choose \"Set up two-factor authentication\".";

/// `POST /security/two-factor/recovery-codes`: new recovery codes replace all the old ones. Asks
/// for a code (or a recovery code), not the password: a stolen session and password must not
/// mint themselves a lasting way in.
pub async fn replace_recovery_codes(
    State(state): State<AppState>,
    SignedIn(member): SignedIn,
    origin: Origin,
    extensions: Extensions,
    Form(form): Form<CodeForm>,
) -> Response {
    let outcome = async {
        if !member.two_factor {
            return Err(AppError::Conflict(NOT_ON.into()).into());
        }
        let mut tx = proved(&state, &member, &form.code, &origin, Purpose::SignIn).await?;
        let replaced = AuditAction::RecoveryCodesReplaced;
        let revealed = new_recovery_codes(&mut tx, &member, &origin, replaced).await?;
        tx.commit().await?;
        Ok(revealed)
    };
    page(&state, extensions, outcome.await).await
}

const NOT_ON: &str = "Two-factor authentication is off.";

/// `POST /security/two-factor/disable`: with a code (or a recovery code), the seed and the
/// recovery codes go; refused while an organization of theirs requires it.
pub async fn disable(
    State(state): State<AppState>,
    SignedIn(member): SignedIn,
    origin: Origin,
    extensions: Extensions,
    Form(form): Form<CodeForm>,
) -> Response {
    let outcome = async {
        let required = |names: Vec<String>| -> Result<(), Refused> {
            if names.is_empty() {
                return Ok(());
            }
            let names = names.join(", ");
            Err(AppError::Conflict(format!(
                "{names} requires two-factor authentication: it stays on while you are a member."
            ))
            .into())
        };
        // Before the code is checked (a refusal uses none), and again under lock with it.
        required(db::status(&state.pool, member.user_id).await?.required_by)?;
        let mut tx = proved(&state, &member, &form.code, &origin, Purpose::SignIn).await?;
        required(db::required_by_locked(&mut tx, member.user_id).await?)?;
        if !db::disable(&mut tx, member.user_id).await? {
            return Err(AppError::Conflict(NOT_ON.into()).into());
        }
        let disabled = AuditAction::TwoFactorDisabled;
        audit::record_for_each_organization(&mut *tx, member.user_id, &origin, disabled).await?;
        tx.commit().await?;
        Ok(Revealed::default())
    };
    match outcome.await {
        Ok(_) => Redirect::to(SECURITY_PAGE).into_response(),
        refused => page(&state, extensions, refused).await,
    }
}

/// The typed code, checked for `purpose`: the transaction it was accepted in, or why not.
async fn proved(
    state: &AppState,
    member: &Member,
    typed: &str,
    origin: &Origin,
    purpose: Purpose,
) -> Result<Transaction<'static, Postgres>, Refused> {
    let email = email_of(member)?;
    match check(state, member.user_id, &email, typed, origin, purpose).await? {
        Proof::Accepted(tx) => Ok(tx),
        Proof::Wrong => Err(AppError::Invalid(WRONG_CODE.into()).into()),
        Proof::Throttled(wait) => Err(Refused::Throttled(wait)),
    }
}

/// Setting up two-factor authentication needs a recent confirmation (step-up), like every
/// dangerous action: a stolen session must not put its thief's phone on the account.
fn confirmed(member: &Member) -> Result<(), AppError> {
    if member.confirmed {
        Ok(())
    } else {
        Err(AppError::ConfirmationNeeded)
    }
}

fn email_of(member: &Member) -> Result<Email, AppError> {
    Email::parse(&member.email).map_err(|_| AppError::Unauthorized)
}

/// New recovery codes (their hashes replace the old ones in `tx`, the trail records `action`):
/// the codes, to show once.
async fn new_recovery_codes(
    tx: &mut sqlx::PgConnection,
    member: &Member,
    origin: &Origin,
    action: AuditAction,
) -> Result<Revealed, AppError> {
    // The person's row, locked: two requests for new codes take turns (each replaces all).
    db::seed(&mut *tx, member.user_id).await?;
    let codes = totp::recovery_codes().map_err(|e| internal_error("drawing codes", &e))?;
    let hashes: Vec<[u8; 32]> = codes.iter().map(|(_, hash)| *hash).collect();
    db::replace_recovery_codes(tx, member.user_id, &hashes).await?;
    audit::record_for_each_organization(&mut *tx, member.user_id, origin, action).await?;
    Ok(Revealed {
        recovery_codes: codes.into_iter().map(|(code, _)| code).collect(),
        ..Revealed::default()
    })
}

/// The Security page, showing what this answer reveals, or what went wrong (with its status).
async fn page(
    state: &AppState,
    extensions: Extensions,
    outcome: Result<Revealed, Refused>,
) -> Response {
    let (status, revealed, retry_after) = match outcome {
        Ok(revealed) => (StatusCode::OK, revealed, None),
        Err(refused) => {
            let (error, retry_after) = match refused {
                Refused::Error(error) => (error, None),
                Refused::Throttled(wait) => (
                    AppError::TooManyAttempts(wait.message("Too many wrong codes.")),
                    Some(wait),
                ),
            };
            let status = StatusCode::from_u16(error.status_code())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let revealed = Revealed {
                error: Some(error.to_string()),
                ..Revealed::default()
            };
            (status, revealed, retry_after)
        }
    };
    let provide = move || provide_context(revealed.clone());
    let mut response = state
        .render_page(SECURITY_PAGE, status, extensions, provide)
        .await;
    if let Some(wait) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, wait.header());
    }
    response
}

/// `POST /sign-in/two-factor`: a code from the app (or a recovery code) signs the person in.
pub async fn second_step_post(
    State(state): State<AppState>,
    session: Session,
    origin: Origin,
    Form(form): Form<CodeForm>,
) -> Response {
    let awaiting = match session::awaiting_second_factor(&session).await {
        Ok(Some(awaiting)) => awaiting,
        Ok(None) => return Redirect::to("/sign-in").into_response(),
        Err(e) => return internal(e),
    };
    let email = match Email::parse(&awaiting.email) {
        Ok(email) => email,
        Err(_) => return AppError::Unauthorized.into_response(),
    };
    let user_id = awaiting.user_id;
    let proof = async {
        let proof = check(
            &state,
            user_id,
            &email,
            &form.code,
            &origin,
            Purpose::SignIn,
        )
        .await?;
        Ok::<_, AppError>(match proof {
            Proof::Accepted(tx) => {
                tx.commit().await?;
                None
            }
            refused => Some(refused),
        })
    };
    let outcome = match proof.await {
        Ok(None) => match start_session(&state, &session, user_id, &origin).await {
            Ok(true) => Ok(Outcome::Onward(awaiting.next)),
            Ok(false) => Ok(Outcome::Again(StatusCode::FORBIDDEN, NO_ORGANIZATION)),
            Err(response) => Err(response),
        },
        Ok(Some(Proof::Throttled(wait))) => Ok(Outcome::Throttled(wait, "Too many wrong codes.")),
        Ok(Some(_)) => Ok(Outcome::Again(StatusCode::UNAUTHORIZED, WRONG_CODE)),
        Err(error) => Err(error.into_response()),
    };
    answer(&state, SECOND_STEP, FormFeedback::default(), outcome).await
}
