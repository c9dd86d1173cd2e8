-- Each instance caches an environment's API secrets page for a moment, and the page says the
-- environment's name: a rename is announced on `api_secrets_changed` too, as a new webhook
-- signer already is. One function for both (the environment's own id as the payload).

CREATE FUNCTION notify_environment_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('api_secrets_changed', NEW.id::text);
    RETURN NULL;
END;
$$;

DROP TRIGGER webhook_signer_changed ON environments;
DROP FUNCTION notify_webhook_signer_changed();
CREATE TRIGGER webhook_signer_changed
    AFTER UPDATE OF webhook_signer_id ON environments
    FOR EACH ROW WHEN (OLD.webhook_signer_id IS DISTINCT FROM NEW.webhook_signer_id)
    EXECUTE FUNCTION notify_environment_changed();

CREATE TRIGGER environment_renamed
    AFTER UPDATE OF name ON environments
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION notify_environment_changed();
