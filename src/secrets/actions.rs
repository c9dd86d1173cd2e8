//! The tab's page and actions, one implementation each: the server functions (the hydrated tab)
//! and the plain form posts (before the WASM loads, or without JavaScript) both call these, so
//! the rules and checks (role, step-up, the limit, the phrase, the signer) are the same whichever
//! way, and every change forgets what this instance cached of the environment.

use uuid::Uuid;

use super::{
    CreatedSecret, ROTATE_LIMIT, SecretSummary, SecretsPage, db, parse_expiry, parse_label,
};
use crate::{
    accounts::{db::Member, roles::Action, session::allowed},
    audit::Origin,
    error::{AppError, fail, found},
    platform::state::AppState,
};

/// The API secrets page of environment `environment_id` for `member`: read from the database,
/// or from this instance's cache of it (see [`crate::platform::environment_cache`]).
pub async fn page(
    state: &AppState,
    member: &Member,
    environment_id: Uuid,
) -> Result<SecretsPage, AppError> {
    let organization_id = member.organization_id;
    if let Some(mut page) = state
        .pages
        .get::<SecretsPage>(environment_id, organization_id)
    {
        // What the viewer may do is theirs, not the environment's.
        page.tab.role = member.role;
        page.tab.confirmed = member.confirmed;
        return Ok(page);
    }
    let generation = state.pages.generation();
    let page = found(db::page(&state.pool, member, environment_id).await)?;
    let cached = page.clone();
    state
        .pages
        .put(environment_id, organization_id, cached, generation);
    Ok(page)
}

/// This instance changed the environment's secrets: it forgets them at once (other instances
/// hear of it from Postgres, at commit).
fn changed(state: &AppState, environment_id: Uuid) {
    state.keys.invalidate(environment_id);
    state.pages.invalidate(environment_id);
}

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
    changed(state, environment_id);
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
    let secrets = db::use_with_webhooks(&state.pool, &actor, environment_id, secret_id).await?;
    changed(state, environment_id);
    Ok(secrets)
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
    changed(state, environment_id);
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
    changed(state, environment_id);
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
    changed(state, environment_id);
    Ok(secrets)
}
