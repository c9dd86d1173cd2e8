-- Guided rotation: "Rotate" creates a secret that takes over from this one (and its webhook
-- signing); the old one is shown as rotating, with its traffic beside the new one's, until it is
-- removed. Removing the new one ends the rotation (`replaced_by` becomes NULL).
ALTER TABLE api_secrets
    ADD COLUMN rotated_at timestamptz,
    ADD COLUMN replaced_by uuid REFERENCES api_secrets (id) ON DELETE SET NULL,
    ADD CONSTRAINT api_secrets_replaced_when_rotated
        CHECK (replaced_by IS NULL OR rotated_at IS NOT NULL),
    ADD CONSTRAINT api_secrets_not_replaced_by_itself CHECK (replaced_by <> id);
