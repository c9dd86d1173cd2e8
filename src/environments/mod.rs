//! Environments: each organization's separate sets of API secrets ("Production", "Staging"…).

#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod handlers;
pub mod views;

use futures_util::{
    FutureExt,
    future::{BoxFuture, Shared},
};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg(feature = "ssr")]
use crate::{
    accounts::{
        self,
        roles::Action,
        session::{current_member, require, require_member},
    },
    error::{fail, found},
    platform::state::app_state,
};
use crate::{
    accounts::{Account, Organization},
    error::AppError,
};

pub const NAME_MAX_CHARS: usize = 50;
/// Environments per organization: each holds keys in every instance's cache and webhook
/// deliveries, so one tenant's count is bounded.
pub const MAX_ENVIRONMENTS: i64 = 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Environment {
    pub id: Uuid,
    pub name: String,
}

/// An environment's name: trimmed, 1 to 50 characters, no control characters.
pub fn parse_name(input: &str) -> Result<String, &'static str> {
    let name = input.trim();
    match name.chars().count() {
        0 => Err("Enter a name for the environment."),
        n if n > NAME_MAX_CHARS => Err("The name must be at most 50 characters long."),
        _ if name.chars().any(char::is_control) => {
            Err("The name cannot contain control characters.")
        }
        _ => Ok(name.to_owned()),
    }
}

/// What the portal's shell shows about the signed-in customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shell {
    pub account: Account,
    pub environments: Vec<Environment>,
    /// Every organization the person belongs to (the switcher's choices).
    pub organizations: Vec<Organization>,
}

/// The shell's data for one page, loaded once: the header and the environments page both
/// await it.
#[derive(Clone)]
pub struct ShellLoad(Shared<BoxFuture<'static, Result<Option<Shell>, AppError>>>);

impl ShellLoad {
    pub fn start() -> Self {
        Self(crate::ui::start(get_shell()).boxed().shared())
    }

    pub async fn get(self) -> Result<Option<Shell>, AppError> {
        self.0.await
    }
}

/// The signed-in customer and their environments; `None` when nobody is signed in.
#[server(prefix = "/rpc", endpoint = "get_shell")]
pub async fn get_shell() -> Result<Option<Shell>, AppError> {
    let Some(member) = current_member() else {
        return Ok(None);
    };
    let state = app_state()?;
    let session = accounts::session::current_session_id();
    if let Some(shell) = session.and_then(|id| state.signed_in.attached::<Shell>(id)) {
        return Ok(Some(shell));
    }
    let generation = state.signed_in.generation();
    let environments = db::list(&state.pool, member.organization_id)
        .await
        .map_err(AppError::from)?;
    let organizations = accounts::db::organizations(&state.pool, member.user_id)
        .await
        .map_err(AppError::from)?;
    let shell = Shell {
        account: Account {
            email: member.email,
            organization_id: member.organization_id,
            organization_name: member.organization_name,
            role: member.role,
        },
        environments,
        organizations,
    };
    // Kept with the signed-in member, and dropped with it when an environment changes.
    if let Some(id) = session {
        state.signed_in.attach(id, shell.clone(), generation);
    }
    Ok(Some(shell))
}

/// One environment of the signed-in customer's organization.
#[server(prefix = "/rpc", endpoint = "get_environment")]
pub async fn get_environment(id: Uuid) -> Result<Environment, AppError> {
    let member = require_member()?;
    let state = app_state()?;
    found(db::get(&state.pool, member.organization_id, id).await)
}

#[server(prefix = "/rpc", endpoint = "create_environment")]
pub async fn create_environment(name: String) -> Result<Environment, AppError> {
    let member = require(Action::ManageEnvironments)?;
    let name = parse_name(&name).map_err(|m| fail(AppError::Invalid(m.into())))?;
    let state = app_state()?;
    match db::create(&state.pool, member.organization_id, &name).await {
        Ok(environment) => Ok(environment),
        Err(db::CreateError::LimitReached) => Err(fail(AppError::Conflict(format!(
            "An organization can have at most {MAX_ENVIRONMENTS} environments. Rename one instead."
        )))),
        Err(db::CreateError::Db(e)) => Err(e.into()),
    }
}

#[server(prefix = "/rpc", endpoint = "rename_environment")]
pub async fn rename_environment(id: Uuid, name: String) -> Result<Environment, AppError> {
    let member = require(Action::ManageEnvironments)?;
    let name = parse_name(&name).map_err(|m| fail(AppError::Invalid(m.into())))?;
    let state = app_state()?;
    let renamed = found(db::rename(&state.pool, member.organization_id, id, &name).await)?;
    // Its pages say its name: this instance forgets them at once, the others at commit.
    state.pages.invalidate(id);
    Ok(renamed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_names_are_trimmed_and_bounded() {
        assert_eq!(parse_name("  Staging ").unwrap(), "Staging");
        assert!(parse_name(" ").is_err());
        assert!(parse_name(&"é".repeat(50)).is_ok());
        assert!(parse_name(&"é".repeat(51)).is_err());
        assert!(parse_name("a\nb").is_err());
    }
}
