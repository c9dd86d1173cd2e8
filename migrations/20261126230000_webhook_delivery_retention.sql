-- Finished deliveries (delivered or failed) are deleted 30 days after they finished; the
-- janitor finds them with this index instead of scanning the outbox.
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (finished_at)
    WHERE finished_at IS NOT NULL;
