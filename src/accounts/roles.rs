//! Who in a team may do what: one table, read by the server (which enforces it on every server
//! function and handler) and by the pages (which say why a control is not theirs to use).
//!
//! Roles are ordered, each allowed what the ones below it are and more: viewers see the
//! secrets' metadata, the webhooks and their logs; developers also create secrets and manage
//! webhooks (the work of building against the API); admins also switch the webhook signer,
//! remove secrets, manage environments (what can break a running integration) and invite, change
//! or remove developers and viewers; owners also manage the team's admins and owners, and
//! decide whether every member must use two-factor authentication.

use serde::{Deserialize, Serialize};

/// A member's role in an organization (stored as its lowercase name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(
    feature = "ssr",
    derive(sqlx::Type),
    sqlx(type_name = "text", rename_all = "lowercase")
)]
pub enum Role {
    Viewer,
    Developer,
    Admin,
    Owner,
}

/// Something a member may or may not do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// See the secrets' metadata (never their values), the webhooks and their deliveries.
    View,
    CreateSecret,
    ManageWebhooks,
    SwitchWebhookSigner,
    /// Replace a secret with a new one that takes over its webhook signing ("Rotate").
    RotateSecret,
    RemoveSecret,
    /// Give a secret an expiry date, change or clear it: a removal that takes effect later.
    ExpireSecret,
    ManageEnvironments,
    /// Invite people, change members' roles, remove members, revoke invitations: for the roles
    /// the member may manage (see [`Role::may_manage`]).
    ManageMembers,
    /// Require two-factor authentication of every member, or stop requiring it.
    RequireTwoFactor,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Developer, Role::Admin, Role::Owner];

    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Developer => "developer",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }

    /// Whether this role may do `action`: the table.
    pub fn may(self, action: Action) -> bool {
        self >= action.least_role()
    }

    /// Whether this role may invite someone as, give or take away `role`: owners any role,
    /// admins developers and viewers (so no admin can make an admin or unmake an owner).
    pub fn may_manage(self, role: Role) -> bool {
        match self {
            Role::Owner => true,
            Role::Admin => role <= Role::Developer,
            Role::Developer | Role::Viewer => false,
        }
    }

    /// The roles this one may grant, lowest first.
    pub fn grantable(self) -> impl Iterator<Item = Role> {
        Role::ALL
            .into_iter()
            .filter(move |role| self.may_manage(*role))
    }

    /// The name as a sentence says it: "an admin", "a viewer".
    pub fn with_article(self) -> &'static str {
        match self {
            Role::Viewer => "a viewer",
            Role::Developer => "a developer",
            Role::Admin => "an admin",
            Role::Owner => "an owner",
        }
    }

    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.name() == name)
    }
}

/// Why an admin may not manage an admin or an owner.
pub const ONLY_OWNERS_MANAGE_OWNERS: &str =
    "Only owners can invite, change or remove admins and owners.";

impl Action {
    pub const ALL: [Action; 10] = [
        Action::View,
        Action::CreateSecret,
        Action::RotateSecret,
        Action::ManageWebhooks,
        Action::SwitchWebhookSigner,
        Action::RemoveSecret,
        Action::ExpireSecret,
        Action::ManageEnvironments,
        Action::ManageMembers,
        Action::RequireTwoFactor,
    ];

    /// The lowest role that may do it.
    pub fn least_role(self) -> Role {
        match self {
            Action::View => Role::Viewer,
            Action::CreateSecret | Action::ManageWebhooks => Role::Developer,
            Action::SwitchWebhookSigner
            | Action::RotateSecret
            | Action::RemoveSecret
            | Action::ExpireSecret
            | Action::ManageEnvironments
            | Action::ManageMembers => Role::Admin,
            Action::RequireTwoFactor => Role::Owner,
        }
    }

    /// Whether it needs the person's password confirmed within the last
    /// [`STEP_UP_MINUTES`](super::step_up::STEP_UP_MINUTES) (step-up): what cannot be undone or
    /// changes who can do what. Managing webhooks and environments is neither.
    pub fn needs_confirmation(self) -> bool {
        match self {
            Action::CreateSecret
            | Action::SwitchWebhookSigner
            | Action::RotateSecret
            | Action::RemoveSecret
            | Action::ExpireSecret
            | Action::ManageMembers
            | Action::RequireTwoFactor => true,
            Action::View | Action::ManageWebhooks | Action::ManageEnvironments => false,
        }
    }

    /// Why a member whose role may not do it cannot, in their words.
    pub fn refusal(self) -> &'static str {
        match self {
            Action::View => "Only members of this organization can see it.",
            Action::CreateSecret => "Only developers, admins and owners can create API secrets.",
            Action::ManageWebhooks => "Only developers, admins and owners can manage webhooks.",
            Action::SwitchWebhookSigner => {
                "Only admins and owners can choose the API secret used with webhooks."
            }
            Action::RotateSecret => "Only admins and owners can rotate API secrets.",
            Action::RemoveSecret => "Only admins and owners can remove API secrets.",
            Action::ExpireSecret => "Only admins and owners can change when API secrets expire.",
            Action::ManageEnvironments => "Only admins and owners can manage environments.",
            Action::ManageMembers => "Only admins and owners can manage members.",
            Action::RequireTwoFactor => {
                "Only owners can require two-factor authentication of every member."
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_may_do_what_the_ones_below_it_may() {
        for action in Action::ALL {
            let allowed: Vec<bool> = Role::ALL.iter().map(|role| role.may(action)).collect();
            // Once allowed, allowed for every higher role; owners may do everything.
            assert!(allowed.windows(2).all(|w| w[0] <= w[1]), "{action:?}");
            assert!(Role::Owner.may(action));
            assert!(action.refusal().ends_with('.'));
        }
        assert!(Role::Viewer.may(Action::View));
        assert!(!Role::Viewer.may(Action::CreateSecret));
        assert!(Role::Developer.may(Action::ManageWebhooks));
        assert!(!Role::Developer.may(Action::RemoveSecret));
        assert!(Role::Admin.may(Action::SwitchWebhookSigner));
    }

    #[test]
    fn members_are_managed_by_admins_up_to_developers_and_by_owners_entirely() {
        for role in Role::ALL {
            // Whoever may manage a role may manage every role below it, and manages members.
            let managed: Vec<bool> = Role::ALL.iter().map(|r| role.may_manage(*r)).collect();
            assert!(managed.windows(2).all(|w| w[0] >= w[1]), "{role:?}");
            assert_eq!(managed[0], role.may(Action::ManageMembers), "{role:?}");
            assert_eq!(Role::parse(role.name()), Some(role));
        }
        assert!(Role::Admin.may_manage(Role::Developer));
        assert!(!Role::Admin.may_manage(Role::Admin));
        assert!(Role::Owner.may_manage(Role::Owner));
        assert_eq!(
            Role::Admin.grantable().collect::<Vec<_>>(),
            [Role::Viewer, Role::Developer]
        );
        assert_eq!(Role::parse("root"), None);
    }
}
