//! The tab's actions, one implementation each: the server functions (the hydrated tab) and the
//! plain form posts (before the WASM loads, or without JavaScript) both call these, so the rules
//! and checks (role, step-up, the limit, the phrase, the signer) are the same whichever way.

use uuid::Uuid;

use super::{CreatedSecret, ROTATE_LIMIT, SecretSummary, db, parse_expiry, parse_label};
use crate::{
    accounts::{db::Member, roles::Action, session::allowed},
    audit::Origin,
    error::{AppError, fail},
    platform::state::AppState,
};

/// Where the new value goes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Reveal {
    /// In the action's answer (the hydrated tab's modal).
    InAnswer,
    /// On the page a plain form's post redirects to, once, to this session (see
    /// [`db::take_reveal`]).
    OnNextPage,
}

pub async fn create(
    state: &AppState,
    member: Member,
    origin: Origin,
    environment_id: Uuid,
    label: &str,
    expires_on: &str,
    reveal: Reveal,
) -> Result<CreatedSecret, AppError> {
    allowed(&member, Action::CreateSecret)?;
    let label = parse_label(label).map_err(|m| fail(AppError::Invalid(m.into())))?;
    let expires_at = parse_expiry(expires_on, chrono::Utc::now())
        .map_err(|m| fail(AppError::Invalid(m.into())))?;
    let new = db::NewSecret {
        label: &label,
        expires_at,
        shown_later: reveal == Reveal::OnNextPage,
    };
    let actor = db::Actor { member, origin };
    let created = db::create(&state.pool, &state.keyring, &actor, environment_id, &new).await?;
    // Other instances hear of it from Postgres (NOTIFY); this one forgets at once.
    state.keys.invalidate(environment_id);
    Ok(created)
}

pub async fn use_with_webhooks(
    state: &AppState,
    member: Member,
    origin: Origin,
    environment_id: Uuid,
    secret_id: Uuid,
) -> Result<Vec<SecretSummary>, AppError> {
    allowed(&member, Action::SwitchWebhookSigner)?;
    let actor = db::Actor { member, origin };
    Ok(db::use_with_webhooks(&state.pool, &actor, environment_id, secret_id).await?)
}

pub async fn remove(
    state: &AppState,
    member: Member,
    origin: Origin,
    environment_id: Uuid,
    secret_id: Uuid,
    phrase: &str,
) -> Result<Vec<SecretSummary>, AppError> {
    allowed(&member, Action::RemoveSecret)?;
    let actor = db::Actor { member, origin };
    let secrets = db::remove(&state.pool, &actor, environment_id, secret_id, phrase).await?;
    state.keys.invalidate(environment_id);
    Ok(secrets)
}

/// "Rotate": see [`super::rotate_api_secret`].
pub async fn rotate(
    state: &AppState,
    member: Member,
    origin: Origin,
    environment_id: Uuid,
    secret_id: Uuid,
    retire_on: &str,
    reveal: Reveal,
) -> Result<CreatedSecret, AppError> {
    allowed(&member, Action::RotateSecret)?;
    let retire_at = parse_expiry(retire_on, chrono::Utc::now())
        .map_err(|m| fail(AppError::Invalid(m.into())))?;
    let actor = db::Actor { member, origin };
    let shown_later = reveal == Reveal::OnNextPage;
    let rotated = db::rotate(
        &state.pool,
        &state.keyring,
        &actor,
        environment_id,
        secret_id,
        retire_at,
        shown_later,
    )
    .await
    .map_err(|e| match e {
        db::ActionError::LimitReached => fail(AppError::Conflict(ROTATE_LIMIT.into())),
        e => AppError::from(e),
    })?;
    state.keys.invalidate(environment_id);
    Ok(rotated)
}

/// "Expiry": see [`super::set_expiry`].
pub async fn set_expiry(
    state: &AppState,
    member: Member,
    origin: Origin,
    environment_id: Uuid,
    secret_id: Uuid,
    expires_on: &str,
) -> Result<Vec<SecretSummary>, AppError> {
    allowed(&member, Action::ExpireSecret)?;
    let expires_at = parse_expiry(expires_on, chrono::Utc::now())
        .map_err(|m| fail(AppError::Invalid(m.into())))?;
    let actor = db::Actor { member, origin };
    let secrets =
        db::set_expiry(&state.pool, &actor, environment_id, secret_id, expires_at).await?;
    state.keys.invalidate(environment_id);
    Ok(secrets)
}
