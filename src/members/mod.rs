//! A team: the organization's members and their roles, and invitations to join it. Who may
//! change whom is the role table's (`crate::accounts::roles`); the server checks it on every
//! change, under the organization's lock, and the database keeps an owner whatever happens.

#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod handlers;
#[cfg(feature = "ssr")]
pub mod invitation;
pub mod views;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{accounts::roles::Role, error::AppError, ui::time::Moment};
#[cfg(feature = "ssr")]
use crate::{
    accounts::{
        roles::Action,
        session::{current_member, require, require_member},
    },
    audit::Origin,
    error::fail,
    platform::state::app_state,
};

/// An invitation link works for this long.
pub const INVITATION_DAYS: i64 = 7;
/// Open invitations per organization: enough for any team's onboarding, and bounded.
pub const MAX_OPEN_INVITATIONS: i64 = 50;

/// One member, as the Members tab lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamMember {
    pub user_id: Uuid,
    pub email: String,
    pub role: Role,
    pub joined: Moment,
    pub last_sign_in: Option<Moment>,
    /// Whether they turned two-factor authentication on.
    pub two_factor: bool,
}

/// An invitation not yet accepted, revoked or expired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingInvitation {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    /// Who sent it (gone if they left).
    pub invited_by: Option<String>,
    pub expires: Moment,
}

/// The Members tab's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembersTab {
    pub organization_name: String,
    /// The signed-in member, and their role: what the tab lets them do.
    pub you: Uuid,
    pub role: Role,
    /// Whether they confirmed who they are lately (step-up): member changes need it.
    pub confirmed: bool,
    /// Whether the organization requires two-factor authentication.
    pub require_two_factor: bool,
    pub members: Vec<TeamMember>,
    pub invitations: Vec<PendingInvitation>,
    pub now_ms: i64,
}

/// An invitation just made: its link, shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewInvitation {
    pub email: String,
    pub role: Role,
    pub link: String,
}

/// What the invite form's post answered, for the Members page it renders: the new link, or the
/// error and what was typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InviteFeedback {
    pub email: String,
    pub role: String,
    pub error: Option<String>,
    pub created: Option<NewInvitation>,
}

/// Why a post on the join page failed, for the page it renders.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JoinFeedback {
    pub error: Option<String>,
    /// The account uses two-factor authentication: the sign-in form asks for a code too.
    pub needs_code: bool,
}

/// An invitation, as the person who opened its link sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    pub organization_name: String,
    pub email: String,
    pub role: Role,
    /// Whether an account with the invited address exists (sign in to accept, or sign up).
    pub has_account: bool,
}

/// The join page's data: the invitation this visitor opened (if still open), and who is signed
/// in here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinView {
    pub invitation: Option<Invitation>,
    pub signed_in_as: Option<String>,
}

#[server(prefix = "/rpc", endpoint = "get_join")]
pub async fn get_join() -> Result<JoinView, AppError> {
    let state = app_state()?;
    let session = crate::accounts::session::request_extension::<tower_sessions::Session>();
    let invitation = match session {
        Some(session) => handlers::opened(&state, &session).await?,
        None => None,
    };
    Ok(JoinView {
        invitation: invitation.map(|invitation| Invitation {
            organization_name: invitation.organization_name,
            email: invitation.email,
            role: invitation.role,
            has_account: invitation.has_account,
        }),
        signed_in_as: current_member().map(|member| member.email),
    })
}

#[server(prefix = "/rpc", endpoint = "list_members")]
pub async fn list_members() -> Result<MembersTab, AppError> {
    let member = require_member()?;
    let state = app_state()?;
    Ok(db::tab(&state.pool, &member).await?)
}

/// Gives a member another role. Refused for a role the signed-in member may not manage, on
/// either side of the change, and for the organization's last owner.
#[server(prefix = "/rpc", endpoint = "change_role")]
pub async fn change_role(user_id: Uuid, role: String) -> Result<(), AppError> {
    let member = require(Action::ManageMembers)?;
    let role = parse_role(&role)?;
    let state = app_state()?;
    db::change_role(&state.pool, &member, &Origin::of_server_fn(), user_id, role).await
}

/// Removes a member from the organization: their sessions for it end on their next request.
#[server(prefix = "/rpc", endpoint = "remove_member")]
pub async fn remove_member(user_id: Uuid) -> Result<(), AppError> {
    let member = require(Action::ManageMembers)?;
    let state = app_state()?;
    db::remove(&state.pool, &member, &Origin::of_server_fn(), user_id).await
}

/// Revokes a pending invitation: its link stops working at once.
#[server(prefix = "/rpc", endpoint = "revoke_invitation")]
pub async fn revoke_invitation(id: Uuid) -> Result<(), AppError> {
    let member = require(Action::ManageMembers)?;
    let state = app_state()?;
    db::revoke(&state.pool, &member, &Origin::of_server_fn(), id).await
}

/// A role's name from a form, or the customer's error.
#[cfg(feature = "ssr")]
pub fn parse_role(name: &str) -> Result<Role, AppError> {
    Role::parse(name).ok_or_else(|| {
        fail(AppError::Invalid(
            "Choose a role: owner, admin, developer or viewer.".into(),
        ))
    })
}
