-- Webhooks join the audit trail: who added or removed which URL. From the portal the actor is a
-- member (as for API secrets); from the REST API it is the API secret that signed the call.
ALTER TABLE audit_events
    ALTER COLUMN actor_user_id DROP NOT NULL,
    ALTER COLUMN actor_email DROP NOT NULL,
    ALTER COLUMN secret_id DROP NOT NULL,
    ALTER COLUMN secret_masked DROP NOT NULL,
    ADD COLUMN actor_secret_id uuid,
    ADD COLUMN webhook_id uuid,
    ADD COLUMN webhook_url text,
    DROP CONSTRAINT audit_events_action_known,
    ADD CONSTRAINT audit_events_action_known CHECK (action IN (
        'api_secret.created', 'api_secret.removed', 'webhook_signer.changed',
        'webhook.added', 'webhook.removed')),
    -- Exactly one kind of actor.
    ADD CONSTRAINT audit_events_one_actor CHECK (
        (actor_user_id IS NOT NULL AND actor_email IS NOT NULL AND actor_secret_id IS NULL)
        OR (actor_user_id IS NULL AND actor_email IS NULL AND actor_secret_id IS NOT NULL)),
    -- Each action names its subject: an API secret or a webhook, never both.
    ADD CONSTRAINT audit_events_subject CHECK (
        CASE WHEN action LIKE 'webhook.%'
             THEN webhook_id IS NOT NULL AND webhook_url IS NOT NULL
                  AND secret_id IS NULL AND secret_masked IS NULL
             ELSE secret_id IS NOT NULL AND secret_masked IS NOT NULL
                  AND webhook_id IS NULL AND webhook_url IS NULL
        END);
