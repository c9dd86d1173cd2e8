-- Each signed-in session, as the person sees it on their Sessions page (browser, address, when
-- it signed in, when it was last used) and ends it from there. The session store's row holds a
-- reference to this one; a session whose row is gone is signed out on its next request.
CREATE TABLE user_sessions (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    ip            text,
    user_agent    text CONSTRAINT user_sessions_user_agent_length CHECK (char_length(user_agent) <= 512),
    signed_in_at  timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX user_sessions_user ON user_sessions (user_id, last_seen_at DESC);
CREATE INDEX user_sessions_last_seen ON user_sessions (last_seen_at);
