//! Environments' SQL. Every query is scoped by the organization: an id from another
//! organization finds nothing, exactly like an id that does not exist.

use sqlx::PgExecutor;
use uuid::Uuid;

use super::{Environment, MAX_ENVIRONMENTS};

pub async fn list(
    db: impl PgExecutor<'_>,
    organization_id: Uuid,
) -> Result<Vec<Environment>, sqlx::Error> {
    sqlx::query_as!(
        Environment,
        r#"SELECT id, name FROM environments
          WHERE organization_id = $1 ORDER BY created_at, name"#,
        organization_id
    )
    .fetch_all(db)
    .await
}

pub async fn get(
    db: impl PgExecutor<'_>,
    organization_id: Uuid,
    id: Uuid,
) -> Result<Option<Environment>, sqlx::Error> {
    sqlx::query_as!(
        Environment,
        r#"SELECT id, name FROM environments WHERE id = $1 AND organization_id = $2"#,
        id,
        organization_id
    )
    .fetch_optional(db)
    .await
}

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("the organization has {MAX_ENVIRONMENTS} environments")]
    LimitReached,
    #[error("a database query failed")]
    Db(#[from] sqlx::Error),
}

/// Adds an environment, unless the organization has [`MAX_ENVIRONMENTS`] already. Creations
/// for one organization take its row's lock, so concurrent ones are counted one after another.
pub async fn create(
    pool: &sqlx::PgPool,
    organization_id: Uuid,
    name: &str,
) -> Result<Environment, CreateError> {
    let mut tx = pool.begin().await?;
    // The lock first, the count in a statement of its own: a statement's snapshot is taken when
    // it starts, so a count in the locking statement would miss what the lock waited for.
    sqlx::query!(
        "SELECT id FROM organizations WHERE id = $1 FOR UPDATE",
        organization_id
    )
    .fetch_one(&mut *tx)
    .await?;
    let count = sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM environments WHERE organization_id = $1"#,
        organization_id
    )
    .fetch_one(&mut *tx)
    .await?;
    if count >= MAX_ENVIRONMENTS {
        return Err(CreateError::LimitReached);
    }
    let environment = sqlx::query_as!(
        Environment,
        r#"INSERT INTO environments (organization_id, name) VALUES ($1, $2)
         RETURNING id, name"#,
        organization_id,
        name
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(environment)
}

pub async fn rename(
    db: impl PgExecutor<'_>,
    organization_id: Uuid,
    id: Uuid,
    name: &str,
) -> Result<Option<Environment>, sqlx::Error> {
    sqlx::query_as!(
        Environment,
        r#"UPDATE environments SET name = $3 WHERE id = $1 AND organization_id = $2
         RETURNING id, name"#,
        id,
        organization_id,
        name
    )
    .fetch_optional(db)
    .await
}
