//! The delivery worker: claims due deliveries from the outbox (any number of instances may run
//! one), POSTs each event signed with the environment's current webhook signer and a fresh
//! timestamp, and records the outcome: delivered on 2xx, else retried at the webhook's interval
//! (with jitter) until its retries run out.

use std::{sync::Arc, time::Duration};

use uuid::Uuid;

pub mod queue;

use queue::{Claimed, Outcome};

use super::target;
use crate::platform::{
    config::WebhookSettings, crypto::Keyring, keys::KeyCache, signature, state::AppState,
    usage::Usage,
};

/// Sent with every delivery: the previous signer's signature during its grace period.
pub const PREVIOUS_SIGNATURE_HEADER: &str = "x-cs-signature-previous";
/// The delivery's id: the same on every attempt, so receivers can drop duplicates.
pub const DELIVERY_HEADER: &str = "x-cs-delivery";
/// How many deliveries one claim takes at most.
const BATCH: i64 = 16;
/// How many attempts one instance has under way at most.
const MAX_IN_FLIGHT: usize = 64;
/// How many attempts one organization has under way at most, on all instances together: a
/// customer whose receiver hangs holds this many slots, never all of them.
pub const MAX_IN_FLIGHT_PER_ORGANIZATION: i64 = 8;
/// How often the outbox is polled when there is nothing to do.
const POLL: Duration = Duration::from_millis(500);

pub struct Worker {
    pub pool: sqlx::PgPool,
    pub keyring: Arc<Keyring>,
    pub keys: Arc<KeyCache>,
    pub usage: Arc<Usage>,
    pub settings: Arc<WebhookSettings>,
    client: reqwest::Client,
}

impl Worker {
    pub fn new(state: &AppState) -> reqwest::Result<Worker> {
        Ok(Worker {
            pool: state.pool.clone(),
            keyring: state.keyring.clone(),
            keys: state.keys.clone(),
            usage: state.usage.clone(),
            settings: state.webhooks.clone(),
            client: target::client(&state.webhooks)?,
        })
    }

    /// A claim outlives the longest attempt, so no other worker takes a delivery in flight.
    fn lease(&self) -> Duration {
        self.settings.timeout * 2 + Duration::from_secs(5)
    }

