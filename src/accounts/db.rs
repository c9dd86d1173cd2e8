//! Accounts' SQL. Functions take an executor or a transaction so callers compose them into one
//! transaction per action.

use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::{Email, roles::Role};

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

/// Notes a successful sign-in (the Members tab shows when each person last signed in) and
/// says whether the person still belongs to an organization.
pub async fn record_sign_in(db: impl PgExecutor<'_>, user_id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"UPDATE users SET last_sign_in_at = now() WHERE id = $1
           RETURNING EXISTS (SELECT 1 FROM memberships WHERE user_id = $1) AS "member!""#,
        user_id
    )
    .fetch_optional(db)
    .await
    .map(|member| member.unwrap_or(false))
}

pub struct Credentials {
    pub user_id: Uuid,
    pub password_hash: String,
}

pub async fn credentials(
    db: impl PgExecutor<'_>,
    email: &Email,
) -> Result<Option<Credentials>, sqlx::Error> {
    sqlx::query_as!(
        Credentials,
        "SELECT id AS user_id, password_hash FROM users WHERE email = $1",
        email.as_str()
    )
    .fetch_optional(db)
    .await
}

/// Who a signed-in user is, and the organization they act for.
#[derive(Debug, Clone)]
pub struct Member {
    pub user_id: Uuid,
    pub email: String,
    pub organization_id: Uuid,
    pub organization_name: String,
    pub role: Role,
}

/// The user as a member of `organization_id`, or of their first organization when `None`;
/// `None` when they do not belong to it (any more).
pub async fn member(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    organization_id: Option<Uuid>,
) -> Result<Option<Member>, sqlx::Error> {
    sqlx::query_as!(
        Member,
        r#"SELECT u.id AS user_id, u.email, o.id AS organization_id, o.name AS organization_name,
                  m.role AS "role: Role"
             FROM users u
             JOIN memberships m ON m.user_id = u.id
             JOIN organizations o ON o.id = m.organization_id
            WHERE u.id = $1 AND ($2::uuid IS NULL OR m.organization_id = $2)
            ORDER BY m.created_at
            LIMIT 1"#,
        user_id,
        organization_id
    )
    .fetch_optional(db)
    .await
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
