-- When the attempt under way began (set by the worker that claims a delivery, cleared when it
-- records the outcome). While it is set and the lease has not run out, the delivery is being
-- attempted now: the log says so instead of showing the lease's end as the next attempt.
ALTER TABLE webhook_deliveries
    ADD COLUMN attempt_started_at timestamptz,
    ADD CONSTRAINT webhook_deliveries_attempt_is_pending
        CHECK (attempt_started_at IS NULL OR status = 'pending');
