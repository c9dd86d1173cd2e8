-- Who uses each API secret, and how much: written by each instance about once a second, one
-- statement for everything counted in memory since the last write (see platform/usage.rs), and
-- pruned after 90 days by the janitor.

-- Verified requests per secret per hour (UTC). `other_requests` are those whose caller was not
-- recorded in api_secret_callers (beyond the per-flush cap of distinct callers, or with no
-- known address).
CREATE TABLE api_secret_usage (
    secret_id uuid NOT NULL REFERENCES api_secrets (id) ON DELETE CASCADE,
    hour timestamptz NOT NULL,
    requests bigint NOT NULL CONSTRAINT api_secret_usage_requests_positive CHECK (requests > 0),
    other_requests bigint NOT NULL DEFAULT 0
        CONSTRAINT api_secret_usage_other_within CHECK (other_requests BETWEEN 0 AND requests),
    PRIMARY KEY (secret_id, hour)
);
CREATE INDEX api_secret_usage_hour ON api_secret_usage (hour);

-- Each (address, user agent) that made verified requests with a secret.
CREATE TABLE api_secret_callers (
    secret_id uuid NOT NULL REFERENCES api_secrets (id) ON DELETE CASCADE,
    address inet NOT NULL,
    user_agent text NOT NULL
        CONSTRAINT api_secret_callers_user_agent_bounded CHECK (length(user_agent) <= 256),
    first_seen_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    requests bigint NOT NULL CONSTRAINT api_secret_callers_requests_positive CHECK (requests > 0),
    PRIMARY KEY (secret_id, address, user_agent),
    CONSTRAINT api_secret_callers_seen_in_order CHECK (first_seen_at <= last_seen_at)
);
CREATE INDEX api_secret_callers_last_seen ON api_secret_callers (secret_id, last_seen_at);
CREATE INDEX api_secret_callers_prune ON api_secret_callers (last_seen_at);
