//! API secrets' SQL. Every action is one transaction that first locks its environment's row
//! (scoped by organization), so actions on one environment happen one after another: the limit
//! of 3, the single webhook signer and the removal rules cannot be raced. The schema enforces
//! the same invariants on its own (see the migration).

use sqlx::{PgPool, Postgres, Transaction, types::Json};
use uuid::Uuid;

use super::{
    CreatedSecret, MAX_SECRETS, RevealedSecret, Rotation, SecretSummary, SecretsPage, SecretsTab,
    failures, removal_phrase, token,
};
use crate::{
    accounts::db::Member,
    audit::{self, AuditAction, By, Origin, Subject},
    environments::Environment,
    events::Event,
    platform::{
        crypto::{Binding, Keyring, OpenError},
        outbox,
    },
    ui::time::Moment,
};

/// Who acts, from where (recorded in the audit trail).
pub struct Actor {
    pub member: Member,
    pub origin: Origin,
}

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("no such environment or API secret in this organization")]
    NotFound,
    #[error("the environment already has the most API secrets it can have")]
    LimitReached,
    #[error("the API secret signs webhooks")]
    IsSigner,
    #[error("the removal phrase does not match")]
    WrongPhrase,
    #[error("the webhook signer cannot have an expiry date")]
    SignerCannotExpire,
    #[error("the first secret becomes the webhook signer, which cannot have an expiry date")]
    FirstCannotExpire,
    #[error("a secret with an expiry date cannot sign webhooks")]
    ExpiringCannotSign,
    #[error("the secret is already being replaced")]
    AlreadyRotating,
    #[error("a database query failed")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Crypto(#[from] OpenError),
    #[error("the operating system's random source failed: {0}")]
    Random(#[from] rand::rand_core::OsError),
}

/// A secret as `api_secret_summaries` has it (also read as JSON: see [`read`]).
#[derive(Debug, serde::Deserialize)]
struct Row {
    id: Uuid,
    masked: String,
    label: String,
    created_at: chrono::DateTime<chrono::Utc>,
    last_used_at: Option<chrono::DateTime<chrono::Utc>>,
    webhook_signer: bool,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
    daily_requests: Vec<i64>,
    requests_past_hour: i64,
    requests_past_day: i64,
    rotated_at: Option<chrono::DateTime<chrono::Utc>>,
    replaced_by: Option<Uuid>,
    /// No verified request (nor webhook) for 24 hours.
    idle_for_a_day: bool,
}

/// The rows as the portal shows them: a rotating secret names the one replacing it.
fn summaries(rows: Vec<Row>) -> Vec<SecretSummary> {
    let masked_of = |id: Uuid| rows.iter().find(|r| r.id == id).map(|r| r.masked.clone());
    let rotations: Vec<Option<Rotation>> = rows
        .iter()
        .map(|row| {
            let (Some(since), Some(replaced_by)) = (row.rotated_at, row.replaced_by) else {
                return None;
            };
            Some(Rotation {
                replaced_by,
                replaced_by_masked: masked_of(replaced_by)?,
                since: since.into(),
                safe_to_remove: row.idle_for_a_day,
            })
        })
        .collect();
    rows.into_iter()
        .zip(rotations)
        .map(|(row, rotation)| SecretSummary {
            id: row.id,
            masked: row.masked,
            label: row.label,
            created_at: row.created_at.into(),
            last_used_at: row.last_used_at.map(Moment::from),
            webhook_signer: row.webhook_signer,
            expires_at: row.expires_at.map(Moment::from),
            daily_requests: row.daily_requests,
            requests_past_hour: row.requests_past_hour,
            requests_past_day: row.requests_past_day,
            rotation,
        })
        .collect()
}

/// The tab of environment `environment_id`, or `None` if the member's organization has no such
/// environment.
pub async fn tab(
    pool: &PgPool,
    member: &Member,
    environment_id: Uuid,
) -> Result<Option<SecretsTab>, sqlx::Error> {
    Ok(read(pool, member, environment_id, 0)
        .await?
        .map(|(tab, _)| tab))
}

