//! Appending to the audit trail, in the action's own transaction. Append-only (triggers refuse
//! UPDATE, DELETE and TRUNCATE; see the migrations), and this is the only code that writes to it.

use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts},
};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::AuditAction;
use crate::platform::{
    client::{self, TrustedProxies},
    state::AppState,
};

/// Where an action came from: the client's address and user agent (at most 512 characters).
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl Origin {
    pub fn of(parts: &Parts, proxies: &TrustedProxies) -> Origin {
        Origin {
            ip: proxies
                .client_address(client::peer(&parts.extensions), &parts.headers)
                .map(|ip| ip.to_string()),
            user_agent: parts
                .headers
                .get(header::USER_AGENT)
                .and_then(|ua| ua.to_str().ok())
                .map(|ua| ua.chars().take(512).collect()),
        }
    }

    /// The client's address, for throttles: unspecified when unknown (one bucket for all such).
    pub fn address(&self) -> std::net::IpAddr {
        self.ip
            .as_deref()
            .and_then(|ip| ip.parse().ok())
            .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
    }

    /// The origin of the request a server function is answering.
    pub fn of_server_fn() -> Origin {
        let state = leptos::prelude::use_context::<AppState>();
        state
            .and_then(|state| {
                leptos::prelude::with_context(|parts: &Parts| {
                    Origin::of(parts, &state.trusted_proxies)
                })
            })
            .unwrap_or_default()
    }
}

impl FromRequestParts<AppState> for Origin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Origin::of(parts, &state.trusted_proxies))
    }
}

/// A person acting for an organization.
#[derive(Debug, Clone, Copy)]
pub struct Person<'a> {
    pub user_id: Uuid,
    pub email: &'a str,
    pub organization_id: Uuid,
}

/// Who acted: a member in the portal, or a REST API call (the API secret that signed it).
#[derive(Debug, Clone, Copy)]
pub enum By<'a> {
    Member(Person<'a>),
    ApiSecret(Uuid),
}

impl By<'_> {
    /// The organization an action is limited to: a member's. A signed call is limited by its
    /// signature to the environment it was made for.
    pub fn organization_id(self) -> Option<Uuid> {
        match self {
            By::Member(person) => Some(person.organization_id),
            By::ApiSecret(_) => None,
        }
    }
}

/// What an action was done to.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    /// An API secret, named by its masked form (never its value).
    Secret {
        id: Uuid,
        masked: &'a str,
    },
    Webhook {
        id: Uuid,
        url: &'a str,
    },
    /// A member or an invited person, by address, with the role (its name) the action gave or
    /// took, and for a role change the one they had.
    Member {
        email: &'a str,
        role: &'a str,
        previous_role: Option<&'a str>,
    },
}

/// Appends one event in the action's transaction. Member and invitation events belong to the
/// organization (`environment_id` `None`); the others to an environment.
pub async fn record(
    tx: &mut Transaction<'_, Postgres>,
    organization_id: Uuid,
    environment_id: Option<Uuid>,
    by: By<'_>,
    origin: &Origin,
    action: AuditAction,
    subject: Subject<'_>,
) -> Result<(), sqlx::Error> {
    let (user_id, email, actor_secret_id) = match by {
        By::Member(person) => (Some(person.user_id), Some(person.email), None),
        By::ApiSecret(id) => (None, None, Some(id)),
    };
    let (mut secret_id, mut masked, mut webhook_id, mut url) = (None, None, None, None);
    let (mut member_email, mut member_role, mut previous) = (None, None, None);
    match subject {
        Subject::Secret { id, masked: m } => (secret_id, masked) = (Some(id), Some(m)),
        Subject::Webhook { id, url: u } => (webhook_id, url) = (Some(id), Some(u)),
        Subject::Member {
            email,
            role,
            previous_role,
        } => (member_email, member_role, previous) = (Some(email), Some(role), previous_role),
    }
    sqlx::query!(
        "INSERT INTO audit_events (organization_id, environment_id, actor_user_id, actor_email,
                                   actor_secret_id, action, secret_id, secret_masked, webhook_id,
                                   webhook_url, member_email, member_role, member_previous_role,
                                   ip, user_agent)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        organization_id,
        environment_id,
        user_id,
        email,
        actor_secret_id,
        action.name(),
        secret_id,
        masked,
        webhook_id,
        url,
        member_email,
        member_role,
        previous,
        origin.ip,
        origin.user_agent,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Appends `action` about the person `user_id` to the trail of every organization they belong
/// to (sign-in, sign-out, their sessions: each of their teams sees them), as done by them.
pub async fn record_for_each_organization(
    db: impl sqlx::PgExecutor<'_>,
    user_id: Uuid,
    origin: &Origin,
    action: AuditAction,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO audit_events (organization_id, actor_user_id, actor_email, action,
                                   member_email, member_role, ip, user_agent)
         SELECT m.organization_id, u.id, u.email, $2, u.email, m.role, $3, $4
           FROM memberships m JOIN users u ON u.id = m.user_id
          WHERE u.id = $1",
        user_id,
        action.name(),
        origin.ip,
        origin.user_agent,
    )
    .execute(db)
    .await?;
    Ok(())
}
