//! Two-factor authentication (TOTP, RFC 6238). A person turns it on from their Security page:
//! a QR code (drawn on the server as SVG) and the same key to type by hand, confirmed with a
//! code, then 10 one-time recovery codes shown once (only their hashes are kept). Signing in
//! then asks for a code (or a recovery code) after the password; step-up takes a code in place
//! of the password. Seeds are sealed with the API secrets' master keys; each code works once;
//! wrong codes count against the sign-in throttle. An owner can require it of everyone in the
//! organization: members without it are sent to set it up before anything else.
//!
//! The pages are plain forms (they work without JavaScript); the set-up's key and the recovery
//! codes are in the one response that shows them, never in the page's data.

#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod handlers;
#[cfg(feature = "ssr")]
pub mod totp;
#[cfg(feature = "ssr")]
pub mod verify;
pub mod views;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::{
    roles::Action,
    session::{require, require_member},
};
#[cfg(feature = "ssr")]
use crate::{
    audit::{self, AuditAction, By, Origin, Subject},
    platform::{now_ms, state::app_state},
};
use crate::{error::AppError, ui::time::Moment};

/// Authentication codes' length.
pub const CODE_DIGITS: usize = 6;

/// Whether `input` has the form of an authentication code: six digits, spaces ignored.
/// Passwords are at least 12 characters, so a field can take either.
pub fn is_code(input: &str) -> bool {
    let mut digits = 0;
    for c in input.chars().filter(|c| !c.is_whitespace()) {
        if !c.is_ascii_digit() {
            return false;
        }
        digits += 1;
    }
    digits == CODE_DIGITS
}

/// Where the signed-in person's two-factor authentication stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityView {
    /// On since then; `None`: off.
    pub enabled_since: Option<Moment>,
    /// Set up, waiting for its first code.
    pub pending: bool,
    pub recovery_codes_left: i64,
    /// Their organizations that require it (it cannot be turned off while there are any).
    pub required_by: Vec<String>,
    /// Whether this session confirmed it is them lately (changes need it).
    pub confirmed: bool,
    pub now_ms: i64,
}

#[server(prefix = "/rpc", endpoint = "security_status")]
pub async fn security_status() -> Result<SecurityView, AppError> {
    let member = require_member()?;
    let state = app_state()?;
    let status = db::status(&state.pool, member.user_id).await?;
    Ok(SecurityView {
        enabled_since: status.enabled_at.map(Moment::from),
        pending: status.pending,
        recovery_codes_left: status.recovery_codes_left,
        required_by: status.required_by,
        confirmed: member.confirmed,
        now_ms: now_ms(),
    })
}

/// Requires two-factor authentication of every member of the organization (members without it
/// are sent to set it up on their next request), or stops requiring it. Owners only.
#[server(prefix = "/rpc", endpoint = "require_two_factor")]
pub async fn require_two_factor(required: bool) -> Result<(), AppError> {
    let member = require(Action::RequireTwoFactor)?;
    let state = app_state()?;
    let mut tx = state.pool.begin().await?;
    if db::set_required(&mut *tx, member.organization_id, required).await? {
        let action = if required {
            AuditAction::TwoFactorRequired
        } else {
            AuditAction::TwoFactorNotRequired
        };
        let subject = Subject::Member {
            email: &member.email,
            role: member.role.name(),
            previous_role: None,
        };
        let by = By::Member(member.person());
        let (organization, origin) = (member.organization_id, Origin::of_server_fn());
        audit::record(&mut tx, organization, None, by, &origin, action, subject).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// What one response of the Security page reveals, from the handler that renders it: never
/// page data, never shown again.
#[derive(Debug, Clone, Default)]
pub struct Revealed {
    /// A new set-up: the QR code (SVG) and the key to type by hand.
    pub setup: Option<(String, String)>,
    /// New recovery codes.
    pub recovery_codes: Vec<String>,
    /// What went wrong with the form just posted.
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_and_passwords_never_are() {
        assert!(is_code("123456"));
        assert!(is_code(" 123 456 "));
        for not in [
            "12345",
            "1234567",
            "12345a",
            "",
            "correct horse battery staple",
        ] {
            assert!(!is_code(not), "{not:?}");
        }
        assert!(!is_code(&"1".repeat(super::super::PASSWORD_MIN_CHARS)));
    }
}
