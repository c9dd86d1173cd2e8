-- Least privilege: the server connects as portal_server, which may read and write rows but not
-- change the schema (it owns nothing, so it can neither alter tables nor drop the audit
-- trail's triggers) and may only add to the audit trail. Migrations run as the role that owns
-- the tables (README, "Database roles"). Whoever sets the database up normally creates
-- portal_server (with LOGIN) first; otherwise it is created here without LOGIN, and roles are
-- the cluster's, so concurrent migrations of several databases may race to create it.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'portal_server') THEN
        CREATE ROLE portal_server NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END;
$$;

GRANT USAGE ON SCHEMA public, tower_sessions TO portal_server;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public, tower_sessions TO portal_server;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO portal_server;
-- Tables and sequences later migrations create (as the same owner) get the same grants.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO portal_server;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO portal_server;

-- The audit trail only grows; the migration history is the owner's.
REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM portal_server;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON _sqlx_migrations FROM portal_server;
