//! Environments' SQL. Every query is scoped by the organization: an id from another
//! organization finds nothing, exactly like an id that does not exist.

use sqlx::PgExecutor;
use uuid::Uuid;

use super::Environment;

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

pub async fn create(
    db: impl PgExecutor<'_>,
    organization_id: Uuid,
    name: &str,
) -> Result<Environment, sqlx::Error> {
    sqlx::query_as!(
        Environment,
        r#"INSERT INTO environments (organization_id, name) VALUES ($1, $2)
         RETURNING id, name"#,
        organization_id,
        name
    )
    .fetch_one(db)
    .await
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
