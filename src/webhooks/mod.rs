//! Webhooks: URLs an environment's events are POSTed to, signed like REST requests with the
//! environment's webhook signer (see [`crate::platform::signature`]), retried, and logged.
//!
//! The rules below are shared by the portal's form and the REST API; the server checks them.

#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod delivery;
#[cfg(feature = "ssr")]
pub mod target;
pub mod views;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    accounts::roles::Role, environments::Environment, error::AppError, events::Event,
    ui::time::Moment,
};
#[cfg(feature = "ssr")]
use crate::{
    accounts::{
        roles::Action,
        session::{require, require_member},
    },
    audit::{By, Origin},
    error::{fail, found, internal_error},
    platform::state::app_state,
};

/// The events a webhook can subscribe to, as named in payloads.
pub const EVENTS: [&str; 6] = Event::NAMES;
/// The most webhooks an environment can have.
pub const MAX_WEBHOOKS: i64 = 10;
pub const MAX_RETRIES: i32 = 20;
/// "Retry interval" is in minutes, from 1 minute to 1 day.
pub const MAX_RETRY_INTERVAL_MINUTES: i32 = 1440;
pub const URL_MAX_CHARS: usize = 2048;

pub const NO_SIGNER: &str = "This environment has no API secret to sign webhooks with yet. \
     Create an API secret first: the first one signs webhooks.";
pub const LIMIT_REACHED: &str =
    "This environment already has 10 webhooks, the most it can have. Remove one to add another.";

/// What a customer asks for when adding a webhook, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<String>,
    pub max_retries: i32,
    pub retry_interval_minutes: i32,
}

impl NewWebhook {
    /// Checks everything but the URL's target (see `target::check`, server only): events known
    /// and at least one, retries 0–20, interval 1–1440 minutes.
    pub fn parse(
        url: &str,
        events: &[String],
        max_retries: &str,
        retry_interval_minutes: &str,
    ) -> Result<NewWebhook, &'static str> {
        let url = url.trim();
        if url.is_empty() {
            return Err("Enter the URL we should send events to.");
        }
        if url.chars().count() > URL_MAX_CHARS {
            return Err("The URL must be at most 2048 characters long.");
        }
        let mut chosen: Vec<String> = Vec::new();
        for event in events {
            if !EVENTS.contains(&event.as_str()) {
                return Err("Choose events from the list.");
            }
            if !chosen.contains(event) {
                chosen.push(event.clone());
            }
        }
        if chosen.is_empty() {
            return Err("Choose at least one event.");
        }
        let max_retries = match max_retries.trim().parse::<i32>() {
            Ok(n) if (0..=MAX_RETRIES).contains(&n) => n,
            _ => return Err("Max retries must be a whole number from 0 to 20."),
        };
        let retry_interval_minutes = match retry_interval_minutes.trim().parse::<i32>() {
            Ok(n) if (1..=MAX_RETRY_INTERVAL_MINUTES).contains(&n) => n,
            _ => return Err("Retry interval must be a whole number of minutes from 1 to 1440."),
        };
        Ok(NewWebhook {
            url: url.to_owned(),
            events: chosen,
            max_retries,
            retry_interval_minutes,
        })
    }
}

/// Where a delivery stands (stored as its lowercase name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(
    feature = "ssr",
    derive(sqlx::Type),
    sqlx(type_name = "text", rename_all = "lowercase")
)]
pub enum DeliveryStatus {
    /// Not sent yet, being attempted, or waiting for a retry.
    Pending,
    /// A 2xx answered.
    Delivered,
    /// Its retries ran out.
    Failed,
}

impl DeliveryStatus {
    /// The stored name, also the log's CSS class.
    pub fn name(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }
}

/// One delivery of one event to one webhook, as its log shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: Uuid,
    pub event: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    /// For a pending delivery: when it is due. While an attempt is under way, when its lease ends
    /// (another worker retries it then if this one died).
    pub next_attempt_at: Option<Moment>,
    /// A worker is attempting it now (and its lease has not run out).
    pub attempt_in_progress: bool,
    pub created_at: Moment,
}

/// While an attempt is under way or due, the open delivery log reloads this often.
pub const LOG_FOLLOW_MS: i64 = 2_000;
/// Otherwise it reloads at a retry's time, and at least this often (to show new deliveries).
pub const LOG_IDLE_MS: i64 = 60_000;

