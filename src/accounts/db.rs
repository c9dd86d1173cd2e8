//! Accounts' SQL. Functions take an executor or a transaction so callers compose them into one
//! transaction per action.

use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::{Email, roles::Role, session::SignedInAs};
use crate::{
    audit::{self, AuditAction, Origin, Person},
    platform::interval,
};

/// The first environment of every new organization.
pub const FIRST_ENVIRONMENT: &str = "Production";

#[derive(Debug)]
pub enum SignUpError {
    EmailTaken,
    Db(sqlx::Error),
}

pub struct NewAccount {
    pub user_id: Uuid,
    pub organization_id: Uuid,
    pub environment_id: Uuid,
}

/// Creates the user, their organization (they own it) and its "Production" environment, in the
/// caller's transaction.
pub async fn create_account(
    tx: &mut PgConnection,
    email: &Email,
    password_hash: &str,
    organization_name: &str,
) -> Result<NewAccount, SignUpError> {
    let user_id = create_user(&mut *tx, email, password_hash).await?;
    let organization_id = sqlx::query_scalar!(
        "INSERT INTO organizations (name) VALUES ($1) RETURNING id",
        organization_name
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(SignUpError::Db)?;
    sqlx::query!(
        "INSERT INTO memberships (organization_id, user_id, role) VALUES ($1, $2, 'owner')",
        organization_id,
        user_id
    )
    .execute(&mut *tx)
    .await
    .map_err(SignUpError::Db)?;
    let environment_id = sqlx::query_scalar!(
        "INSERT INTO environments (organization_id, name) VALUES ($1, $2) RETURNING id",
        organization_id,
        FIRST_ENVIRONMENT
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(SignUpError::Db)?;
    Ok(NewAccount {
        user_id,
        organization_id,
        environment_id,
    })
}

/// Creates a user who belongs to no organization yet (an invitation adds the membership).
pub async fn create_user(
    tx: &mut PgConnection,
    email: &Email,
    password_hash: &str,
) -> Result<Uuid, SignUpError> {
    sqlx::query_scalar!(
        "INSERT INTO users (email, password_hash, last_sign_in_at) VALUES ($1, $2, now())
         RETURNING id",
        email.as_str(),
        password_hash
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(d) if d.constraint() == Some("users_email_key") => {
            SignUpError::EmailTaken
        }
        _ => SignUpError::Db(e),
    })
}

/// Notes a successful sign-in (the Members tab shows when each person last signed in; each of
/// their organizations' trails records it) and says which organization the session acts for:
/// the person's first (`None`: they belong to none any more).
pub async fn record_sign_in(
    tx: &mut PgConnection,
    user_id: Uuid,
    origin: &Origin,
) -> Result<Option<Uuid>, sqlx::Error> {
    let signed_in = AuditAction::MemberSignedIn;
    audit::record_for_each_organization(&mut *tx, user_id, origin, signed_in).await?;
    let first = sqlx::query_scalar!(
        "UPDATE users SET last_sign_in_at = now() WHERE id = $1
         RETURNING (SELECT organization_id FROM memberships WHERE user_id = $1
                     ORDER BY created_at LIMIT 1)",
        user_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    Ok(first.flatten())
}

pub struct Credentials {
    pub user_id: Uuid,
    pub password_hash: String,
    /// Signing in also needs a code.
    pub two_factor: bool,
}

pub async fn credentials(
    db: impl PgExecutor<'_>,
    email: &Email,
) -> Result<Option<Credentials>, sqlx::Error> {
    sqlx::query_as!(
        Credentials,
        r#"SELECT u.id AS user_id, u.password_hash,
                  EXISTS (SELECT 1 FROM two_factor t
                           WHERE t.user_id = u.id AND t.enabled_at IS NOT NULL) AS "two_factor!"
             FROM users u WHERE u.email = $1"#,
        email.as_str()
    )
    .fetch_optional(db)
    .await
}

/// Who a signed-in user is, the organization they act for, and their session.
#[derive(Debug, Clone)]
pub struct Member {
    pub user_id: Uuid,
    pub email: String,
    pub organization_id: Uuid,
    pub organization_name: String,
    pub role: Role,
    /// Their session's row on the Sessions page.
    pub session_id: Uuid,
    /// Whether the session's person proved it is them (signing in, confirming their password)
    /// within the last [`STEP_UP_MINUTES`](super::step_up::STEP_UP_MINUTES): dangerous actions
    /// need it.
    pub confirmed: bool,
    /// Until when that confirmation holds (when `confirmed`).
    pub confirmed_until: Option<chrono::DateTime<chrono::Utc>>,
    /// Whether they turned two-factor authentication on.
    pub two_factor: bool,
    /// Whether the organization requires it of its members.
    pub two_factor_required: bool,
}

impl Member {
    /// Whether the organization requires two-factor authentication and they have not set it up:
    /// nothing but that (and signing out) until they do.
    pub fn must_set_up_two_factor(&self) -> bool {
        self.two_factor_required && !self.two_factor
    }

    /// The member as the audit trail names whoever acts.
    pub fn person(&self) -> Person<'_> {
        Person {
            user_id: self.user_id,
            email: &self.email,
            organization_id: self.organization_id,
        }
    }
}

/// The signed-in member: the user of a session that still exists (not ended from the Sessions
/// page), as a member of the organization it acts for (their first when it names none). `None`
/// when either is gone, or when the session was not used for [`IDLE_TIMEOUT`]. Notes the session
/// as seen, at most once a minute, in the same statement.
///
/// [`IDLE_TIMEOUT`]: super::session::IDLE_TIMEOUT
pub async fn member(
    db: impl PgExecutor<'_>,
    who: SignedInAs,
) -> Result<Option<Member>, sqlx::Error> {
    let Some(handle) = who.handle else {
        return Ok(None);
    };
    sqlx::query_as!(
        Member,
        r#"WITH seen AS (
               UPDATE user_sessions SET last_seen_at = now()
                WHERE id = $3 AND user_id = $1 AND last_seen_at < now() - interval '1 minute')
           SELECT u.id AS user_id, u.email, o.id AS organization_id,
                  o.name AS organization_name, m.role AS "role: Role", s.id AS session_id,
                  s.confirmed_at > now() - make_interval(mins => $4) AS "confirmed!",
                  s.confirmed_at + make_interval(mins => $4)
                    AS "confirmed_until: chrono::DateTime<chrono::Utc>",
                  EXISTS (SELECT 1 FROM two_factor t
                           WHERE t.user_id = u.id AND t.enabled_at IS NOT NULL) AS "two_factor!",
                  o.require_two_factor AS two_factor_required
             FROM users u
             JOIN user_sessions s ON s.id = $3 AND s.user_id = u.id
                  AND s.last_seen_at > now() - make_interval(secs => $5)
             JOIN memberships m ON m.user_id = u.id
             JOIN organizations o ON o.id = m.organization_id
            WHERE u.id = $1 AND ($2::uuid IS NULL OR m.organization_id = $2)
            ORDER BY m.created_at
            LIMIT 1"#,
        who.user_id,
        who.organization_id,
        handle,
        super::step_up::STEP_UP_MINUTES,
        super::session::IDLE_TIMEOUT.as_seconds_f64(),
    )
    .fetch_optional(db)
    .await
}

