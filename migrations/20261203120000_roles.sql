-- Teams: a membership's role is one of four (see src/accounts/roles.rs for what each may do).
ALTER TABLE memberships DROP CONSTRAINT memberships_role_known;
ALTER TABLE memberships ADD CONSTRAINT memberships_role_known
    CHECK (role IN ('owner', 'admin', 'developer', 'viewer'));