/// Whether the open delivery log should reload now (`now_ms`), having last reloaded at `last_ms`:
/// every [`LOG_FOLLOW_MS`] while an attempt is under way or due, so its outcome shows within
/// seconds; when a retry falls due; and every [`LOG_IDLE_MS`] otherwise.
pub fn log_reload_due(deliveries: &[Delivery], now_ms: i64, last_ms: i64) -> bool {
    let since = now_ms - last_ms;
    since >= LOG_IDLE_MS
        || (since >= LOG_FOLLOW_MS
            && deliveries.iter().any(|delivery| {
                delivery.status == DeliveryStatus::Pending
                    && (delivery.attempt_in_progress
                        || delivery
                            .next_attempt_at
                            .as_ref()
                            .is_none_or(|at| at.ms <= now_ms))
            }))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<String>,
    pub max_retries: i32,
    pub retry_interval_minutes: i32,
    pub created_at: Moment,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookWithLog {
    pub webhook: Webhook,
    /// The latest deliveries, newest first.
    pub deliveries: Vec<Delivery>,
}

/// The Webhooks tab's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhooksTab {
    pub environment: Environment,
    pub has_signer: bool,
    pub webhooks: Vec<WebhookWithLog>,
    /// The viewer's role: what the tab lets them do.
    pub role: Role,
    pub now_ms: i64,
}

#[server(prefix = "/rpc", endpoint = "list_webhooks")]
pub async fn list_webhooks(environment_id: Uuid) -> Result<WebhooksTab, AppError> {
    let member = require_member()?;
    let state = app_state()?;
    found(
        db::tab(
            &state.pool,
            member.organization_id,
            member.role,
            environment_id,
        )
        .await,
    )
}

/// One webhook's delivery log (newest first), which the open tab follows.
#[server(prefix = "/rpc", endpoint = "list_deliveries")]
pub async fn list_deliveries(
    environment_id: Uuid,
    webhook_id: Uuid,
) -> Result<Vec<Delivery>, AppError> {
    let member = require_member()?;
    let state = app_state()?;
    found(
        db::deliveries(
            &state.pool,
            Some(member.organization_id),
            environment_id,
            webhook_id,
        )
        .await,
    )
}

pub use add::{AddWebhook, add_webhook};

/// "Add webhook" takes one argument per form field (the events are checkboxes, one field each,
/// so a plain HTML form works): more than clippy's 7, on the server and in the browser's stub.
#[allow(clippy::too_many_arguments)]
mod add {
    use super::*;

    /// "Add webhook": checks the fields and the URL's target, then adds it and queues its ping.
    #[server(prefix = "/rpc", endpoint = "add_webhook")]
    pub async fn add_webhook(
        environment_id: Uuid,
        url: String,
        #[server(default)] event_ping: Option<String>,
        #[server(default)] event_api_secret_created: Option<String>,
        #[server(default)] event_api_secret_removed: Option<String>,
        #[server(default)] event_webhook_signer_changed: Option<String>,
        #[server(default)] event_api_secret_expiring: Option<String>,
        #[server(default)] event_api_secret_expired: Option<String>,
        max_retries: String,
        retry_interval_minutes: String,
    ) -> Result<Webhook, AppError> {
        let member = require(Action::ManageWebhooks)?;
        let events: Vec<String> = [
            event_ping,
            event_api_secret_created,
            event_api_secret_removed,
            event_webhook_signer_changed,
            event_api_secret_expiring,
            event_api_secret_expired,
        ]
        .into_iter()
        .zip(EVENTS)
        .filter(|(field, _)| field.is_some())
        .map(|(_, event)| event.to_owned())
        .collect();
        let state = app_state()?;
        let new = NewWebhook::parse(&url, &events, &max_retries, &retry_interval_minutes)
            .map_err(|m| fail(AppError::Invalid(m.into())))?;
        target::check_url(&new.url, &state.webhooks)
            .map_err(|e| fail(AppError::Invalid(e.to_string())))?;
        let origin = Origin::of_server_fn();
        db::create(
            &state.pool,
            By::Member(member.person()),
            &origin,
            environment_id,
            &new,
        )
        .await
        .map_err(AppError::from)
    }
}

#[server(prefix = "/rpc", endpoint = "remove_webhook")]
pub async fn remove_webhook(environment_id: Uuid, webhook_id: Uuid) -> Result<(), AppError> {
    let member = require(Action::ManageWebhooks)?;
    let state = app_state()?;
    let origin = Origin::of_server_fn();
    db::delete(
        &state.pool,
        By::Member(member.person()),
        &origin,
        environment_id,
        webhook_id,
    )
    .await
    .map_err(AppError::from)
}

