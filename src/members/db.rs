//! Members' and invitations' SQL. Every change takes the organization's row lock first (as the
//! owner trigger does, and accepting an invitation too: one lock order, no deadlock), reads the
//! actor's role again under it (a demotion committed meanwhile counts), checks, changes, and
//! records the audit event, in one transaction.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::{INVITATION_DAYS, MAX_OPEN_INVITATIONS, MembersTab, PendingInvitation, TeamMember};
use crate::{
    accounts::{
        Email,
        db::Member,
        roles::{Action, ONLY_OWNERS_MANAGE_OWNERS, Role},
    },
    audit::{self, AuditAction, By, Origin, Person, Subject},
    error::{AppError, fail, internal_error},
    platform::now_ms,
};

pub async fn tab(pool: &PgPool, member: &Member) -> Result<MembersTab, sqlx::Error> {
    let members = sqlx::query!(
        r#"SELECT u.id, u.email, m.role AS "role: Role",
                  m.created_at AS "created_at: DateTime<Utc>",
                  u.last_sign_in_at AS "last_sign_in_at: DateTime<Utc>",
                  EXISTS (SELECT 1 FROM two_factor t
                           WHERE t.user_id = u.id AND t.enabled_at IS NOT NULL) AS "two_factor!"
             FROM memberships m JOIN users u ON u.id = m.user_id
            WHERE m.organization_id = $1
            ORDER BY m.created_at, u.email"#,
        member.organization_id
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|row| TeamMember {
        user_id: row.id,
        email: row.email,
        role: row.role,
        joined: row.created_at.into(),
        last_sign_in: row.last_sign_in_at.map(Into::into),
        two_factor: row.two_factor,
    })
    .collect();
    let invitations = sqlx::query!(
        r#"SELECT i.id, i.email, i.role AS "role: Role", inviter.email AS "invited_by?",
                  i.expires_at AS "expires_at: DateTime<Utc>"
             FROM invitations i LEFT JOIN users inviter ON inviter.id = i.invited_by
            WHERE i.organization_id = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL
              AND i.expires_at > now()
            ORDER BY i.created_at DESC"#,
        member.organization_id
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|row| PendingInvitation {
        id: row.id,
        email: row.email,
        role: row.role,
        invited_by: row.invited_by,
        expires: row.expires_at.into(),
    })
    .collect();
    Ok(MembersTab {
        organization_name: member.organization_name.clone(),
        you: member.user_id,
        role: member.role,
        confirmed: member.confirmed,
        require_two_factor: member.two_factor_required,
        members,
        invitations,
        now_ms: now_ms(),
    })
}

/// Member changes of one organization take turns on its row.
async fn lock_organization(
    tx: &mut PgConnection,
    organization_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "SELECT 1 AS locked FROM organizations WHERE id = $1 FOR UPDATE",
        organization_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    Ok(())
}

