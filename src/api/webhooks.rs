//! `…/webhooks` and `…/webhooks/{id}/deliveries`: the same rules as the portal's Webhooks tab.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Signed, error::ApiError};
use crate::{
    audit::{By, Origin},
    platform::state::AppState,
    webhooks::{self, Delivery, DeliveryStatus, NewWebhook, Webhook, db::ActionError, target},
};

/// The codes these endpoints answer with besides the signature's (documented in OpenAPI).
pub const ERROR_CODES: [&str; 5] = [
    "invalid_webhook",
    "no_webhook_signer",
    "webhook_limit_reached",
    "not_found",
    "internal_error",
];

impl From<ActionError> for ApiError {
    fn from(error: ActionError) -> Self {
        match error {
            ActionError::NotFound => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", "No such webhook.")
            }
            ActionError::NoSigner => ApiError::new(
                StatusCode::CONFLICT,
                "no_webhook_signer",
                webhooks::NO_SIGNER,
            ),
            ActionError::LimitReached => ApiError::new(
                StatusCode::CONFLICT,
                "webhook_limit_reached",
                webhooks::LIMIT_REACHED,
            ),
            ActionError::Database(e) => ApiError::internal("changing webhooks (REST)", &e),
        }
    }
}

#[derive(Serialize)]
pub struct WebhookBody {
    id: Uuid,
    url: String,
    events: Vec<String>,
    max_retries: i32,
    retry_interval_minutes: i32,
    created_at: String,
}

impl From<Webhook> for WebhookBody {
    fn from(w: Webhook) -> Self {
        WebhookBody {
            id: w.id,
            url: w.url,
            events: w.events,
            max_retries: w.max_retries,
            retry_interval_minutes: w.retry_interval_minutes,
            created_at: w.created_at.iso,
        }
    }
}

#[derive(Serialize)]
pub struct DeliveryBody {
    id: Uuid,
    event: String,
    status: DeliveryStatus,
    attempts: i32,
    last_status_code: Option<i32>,
    last_error: Option<String>,
    next_attempt_at: Option<String>,
    attempt_in_progress: bool,
    created_at: String,
}

impl From<Delivery> for DeliveryBody {
    fn from(d: Delivery) -> Self {
        DeliveryBody {
            id: d.id,
            event: d.event,
            status: d.status,
            attempts: d.attempts,
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            next_attempt_at: d.next_attempt_at.map(|m| m.iso),
            attempt_in_progress: d.attempt_in_progress,
            created_at: d.created_at.iso,
        }
    }
}

/// `GET …/webhooks`
pub async fn list(
    State(state): State<AppState>,
    auth: Signed,
) -> Result<Json<Vec<WebhookBody>>, ApiError> {
    let webhooks = webhooks::db::list(&state.pool, auth.environment_id).await?;
    Ok(Json(webhooks.into_iter().map(WebhookBody::from).collect()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    url: String,
    events: Vec<String>,
    #[serde(default = "default_max_retries")]
    max_retries: i64,
    #[serde(default = "default_retry_interval")]
    retry_interval_minutes: i64,
}

fn default_max_retries() -> i64 {
    5
}

fn default_retry_interval() -> i64 {
    10
}

/// `POST …/webhooks`: 201 with the webhook; its `ping` is on its way.
pub async fn create(
    State(state): State<AppState>,
    origin: Origin,
    auth: Signed,
) -> Result<(StatusCode, Json<WebhookBody>), ApiError> {
    let invalid = |message: String| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_webhook", message)
    };
    let body: CreateBody = serde_json::from_slice(&auth.body).map_err(|e| {
        invalid(format!(
            "The body must be JSON like {{\"url\": \"https://…\", \"events\": [\"ping\"], \"max_retries\": 5, \"retry_interval_minutes\": 10}}: {e}"
        ))
    })?;
    let new = NewWebhook::parse(
        &body.url,
        &body.events,
        &body.max_retries.to_string(),
        &body.retry_interval_minutes.to_string(),
    )
    .map_err(|m| invalid(m.into()))?;
    target::check_url(&new.url, &state.webhooks).map_err(|e| invalid(e.to_string()))?;
    let by = By::ApiSecret(auth.secret_id);
    let webhook = webhooks::db::create(&state.pool, by, &origin, auth.environment_id, &new).await?;
    Ok((StatusCode::CREATED, Json(webhook.into())))
}

/// `DELETE …/webhooks/{webhook_id}`: 204.
pub async fn delete(
    State(state): State<AppState>,
    Path((_, webhook_id)): Path<(String, String)>,
    origin: Origin,
    auth: Signed,
) -> Result<StatusCode, ApiError> {
    let webhook_id = parse_id(&webhook_id)?;
    let by = By::ApiSecret(auth.secret_id);
    webhooks::db::delete(&state.pool, by, &origin, auth.environment_id, webhook_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET …/webhooks/{webhook_id}/deliveries`: the latest 50, newest first.
pub async fn deliveries(
    State(state): State<AppState>,
    Path((_, webhook_id)): Path<(String, String)>,
    auth: Signed,
) -> Result<Json<Vec<DeliveryBody>>, ApiError> {
    let webhook_id = parse_id(&webhook_id)?;
    let deliveries = webhooks::db::deliveries(&state.pool, None, auth.environment_id, webhook_id)
        .await?
        .ok_or(ActionError::NotFound)?;
    Ok(Json(
        deliveries.into_iter().map(DeliveryBody::from).collect(),
    ))
}

fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    id.parse().map_err(|_| ActionError::NotFound.into())
}
