-- Teams: invitations, several organizations per person, and member changes in the audit trail.

-- An invitation to join an organization with a role. The link's token is shown once; only its
-- SHA-256 is kept (it is 256 random bits, so a fast hash is enough). Open: neither accepted nor
-- revoked, and not yet expired; at most one open invitation per address and organization
-- (inviting an address again replaces its invitation, and the old link stops working).
CREATE TABLE invitations (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id  uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email            text NOT NULL
                     CONSTRAINT invitations_email_normalised CHECK (email = lower(btrim(email)) AND char_length(email) BETWEEN 3 AND 254),
    role             text NOT NULL CONSTRAINT invitations_role_known
                     CHECK (role IN ('owner', 'admin', 'developer', 'viewer')),
    token_hash       bytea NOT NULL CONSTRAINT invitations_token_hash_key UNIQUE
                     CONSTRAINT invitations_token_hash_length CHECK (octet_length(token_hash) = 32),
    invited_by       uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    expires_at       timestamptz NOT NULL,
    accepted_at      timestamptz,
    revoked_at       timestamptz,
    CONSTRAINT invitations_closed_once CHECK (accepted_at IS NULL OR revoked_at IS NULL)
);
CREATE UNIQUE INDEX invitations_one_open ON invitations (organization_id, email)
    WHERE accepted_at IS NULL AND revoked_at IS NULL;

-- When each person last signed in (the Members tab shows it).
ALTER TABLE users ADD COLUMN last_sign_in_at timestamptz;

-- Member and invitation changes are the organization's, not an environment's: their events name
-- the person (by address, with the role) instead of a secret or a webhook.
ALTER TABLE audit_events
    ALTER COLUMN environment_id DROP NOT NULL,
    ADD COLUMN member_email text,
    ADD COLUMN member_role text,
    -- A role change's role before it (member_role is the one after).
    ADD COLUMN member_previous_role text,
    DROP CONSTRAINT audit_events_action_known,
    ADD CONSTRAINT audit_events_action_known CHECK (action IN (
        'api_secret.created', 'api_secret.removed', 'webhook_signer.changed',
        'webhook.added', 'webhook.removed',
        'invitation.created', 'invitation.revoked', 'member.joined', 'member.role_changed',
        'member.removed', 'member.signed_in', 'member.sign_in_failed', 'member.signed_out',
        'member.session_ended')),
    DROP CONSTRAINT audit_events_subject,
    ADD CONSTRAINT audit_events_subject CHECK (
        CASE WHEN action LIKE 'webhook.%'
             THEN webhook_id IS NOT NULL AND webhook_url IS NOT NULL
                  AND secret_id IS NULL AND secret_masked IS NULL AND member_email IS NULL
             WHEN action LIKE 'member.%' OR action LIKE 'invitation.%'
             THEN member_email IS NOT NULL AND member_role IS NOT NULL AND environment_id IS NULL
                  AND secret_id IS NULL AND webhook_id IS NULL
             ELSE secret_id IS NOT NULL AND secret_masked IS NOT NULL
                  AND webhook_id IS NULL AND webhook_url IS NULL AND member_email IS NULL
        END),
    ADD CONSTRAINT audit_events_environment CHECK (
        environment_id IS NOT NULL OR action LIKE 'member.%' OR action LIKE 'invitation.%');
CREATE INDEX audit_events_organization ON audit_events (organization_id, id);
-- The Audit log tab names a REST call's actor by the masked form its secret was created with.
CREATE INDEX audit_events_secret ON audit_events (secret_id) WHERE secret_id IS NOT NULL;