/// The API secrets page of environment `environment_id` (its tab and its latest failed
/// requests), or `None` if the member's organization has no such environment.
pub async fn page(
    pool: &PgPool,
    member: &Member,
    environment_id: Uuid,
) -> Result<Option<SecretsPage>, sqlx::Error> {
    let Some((tab, refused)) = read(
        pool,
        member,
        environment_id,
        crate::platform::failures::KEPT,
    )
    .await?
    else {
        return Ok(None);
    };
    let now = chrono::DateTime::from_timestamp_millis(tab.now_ms).unwrap_or_default();
    let failed = failures::db::requests(refused, now);
    Ok(Some(SecretsPage { tab, failed }))
}

/// The environment (checked to be the member's organization's), its secrets (oldest first) and
/// at most `failed_requests` of its latest failed requests (newest first), in one statement: a
/// page view's one round trip. No transaction: a page is a moment's view (actions lock and
/// re-check).
async fn read(
    pool: &PgPool,
    member: &Member,
    environment_id: Uuid,
    failed_requests: i64,
) -> Result<Option<(SecretsTab, Vec<failures::db::Refused>)>, sqlx::Error> {
    let read = sqlx::query!(
        r#"SELECT e.id, e.name, now() AS "now!: chrono::DateTime<chrono::Utc>",
                  COALESCE((SELECT json_agg(s ORDER BY s.created_at, s.id)
                              FROM api_secret_summaries s WHERE s.environment_id = e.id), '[]')
                    AS "secrets!: Json<Vec<Row>>",
                  COALESCE((SELECT json_agg(f ORDER BY f.id DESC)
                              FROM (SELECT id, at, method, path, host(address) AS address,
                                           user_agent, reason, skew_ms
                                      FROM api_request_failures WHERE environment_id = e.id
                                     ORDER BY id DESC LIMIT $3) f), '[]')
                    AS "failed!: Json<Vec<failures::db::Refused>>"
             FROM environments e WHERE e.id = $1 AND e.organization_id = $2"#,
        environment_id,
        member.organization_id,
        failed_requests,
    )
    .fetch_optional(pool)
    .await?;
    Ok(read.map(|read| {
        let tab = SecretsTab {
            environment: Environment {
                id: read.id,
                name: read.name,
            },
            secrets: summaries(read.secrets.0),
            role: member.role,
            confirmed: member.confirmed,
            now_ms: read.now.timestamp_millis(),
        };
        (tab, read.failed.0)
    }))
}

/// The environment's secrets, oldest first.
async fn list(
    db: impl sqlx::PgExecutor<'_>,
    environment_id: Uuid,
) -> Result<Vec<SecretSummary>, sqlx::Error> {
    // The view's columns are all nullable to sqlx; none is (see the migration).
    let rows = sqlx::query_as!(
        Row,
        r#"SELECT id AS "id!", masked AS "masked!", label AS "label!",
                  created_at AS "created_at!: chrono::DateTime<chrono::Utc>",
                  last_used_at AS "last_used_at: chrono::DateTime<chrono::Utc>",
                  webhook_signer AS "webhook_signer!",
                  expires_at AS "expires_at: chrono::DateTime<chrono::Utc>",
                  daily_requests AS "daily_requests!",
                  requests_past_hour AS "requests_past_hour!",
                  requests_past_day AS "requests_past_day!",
                  rotated_at AS "rotated_at: chrono::DateTime<chrono::Utc>",
                  replaced_by, idle_for_a_day AS "idle_for_a_day!"
             FROM api_secret_summaries WHERE environment_id = $1
            ORDER BY created_at, id"#,
        environment_id,
    )
    .fetch_all(db)
    .await?;
    Ok(summaries(rows))
}

/// Ends an action: the environment's secrets as the action left them, then commit.
async fn commit_with_list(
    mut tx: Transaction<'_, Postgres>,
    environment_id: Uuid,
) -> Result<Vec<SecretSummary>, ActionError> {
    let secrets = list(&mut *tx, environment_id).await?;
    tx.commit().await?;
    Ok(secrets)
}

