-- An organization always keeps at least one owner: no update or delete of a membership may take
-- away its last one. Changes to one organization's memberships take turns on its row (FOR
-- UPDATE), and each check reads what was committed before it (a statement in a plpgsql function
-- takes a fresh snapshot), so two owners demoting each other at once leave one owner. Deleting
-- the organization itself (its memberships go with it) is allowed.
CREATE FUNCTION memberships_keep_an_owner() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.role <> 'owner'
       OR (TG_OP = 'UPDATE' AND NEW.role = 'owner' AND NEW.organization_id = OLD.organization_id) THEN
        RETURN COALESCE(NEW, OLD);
    END IF;
    PERFORM 1 FROM organizations WHERE id = OLD.organization_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN COALESCE(NEW, OLD);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM memberships
                    WHERE organization_id = OLD.organization_id AND role = 'owner'
                      AND user_id <> OLD.user_id) THEN
        RAISE EXCEPTION 'an organization keeps at least one owner'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'memberships_keep_an_owner';
    END IF;
    RETURN COALESCE(NEW, OLD);
END;
$$;

CREATE TRIGGER memberships_keep_an_owner
    BEFORE UPDATE OR DELETE ON memberships
    FOR EACH ROW EXECUTE FUNCTION memberships_keep_an_owner();
