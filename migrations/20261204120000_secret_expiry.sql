-- An API secret may expire: from that instant it verifies nothing (every instance compares each
-- request's time with it, from its cached keys), and webhooks hear of it 7 days and 1 day before,
-- and once it has expired: `expiry_notices` counts the notices already queued (0 to 3), so that
-- each is sent once whichever instance's janitor finds it first.
ALTER TABLE api_secrets
    ADD COLUMN expires_at timestamptz,
    ADD COLUMN expiry_notices smallint NOT NULL DEFAULT 0
        CONSTRAINT api_secrets_expiry_notices_range CHECK (expiry_notices BETWEEN 0 AND 3);

CREATE INDEX api_secrets_expiring ON api_secrets (expires_at)
    WHERE expires_at IS NOT NULL AND expiry_notices < 3;

-- A changed expiry changes which keys verify: the instances drop their cached keys.
DROP TRIGGER api_secrets_changed ON api_secrets;
CREATE TRIGGER api_secrets_changed
    AFTER INSERT OR DELETE OR UPDATE OF environment_id, key_id, nonce, ciphertext, expires_at
    ON api_secrets
    FOR EACH ROW EXECUTE FUNCTION notify_api_secrets_changed();

-- The webhook signer never expires (webhooks would be left unsigned): it gets an expiry only
-- after another secret signs, and a secret that expires cannot become the signer. Checked at
-- commit, with the rule that an environment with secrets has exactly one signer, under the
-- environment row's lock: two transactions committing at once (one dating a secret, the other
-- making it the signer) are checked one after the other, each seeing the other's change.
CREATE OR REPLACE FUNCTION check_webhook_signer() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    env uuid;
    signer uuid;
    has_secrets boolean;
BEGIN
    IF TG_TABLE_NAME = 'environments' THEN
        env := NEW.id;
    ELSIF TG_OP = 'DELETE' THEN
        env := OLD.environment_id;
    ELSE
        env := NEW.environment_id;
    END IF;
    SELECT webhook_signer_id INTO signer FROM environments WHERE id = env FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL; -- the environment itself was deleted
    END IF;
    has_secrets := EXISTS (SELECT 1 FROM api_secrets WHERE environment_id = env);
    IF has_secrets AND signer IS NULL THEN
        RAISE EXCEPTION 'environment % has API secrets but no webhook signer', env
            USING ERRCODE = 'check_violation', CONSTRAINT = 'environments_webhook_signer_required';
    END IF;
    IF NOT has_secrets AND signer IS NOT NULL THEN
        RAISE EXCEPTION 'environment % has a webhook signer but no API secrets', env
            USING ERRCODE = 'check_violation', CONSTRAINT = 'environments_webhook_signer_required';
    END IF;
    IF EXISTS (SELECT 1 FROM api_secrets WHERE id = signer AND expires_at IS NOT NULL) THEN
        RAISE EXCEPTION 'the webhook signer of environment % has an expiry', env
            USING ERRCODE = 'check_violation', CONSTRAINT = 'environments_webhook_signer_never_expires';
    END IF;
    RETURN NULL;
END;
$$;

DROP TRIGGER api_secrets_webhook_signer ON api_secrets;
CREATE CONSTRAINT TRIGGER api_secrets_webhook_signer
    AFTER INSERT OR DELETE OR UPDATE OF environment_id, expires_at ON api_secrets
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION check_webhook_signer();

ALTER TABLE webhooks
    DROP CONSTRAINT webhooks_events_known,
    ADD CONSTRAINT webhooks_events_known CHECK (
        cardinality(events) > 0
        AND events <@ ARRAY['ping', 'api_secret.created', 'api_secret.removed',
                            'webhook_signer.changed', 'api_secret.expiring',
                            'api_secret.expired']::text[]);

ALTER TABLE audit_events
    DROP CONSTRAINT audit_events_action_known,
    ADD CONSTRAINT audit_events_action_known CHECK (action IN (
        'api_secret.created', 'api_secret.removed', 'webhook_signer.changed',
        'api_secret.expiry_changed',
        'webhook.added', 'webhook.removed',
        'invitation.created', 'invitation.revoked', 'member.joined', 'member.role_changed',
        'member.removed', 'member.signed_in', 'member.sign_in_failed', 'member.signed_out',
        'member.session_ended',
        'member.two_factor_enabled', 'member.two_factor_disabled',
        'member.recovery_codes_replaced', 'member.recovery_code_used',
        'member.two_factor_failed',
        'member.two_factor_required', 'member.two_factor_not_required'));
