//! Two-factor authentication's SQL: the sealed seed, the newest accepted step, recovery codes,
//! and the organizations' requirement.

use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::platform::crypto::Sealed;

/// A person's seed as stored, and where their set-up stands.
pub struct StoredSeed {
    pub key_id: String,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
    /// `false`: set up but not yet confirmed with a code.
    pub enabled: bool,
    pub last_step: i64,
}

/// The person's seed, locked until the caller's transaction ends: their code checks (and what
/// each lets through) happen one at a time.
pub async fn seed(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
) -> Result<Option<StoredSeed>, sqlx::Error> {
    sqlx::query_as!(
        StoredSeed,
        r#"SELECT key_id, nonce, ciphertext, enabled_at IS NOT NULL AS "enabled!", last_step
             FROM two_factor WHERE user_id = $1 FOR UPDATE"#,
        user_id
    )
    .fetch_optional(db)
    .await
}

/// Starts (or starts over) a set-up with a new seed; `false` when two-factor authentication is
/// on already (its seed is never replaced this way).
pub async fn begin_setup(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    sealed: &Sealed,
) -> Result<bool, sqlx::Error> {
    let started = sqlx::query!(
        "INSERT INTO two_factor (user_id, key_id, nonce, ciphertext) VALUES ($1, $2, $3, $4)
         ON CONFLICT (user_id) DO UPDATE
            SET key_id = EXCLUDED.key_id, nonce = EXCLUDED.nonce,
                ciphertext = EXCLUDED.ciphertext, created_at = now(), last_step = 0
          WHERE two_factor.enabled_at IS NULL",
        user_id,
        sealed.key_id,
        sealed.nonce,
        sealed.ciphertext
    )
    .execute(db)
    .await?;
    Ok(started.rows_affected() == 1)
}

/// Replaces the sealed seed with the same seed sealed under the current master key.
pub async fn reseal(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    sealed: &Sealed,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE two_factor SET key_id = $2, nonce = $3, ciphertext = $4 WHERE user_id = $1",
        user_id,
        sealed.key_id,
        sealed.nonce,
        sealed.ciphertext
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Accepts a code of time step `step` if it is later than every one accepted before (so a code
/// works once, even when two requests race with it), turning two-factor authentication on when
/// this confirms its set-up. Whether it was accepted.
pub async fn accept_step(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    step: i64,
    enabling: bool,
) -> Result<bool, sqlx::Error> {
    let accepted = sqlx::query!(
        "UPDATE two_factor SET last_step = $2, enabled_at = coalesce(enabled_at, now())
          WHERE user_id = $1 AND last_step < $2 AND (enabled_at IS NULL) = $3",
        user_id,
        step,
        enabling
    )
    .execute(db)
    .await?;
    Ok(accepted.rows_affected() == 1)
}

/// Uses up one of the person's recovery codes; whether it was theirs and unused.
pub async fn use_recovery_code(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    hash: &[u8; 32],
) -> Result<bool, sqlx::Error> {
    let used = sqlx::query!(
        "UPDATE recovery_codes SET used_at = now()
          WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL
            AND EXISTS (SELECT 1 FROM two_factor WHERE user_id = $1 AND enabled_at IS NOT NULL)",
        user_id,
        hash.as_slice()
    )
    .execute(db)
    .await?;
    Ok(used.rows_affected() == 1)
}

/// Replaces all of the person's recovery codes with these (their hashes).
pub async fn replace_recovery_codes(
    tx: &mut PgConnection,
    user_id: Uuid,
    hashes: &[[u8; 32]],
) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM recovery_codes WHERE user_id = $1", user_id)
        .execute(&mut *tx)
        .await?;
    let hashes: Vec<Vec<u8>> = hashes.iter().map(|hash| hash.to_vec()).collect();
    sqlx::query!(
        "INSERT INTO recovery_codes (user_id, code_hash) SELECT $1, unnest($2::bytea[])",
        user_id,
        &hashes
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Turns two-factor authentication off: the seed and the recovery codes go. Whether it was on.
pub async fn disable(tx: &mut PgConnection, user_id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query!("DELETE FROM recovery_codes WHERE user_id = $1", user_id)
        .execute(&mut *tx)
        .await?;
    let disabled = sqlx::query!(
        "DELETE FROM two_factor WHERE user_id = $1 AND enabled_at IS NOT NULL",
        user_id
    )
    .execute(&mut *tx)
    .await?;
    Ok(disabled.rows_affected() == 1)
}

/// Where a person's two-factor authentication stands, as their Security page shows it.
pub struct Status {
    pub enabled_at: Option<chrono::DateTime<chrono::Utc>>,
    pub pending: bool,
    pub recovery_codes_left: i64,
    /// The organizations they belong to that require it.
    pub required_by: Vec<String>,
}

pub async fn status(db: impl PgExecutor<'_>, user_id: Uuid) -> Result<Status, sqlx::Error> {
    sqlx::query_as!(
        Status,
        r#"SELECT (SELECT enabled_at FROM two_factor WHERE user_id = $1)
                      AS "enabled_at: chrono::DateTime<chrono::Utc>",
                  EXISTS (SELECT 1 FROM two_factor WHERE user_id = $1 AND enabled_at IS NULL)
                      AS "pending!",
                  (SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL)
                      AS "recovery_codes_left!",
                  ARRAY(SELECT o.name FROM memberships m
                          JOIN organizations o ON o.id = m.organization_id
                         WHERE m.user_id = $1 AND o.require_two_factor ORDER BY o.name)
                      AS "required_by!""#,
        user_id
    )
    .fetch_one(db)
    .await
}

/// The organizations a person belongs to that require two-factor authentication, read under a
/// share lock on each of their organizations until `tx` ends: an owner's change to the rule
/// waits for it (and one that committed first is seen), so turning it off cannot slip between.
pub async fn required_by_locked(
    tx: &mut PgConnection,
    user_id: Uuid,
) -> Result<Vec<String>, sqlx::Error> {
    // Every organization of theirs is locked, not only those that require it now: a row that
    // does not match is not locked, and could start requiring it meanwhile.
    let organizations = sqlx::query!(
        "SELECT o.name, o.require_two_factor FROM memberships m
           JOIN organizations o ON o.id = m.organization_id
          WHERE m.user_id = $1 ORDER BY o.name FOR SHARE OF o",
        user_id
    )
    .fetch_all(&mut *tx)
    .await?;
    Ok(organizations
        .into_iter()
        .filter(|o| o.require_two_factor)
        .map(|o| o.name)
        .collect())
}

/// Whether the organization requires two-factor authentication of its members.
pub async fn set_required(
    db: impl PgExecutor<'_>,
    organization_id: Uuid,
    required: bool,
) -> Result<bool, sqlx::Error> {
    let changed = sqlx::query!(
        "UPDATE organizations SET require_two_factor = $2
          WHERE id = $1 AND require_two_factor <> $2",
        organization_id,
        required
    )
    .execute(db)
    .await?;
    Ok(changed.rows_affected() == 1)
}