/// Locks the actor's organization and reads their role as committed now (a separate statement,
/// so a fresh snapshot): refused if they may no longer manage members.
async fn lock_as_manager(tx: &mut PgConnection, actor: &Member) -> Result<Role, AppError> {
    lock_organization(&mut *tx, actor.organization_id).await?;
    let role = sqlx::query_scalar!(
        r#"SELECT role AS "role: Role" FROM memberships
            WHERE organization_id = $1 AND user_id = $2"#,
        actor.organization_id,
        actor.user_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .filter(|role| role.may(Action::ManageMembers))
    .ok_or_else(|| fail(AppError::Forbidden(Action::ManageMembers.refusal().into())))?;
    Ok(role)
}

/// Refused unless `manager` may manage `role` (an admin cannot touch admins and owners).
fn may_manage(manager: Role, role: Role) -> Result<(), AppError> {
    if manager.may_manage(role) {
        Ok(())
    } else {
        Err(fail(AppError::Forbidden(ONLY_OWNERS_MANAGE_OWNERS.into())))
    }
}

async fn record(
    tx: &mut Transaction<'_, Postgres>,
    actor: Person<'_>,
    origin: &Origin,
    action: AuditAction,
    email: &str,
    role: Role,
) -> Result<(), sqlx::Error> {
    record_change(tx, actor, origin, action, email, (None, role)).await
}

/// `roles`: the one before (for a role change) and the one the action gave or took.
async fn record_change(
    tx: &mut Transaction<'_, Postgres>,
    actor: Person<'_>,
    origin: &Origin,
    action: AuditAction,
    email: &str,
    (before, role): (Option<Role>, Role),
) -> Result<(), sqlx::Error> {
    let subject = Subject::Member {
        email,
        role: role.name(),
        previous_role: before.map(Role::name),
    };
    let by = By::Member(actor);
    audit::record(tx, actor.organization_id, None, by, origin, action, subject).await
}

/// Invites `email` as `role`: the link's token (shown once). An open invitation to the same
/// address is replaced (its link stops working).
pub async fn invite(
    pool: &PgPool,
    actor: &Member,
    origin: &Origin,
    email: &Email,
    role: Role,
) -> Result<String, AppError> {
    let (token, hash) = super::invitation::generate()
        .map_err(|e| internal_error("making an invitation token", &e))?;
    let mut tx = pool.begin().await?;
    let manager = lock_as_manager(&mut tx, actor).await?;
    may_manage(manager, role)?;
    let already = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id
                           WHERE m.organization_id = $1 AND u.email = $2) AS "exists!""#,
        actor.organization_id,
        email.as_str()
    )
    .fetch_one(&mut *tx)
    .await?;
    if already {
        return Err(fail(AppError::Conflict(format!(
            "{} is already a member of this organization.",
            email.as_str()
        ))));
    }
    // The address's open invitation, if any, is replaced: only by whoever may revoke it.
    let replaced = sqlx::query!(
        r#"SELECT id, role AS "role: Role" FROM invitations
            WHERE organization_id = $1 AND email = $2 AND accepted_at IS NULL AND revoked_at IS NULL
              FOR UPDATE"#,
        actor.organization_id,
        email.as_str()
    )
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(replaced) = replaced {
        may_manage(manager, replaced.role)?;
        close(
            &mut tx,
            actor,
            origin,
            replaced.id,
            email.as_str(),
            replaced.role,
        )
        .await?;
    }
    let open = sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM invitations
            WHERE organization_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL
              AND expires_at > now()"#,
        actor.organization_id
    )
    .fetch_one(&mut *tx)
    .await?;
    if open >= MAX_OPEN_INVITATIONS {
        return Err(fail(AppError::Conflict(format!(
            "This organization already has {MAX_OPEN_INVITATIONS} pending invitations. \
             Revoke one to invite someone else."
        ))));
    }
    sqlx::query!(
        "INSERT INTO invitations (organization_id, email, role, token_hash, invited_by, expires_at)
         VALUES ($1, $2, $3, $4, $5, now() + make_interval(days => $6))",
        actor.organization_id,
        email.as_str(),
        role.name(),
        &hash[..],
        actor.user_id,
        INVITATION_DAYS as i32
    )
    .execute(&mut *tx)
    .await?;
    record(
        &mut tx,
        actor.person(),
        origin,
        AuditAction::InvitationCreated,
        email.as_str(),
        role,
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}

/// The start of a change to a member of the actor's organization: the organization locked, the
/// actor's role as committed (the manager's), the member's address and role, which the manager
/// must be allowed to manage.
async fn change<'a>(
    pool: &'a PgPool,
    actor: &Member,
    user_id: Uuid,
) -> Result<(Transaction<'a, Postgres>, Role, String, Role), AppError> {
    let mut tx = pool.begin().await?;
    let manager = lock_as_manager(&mut tx, actor).await?;
    let (email, was) = target(&mut tx, actor.organization_id, user_id).await?;
    may_manage(manager, was)?;
    Ok((tx, manager, email, was))
}

