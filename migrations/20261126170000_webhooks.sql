-- Webhooks: the URLs an environment's events are POSTed to, signed with its webhook signer,
-- and a durable outbox of deliveries that workers on any instance claim with SKIP LOCKED.

CREATE TABLE webhooks (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    environment_id          uuid NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    url                     text NOT NULL CONSTRAINT webhooks_url_length CHECK (char_length(url) BETWEEN 1 AND 2048),
    events                  text[] NOT NULL CONSTRAINT webhooks_events_known CHECK (
                                cardinality(events) > 0
                                AND events <@ ARRAY['ping', 'api_secret.created', 'api_secret.removed',
                                                    'webhook_signer.changed']::text[]),
    max_retries             integer NOT NULL CONSTRAINT webhooks_max_retries_range CHECK (max_retries BETWEEN 0 AND 20),
    retry_interval_minutes  integer NOT NULL CONSTRAINT webhooks_retry_interval_range
                                CHECK (retry_interval_minutes BETWEEN 1 AND 1440),
    created_at              timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT webhooks_environment_id_id_key UNIQUE (environment_id, id)
);

-- One row per event per webhook. `payload` is the event's own data; the body sent is built at
-- each attempt ({"event", "environment_id", "payload", "sent_at"}) and signed then.
CREATE TABLE webhook_deliveries (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    environment_id    uuid NOT NULL,
    webhook_id        uuid NOT NULL,
    event             text NOT NULL,
    payload           jsonb NOT NULL,
    status            text NOT NULL DEFAULT 'pending'
                          CONSTRAINT webhook_deliveries_status_known CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts          integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_status_code  integer,
    last_error        text,
    -- When a worker may next try it: due when pending and in the past. A worker that claims it
    -- moves it a lease ahead, so an instance that dies mid-attempt leaves it to be retried.
    next_attempt_at   timestamptz,
    created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at       timestamptz,
    CONSTRAINT webhook_deliveries_webhook_fkey FOREIGN KEY (environment_id, webhook_id)
        REFERENCES webhooks (environment_id, id) ON DELETE CASCADE,
    CONSTRAINT webhook_deliveries_pending_is_scheduled CHECK ((status = 'pending') = (next_attempt_at IS NOT NULL))
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (webhook_id, created_at DESC);

-- The signer before the last switch, and when it happened: deliveries also carry its signature
-- (X-CS-Signature-Previous) for a grace period. Removing that secret ends it (SET NULL).
ALTER TABLE environments
    ADD COLUMN previous_webhook_signer_id uuid,
    ADD COLUMN webhook_signer_changed_at timestamptz,
    ADD CONSTRAINT environments_previous_webhook_signer_fkey
        FOREIGN KEY (id, previous_webhook_signer_id) REFERENCES api_secrets (environment_id, id)
        ON DELETE SET NULL (previous_webhook_signer_id);