#[cfg(feature = "ssr")]
impl From<db::ActionError> for AppError {
    fn from(error: db::ActionError) -> Self {
        use db::ActionError;
        match error {
            ActionError::NotFound => fail(AppError::NotFound),
            ActionError::NoSigner => fail(AppError::Conflict(NO_SIGNER.into())),
            ActionError::LimitReached => fail(AppError::Conflict(LIMIT_REACHED.into())),
            ActionError::Database(e) => internal_error("changing webhooks", &e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(names: &[&str]) -> Vec<String> {
        names.iter().map(|&n| n.to_owned()).collect()
    }

    fn delivery(status: &str, next_attempt_ms: Option<i64>, in_progress: bool) -> Delivery {
        let status = match status {
            "pending" => DeliveryStatus::Pending,
            "delivered" => DeliveryStatus::Delivered,
            _ => DeliveryStatus::Failed,
        };
        let moment = |ms| Moment {
            ms,
            iso: String::new(),
            utc: String::new(),
        };
        Delivery {
            id: Uuid::nil(),
            event: "ping".to_owned(),
            status,
            attempts: 0,
            last_status_code: None,
            last_error: None,
            next_attempt_at: next_attempt_ms.map(moment),
            attempt_in_progress: in_progress,
            created_at: moment(0),
        }
    }

    #[test]
    fn the_open_log_follows_attempts_closely_and_waits_for_retries() {
        let now = 1_000_000;
        let due = |list: &[Delivery], since: i64| log_reload_due(list, now, now - since);
        // Nothing under way: once a minute.
        let finished = [
            delivery("delivered", None, false),
            delivery("failed", None, false),
        ];
        assert!(!due(&finished, LOG_IDLE_MS - 1));
        assert!(due(&finished, LOG_IDLE_MS));
        assert!(due(&[], LOG_IDLE_MS));
        // An attempt under way (its next attempt is its lease's end) or due: every 2 seconds.
        for following in [
            delivery("pending", Some(now + 35_000), true),
            delivery("pending", Some(now), false),
            delivery("pending", Some(now - 5_000), false),
        ] {
            let list = [finished[0].clone(), following];
            assert!(!due(&list, LOG_FOLLOW_MS - 1), "{list:?}");
            assert!(due(&list, LOG_FOLLOW_MS), "{list:?}");
        }
        // A retry in 10 minutes: not before it is due (or a minute has passed).
        let retry = [delivery("pending", Some(now + 600_000), false)];
        assert!(!due(&retry, LOG_FOLLOW_MS));
        assert!(due(&retry, LOG_IDLE_MS));
        assert!(log_reload_due(
            &retry,
            now + 600_000,
            now + 599_000 - LOG_FOLLOW_MS
        ));
    }

    #[test]
    fn a_new_webhook_is_checked_field_by_field() {
        let ok = NewWebhook::parse(
            " https://example.com/hook ",
            &events(&["ping", "api_secret.created", "ping"]),
            "3",
            "10",
        )
        .unwrap();
        assert_eq!(ok.url, "https://example.com/hook");
        assert_eq!(ok.events, events(&["ping", "api_secret.created"]));
        assert_eq!((ok.max_retries, ok.retry_interval_minutes), (3, 10));

        let parse = |url: &str, ev: &[&str], retries: &str, interval: &str| {
            NewWebhook::parse(url, &events(ev), retries, interval)
        };
        assert!(parse("", &["ping"], "3", "10").is_err());
        assert!(
            parse(
                &format!("https://e.com/{}", "a".repeat(2048)),
                &["ping"],
                "3",
                "10"
            )
            .is_err()
        );
        assert!(parse("https://e.com", &[], "3", "10").is_err());
        assert!(parse("https://e.com", &["secret.stolen"], "3", "10").is_err());
        assert!(parse("https://e.com", &["ping"], "-1", "10").is_err());
        assert!(parse("https://e.com", &["ping"], "21", "10").is_err());
        assert!(parse("https://e.com", &["ping"], "0", "10").is_ok());
        assert!(parse("https://e.com", &["ping"], "3", "0").is_err());
        assert!(parse("https://e.com", &["ping"], "3", "1441").is_err());
        assert!(parse("https://e.com", &["ping"], "3", "1.5").is_err());
        assert!(parse("https://e.com", &["ping"], "20", "1440").is_ok());
    }
}
