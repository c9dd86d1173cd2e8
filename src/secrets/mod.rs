//! API secrets: at most 3 per environment, shown once at creation, one of them signing the
//! environment's webhooks, removable (except the signer) with a typed phrase.
//!
//! The rules below are shared by the browser (forms) and the server (which checks them again).

#[cfg(feature = "ssr")]
pub mod actions;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod expiry;
pub mod failures;
#[cfg(feature = "ssr")]
pub mod handlers;
pub mod notice;
#[cfg(feature = "ssr")]
pub mod token;
pub mod usage;
pub mod views;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{accounts::roles::Role, environments::Environment, error::AppError, ui::time::Moment};
#[cfg(feature = "ssr")]
use crate::{
    accounts::session::require_member,
    audit::Origin,
    error::{fail, internal_error},
    platform::state::app_state,
};

/// The most API secrets an environment can have (enough to rotate without downtime).
pub const MAX_SECRETS: usize = 3;
pub const LABEL_MAX_CHARS: usize = 100;

pub const LIMIT_REACHED: &str = "This environment already has 3 API secrets, the most it can have. Remove one to create another.";
pub const SIGNER_CANNOT_BE_REMOVED: &str = "This API secret signs your webhooks, so it cannot be removed. \
     Set another API secret to be used with webhooks first.";
pub const WRONG_PHRASE: &str = "The phrase does not match. Type it exactly as shown.";
pub const SIGNER_CANNOT_EXPIRE: &str = "The API secret that signs your webhooks cannot expire: your webhooks would be left unsigned. \
     Set another API secret to be used with webhooks first.";
pub const FIRST_CANNOT_EXPIRE: &str = "An environment's first API secret signs its webhooks, so it cannot expire. \
     Create it without an expiry date.";
pub const ROTATE_LIMIT: &str = "This environment already has 3 API secrets, so rotating (which creates one) is not possible. \
     Remove an API secret you no longer use first.";
pub const ALREADY_ROTATING: &str =
    "This API secret is already being replaced. Remove it once nothing uses it any more.";
pub const EXPIRING_CANNOT_SIGN: &str = "This API secret has an expiry date, so it cannot sign your webhooks. \
     Remove its expiry date first.";
/// How far ahead an expiry date may be.
pub const MAX_EXPIRY_DAYS: i64 = 5 * 366;
/// Secrets expiring within this many days are flagged in the tab (and webhooks are told).
pub const EXPIRY_WARNING_DAYS: i64 = 7;

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

/// An expiry date as typed (`YYYY-MM-DD`; empty: never): the secret stops verifying at 00:00 UTC
/// on that day, which must be after `now` and at most [`MAX_EXPIRY_DAYS`] ahead.
#[cfg(feature = "ssr")]
pub fn parse_expiry(
    input: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, &'static str> {
    let input = input.trim();
    if input.is_empty() {
        return Ok(None);
    }
    let day = chrono::NaiveDate::parse_from_str(input, "%Y-%m-%d")
        .ok()
        .filter(|_| input.len() == 10)
        .ok_or("The expiry date must be a date such as 2027-01-31.")?;
    let at = day.and_time(chrono::NaiveTime::MIN).and_utc();
    if at <= now {
        Err("The expiry date must be in the future (it takes effect at 00:00 UTC on that day).")
    } else if at > now + chrono::TimeDelta::days(MAX_EXPIRY_DAYS) {
        Err("The expiry date can be at most 5 years ahead.")
    } else {
        Ok(Some(at))
    }
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
    /// From this moment on it verifies nothing.
    pub expires_at: Option<Moment>,
    /// Verified requests per day (UTC) over the last [`usage::DAYS`] days, oldest first.
    pub daily_requests: Vec<i64>,
    /// Verified requests in the past hour and the past day (rotation compares them).
    pub requests_past_hour: i64,
    pub requests_past_day: i64,
    /// While another secret replaces this one ("Rotate").
    pub rotation: Option<Rotation>,
}

/// A secret being replaced: by which one, since when, and whether nothing has used it for a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rotation {
    pub replaced_by: Uuid,
    pub replaced_by_masked: String,
    pub since: Moment,
    /// No verified request (nor webhook signed) with it for 24 hours.
    pub safe_to_remove: bool,
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

/// The API secrets page's data: the tab (which its island enhances) and the environment's
/// failed requests (rendered on the server only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretsPage {
    pub tab: SecretsTab,
    pub failed: failures::FailedRequests,
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

/// A secret created by a plain form post, as the page after it shows it: the value once.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevealedSecret {
    pub masked: String,
    pub label: String,
    pub value: String,
}

impl std::fmt::Debug for RevealedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevealedSecret")
            .field("masked", &self.masked)
            .field("label", &self.label)
            .field("value", &"<redacted>")
            .finish()
    }
}

#[server(prefix = "/rpc", endpoint = "list_api_secrets")]
pub async fn list_api_secrets(environment_id: Uuid) -> Result<SecretsTab, AppError> {
    let member = require_member()?;
    let state = app_state()?;
    Ok(actions::page(&state, &member, environment_id).await?.tab)
}

/// The API secrets page's data: one query, or none while the instance has it cached.
#[server(prefix = "/rpc", endpoint = "api_secrets_page")]
pub async fn api_secrets_page(environment_id: Uuid) -> Result<SecretsPage, AppError> {
    let member = require_member()?;
    let state = app_state()?;
    actions::page(&state, &member, environment_id).await
}