/// A member of the actor's organization, locked for the change; not found if not one.
async fn target(
    tx: &mut PgConnection,
    organization_id: Uuid,
    user_id: Uuid,
) -> Result<(String, Role), AppError> {
    let row = sqlx::query!(
        r#"SELECT u.email, m.role AS "role: Role"
             FROM memberships m JOIN users u ON u.id = m.user_id
            WHERE m.organization_id = $1 AND m.user_id = $2
              FOR UPDATE OF m"#,
        organization_id,
        user_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| fail(AppError::NotFound))?;
    Ok((row.email, row.role))
}

pub async fn change_role(
    pool: &PgPool,
    actor: &Member,
    origin: &Origin,
    user_id: Uuid,
    role: Role,
) -> Result<(), AppError> {
    let (mut tx, manager, email, was) = change(pool, actor, user_id).await?;
    may_manage(manager, role)?;
    if was == role {
        return Ok(());
    }
    sqlx::query!(
        "UPDATE memberships SET role = $3 WHERE organization_id = $1 AND user_id = $2",
        actor.organization_id,
        user_id,
        role.name()
    )
    .execute(&mut *tx)
    .await?;
    let changed = AuditAction::MemberRoleChanged;
    let roles = (Some(was), role);
    record_change(&mut tx, actor.person(), origin, changed, &email, roles).await?;
    withdraw_invitations(&mut tx, actor, origin, user_id, Some(role)).await?;
    Ok(tx.commit().await?)
}

pub async fn remove(
    pool: &PgPool,
    actor: &Member,
    origin: &Origin,
    user_id: Uuid,
) -> Result<(), AppError> {
    let (mut tx, _, email, was) = change(pool, actor, user_id).await?;
    sqlx::query!(
        "DELETE FROM memberships WHERE organization_id = $1 AND user_id = $2",
        actor.organization_id,
        user_id
    )
    .execute(&mut *tx)
    .await?;
    let removed = AuditAction::MemberRemoved;
    record(&mut tx, actor.person(), origin, removed, &email, was).await?;
    withdraw_invitations(&mut tx, actor, origin, user_id, None).await?;
    Ok(tx.commit().await?)
}

/// Revokes the open invitations `inviter` sent that they may no longer send: all of them once
/// removed (`new_role` is `None`), those above what their new role may grant once demoted. An
/// invitation carries its sender's authority and goes with it: otherwise a removed admin's link
/// to an address of their own would let them back in. In the change's transaction, under the
/// organization's lock, which accepting an invitation takes too: no join slips between.
async fn withdraw_invitations(
    tx: &mut Transaction<'_, Postgres>,
    actor: &Member,
    origin: &Origin,
    inviter: Uuid,
    new_role: Option<Role>,
) -> Result<(), sqlx::Error> {
    let sent = sqlx::query!(
        r#"SELECT id, email, role AS "role: Role" FROM invitations
            WHERE organization_id = $1 AND invited_by = $2
              AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()
              FOR UPDATE"#,
        actor.organization_id,
        inviter
    )
    .fetch_all(&mut **tx)
    .await?;
    for invitation in sent {
        if !new_role.is_some_and(|role| role.may_manage(invitation.role)) {
            let (id, email, role) = (invitation.id, &invitation.email, invitation.role);
            close(tx, actor, origin, id, email, role).await?;
        }
    }
    Ok(())
}

