-- Claims take each organization's due deliveries up to its cap of attempts in flight: the
-- environments with pending deliveries are found one index probe each (a loose index scan),
-- their earliest due ones from the same index, and the attempts under way from a small one.
CREATE INDEX webhook_deliveries_pending_by_environment
    ON webhook_deliveries (environment_id, next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_in_flight
    ON webhook_deliveries (environment_id) WHERE attempt_started_at IS NOT NULL;
