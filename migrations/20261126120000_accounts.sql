-- Customers: organizations, their people, their environments, and the portal's sessions.
--
-- A user belongs to organizations through memberships (one today: the one they created, as
-- 'owner'); team members and roles are new membership rows and new role values, not a rewrite.

CREATE TABLE organizations (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL CONSTRAINT organizations_name_length CHECK (char_length(name) BETWEEN 1 AND 100),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Normalised by the application (trimmed, lower-case); unique across the portal.
    email          text NOT NULL CONSTRAINT users_email_key UNIQUE
                   CONSTRAINT users_email_normalised CHECK (email = lower(btrim(email)) AND char_length(email) BETWEEN 3 AND 254),
    -- argon2id PHC string.
    password_hash  text NOT NULL CONSTRAINT users_password_hash_phc CHECK (password_hash LIKE '$argon2id$%'),
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE memberships (
    organization_id  uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role             text NOT NULL CONSTRAINT memberships_role_known CHECK (role IN ('owner')),
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, user_id)
);
CREATE INDEX memberships_user_id ON memberships (user_id);

CREATE TABLE environments (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id  uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name             text NOT NULL CONSTRAINT environments_name_length CHECK (char_length(name) BETWEEN 1 AND 50),
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT environments_name_key UNIQUE (organization_id, name)
);

-- Sign-in failures, counted per account and per client address for throttling; rows older than
-- the window are deleted by the server's janitor.
CREATE TABLE sign_in_failures (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email      text NOT NULL,
    ip         text NOT NULL,
    failed_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sign_in_failures_email ON sign_in_failures (email, failed_at);
CREATE INDEX sign_in_failures_ip ON sign_in_failures (ip, failed_at);

-- The portal's sessions, as tower-sessions' Postgres store expects them (we create the table
-- here, with the rest of the schema, instead of letting the store do it at start).
CREATE SCHEMA tower_sessions;
CREATE TABLE tower_sessions.session (
    id           text PRIMARY KEY NOT NULL,
    data         bytea NOT NULL,
    expiry_date  timestamptz NOT NULL
);
CREATE INDEX session_expiry_date ON tower_sessions.session (expiry_date);
