//! API secrets: at most 3 per environment, shown once at creation, one of them signing the
//! environment's webhooks, removable (except the signer) with a typed phrase.
//!
//! The rules below are shared by the browser (forms) and the server (which checks them again).

#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod token;
pub mod views;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{accounts::roles::Role, environments::Environment, error::AppError, ui::time::Moment};
#[cfg(feature = "ssr")]
use crate::{
    accounts::{
        db::Member,
        roles::Action,
        session::{require, require_member},
    },
    audit::Origin,
    error::{fail, found, internal_error},
    platform::state::app_state,
};

/// The most API secrets an environment can have (enough to rotate without downtime).
pub const MAX_SECRETS: usize = 3;
pub const LABEL_MAX_CHARS: usize = 100;

pub const LIMIT_REACHED: &str = "This environment already has 3 API secrets, the most it can have. Remove one to create another.";
pub const SIGNER_CANNOT_BE_REMOVED: &str = "This API secret signs your webhooks, so it cannot be removed. \
     Set another API secret to be used with webhooks first.";
pub const WRONG_PHRASE: &str = "The phrase does not match. Type it exactly as shown.";

/// An optional label: trimmed, at most 100 characters, no control characters.
pub fn parse_label(input: &str) -> Result<String, &'static str> {
    let label = input.trim();
    if label.chars().count() > LABEL_MAX_CHARS {
        Err("The label must be at most 100 characters long.")
    } else if label.chars().any(char::is_control) {
        Err("The label cannot contain control characters.")
    } else {
        Ok(label.to_owned())
    }
}

/// The phrase a customer types to remove a secret: "remove" and the secret's last 4
/// characters, as shown in its masked form (`csk_…a1B2` → `remove a1B2`).
pub fn removal_phrase(masked: &str) -> String {
    let chars: Vec<char> = masked.chars().collect();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    format!("remove {tail}")
}

/// What the portal shows of a secret. Never its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretSummary {
    pub id: Uuid,
    /// `csk_…a1B2`
    pub masked: String,
    pub label: String,
    pub created_at: Moment,
    pub last_used_at: Option<Moment>,
    pub webhook_signer: bool,
}

/// The API secrets tab's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretsTab {
    pub environment: Environment,
    pub secrets: Vec<SecretSummary>,
    /// The viewer's role: what the tab lets them do.
    pub role: Role,
    /// Whether they confirmed who they are lately (step-up); if not, creating, switching and
    /// removing ask for their password first.
    pub confirmed: bool,
    /// The server's clock when this was read: relative times render the same on the server and
    /// while the page hydrates.
    pub now_ms: i64,
}

/// The answer to "Create a new API secret": the only response that ever carries the value.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedSecret {
    pub secret: SecretSummary,
    /// The environment's secrets, this one included.
    pub secrets: Vec<SecretSummary>,
    pub value: String,
}

impl std::fmt::Debug for CreatedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedSecret")
            .field("secret", &self.secret)
            .field("secrets", &self.secrets)
            .field("value", &"<redacted>")
            .finish()
    }
}

#[server(prefix = "/rpc", endpoint = "list_api_secrets")]
pub async fn list_api_secrets(environment_id: Uuid) -> Result<SecretsTab, AppError> {
    let member = require_member()?;
    let state = app_state()?;
    found(db::tab(&state.pool, &member, environment_id).await)
}

#[server(prefix = "/rpc", endpoint = "create_api_secret")]
pub async fn create_api_secret(
    environment_id: Uuid,
    #[server(default)] label: String,
) -> Result<CreatedSecret, AppError> {
    let member = require(Action::CreateSecret)?;
    // The one response that carries a secret: no cache may keep it.
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.insert_header(
            axum::http::header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("no-store"),
        );
    }
    let label = parse_label(&label).map_err(|m| fail(AppError::Invalid(m.into())))?;
    let state = app_state()?;
    let created = db::create(
        &state.pool,
        &state.keyring,
        &actor(member),
        environment_id,
        &label,
    )
    .await?;
    // Other instances hear of it from Postgres (NOTIFY); this one forgets at once.
    state.keys.invalidate(environment_id);
    Ok(created)
}

#[server(prefix = "/rpc", endpoint = "use_api_secret_with_webhooks")]
pub async fn use_with_webhooks(
    environment_id: Uuid,
    secret_id: Uuid,
) -> Result<Vec<SecretSummary>, AppError> {
    let member = require(Action::SwitchWebhookSigner)?;
    let state = app_state()?;
    db::use_with_webhooks(&state.pool, &actor(member), environment_id, secret_id)
        .await
        .map_err(AppError::from)
}

#[server(prefix = "/rpc", endpoint = "remove_api_secret")]
pub async fn remove_api_secret(
    environment_id: Uuid,
    secret_id: Uuid,
    phrase: String,
) -> Result<Vec<SecretSummary>, AppError> {
    let member = require(Action::RemoveSecret)?;
    let state = app_state()?;
    let secrets = db::remove(
        &state.pool,
        &actor(member),
        environment_id,
        secret_id,
        &phrase,
    )
    .await?;
    state.keys.invalidate(environment_id);
    Ok(secrets)
}

/// Who acts, from where: for the audit trail.
#[cfg(feature = "ssr")]
fn actor(member: Member) -> db::Actor {
    db::Actor {
        member,
        origin: Origin::of_server_fn(),
    }
}

#[cfg(feature = "ssr")]
impl From<db::ActionError> for AppError {
    fn from(error: db::ActionError) -> Self {
        use db::ActionError;
        match error {
            ActionError::NotFound => fail(AppError::NotFound),
            ActionError::LimitReached => fail(AppError::Conflict(LIMIT_REACHED.into())),
            ActionError::IsSigner => fail(AppError::Conflict(SIGNER_CANNOT_BE_REMOVED.into())),
            ActionError::WrongPhrase => fail(AppError::Invalid(WRONG_PHRASE.into())),
            ActionError::Database(e) => internal_error("changing API secrets", &e),
            ActionError::Crypto(e) => internal_error("sealing an API secret", &e),
            ActionError::Random(e) => internal_error("generating an API secret", &e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_optional_trimmed_and_bounded() {
        assert_eq!(parse_label("  ").unwrap(), "");
        assert_eq!(parse_label(" CI deploys ").unwrap(), "CI deploys");
        assert!(parse_label(&"é".repeat(100)).is_ok());
        assert!(parse_label(&"é".repeat(101)).is_err());
        assert!(parse_label("a\tb").is_err());
    }

    #[test]
    fn the_removal_phrase_names_the_secret_by_its_last_characters() {
        assert_eq!(removal_phrase("csk_…a1B2"), "remove a1B2");
        assert_eq!(removal_phrase("ab"), "remove ab");
    }
}
