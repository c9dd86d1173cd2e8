//! The environments' plain GET handlers: where "/" leads, and the environment switcher's form
//! (which works without JavaScript).

use axum::{
    extract::{Query, State},
    response::Redirect,
};
use serde::Deserialize;
use uuid::Uuid;

use super::db;
use crate::{
    accounts::session::SignedIn,
    error::{AppError, found},
    platform::state::AppState,
};

/// `GET /` and `GET /api-secrets`: the API secrets tab of the organization's first environment.
pub async fn home(
    State(state): State<AppState>,
    SignedIn(member): SignedIn,
) -> Result<Redirect, AppError> {
    let environments = db::list(&state.pool, member.organization_id).await?;
    Ok(match environments.first() {
        Some(first) => Redirect::to(&api_secrets(first.id)),
        None => Redirect::to("/environments"),
    })
}

/// `GET /environments/switch?id=…`: the environment switcher's form (works without JavaScript).
#[derive(Deserialize)]
pub struct SwitchQuery {
    id: String,
}

pub async fn switch_environment(
    State(state): State<AppState>,
    SignedIn(member): SignedIn,
    Query(query): Query<SwitchQuery>,
) -> Result<Redirect, AppError> {
    let id = query.id.parse::<Uuid>().map_err(|_| AppError::NotFound)?;
    let environment = found(db::get(&state.pool, member.organization_id, id).await)?;
    Ok(Redirect::to(&api_secrets(environment.id)))
}

fn api_secrets(environment_id: Uuid) -> String {
    format!("/environments/{environment_id}/api-secrets")
}
