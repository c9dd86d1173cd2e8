//! Checking a typed code: under the sign-in throttle (a wrong code counts as a failed sign-in
//! for the account and the address), each TOTP code once, each recovery code once. An accepted
//! code hands its caller the transaction it was accepted in (the person's two-factor row locked):
//! what the code lets through commits with its acceptance, or neither does. The throttle's count
//! is taken before that transaction begins, so no request ever waits for a second connection
//! while holding one.

use sqlx::{PgConnection, Postgres, Transaction};
use uuid::Uuid;

use super::{
    db, is_code,
    totp::{Seed, is_fresh, recovery_code_hash},
};
use crate::{
    accounts::{
        Email,
        throttle::{self, Reservation, RetryAfter},
    },
    audit::{self, AuditAction, Origin},
    error::{AppError, internal_error},
    platform::{crypto::Binding, state::AppState},
};

/// What the code is typed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Confirming a new set-up: a code of the seed not yet enabled.
    Enable,
    /// The second step of signing in, or a change to two-factor authentication itself (new
    /// recovery codes, turning it off): a code, or a recovery code.
    SignIn,
    /// Confirming it is them before a dangerous action (step-up): a code.
    StepUp,
}

pub enum Proof {
    /// Accepted, in this transaction: the caller does what the code lets through, and commits.
    Accepted(Transaction<'static, Postgres>),
    /// Wrong (the failure is counted and in the trail).
    Wrong,
    /// Too many recent failures for this account or address: not even checked.
    Throttled(RetryAfter),
}

/// Checks `typed` for the person `user_id` (`email`, theirs, is what the throttle counts).
pub async fn check(
    state: &AppState,
    user_id: Uuid,
    email: &Email,
    typed: &str,
    origin: &Origin,
    purpose: Purpose,
) -> Result<Proof, AppError> {
    let reservation = throttle::reserve(&state.pool, email, origin.address()).await?;
    if let Reservation::Throttled(wait) = reservation {
        return Ok(Proof::Throttled(wait));
    }
    let mut tx = state.pool.begin().await?;
    let accepted = if is_code(typed) {
        let digits: String = typed.chars().filter(char::is_ascii_digit).collect();
        let enabling = purpose == Purpose::Enable;
        totp_accepted(state, &mut tx, user_id, &digits, enabling).await?
    } else if purpose == Purpose::SignIn
        && let Some(hash) = recovery_code_hash(typed)
    {
        let used = db::use_recovery_code(&mut *tx, user_id, &hash).await?;
        if used {
            let action = AuditAction::RecoveryCodeUsed;
            audit::record_for_each_organization(&mut *tx, user_id, origin, action).await?;
        }
        used
    } else {
        false
    };
    if accepted {
        throttle::clear_account(&mut *tx, email).await?;
        Ok(Proof::Accepted(tx))
    } else {
        let action = AuditAction::TwoFactorFailed;
        audit::record_for_each_organization(&mut *tx, user_id, origin, action).await?;
        tx.commit().await?;
        Ok(Proof::Wrong)
    }
}

/// Whether `code` is the person's for a time step later than any accepted before; accepting
/// it makes it the newest (so it never works again).
async fn totp_accepted(
    state: &AppState,
    tx: &mut PgConnection,
    user_id: Uuid,
    code: &str,
    enabling: bool,
) -> Result<bool, AppError> {
    let Some(stored) = db::seed(&mut *tx, user_id).await? else {
        return Ok(false);
    };
    if stored.enabled == enabling {
        return Ok(false);
    }
    let seed = state
        .keyring
        .open(
            Binding::TwoFactorSeed { user_id },
            &stored.key_id,
            &stored.nonce,
            &stored.ciphertext,
        )
        .map(Seed::from_bytes)
        .map_err(|e| internal_error("opening a two-factor seed", &e))?;
    // Sealed with an older master key: sealed again with the current one, so that the old key
    // can be retired (docs/operations.md, "Master keys").
    if stored.key_id != state.keyring.current_key_id() {
        let binding = Binding::TwoFactorSeed { user_id };
        let sealed = (state.keyring.seal(binding, seed.as_bytes()))
            .map_err(|e| internal_error("sealing a two-factor seed", &e))?;
        db::reseal(&mut *tx, user_id, &sealed).await?;
    }
    let now = chrono::Utc::now().timestamp().max(0).unsigned_abs();
    match seed.matching_step(code, now) {
        Some(step) if is_fresh(step, stored.last_step) => {
            Ok(db::accept_step(&mut *tx, user_id, step, enabling).await?)
        }
        _ => Ok(false),
    }
}