/// Locks the environment's row for the rest of the transaction; its current signer.
async fn lock_environment(
    tx: &mut Transaction<'_, Postgres>,
    organization_id: Uuid,
    environment_id: Uuid,
) -> Result<Option<Uuid>, ActionError> {
    sqlx::query_scalar!(
        "SELECT webhook_signer_id FROM environments
          WHERE id = $1 AND organization_id = $2 FOR UPDATE",
        environment_id,
        organization_id
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(ActionError::NotFound)
}

/// What a new secret is given (checked: see [`super::parse_label`], [`super::parse_expiry`]).
pub struct NewSecret<'a> {
    pub label: &'a str,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Its value is shown on a later page, once, to the creating session (a plain form's post
    /// redirects there: see [`take_reveal`]), rather than only in the answer.
    pub shown_later: bool,
}

/// How long the page after a plain form's post can still show the new value.
const REVEAL_MINUTES: i32 = 10;

/// Creates a secret (the environment's webhook signer if it is the first, which cannot expire)
/// and returns it with its value: the only time the value leaves the server.
pub async fn create(
    pool: &PgPool,
    keyring: &Keyring,
    actor: &Actor,
    environment_id: Uuid,
    new: &NewSecret<'_>,
) -> Result<CreatedSecret, ActionError> {
    let mut tx = pool.begin().await?;
    let signer = lock_environment(&mut tx, actor.member.organization_id, environment_id).await?;
    let (secret, value) = insert(&mut tx, keyring, actor, environment_id, signer, new).await?;
    if new.shown_later {
        keep_for_reveal(&mut tx, actor, secret.id).await?;
    }
    let secrets = commit_with_list(tx, environment_id).await?;
    Ok(CreatedSecret {
        secret,
        secrets,
        value: value.as_str().to_owned(),
    })
}

/// Lets the page after a plain form's post show `secret_id`'s value, once, to the actor's session.
async fn keep_for_reveal(
    tx: &mut Transaction<'_, Postgres>,
    actor: &Actor,
    secret_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO api_secret_reveals (secret_id, session_id, expires_at)
         VALUES ($1, $2, now() + make_interval(mins => $3))",
        secret_id,
        actor.member.session_id,
        REVEAL_MINUTES
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Inserts a secret in the action's transaction (the environment locked, `signer` its signer):
/// the new secret and its value.
async fn insert(
    tx: &mut Transaction<'_, Postgres>,
    keyring: &Keyring,
    actor: &Actor,
    environment_id: Uuid,
    signer: Option<Uuid>,
    new: &NewSecret<'_>,
) -> Result<(SecretSummary, zeroize::Zeroizing<String>), ActionError> {
    let NewSecret {
        label, expires_at, ..
    } = *new;
    if signer.is_none() && expires_at.is_some() {
        return Err(ActionError::FirstCannotExpire);
    }
    let used: Vec<i16> = sqlx::query_scalar!(
        "SELECT slot FROM api_secrets WHERE environment_id = $1",
        environment_id
    )
    .fetch_all(&mut **tx)
    .await?;
    let Some(slot) = (1..=MAX_SECRETS as i16).find(|slot| !used.contains(slot)) else {
        return Err(ActionError::LimitReached);
    };

    let id = Uuid::new_v4();
    let value = token::generate()?;
    let masked = token::mask(&value);
    let sealed = keyring.seal(Binding::ApiSecret { id, environment_id }, value.as_bytes())?;
    let row = sqlx::query_as!(
        Row,
        r#"INSERT INTO api_secrets (id, environment_id, slot, label, masked, key_id, nonce, ciphertext,
                                   expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $10)
           RETURNING id, masked, label,
                     created_at AS "created_at: chrono::DateTime<chrono::Utc>",
                     last_used_at AS "last_used_at: chrono::DateTime<chrono::Utc>",
                     $9::bool AS "webhook_signer!",
                     expires_at AS "expires_at: chrono::DateTime<chrono::Utc>",
                     ARRAY(SELECT 0::int8 FROM generate_series(1, $11::int4)) AS "daily_requests!",
                     0::int8 AS "requests_past_hour!", 0::int8 AS "requests_past_day!",
                     NULL::timestamptz AS "rotated_at: chrono::DateTime<chrono::Utc>",
                     NULL::uuid AS replaced_by, true AS "idle_for_a_day!""#,
        id,
        environment_id,
        slot,
        label,
        masked,
        sealed.key_id,
        sealed.nonce,
        sealed.ciphertext,
        signer.is_none(),
        // chrono's, not time's (sqlx's default for timestamptz parameters).
        expires_at as _,
        super::usage::DAYS as i32,
    )
    .fetch_one(&mut **tx)
    .await?;
    if signer.is_none() {
        set_signer(tx, environment_id, id).await?;
    }
    outbox::enqueue(
        &mut *tx,
        environment_id,
        Event::ApiSecretCreated,
        serde_json::json!({ "id": id, "masked": masked, "label": label, "expires_at": expires_at }),
    )
    .await?;
    audit(
        tx,
        actor,
        environment_id,
        AuditAction::ApiSecretCreated,
        id,
        &masked,
    )
    .await?;
    let secret = summaries(vec![row]).remove(0);
    Ok((secret, value))
}

