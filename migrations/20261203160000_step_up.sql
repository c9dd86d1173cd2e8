-- Step-up ("sudo mode"): when the session's person last proved it is them, by signing in or by
-- confirming their password. Dangerous actions need it within the last 10 minutes. Sessions
-- that exist already count from their sign-in.
ALTER TABLE user_sessions ADD COLUMN confirmed_at timestamptz;
UPDATE user_sessions SET confirmed_at = signed_in_at;
ALTER TABLE user_sessions
    ALTER COLUMN confirmed_at SET NOT NULL,
    ALTER COLUMN confirmed_at SET DEFAULT now();
