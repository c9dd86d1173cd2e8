-- API secrets: at most 3 per environment, one of them (when there are any) signs the webhooks,
-- and an append-only audit trail of what was done to them.

CREATE TABLE api_secrets (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    environment_id  uuid NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    -- 1, 2 or 3, unique per environment: the database itself can never hold a 4th secret, even
    -- if the application's lock were bypassed.
    slot            smallint NOT NULL CONSTRAINT api_secrets_slot_range CHECK (slot BETWEEN 1 AND 3),
    -- Optional, shown next to the masked value.
    label           text NOT NULL DEFAULT '' CONSTRAINT api_secrets_label_length CHECK (char_length(label) <= 100),
    -- What the portal may show: "csk_…a1B2" (prefix, ellipsis, last 4 characters).
    masked          text NOT NULL,
    -- AES-256-GCM under the master key named by key_id; the associated data binds the
    -- ciphertext to this row's id and environment (see src/secrets/crypto.rs).
    key_id          text NOT NULL,
    nonce           bytea NOT NULL CONSTRAINT api_secrets_nonce_length CHECK (octet_length(nonce) = 12),
    ciphertext      bytea NOT NULL,
    -- The moment of the insert (not the transaction's start: creates wait for each other's
    -- lock, so this keeps "Created" in the order secrets were really created).
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    last_used_at    timestamptz,
    CONSTRAINT api_secrets_slot_key UNIQUE (environment_id, slot),
    -- Target of environments' signer reference (which must be in the same environment).
    CONSTRAINT api_secrets_environment_id_id_key UNIQUE (environment_id, id)
);

-- The secret that signs the environment's webhooks. The composite reference keeps it inside the
-- environment; NO ACTION (checked at the end of each statement) refuses to delete the signer
-- while still letting an environment be deleted with all its secrets in one statement, which
-- RESTRICT would refuse.
ALTER TABLE environments
    ADD COLUMN webhook_signer_id uuid,
    ADD CONSTRAINT environments_webhook_signer_fkey
        FOREIGN KEY (id, webhook_signer_id) REFERENCES api_secrets (environment_id, id)
        ON DELETE NO ACTION;

-- Exactly one signer in an environment that has secrets, none in one that has none. Checked at
-- commit (a transaction may insert the first secret, then name it the signer), for every
-- environment a statement touched.
CREATE FUNCTION check_webhook_signer() RETURNS trigger LANGUAGE plpgsql AS $$
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
    SELECT webhook_signer_id INTO signer FROM environments WHERE id = env;
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
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER api_secrets_webhook_signer
    AFTER INSERT OR DELETE OR UPDATE OF environment_id ON api_secrets
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION check_webhook_signer();

CREATE CONSTRAINT TRIGGER environments_webhook_signer
    AFTER INSERT OR UPDATE OF webhook_signer_id ON environments
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION check_webhook_signer();

-- Who did what to which secret, from where. Append-only: the application has no UPDATE or
-- DELETE path, and these triggers refuse them (and TRUNCATE) for every role, owners included.
CREATE TABLE audit_events (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at      timestamptz NOT NULL DEFAULT now(),
    -- No references: the trail outlives the rows it talks about.
    organization_id  uuid NOT NULL,
    environment_id   uuid NOT NULL,
    actor_user_id    uuid NOT NULL,
    actor_email      text NOT NULL,
    action           text NOT NULL CONSTRAINT audit_events_action_known
                     CHECK (action IN ('api_secret.created', 'api_secret.removed', 'webhook_signer.changed')),
    secret_id        uuid NOT NULL,
    secret_masked    text NOT NULL,
    ip               text,
    user_agent       text
);
CREATE INDEX audit_events_environment ON audit_events (environment_id, occurred_at);

CREATE FUNCTION refuse_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_events_append_only
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION refuse_audit_change();

CREATE TRIGGER audit_events_no_truncate
    BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_audit_change();