/// The session's person proved it is them just now: dangerous actions are theirs for the next
/// [`STEP_UP_MINUTES`](super::step_up::STEP_UP_MINUTES).
pub async fn confirm_session(db: impl PgExecutor<'_>, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE user_sessions SET confirmed_at = now() WHERE id = $1",
        id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Records a new session; its id is the handle the session store keeps.
pub async fn start_session(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    origin: &Origin,
) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar!(
        "INSERT INTO user_sessions (user_id, ip, user_agent) VALUES ($1, $2, $3) RETURNING id",
        user_id,
        origin.ip,
        origin.user_agent
    )
    .fetch_one(db)
    .await
}

pub async fn end_session(db: impl PgExecutor<'_>, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM user_sessions WHERE id = $1", id)
        .execute(db)
        .await?;
    Ok(())
}

/// The organizations a user belongs to, in the order they joined them.
pub async fn organizations(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
) -> Result<Vec<super::Organization>, sqlx::Error> {
    sqlx::query_as!(
        super::Organization,
        "SELECT o.id, o.name FROM memberships m JOIN organizations o ON o.id = m.organization_id
          WHERE m.user_id = $1 ORDER BY m.created_at, o.name",
        user_id
    )
    .fetch_all(db)
    .await
}

/// One of a person's sessions, as their Sessions page lists it.
pub struct SessionRow {
    pub id: Uuid,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub signed_in_at: chrono::DateTime<chrono::Utc>,
    pub last_seen_at: chrono::DateTime<chrono::Utc>,
}

/// A person's sessions, the most recently used first.
pub async fn sessions(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
) -> Result<Vec<SessionRow>, sqlx::Error> {
    sqlx::query_as!(
        SessionRow,
        r#"SELECT id, ip, user_agent,
                  signed_in_at AS "signed_in_at: chrono::DateTime<chrono::Utc>",
                  last_seen_at AS "last_seen_at: chrono::DateTime<chrono::Utc>"
             FROM user_sessions WHERE user_id = $1
            ORDER BY last_seen_at DESC, signed_in_at DESC"#,
        user_id
    )
    .fetch_all(db)
    .await
}

/// Ends the person's sessions: the one `only` names, or every one but `except`. How many.
pub async fn end_sessions(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    only: Option<Uuid>,
    except: Option<Uuid>,
) -> Result<u64, sqlx::Error> {
    let ended = sqlx::query!(
        "DELETE FROM user_sessions
          WHERE user_id = $1 AND ($2::uuid IS NULL OR id = $2) AND ($3::uuid IS NULL OR id <> $3)",
        user_id,
        only,
        except
    )
    .execute(db)
    .await?;
    Ok(ended.rows_affected())
}

/// Deletes sessions past their idle or absolute limit (their store rows expire on their own).
pub async fn prune_sessions(
    db: impl PgExecutor<'_>,
    idle: std::time::Duration,
    absolute: std::time::Duration,
) -> Result<u64, sqlx::Error> {
    let pruned = sqlx::query!(
        "DELETE FROM user_sessions WHERE last_seen_at < now() - $1::interval
                                      OR signed_in_at < now() - $2::interval",
        interval(idle),
        interval(absolute)
    )
    .execute(db)
    .await?;
    Ok(pruned.rows_affected())
}
