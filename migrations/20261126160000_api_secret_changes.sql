-- Every change to an environment's API secrets is announced on the `api_secrets_changed`
-- channel (payload: the environment id), delivered at commit: each server instance drops its
-- cached keys for that environment, so a removed secret stops verifying everywhere at once.

CREATE FUNCTION notify_api_secrets_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('api_secrets_changed', OLD.environment_id::text);
    ELSE
        PERFORM pg_notify('api_secrets_changed', NEW.environment_id::text);
        IF TG_OP = 'UPDATE' AND OLD.environment_id <> NEW.environment_id THEN
            PERFORM pg_notify('api_secrets_changed', OLD.environment_id::text);
        END IF;
    END IF;
    RETURN NULL;
END;
$$;

-- Not on UPDATE OF last_used_at: usage marks do not change which keys verify.
CREATE TRIGGER api_secrets_changed
    AFTER INSERT OR DELETE OR UPDATE OF environment_id, key_id, nonce, ciphertext ON api_secrets
    FOR EACH ROW EXECUTE FUNCTION notify_api_secrets_changed();