/// Makes `secret_id` the environment's webhook signer (nothing changes if it already is);
/// the environment's secrets afterwards.
pub async fn use_with_webhooks(
    pool: &PgPool,
    actor: &Actor,
    environment_id: Uuid,
    secret_id: Uuid,
) -> Result<Vec<SecretSummary>, ActionError> {
    let mut tx = pool.begin().await?;
    let signer = lock_environment(&mut tx, actor.member.organization_id, environment_id).await?;
    switch_signer(&mut tx, actor, environment_id, signer, secret_id).await?;
    commit_with_list(tx, environment_id).await
}

/// Makes `secret_id` the signer in the action's transaction (`signer`: the current one).
async fn switch_signer(
    tx: &mut Transaction<'_, Postgres>,
    actor: &Actor,
    environment_id: Uuid,
    signer: Option<Uuid>,
    secret_id: Uuid,
) -> Result<(), ActionError> {
    let Found {
        masked, expires_at, ..
    } = find(tx, environment_id, secret_id).await?;
    if signer != Some(secret_id) {
        if expires_at.is_some() {
            return Err(ActionError::ExpiringCannotSign);
        }
        set_signer(tx, environment_id, secret_id).await?;
        let previous = match signer {
            Some(previous) => Some((previous, find(tx, environment_id, previous).await?.masked)),
            None => None,
        };
        outbox::enqueue(
            tx,
            environment_id,
            Event::WebhookSignerChanged,
            serde_json::json!({
                "id": secret_id,
                "masked": masked,
                "previous": previous.map(|(id, masked)| serde_json::json!({ "id": id, "masked": masked })),
            }),
        )
        .await?;
        audit(
            tx,
            actor,
            environment_id,
            AuditAction::WebhookSignerChanged,
            secret_id,
            &masked,
        )
        .await?;
    }
    Ok(())
}

