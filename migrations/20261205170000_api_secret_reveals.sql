-- A new API secret created by a plain form post (no JavaScript, or before the WASM loads) is
-- shown on the page the post redirects to, once: this row says which session may see it, and
-- until when. Taking it deletes it, so a reload or Back shows nothing. It holds no value: the
-- page opens the secret's own sealed value.
CREATE TABLE api_secret_reveals (
    secret_id   uuid PRIMARY KEY REFERENCES api_secrets (id) ON DELETE CASCADE,
    session_id  uuid NOT NULL REFERENCES user_sessions (id) ON DELETE CASCADE,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX api_secret_reveals_expires ON api_secret_reveals (expires_at);
