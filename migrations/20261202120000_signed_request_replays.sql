-- Signed REST requests that change something are accepted once: each accepted signature is kept
-- until its timestamp has left the tolerance window, so a copy of the request (a proxy log, a
-- shared HAR file) is refused on every instance. The janitor deletes expired rows.
CREATE TABLE accepted_signatures (
    signature bytea PRIMARY KEY CHECK (length(signature) = 32),
    expires_at timestamptz NOT NULL
);
CREATE INDEX accepted_signatures_expires_at ON accepted_signatures (expires_at);