    /// Runs until the pool is closed (graceful shutdown). A delivery interrupted by a stop is
    /// retried by whichever worker claims it when its lease ends.
    ///
    /// Each attempt holds one of [`MAX_IN_FLIGHT`] slots while it runs, and deliveries are
    /// claimed as slots free up: a receiver that is slow to answer holds up only its own
    /// deliveries, never the next claim. Attempts are this task's own (a [`JoinSet`]): stopping
    /// it stops them.
    ///
    /// [`JoinSet`]: tokio::task::JoinSet
    pub async fn run(self: Arc<Self>) {
        let slots = Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT));
        let mut attempts = tokio::task::JoinSet::new();
        loop {
            while attempts.try_join_next().is_some() {}
            if self.pool.is_closed() {
                return;
            }
            // Waits while every slot is taken (never closed, so this ends with a free one).
            if slots.acquire().await.is_err() {
                return;
            }
            let free = i64::try_from(slots.available_permits()).map_or(BATCH, |n| n.min(BATCH));
            let claimed = match queue::claim(
                &self.pool,
                free,
                MAX_IN_FLIGHT_PER_ORGANIZATION,
                self.lease(),
            )
            .await
            {
                Ok(claimed) => claimed,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook delivery: claiming failed");
                    Vec::new()
                }
            };
            if claimed.is_empty() {
                tokio::time::sleep(POLL).await;
            }
            // No more were claimed than slots were free, and only this loop takes them.
            for delivery in claimed {
                let Ok(slot) = slots.clone().acquire_owned().await else {
                    return;
                };
                let worker = self.clone();
                attempts.spawn(async move {
                    worker.attempt(delivery).await;
                    drop(slot);
                });
            }
        }
    }

    async fn attempt(&self, delivery: Claimed) {
        let outcome = match self.send(&delivery).await {
            Ok(status) if (200..300).contains(&status) => Outcome::Delivered {
                status_code: i32::from(status),
            },
            Ok(status) => self.failed(&delivery, Some(i32::from(status)), None),
            Err(error) => self.failed(&delivery, None, Some(error)),
        };
        if let Outcome::Delivered { .. } = outcome {
            tracing::debug!(delivery = %delivery.id, attempt = delivery.attempts, "webhook delivered");
        }
        match queue::record(&self.pool, &delivery, &outcome).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(delivery = %delivery.id, "webhook delivery: claimed again meanwhile")
            }
            Err(e) => {
                tracing::warn!(error = %e, delivery = %delivery.id, "webhook delivery: recording failed")
            }
        }
    }

    /// A retry at the webhook's interval (±10 %), or the end if its retries are used up.
    fn failed(
        &self,
        delivery: &Claimed,
        status_code: Option<i32>,
        error: Option<String>,
    ) -> Outcome {
        if delivery.attempts > delivery.max_retries {
            return Outcome::Failed { status_code, error };
        }
        let interval =
            self.settings.minute * u32::try_from(delivery.retry_interval_minutes).unwrap_or(1);
        // Jitter spreads retries of many deliveries that failed together (an outage).
        let random = rand::TryRngCore::try_next_u32(&mut rand::rngs::OsRng).unwrap_or(u32::MAX / 2);
        let jitter = 0.9 + 0.2 * f64::from(random) / f64::from(u32::MAX);
        Outcome::Retry {
            status_code,
            error,
            after: interval.mul_f64(jitter),
        }
    }

    /// One POST; its status code, or why there was none (no secret in the message).
    async fn send(&self, delivery: &Claimed) -> Result<u16, String> {
        let url = target::check_url(&delivery.url, &self.settings).map_err(|e| e.to_string())?;
        let (signer, previous) = match queue::signers(
            &self.pool,
            delivery.environment_id,
            self.settings.signer_grace,
        )
        .await
        {
            Ok(Some(signers)) => signers,
            Ok(None) => return Err("The environment has no API secret to sign with.".into()),
            Err(e) => {
                tracing::warn!(error = %e, "webhook delivery: reading the signer failed");
                return Err("Internal error before sending.".into());
            }
        };
        let keys = self
            .keys
            .keys_for_delivery(&self.pool, &self.keyring, delivery.environment_id)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "webhook delivery: loading keys failed");
                "Internal error before sending.".to_owned()
            })?;
        let key_of = |id: Uuid| keys.iter().find(|k| k.id == id);
        let Some(signer_key) = key_of(signer) else {
            return Err("The environment's webhook signer is not available.".into());
        };

        let now = chrono::Utc::now();
        let body = serde_json::to_vec(&serde_json::json!({
            "event": delivery.event,
            "environment_id": delivery.environment_id,
            "payload": delivery.payload,
            "sent_at": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        }))
        .map_err(|e| e.to_string())?;
        let timestamp = now.timestamp_millis().to_string();
        let path_and_query = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        let sign =
            |key: &signature::SigningKey| key.sign("POST", &path_and_query, &timestamp, &body);
        // Standard Webhooks: the same key, over `id.seconds.body`; one entry per key, space
        // separated. The id is the delivery's, the same on every attempt (receivers dedupe by it).
        let id = delivery.id.to_string();
        let seconds = now.timestamp();
        let sign_standard = |key: &signature::SigningKey| key.sign_standard(&id, seconds, &body);
        // An expired secret signs nothing (the signer itself never expires).
        let previous_key = previous
            .filter(|&p| p != signer)
            .and_then(key_of)
            .filter(|key| now.timestamp_millis() < key.expires_ms);
        let mut standard = sign_standard(&signer_key.key);
        let mut request = self
            .client
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(signature::TIMESTAMP_HEADER, &timestamp)
            .header(signature::SIGNATURE_HEADER, sign(&signer_key.key))
            .header(DELIVERY_HEADER, &id)
            .header(signature::STANDARD_ID_HEADER, &id)
            .header(signature::STANDARD_TIMESTAMP_HEADER, seconds.to_string());
        if let Some(previous_key) = previous_key {
            request = request.header(PREVIOUS_SIGNATURE_HEADER, sign(&previous_key.key));
            standard.push(' ');
            standard.push_str(&sign_standard(&previous_key.key));
        }
        let request = request.header(signature::STANDARD_SIGNATURE_HEADER, standard);
        self.usage.mark(signer, now.timestamp_millis());
        let response = request.body(body).send().await.map_err(describe)?;
        Ok(response.status().as_u16())
    }
}

/// A network error in words for the delivery log (reqwest's text names the URL; keep it short).
fn describe(error: reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "Timed out"
    } else if error.is_connect() {
        "Could not connect"
    } else {
        "Request failed"
    };
    let mut cause = String::new();
    let mut source = std::error::Error::source(&error);
    while let Some(inner) = source {
        cause = inner.to_string();
        source = inner.source();
    }
    if cause.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {}", cause.chars().take(200).collect::<String>())
    }
}
