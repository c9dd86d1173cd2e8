-- The instances' key caches also hold what the REST API lists of each secret (its masked form,
-- label, dates, whether it signs webhooks), so a listing needs no query: whatever changes those
-- is announced on `api_secrets_changed` too.

DROP TRIGGER api_secrets_changed ON api_secrets;
CREATE TRIGGER api_secrets_changed
    AFTER INSERT OR DELETE
       OR UPDATE OF environment_id, key_id, nonce, ciphertext, expires_at, masked, label, created_at
    ON api_secrets
    FOR EACH ROW EXECUTE FUNCTION notify_api_secrets_changed();

-- Last used: its first mark, then at most one a minute (usage is written every second while a
-- secret is in use, and every notice makes each instance load the environment's keys again). A
-- listing adds the uses its own instance saw since.
CREATE TRIGGER api_secrets_last_used
    AFTER UPDATE OF last_used_at ON api_secrets
    FOR EACH ROW
    WHEN (OLD.last_used_at IS NULL OR NEW.last_used_at >= OLD.last_used_at + interval '1 minute')
    EXECUTE FUNCTION notify_api_secrets_changed();

-- Which secret signs webhooks is the environment's.
CREATE FUNCTION notify_webhook_signer_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('api_secrets_changed', NEW.id::text);
    RETURN NULL;
END;
$$;
CREATE TRIGGER webhook_signer_changed
    AFTER UPDATE OF webhook_signer_id ON environments
    FOR EACH ROW WHEN (OLD.webhook_signer_id IS DISTINCT FROM NEW.webhook_signer_id)
    EXECUTE FUNCTION notify_webhook_signer_changed();
