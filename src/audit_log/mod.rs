//! The "Audit log" tab: every member of an organization reads its trail, filters it, pages
//! through it (newest first, by cursor) and exports it as CSV.

#[cfg(feature = "ssr")]
pub mod csv;
#[cfg(feature = "ssr")]
pub mod db;
pub mod views;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{accounts::percent_encode, audit::AuditAction, error::AppError, ui::time::Moment};
#[cfg(feature = "ssr")]
use crate::{accounts::session::require_member, error::fail, platform::state::app_state};

/// One event, as the log shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: Moment,
    /// A member's address, or the API secret (masked) that signed a REST call.
    pub actor: String,
    pub action: AuditAction,
    /// What it was done to: a masked secret, a webhook's URL, a person (with the role).
    pub subject: String,
    /// The environment's name (`None`: the organization's own events, or a deleted one).
    pub environment: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// The filters the log was asked for, checked. Empty filters match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilter {
    pub environment: Option<Uuid>,
    /// A member's address, or [`API_ACTOR`] for signed REST calls.
    pub actor: Option<String>,
    pub action: Option<AuditAction>,
}

/// The actor filter's value for events done through the REST API.
pub const API_ACTOR: &str = "api";
/// Events per page.
pub const PAGE_SIZE: i64 = 50;

impl AuditFilter {
    /// From a query string's values (empty ones mean "any").
    pub fn parse(
        environment: Option<&str>,
        actor: Option<&str>,
        action: Option<&str>,
    ) -> Result<AuditFilter, &'static str> {
        fn given(value: Option<&str>) -> Option<&str> {
            value.map(str::trim).filter(|v| !v.is_empty())
        }
        let environment = match given(environment) {
            Some(id) => Some(
                id.parse()
                    .map_err(|_| "Choose an environment from the list.")?,
            ),
            None => None,
        };
        let action = match given(action) {
            Some(name) => Some(AuditAction::parse(name).ok_or("Choose an action from the list.")?),
            None => None,
        };
        let actor = given(actor).map(str::to_lowercase);
        if actor.as_ref().is_some_and(|a| a.len() > 254) {
            return Err("Choose an actor from the list.");
        }
        Ok(AuditFilter {
            environment,
            actor,
            action,
        })
    }

    /// As a query string, for links that keep the filters (the next page, the CSV export).
    pub fn query(&self) -> String {
        let mut pairs = Vec::new();
        if let Some(environment) = self.environment {
            pairs.push(format!("environment={environment}"));
        }
        if let Some(actor) = &self.actor {
            pairs.push(format!("actor={}", percent_encode(actor)));
        }
        if let Some(action) = self.action {
            pairs.push(format!("action={}", action.name()));
        }
        pairs.join("&")
    }
}

/// A filter's choices: the organization's environments and the actors in its log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditChoices {
    pub environments: Vec<(Uuid, String)>,
    pub actors: Vec<String>,
}

/// One page of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub filter: AuditFilter,
    pub choices: AuditChoices,
    pub entries: Vec<AuditEntry>,
    /// The cursor of the next (older) page, if there is one.
    pub older: Option<i64>,
    pub now_ms: i64,
}

/// A page of the signed-in member's organization's log, newest first, older than `before` (an
/// event id: the cursor) when given.
#[server(prefix = "/rpc", endpoint = "list_audit_events")]
pub async fn list_audit_events(
    #[server(default)] environment: Option<String>,
    #[server(default)] actor: Option<String>,
    #[server(default)] action: Option<String>,
    #[server(default)] before: Option<String>,
) -> Result<AuditPage, AppError> {
    let member = require_member()?;
    let filter = AuditFilter::parse(environment.as_deref(), actor.as_deref(), action.as_deref())
        .map_err(|m| fail(AppError::Invalid(m.into())))?;
    let before = match before.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
        Some(cursor) => Some(cursor.parse::<i64>().map_err(|_| {
            fail(AppError::Invalid(
                "That page of the log does not exist.".into(),
            ))
        })?),
        None => None,
    };
    let state = app_state()?;
    Ok(db::page(&state.pool, member.organization_id, filter, before).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_checked_and_kept_in_links() {
        let id = Uuid::nil().to_string();
        let filter =
            AuditFilter::parse(Some(&id), Some(" Ada@Example.com "), Some("member.joined"))
                .unwrap();
        assert_eq!(
            filter.query(),
            format!("environment={id}&actor=ada%40example.com&action=member.joined")
        );
        assert_eq!(
            AuditFilter::parse(Some(""), Some(""), Some("")).unwrap(),
            AuditFilter::default()
        );
        assert!(AuditFilter::parse(Some("x"), None, None).is_err());
        assert!(AuditFilter::parse(None, None, Some("drop table")).is_err());
        assert!(AuditFilter::parse(None, Some(&"a".repeat(300)), None).is_err());
    }
}
