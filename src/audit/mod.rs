//! The audit trail: who did what to which API secret, webhook or member, when and from where.
//! Every action appends its event in its own transaction ([`record`]); the "Audit log" tab
//! (`crate::audit_log`) reads it. Below the features, so that each of them (sign-in included)
//! can record what it does.

#[cfg(feature = "ssr")]
mod record;

use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
pub use record::{By, Origin, Person, Subject, record, record_for_each_organization};

/// What an event says was done (stored as its name; the database's CHECK lists the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AuditAction {
    ApiSecretCreated,
    ApiSecretRemoved,
    WebhookSignerChanged,
    ApiSecretExpiryChanged,
    WebhookAdded,
    WebhookRemoved,
    InvitationCreated,
    InvitationRevoked,
    MemberJoined,
    MemberRoleChanged,
    MemberRemoved,
    MemberSignedIn,
    MemberSignInFailed,
    MemberSignedOut,
    SessionEnded,
    TwoFactorEnabled,
    TwoFactorDisabled,
    RecoveryCodesReplaced,
    RecoveryCodeUsed,
    TwoFactorFailed,
    TwoFactorRequired,
    TwoFactorNotRequired,
}

impl AuditAction {
    pub const ALL: [AuditAction; 22] = [
        AuditAction::ApiSecretCreated,
        AuditAction::ApiSecretRemoved,
        AuditAction::WebhookSignerChanged,
        AuditAction::ApiSecretExpiryChanged,
        AuditAction::WebhookAdded,
        AuditAction::WebhookRemoved,
        AuditAction::InvitationCreated,
        AuditAction::InvitationRevoked,
        AuditAction::MemberJoined,
        AuditAction::MemberRoleChanged,
        AuditAction::MemberRemoved,
        AuditAction::MemberSignedIn,
        AuditAction::MemberSignInFailed,
        AuditAction::MemberSignedOut,
        AuditAction::SessionEnded,
        AuditAction::TwoFactorEnabled,
        AuditAction::TwoFactorDisabled,
        AuditAction::RecoveryCodesReplaced,
        AuditAction::RecoveryCodeUsed,
        AuditAction::TwoFactorFailed,
        AuditAction::TwoFactorRequired,
        AuditAction::TwoFactorNotRequired,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            AuditAction::ApiSecretCreated => "api_secret.created",
            AuditAction::ApiSecretRemoved => "api_secret.removed",
            AuditAction::WebhookSignerChanged => "webhook_signer.changed",
            AuditAction::ApiSecretExpiryChanged => "api_secret.expiry_changed",
            AuditAction::WebhookAdded => "webhook.added",
            AuditAction::WebhookRemoved => "webhook.removed",
            AuditAction::InvitationCreated => "invitation.created",
            AuditAction::InvitationRevoked => "invitation.revoked",
            AuditAction::MemberJoined => "member.joined",
            AuditAction::MemberRoleChanged => "member.role_changed",
            AuditAction::MemberRemoved => "member.removed",
            AuditAction::MemberSignedIn => "member.signed_in",
            AuditAction::MemberSignInFailed => "member.sign_in_failed",
            AuditAction::MemberSignedOut => "member.signed_out",
            AuditAction::SessionEnded => "member.session_ended",
            AuditAction::TwoFactorEnabled => "member.two_factor_enabled",
            AuditAction::TwoFactorDisabled => "member.two_factor_disabled",
            AuditAction::RecoveryCodesReplaced => "member.recovery_codes_replaced",
            AuditAction::RecoveryCodeUsed => "member.recovery_code_used",
            AuditAction::TwoFactorFailed => "member.two_factor_failed",
            AuditAction::TwoFactorRequired => "member.two_factor_required",
            AuditAction::TwoFactorNotRequired => "member.two_factor_not_required",
        }
    }

    /// What it says in the log, in the customer's words.
    pub const fn describe(self) -> &'static str {
        match self {
            AuditAction::ApiSecretCreated => "Created an API secret",
            AuditAction::ApiSecretRemoved => "Removed an API secret",
            AuditAction::WebhookSignerChanged => "Chose the API secret used with webhooks",
            AuditAction::ApiSecretExpiryChanged => "Changed when an API secret expires",
            AuditAction::WebhookAdded => "Added a webhook",
            AuditAction::WebhookRemoved => "Removed a webhook",
            AuditAction::InvitationCreated => "Invited someone",
            AuditAction::InvitationRevoked => "Revoked an invitation",
            AuditAction::MemberJoined => "Joined the organization",
            AuditAction::MemberRoleChanged => "Changed a member's role",
            AuditAction::MemberRemoved => "Removed a member",
            AuditAction::MemberSignedIn => "Signed in",
            AuditAction::MemberSignInFailed => "Failed to sign in (wrong password)",
            AuditAction::MemberSignedOut => "Signed out",
            AuditAction::SessionEnded => "Ended one of their sessions",
            AuditAction::TwoFactorEnabled => "Turned on two-factor authentication",
            AuditAction::TwoFactorDisabled => "Turned off two-factor authentication",
            AuditAction::RecoveryCodesReplaced => "Generated new recovery codes",
            AuditAction::RecoveryCodeUsed => "Used a recovery code",
            AuditAction::TwoFactorFailed => "Failed two-factor authentication (wrong code)",
            AuditAction::TwoFactorRequired => "Required two-factor authentication of every member",
            AuditAction::TwoFactorNotRequired => "Stopped requiring two-factor authentication",
        }
    }

    pub fn parse(name: &str) -> Option<AuditAction> {
        AuditAction::ALL
            .into_iter()
            .find(|action| action.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_have_unique_names_and_read_back() {
        let mut names: Vec<_> = AuditAction::ALL.iter().map(|a| a.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), AuditAction::ALL.len());
        for action in AuditAction::ALL {
            assert_eq!(AuditAction::parse(action.name()), Some(action));
        }
    }
}
