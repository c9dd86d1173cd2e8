-- Two-factor authentication (TOTP, RFC 6238). The seed is sealed like API secrets (AES-256-GCM
-- under the master keys; the associated data binds it to its user). A row without enabled_at is
-- a set-up not yet confirmed with a code. last_step is the newest time step whose code was
-- accepted: a code is accepted only for a later step, so each works once.
CREATE TABLE two_factor (
    user_id     uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    key_id      text NOT NULL,
    nonce       bytea NOT NULL CONSTRAINT two_factor_nonce_length CHECK (octet_length(nonce) = 12),
    ciphertext  bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    enabled_at  timestamptz,
    last_step   bigint NOT NULL DEFAULT 0
);

-- One-time recovery codes: 80 random bits each, so their SHA-256 is enough. Used ones stay (the
-- page says how many are left) until new ones replace them all.
CREATE TABLE recovery_codes (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  bytea NOT NULL CONSTRAINT recovery_codes_hash_length CHECK (octet_length(code_hash) = 32),
    used_at    timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

-- An owner can require two-factor authentication: members without it set it up first.
ALTER TABLE organizations ADD COLUMN require_two_factor boolean NOT NULL DEFAULT false;

ALTER TABLE audit_events
    DROP CONSTRAINT audit_events_action_known,
    ADD CONSTRAINT audit_events_action_known CHECK (action IN (
        'api_secret.created', 'api_secret.removed', 'webhook_signer.changed',
        'webhook.added', 'webhook.removed',
        'invitation.created', 'invitation.revoked', 'member.joined', 'member.role_changed',
        'member.removed', 'member.signed_in', 'member.sign_in_failed', 'member.signed_out',
        'member.session_ended',
        'member.two_factor_enabled', 'member.two_factor_disabled',
        'member.recovery_codes_replaced', 'member.recovery_code_used',
        'member.two_factor_failed',
        'member.two_factor_required', 'member.two_factor_not_required'));
