//! The outbox of webhook events: any feature that changes something a customer's webhooks
//! subscribe to appends the event here, in the same transaction as the change, and the delivery
//! worker (`crate::webhooks::delivery`) sends what was committed. So a change and its event are
//! committed together or not at all, and no feature calls into another to queue one.

use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::events::Event;

/// Queues `event` for every webhook of the environment that subscribed to it, in the caller's
/// transaction.
pub async fn enqueue(
    tx: &mut Transaction<'_, Postgres>,
    environment_id: Uuid,
    event: Event,
    payload: serde_json::Value,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO webhook_deliveries (environment_id, webhook_id, event, payload, next_attempt_at)
         SELECT environment_id, id, $2, $3, now() FROM webhooks
          WHERE environment_id = $1 AND $2 = ANY (events)",
        environment_id,
        event.name(),
        payload
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}