#[server(prefix = "/rpc", endpoint = "create_api_secret")]
pub async fn create_api_secret(
    environment_id: Uuid,
    #[server(default)] label: String,
    #[server(default)] expires_on: String,
) -> Result<CreatedSecret, AppError> {
    let member = require_member()?;
    // The one response that carries a secret: no cache may keep it.
    no_store();
    let state = app_state()?;
    let origin = Origin::of_server_fn();
    let reveal = actions::Reveal::InAnswer;
    actions::create(
        &state,
        member,
        origin,
        environment_id,
        &label,
        &expires_on,
        reveal,
    )
    .await
}

#[server(prefix = "/rpc", endpoint = "use_api_secret_with_webhooks")]
pub async fn use_with_webhooks(
    environment_id: Uuid,
    secret_id: Uuid,
) -> Result<Vec<SecretSummary>, AppError> {
    let member = require_member()?;
    let state = app_state()?;
    let origin = Origin::of_server_fn();
    actions::use_with_webhooks(&state, member, origin, environment_id, secret_id).await
}

/// "Rotate": creates the secret that replaces `secret_id` (shown once, as when creating), which
/// takes over webhook signing if the old one had it; the old one shows as rotating, and stops
/// verifying on `retire_on` if given (`YYYY-MM-DD`; empty: it stays until removed).
#[server(prefix = "/rpc", endpoint = "rotate_api_secret")]
pub async fn rotate_api_secret(
    environment_id: Uuid,
    secret_id: Uuid,
    #[server(default)] retire_on: String,
) -> Result<CreatedSecret, AppError> {
    let member = require_member()?;
    no_store();
    let state = app_state()?;
    let origin = Origin::of_server_fn();
    let reveal = actions::Reveal::InAnswer;
    actions::rotate(
        &state,
        member,
        origin,
        environment_id,
        secret_id,
        &retire_on,
        reveal,
    )
    .await
}

/// Sets when a secret expires (`expires_on` empty: never). A date in the past is refused; a new
/// date (or none) brings an expired secret back.
#[server(prefix = "/rpc", endpoint = "set_api_secret_expiry")]
pub async fn set_expiry(
    environment_id: Uuid,
    secret_id: Uuid,
    #[server(default)] expires_on: String,
) -> Result<Vec<SecretSummary>, AppError> {
    let member = require_member()?;
    let state = app_state()?;
    let origin = Origin::of_server_fn();
    actions::set_expiry(
        &state,
        member,
        origin,
        environment_id,
        secret_id,
        &expires_on,
    )
    .await
}

#[server(prefix = "/rpc", endpoint = "remove_api_secret")]
pub async fn remove_api_secret(
    environment_id: Uuid,
    secret_id: Uuid,
    phrase: String,
) -> Result<Vec<SecretSummary>, AppError> {
    let member = require_member()?;
    let state = app_state()?;
    let origin = Origin::of_server_fn();
    actions::remove(&state, member, origin, environment_id, secret_id, &phrase).await
}

/// The value of a secret created by a plain form post, on the page that post redirects to:
/// once, to the session that created it (`None` after that).
#[server(prefix = "/rpc", endpoint = "take_new_api_secret")]
pub async fn take_new_api_secret(
    environment_id: Uuid,
    secret_id: Uuid,
) -> Result<Option<RevealedSecret>, AppError> {
    let member = require_member()?;
    no_store();
    let state = app_state()?;
    let taken = db::take_reveal(
        &state.pool,
        &state.keyring,
        &member,
        environment_id,
        secret_id,
    )
    .await?;
    Ok(taken)
}

/// No cache (the browser's, a proxy's) may keep this answer: it carries a secret's value.
#[cfg(feature = "ssr")]
fn no_store() {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.insert_header(
            axum::http::header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("no-store"),
        );
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
            ActionError::SignerCannotExpire => {
                fail(AppError::Conflict(SIGNER_CANNOT_EXPIRE.into()))
            }
            ActionError::FirstCannotExpire => fail(AppError::Conflict(FIRST_CANNOT_EXPIRE.into())),
            ActionError::ExpiringCannotSign => {
                fail(AppError::Conflict(EXPIRING_CANNOT_SIGN.into()))
            }
            ActionError::AlreadyRotating => fail(AppError::Conflict(ALREADY_ROTATING.into())),
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

    #[cfg(feature = "ssr")]
    #[test]
    fn expiry_dates_are_days_ahead_within_five_years() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-04T13:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(parse_expiry(" ", now), Ok(None));
        assert_eq!(
            parse_expiry("2026-12-05", now)
                .unwrap()
                .unwrap()
                .to_rfc3339(),
            "2026-12-05T00:00:00+00:00"
        );
        for refused in [
            "2026-12-04",
            "2026-02-30",
            "2026-12-5",
            "05/12/2026",
            "2031-12-31",
            "+2027-01-01",
            "2027-01-01T00:00",
        ] {
            assert!(parse_expiry(refused, now).is_err(), "{refused}");
        }
        assert!(parse_expiry("2031-11-30", now).unwrap().is_some());
    }

    #[test]
    fn the_removal_phrase_names_the_secret_by_its_last_characters() {
        assert_eq!(removal_phrase("csk_…a1B2"), "remove a1B2");
        assert_eq!(removal_phrase("ab"), "remove ab");
    }
}
