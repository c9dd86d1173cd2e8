//! The tab's actions, one implementation each: the server functions (the hydrated tab) and the
//! plain form posts (before the WASM loads, or without JavaScript) both call these, so the rules
//! and checks (role, step-up, the limit, the phrase, the signer) are the same whichever way.

use uuid::Uuid;

use super::{CreatedSecret, SecretSummary, db, parse_expiry, parse_label};
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