pub async fn revoke(
    pool: &PgPool,
    actor: &Member,
    origin: &Origin,
    invitation_id: Uuid,
) -> Result<(), AppError> {
    let mut tx = pool.begin().await?;
    let manager = lock_as_manager(&mut tx, actor).await?;
    let invitation = sqlx::query!(
        r#"SELECT email, role AS "role: Role" FROM invitations
            WHERE id = $1 AND organization_id = $2 AND accepted_at IS NULL AND revoked_at IS NULL
              FOR UPDATE"#,
        invitation_id,
        actor.organization_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| fail(AppError::NotFound))?;
    may_manage(manager, invitation.role)?;
    close(
        &mut tx,
        actor,
        origin,
        invitation_id,
        &invitation.email,
        invitation.role,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Revokes an open invitation (its link stops working) and says so in the trail.
async fn close(
    tx: &mut Transaction<'_, Postgres>,
    actor: &Member,
    origin: &Origin,
    invitation_id: Uuid,
    email: &str,
    role: Role,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE invitations SET revoked_at = now() WHERE id = $1",
        invitation_id
    )
    .execute(&mut **tx)
    .await?;
    let revoked = AuditAction::InvitationRevoked;
    record(tx, actor.person(), origin, revoked, email, role).await
}

/// An invitation that can still be accepted.
#[derive(Debug, Clone)]
pub struct OpenInvitation {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub organization_name: String,
    pub email: String,
    pub role: Role,
    pub has_account: bool,
}

/// The open invitation a link's token names, if any.
pub async fn open_by_token(
    pool: &PgPool,
    token: &str,
) -> Result<Option<OpenInvitation>, sqlx::Error> {
    open(pool, None, Some(&super::invitation::hash(token)[..])).await
}

/// The open invitation with this id, if it is still open.
pub async fn open_by_id(pool: &PgPool, id: Uuid) -> Result<Option<OpenInvitation>, sqlx::Error> {
    open(pool, Some(id), None).await
}

async fn open(
    pool: &PgPool,
    id: Option<Uuid>,
    token_hash: Option<&[u8]>,
) -> Result<Option<OpenInvitation>, sqlx::Error> {
    sqlx::query_as!(
        OpenInvitation,
        r#"SELECT i.id, i.organization_id, o.name AS organization_name, i.email,
                  i.role AS "role: Role",
                  EXISTS (SELECT 1 FROM users u WHERE u.email = i.email) AS "has_account!"
             FROM invitations i JOIN organizations o ON o.id = i.organization_id
            WHERE (i.id = $1 OR i.token_hash = $2)
              AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > now()"#,
        id,
        token_hash
    )
    .fetch_optional(pool)
    .await
}

/// Accepts the invitation `id` for the user (`user_id`, `email`), in the caller's transaction:
/// the membership, the invitation closed, the event. `None` if it is no longer open or is for
/// another address. Someone already a member keeps their role.
pub async fn accept(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    user_id: Uuid,
    email: &str,
    origin: &Origin,
) -> Result<Option<Uuid>, sqlx::Error> {
    // The organization's lock first, as every other member change takes it.
    let organization_id =
        sqlx::query_scalar!("SELECT organization_id FROM invitations WHERE id = $1", id)
            .fetch_optional(&mut **tx)
            .await?;
    let Some(organization_id) = organization_id else {
        return Ok(None);
    };
    lock_organization(&mut *tx, organization_id).await?;
    let Some(invitation) = sqlx::query!(
        r#"SELECT i.organization_id, i.role AS "role: Role"
             FROM invitations i
            WHERE i.id = $1 AND i.email = $2
              AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > now()
              FOR UPDATE"#,
        id,
        email
    )
    .fetch_optional(&mut **tx)
    .await?
    else {
        return Ok(None);
    };
    let joined = sqlx::query!(
        "INSERT INTO memberships (organization_id, user_id, role) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
        invitation.organization_id,
        user_id,
        invitation.role.name()
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        "UPDATE invitations SET accepted_at = now() WHERE id = $1",
        id
    )
    .execute(&mut **tx)
    .await?;
    if joined.rows_affected() == 1 {
        let joiner = Person {
            user_id,
            email,
            organization_id: invitation.organization_id,
        };
        record(
            tx,
            joiner,
            origin,
            AuditAction::MemberJoined,
            email,
            invitation.role,
        )
        .await?;
    }
    Ok(Some(invitation.organization_id))
}
