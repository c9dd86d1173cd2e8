-- Signed REST requests that were refused, per environment, so that customers can see why: the
-- latest 200 are kept (the janitor deletes older ones, and anything past 30 days). Written in
-- batches by each instance, only for environments that exist, at most a few per minute each.
CREATE TABLE api_request_failures (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    environment_id uuid NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    at timestamptz NOT NULL,
    method text NOT NULL CONSTRAINT api_request_failures_method_bounded CHECK (length(method) <= 16),
    -- The path only: a query's values are the caller's data.
    path text NOT NULL CONSTRAINT api_request_failures_path_bounded CHECK (length(path) <= 512),
    address inet,
    user_agent text NOT NULL
        CONSTRAINT api_request_failures_user_agent_bounded CHECK (length(user_agent) <= 256),
    reason text NOT NULL CONSTRAINT api_request_failures_reason_known CHECK (reason IN (
        'missing_timestamp', 'missing_signature', 'malformed_timestamp', 'stale_timestamp',
        'future_timestamp', 'bad_signature', 'expired_secret', 'replayed_request',
        'body_too_large')),
    -- For stale and future timestamps: the request's timestamp minus the server's clock.
    skew_ms bigint
);
CREATE INDEX api_request_failures_latest ON api_request_failures (environment_id, id DESC);
CREATE INDEX api_request_failures_at ON api_request_failures (at);