/// Sets (or clears) when a secret expires, and which expiry notices are due again; refused for
/// the webhook signer. The environment's secrets afterwards.
pub async fn set_expiry(
    pool: &PgPool,
    actor: &Actor,
    environment_id: Uuid,
    secret_id: Uuid,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Vec<SecretSummary>, ActionError> {
    let mut tx = pool.begin().await?;
    let signer = lock_environment(&mut tx, actor.member.organization_id, environment_id).await?;
    change_expiry(
        &mut tx,
        actor,
        environment_id,
        signer,
        secret_id,
        expires_at,
    )
    .await?;
    commit_with_list(tx, environment_id).await
}

/// Sets a secret's expiry in the action's transaction (`signer`: the environment's).
async fn change_expiry(
    tx: &mut Transaction<'_, Postgres>,
    actor: &Actor,
    environment_id: Uuid,
    signer: Option<Uuid>,
    secret_id: Uuid,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<(), ActionError> {
    let found = find(tx, environment_id, secret_id).await?;
    if signer == Some(secret_id) && expires_at.is_some() {
        return Err(ActionError::SignerCannotExpire);
    }
    if found.expires_at != expires_at {
        sqlx::query!(
            "UPDATE api_secrets SET expires_at = $2, expiry_notices = 0 WHERE id = $1",
            secret_id,
            expires_at as _
        )
        .execute(&mut **tx)
        .await?;
        audit(
            tx,
            actor,
            environment_id,
            AuditAction::ApiSecretExpiryChanged,
            secret_id,
            &found.masked,
        )
        .await?;
    }
    Ok(())
}

/// "Rotate": a new secret (with the old one's label) takes over from `secret_id`, and its webhook
/// signing if it had it; the old one is marked as rotating (and expires at `retire_at`, if
/// given). One transaction; the new secret and its value.
pub async fn rotate(
    pool: &PgPool,
    keyring: &Keyring,
    actor: &Actor,
    environment_id: Uuid,
    secret_id: Uuid,
    retire_at: Option<chrono::DateTime<chrono::Utc>>,
    // As [`NewSecret::shown_later`].
    shown_later: bool,
) -> Result<CreatedSecret, ActionError> {
    let mut tx = pool.begin().await?;
    let signer = lock_environment(&mut tx, actor.member.organization_id, environment_id).await?;
    let old = find(&mut tx, environment_id, secret_id).await?;
    if old.replaced_by.is_some() {
        return Err(ActionError::AlreadyRotating);
    }
    let new = NewSecret {
        label: &old.label,
        expires_at: None,
        shown_later,
    };
    let (secret, value) = insert(&mut tx, keyring, actor, environment_id, signer, &new).await?;
    if shown_later {
        keep_for_reveal(&mut tx, actor, secret.id).await?;
    }
    if signer == Some(secret_id) {
        switch_signer(&mut tx, actor, environment_id, signer, secret.id).await?;
    }
    sqlx::query!(
        "UPDATE api_secrets SET rotated_at = now(), replaced_by = $2 WHERE id = $1",
        secret_id,
        secret.id
    )
    .execute(&mut *tx)
    .await?;
    if retire_at.is_some() {
        let signer = if signer == Some(secret_id) {
            Some(secret.id)
        } else {
            signer
        };
        change_expiry(&mut tx, actor, environment_id, signer, secret_id, retire_at).await?;
    }
    let secrets = commit_with_list(tx, environment_id).await?;
    // As the rotation left it (the signer, if it took over).
    let secret = secrets
        .iter()
        .find(|s| s.id == secret.id)
        .cloned()
        .unwrap_or(secret);
    Ok(CreatedSecret {
        secret,
        secrets,
        value: value.as_str().to_owned(),
    })
}

/// Deletes a secret, row and ciphertext, for good. Refused for the webhook signer, and unless
/// `phrase` is exactly the secret's removal phrase. The environment's secrets afterwards.
pub async fn remove(
    pool: &PgPool,
    actor: &Actor,
    environment_id: Uuid,
    secret_id: Uuid,
    phrase: &str,
) -> Result<Vec<SecretSummary>, ActionError> {
    let mut tx = pool.begin().await?;
    let signer = lock_environment(&mut tx, actor.member.organization_id, environment_id).await?;
    let masked = find(&mut tx, environment_id, secret_id).await?.masked;
    if signer == Some(secret_id) {
        return Err(ActionError::IsSigner);
    }
    if phrase != removal_phrase(&masked) {
        return Err(ActionError::WrongPhrase);
    }
    sqlx::query!(
        "DELETE FROM api_secrets WHERE id = $1 AND environment_id = $2",
        secret_id,
        environment_id
    )
    .execute(&mut *tx)
    .await?;
    outbox::enqueue(
        &mut tx,
        environment_id,
        Event::ApiSecretRemoved,
        serde_json::json!({ "id": secret_id, "masked": masked }),
    )
    .await?;
    audit(
        &mut tx,
        actor,
        environment_id,
        AuditAction::ApiSecretRemoved,
        secret_id,
        &masked,
    )
    .await?;
    commit_with_list(tx, environment_id).await
}

/// A secret's value, decrypted (for the server's own use: verifying, signing, tests).
pub async fn reveal(
    pool: &PgPool,
    keyring: &Keyring,
    environment_id: Uuid,
    secret_id: Uuid,
) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, ActionError> {
    let sealed = sqlx::query!(
        "SELECT key_id, nonce, ciphertext FROM api_secrets WHERE id = $1 AND environment_id = $2",
        secret_id,
        environment_id
    )
    .fetch_optional(pool)
    .await?;
    let Some(sealed) = sealed else {
        return Ok(None);
    };
    let value = open_value(
        keyring,
        environment_id,
        secret_id,
        &sealed.key_id,
        &sealed.nonce,
        &sealed.ciphertext,
    )?;
    Ok(Some(value))
}

/// Opens a secret's sealed value (bound to its id and environment).
fn open_value(
    keyring: &Keyring,
    environment_id: Uuid,
    secret_id: Uuid,
    key_id: &str,
    nonce: &[u8],
    ciphertext: &[u8],
) -> Result<zeroize::Zeroizing<Vec<u8>>, OpenError> {
    let binding = Binding::ApiSecret {
        id: secret_id,
        environment_id,
    };
    keyring.open(binding, key_id, nonce, ciphertext)
}

/// The value of a secret that `member`'s session created by a plain form post, once: taking it
/// deletes the reveal in the same statement, so two requests racing for it cannot both have it.
/// `None` when there is none to take (taken already, past its minutes, another session's).
pub async fn take_reveal(
    pool: &PgPool,
    keyring: &Keyring,
    member: &Member,
    environment_id: Uuid,
    secret_id: Uuid,
) -> Result<Option<RevealedSecret>, ActionError> {
    let taken = sqlx::query!(
        "DELETE FROM api_secret_reveals r
          USING api_secrets s, environments e
          WHERE r.secret_id = $1 AND r.session_id = $2 AND r.expires_at > now()
            AND s.id = r.secret_id AND s.environment_id = $3
            AND e.id = s.environment_id AND e.organization_id = $4
      RETURNING s.masked, s.label, s.key_id, s.nonce, s.ciphertext",
        secret_id,
        member.session_id,
        environment_id,
        member.organization_id
    )
    .fetch_optional(pool)
    .await?;
    let Some(taken) = taken else {
        return Ok(None);
    };
    let value = open_value(
        keyring,
        environment_id,
        secret_id,
        &taken.key_id,
        &taken.nonce,
        &taken.ciphertext,
    )?;
    Ok(Some(RevealedSecret {
        masked: taken.masked,
        label: taken.label,
        value: String::from_utf8_lossy(&value).into_owned(),
    }))
}

/// Deletes reveals nobody took in time (the janitor's).
pub async fn prune_reveals(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM api_secret_reveals WHERE expires_at <= now()")
        .execute(pool)
        .await?;
    Ok(())
}

/// A secret of the environment: its masked form, label, expiry and replacement.
struct Found {
    masked: String,
    label: String,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
    replaced_by: Option<Uuid>,
}

async fn find(
    tx: &mut Transaction<'_, Postgres>,
    environment_id: Uuid,
    secret_id: Uuid,
) -> Result<Found, ActionError> {
    sqlx::query_as!(
        Found,
        r#"SELECT masked, label, expires_at AS "expires_at: chrono::DateTime<chrono::Utc>",
                  replaced_by
             FROM api_secrets WHERE id = $1 AND environment_id = $2"#,
        secret_id,
        environment_id
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(ActionError::NotFound)
}

async fn set_signer(
    tx: &mut Transaction<'_, Postgres>,
    environment_id: Uuid,
    secret_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE environments
            SET previous_webhook_signer_id = webhook_signer_id,
                webhook_signer_changed_at = now(),
                webhook_signer_id = $2
          WHERE id = $1",
        environment_id,
        secret_id
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Appends to the audit trail, in the action's transaction.
async fn audit(
    tx: &mut Transaction<'_, Postgres>,
    actor: &Actor,
    environment_id: Uuid,
    action: AuditAction,
    secret_id: Uuid,
    masked: &str,
) -> Result<(), sqlx::Error> {
    audit::record(
        tx,
        actor.member.organization_id,
        Some(environment_id),
        By::Member(actor.member.person()),
        &actor.origin,
        action,
        Subject::Secret {
            id: secret_id,
            masked,
        },
    )
    .await
}
