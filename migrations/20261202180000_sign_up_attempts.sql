-- Sign-up attempts per client address (an IPv4 address or an IPv6 /64), for throttling: each
-- sign-up costs a password hash and creates an organization. Rows older than the window are
-- deleted by the server's janitor.
CREATE TABLE sign_up_attempts (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ip            text NOT NULL,
    attempted_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sign_up_attempts_ip ON sign_up_attempts (ip, attempted_at);
