-- Every change to what a signed-in member is read from is announced on the
-- `portal_accounts_changed` channel, delivered at commit: each server instance drops the cached
-- members it concerns, and what was read with them (src/platform/signed_in.rs). Payloads:
-- `s:<session id>` (the session store's record), `u:<user id>` (their account, memberships,
-- sessions, two-factor), `o:<organization id>` (its environments), `*` (everyone: an
-- organization's name or rules, which other organizations' members see in their switcher).

CREATE FUNCTION notify_portal_accounts_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    what text;
BEGIN
    IF TG_TABLE_NAME = 'organizations' THEN
        what := '*';
    ELSIF TG_TABLE_NAME = 'session' THEN
        what := 's:' || OLD.id;
    ELSIF TG_TABLE_NAME = 'users' THEN
        what := 'u:' || OLD.id;
    ELSIF TG_TABLE_NAME = 'environments' THEN
        what := 'o:' || CASE WHEN TG_OP = 'DELETE' THEN OLD.organization_id ELSE NEW.organization_id END;
    ELSIF TG_OP = 'INSERT' THEN
        what := 'u:' || NEW.user_id;
    ELSE
        what := 'u:' || OLD.user_id;
        IF TG_OP = 'UPDATE' AND OLD.user_id <> NEW.user_id THEN
            PERFORM pg_notify('portal_accounts_changed', 'u:' || NEW.user_id);
        END IF;
    END IF;
    PERFORM pg_notify('portal_accounts_changed', what);
    RETURN NULL;
END;
$$;

-- A new session record or user concerns nobody cached yet.
CREATE TRIGGER portal_accounts_changed AFTER UPDATE OR DELETE ON tower_sessions.session
    FOR EACH ROW EXECUTE FUNCTION notify_portal_accounts_changed();
CREATE TRIGGER portal_accounts_changed AFTER UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION notify_portal_accounts_changed();
CREATE TRIGGER portal_accounts_changed AFTER UPDATE OR DELETE ON organizations
    FOR EACH ROW EXECUTE FUNCTION notify_portal_accounts_changed();
CREATE TRIGGER portal_accounts_changed AFTER INSERT OR UPDATE OR DELETE ON memberships
    FOR EACH ROW EXECUTE FUNCTION notify_portal_accounts_changed();
CREATE TRIGGER portal_accounts_changed AFTER INSERT OR UPDATE OR DELETE ON two_factor
    FOR EACH ROW EXECUTE FUNCTION notify_portal_accounts_changed();
CREATE TRIGGER portal_accounts_changed AFTER INSERT OR UPDATE OR DELETE ON environments
    FOR EACH ROW EXECUTE FUNCTION notify_portal_accounts_changed();
-- Not on the once-a-minute seen mark: only a confirmation (step-up) or the end of a session.
CREATE TRIGGER portal_accounts_changed AFTER UPDATE OF confirmed_at, user_id OR DELETE ON user_sessions
    FOR EACH ROW EXECUTE FUNCTION notify_portal_accounts_changed();
