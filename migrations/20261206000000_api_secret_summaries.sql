-- What the portal shows of each API secret, in one place for every query that shows it: the
-- tab's single statement (its secrets and failed requests together) and the actions' answers.
-- `daily_requests`: requests per UTC day for the last 30 days (`secrets::usage::DAYS`), oldest
-- first. `idle_for_a_day`: no verified request for 24 hours, nor still co-signing webhooks as the
-- previous signer (for a day): a rotation's old secret is then safe to remove.
CREATE VIEW api_secret_summaries AS
SELECT s.id, s.environment_id, s.masked, s.label, s.created_at, s.last_used_at,
       (e.webhook_signer_id IS NOT DISTINCT FROM s.id) AS webhook_signer,
       s.expires_at,
       ARRAY(SELECT COALESCE(sum(u.requests), 0)::int8
               FROM generate_series(29, 0, -1) AS d(ago)
               LEFT JOIN api_secret_usage u
                 ON u.secret_id = s.id
                AND u.hour >= date_trunc('day', now(), 'UTC') - make_interval(days => d.ago)
                AND u.hour < date_trunc('day', now(), 'UTC') - make_interval(days => d.ago - 1)
              GROUP BY d.ago ORDER BY d.ago DESC) AS daily_requests,
       (SELECT COALESCE(sum(u.requests), 0)::int8 FROM api_secret_usage u
         WHERE u.secret_id = s.id AND u.hour >= date_trunc('hour', now()) - interval '1 hour')
         AS requests_past_hour,
       (SELECT COALESCE(sum(u.requests), 0)::int8 FROM api_secret_usage u
         WHERE u.secret_id = s.id AND u.hour >= date_trunc('hour', now() - interval '1 day'))
         AS requests_past_day,
       s.rotated_at, s.replaced_by,
       ((s.last_used_at IS NULL OR s.last_used_at < now() - interval '1 day')
        AND NOT (e.previous_webhook_signer_id IS NOT DISTINCT FROM s.id
                 AND e.webhook_signer_changed_at > now() - interval '1 day'))
         AS idle_for_a_day
  FROM api_secrets s JOIN environments e ON e.id = s.environment_id;
