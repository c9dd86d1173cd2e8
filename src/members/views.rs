//! The Members tab and the page an invitation link leads to: rendered on the server, plain HTML
//! forms, so both work before the WASM loads and without JavaScript. "Remove" asks in a native
//! modal `<dialog>` opened by an invoker command (no script), as on the Webhooks tab.

use leptos::prelude::*;

use super::{
    ChangeRole, InviteFeedback, JoinFeedback, JoinView, MembersTab, NewInvitation,
    PendingInvitation, RemoveMember, RevokeInvitation, TeamMember, get_join, list_members,
};
use crate::{
    accounts::{
        roles::{Action, ONLY_OWNERS_MANAGE_OWNERS, Role},
        step_up::{CONFIRM_ACCESS_ID, ConfirmAccess, ConfirmPassword},
        two_factor::views::TwoFactorPolicy,
    },
    ui::{
        DataTable, PageTitle,
        copy::CopyButton,
        error_of, loaded,
        time::{Moment, relative_time, time_until},
    },
};

#[component]
pub fn MembersPage() -> impl IntoView {
    let tab = list_members();
    let change = ServerAction::<ChangeRole>::new();
    let remove = ServerAction::<RemoveMember>::new();
    let revoke = ServerAction::<RevokeInvitation>::new();
    let confirm = ServerAction::<ConfirmPassword>::new();
    let feedback = use_context::<InviteFeedback>().unwrap_or_default();
    loaded(tab, move |tab: MembersTab| {
        let feedback = feedback.clone();
        view! { <MembersView tab feedback change remove revoke confirm /> }
    })
}

/// Why a control of the tab is disabled, if it is: the id of the text that says so.
fn blocked(role: Role, confirmed: bool, target: Role) -> Option<&'static str> {
    if !role.may(Action::ManageMembers) {
        Some("members-role")
    } else if !role.may_manage(target) {
        Some("owners-only")
    } else if !confirmed {
        Some(CONFIRM_ACCESS_ID)
    } else {
        None
    }
}

#[component]
fn MembersView(
    tab: MembersTab,
    feedback: InviteFeedback,
    change: ServerAction<ChangeRole>,
    remove: ServerAction<RemoveMember>,
    revoke: ServerAction<RevokeInvitation>,
    confirm: ServerAction<ConfirmPassword>,
) -> impl IntoView {
    let role = tab.role;
    let confirmed = tab.confirmed;
    let may_manage = role.may(Action::ManageMembers);
    let invite_blocked = blocked(role, confirmed, Role::Viewer);
    let chosen = Role::parse(&feedback.role).unwrap_or(Role::Developer);
    let now_ms = tab.now_ms;
    let you = tab.you;
    let members = tab
        .members
        .into_iter()
        .map(|member| {
            let mine = member.user_id == you;
            view! { <MemberRow member mine role confirmed now_ms change remove /> }
        })
        .collect_view();
    let invitations = tab.invitations;
    let pending = if invitations.is_empty() {
        view! { <p>"No pending invitations."</p> }.into_any()
    } else {
        let rows = invitations
            .into_iter()
            .map(|invitation| {
                view! { <InvitationRow invitation role confirmed now_ms revoke /> }
            })
            .collect_view();
        view! {
            <DataTable
                caption="Pending invitations"
                columns=&["Email", "Role", "Invited by", "Expires", "Actions"]
            >
                {rows}
            </DataTable>
        }
        .into_any()
    };
    view! {
        <PageTitle text=format!("Members · {} · Customer Portal", tab.organization_name) />
        <h1>"Members"</h1>
        <p class="lead">"Organization: " <strong>{tab.organization_name.clone()}</strong></p>
        {(!may_manage)
            .then(|| {
                view! {
                    <p class="notice" id="members-role">
                        {Action::ManageMembers.refusal()}
                    </p>
                }
            })}
        {(may_manage && !confirmed)
            .then(|| {
                view! { <ConfirmAccess action=confirm what="To invite, change or remove members" /> }
            })}
        {(may_manage && role < Role::Owner)
            .then(|| {
                view! {
                    <p class="notice" id="owners-only">
                        {ONLY_OWNERS_MANAGE_OWNERS}
                    </p>
                }
            })}
        <DataTable
            class="members"
            caption="Members"
            columns=&["Email", "Role", "Joined", "Last sign-in", "Two-factor", "Actions"]
        >
            {members}
        </DataTable>
        <p class="error" role="alert">{error_of(change.value())}{error_of(remove.value())}</p>
        <TwoFactorPolicy required=tab.require_two_factor role confirmed />
        <h2>"Invite someone"</h2>
        {feedback.created.clone().map(|created| view! { <InvitationLink created /> })}
        <form class="inline-form" method="post" action="/members/invite">
            <label for="invite-email">"Email"</label>
            <input
                id="invite-email"
                name="email"
                type="email"
                required
                maxlength="254"
                autocomplete="off"
                value=feedback.email.clone()
            />
            <label for="invite-role">"Role"</label>
            <select id="invite-role" name="role">
                {role
                    .grantable()
                    .map(|option| {
                        view! {
                            <option value=option.name() selected=option == chosen>
                                {option.name()}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
            <button type="submit" disabled=invite_blocked.is_some() aria-describedby=invite_blocked>
                "Invite"
            </button>
        </form>
        <p class="error" role="alert">{feedback.error.clone()}</p>
        <h2>"Pending invitations"</h2>
        <p class="error" role="alert">{error_of(revoke.value())}</p>
        {pending}
    }
}

/// A new invitation's link, shown once: a read-only field (selectable without script) and Copy.
#[component]
fn InvitationLink(created: NewInvitation) -> impl IntoView {
    view! {
        <section class="reveal" aria-labelledby="invitation-link-title">
            <h3 id="invitation-link-title">
                "Invitation for " {created.email.clone()} " as " {created.role.with_article()}
            </h3>
            <p>
                "Send this link to them. It works once, for 7 days, and only for this address. "
                <strong>"You will not see it again."</strong>
            </p>
            <label for="invitation-link">"Invitation link"</label>
            <div class="reveal-value">
                <input id="invitation-link" type="text" readonly value=created.link.clone() />
                <CopyButton text=created.link />
            </div>
        </section>
    }
}

#[component]
fn MemberRow(
    member: TeamMember,
    /// This row is the signed-in member.
    mine: bool,
    /// The signed-in member's role.
    role: Role,
    /// Whether they confirmed who they are lately.
    confirmed: bool,
    now_ms: i64,
    change: ServerAction<ChangeRole>,
    remove: ServerAction<RemoveMember>,
) -> impl IntoView {
    let manageable = role.may_manage(member.role);
    let reason = blocked(role, confirmed, member.role);
    let id = member.user_id.to_string();
    let remove_id = id.clone();
    let select_id = format!("role-{id}");
    let dialog_id = format!("remove-member-{id}");
    let title_id = format!("{dialog_id}-title");
    let text_id = format!("{dialog_id}-text");
    let role_label = format!("Role for {}", member.email);
    let change_label = format!("Change role of {}", member.email);
    let remove_label = format!("Remove {}", member.email);
    let choices: Vec<Role> = if manageable {
        role.grantable().collect()
    } else {
        vec![member.role]
    };
    view! {
        <tr>
            <th scope="row">
                {member.email.clone()} {mine.then_some(" (you)")}
            </th>
            <td data-title="Role">{member.role.name()}</td>
            <td data-title="Joined">
                <Ago at=member.joined.clone() now_ms />
            </td>
            <td data-title="Last sign-in">
                {match member.last_sign_in.clone() {
                    Some(at) => view! { <Ago at now_ms /> }.into_any(),
                    None => "Never".into_any(),
                }}
            </td>
            <td data-title="Two-factor">{if member.two_factor { "On" } else { "Off" }}</td>
            <td class="actions">
                <ActionForm action=change attr:class="inline-form">
                    <input type="hidden" name="user_id" value=id.clone() />
                    <label class="visually-hidden" for=select_id.clone()>
                        {role_label}
                    </label>
                    <select id=select_id name="role" disabled=reason.is_some()>
                        {choices
                            .into_iter()
                            .map(|option| {
                                view! {
                                    <option value=option.name() selected=option == member.role>
                                        {option.name()}
                                    </option>
                                }
                            })
                            .collect_view()}
                    </select>
                    <button
                        type="submit"
                        class="secondary"
                        disabled=reason.is_some()
                        aria-describedby=reason
                        aria-label=change_label
                    >
                        "Change role"
                    </button>
                </ActionForm>
                <button
                    type="button"
                    class="danger"
                    commandfor=dialog_id.clone()
                    command="show-modal"
                    disabled=reason.is_some()
                    aria-describedby=reason
                    aria-label=remove_label
                >
                    "Remove"
                </button>
                <dialog
                    id=dialog_id
                    class="modal"
                    aria-labelledby=title_id.clone()
                    aria-describedby=text_id.clone()
                >
                    <h2 id=title_id.clone()>
                        {if mine { "Leave this organization?" } else { "Remove this member?" }}
                    </h2>
                    <p id=text_id.clone()>
                        <span class="mono">{member.email.clone()}</span>
                        " loses access to this organization at once: their next click is refused. "
                        "Invitations they sent that are still pending are revoked. "
                        "To come back, they need a new invitation."
                    </p>
                    <div class="modal-actions">
                        <ActionForm action=remove>
                            <input type="hidden" name="user_id" value=remove_id />
                            <button type="submit" class="danger">
                                "Confirm"
                            </button>
                        </ActionForm>
                        <form method="dialog">
                            <button type="submit" class="secondary" autofocus>
                                "Cancel"
                            </button>
                        </form>
                    </div>
                </dialog>
            </td>
        </tr>
    }
}

#[component]
fn InvitationRow(
    invitation: PendingInvitation,
    role: Role,
    confirmed: bool,
    now_ms: i64,
    revoke: ServerAction<RevokeInvitation>,
) -> impl IntoView {
    let reason = blocked(role, confirmed, invitation.role);
    view! {
        <tr>
            <th scope="row">{invitation.email.clone()}</th>
            <td>{invitation.role.name()}</td>
            <td>{invitation.invited_by.clone().unwrap_or_else(|| "A former member".into())}</td>
            <td>
                <time datetime=invitation.expires.iso.clone() title=invitation.expires.utc.clone()>
                    {time_until(now_ms, invitation.expires.ms)}
                </time>
            </td>
            <td>
                <ActionForm action=revoke>
                    <input type="hidden" name="id" value=invitation.id.to_string() />
                    <button
                        type="submit"
                        class="secondary"
                        disabled=reason.is_some()
                        aria-describedby=reason
                        aria-label=format!("Revoke the invitation for {}", invitation.email)
                    >
                        "Revoke"
                    </button>
                </ActionForm>
            </td>
        </tr>
    }
}

/// A past moment: relative, with the exact UTC time as its title.
#[component]
fn Ago(at: Moment, now_ms: i64) -> impl IntoView {
    view! {
        <time datetime=at.iso.clone() title=at.utc.clone()>
            {relative_time(now_ms, at.ms)}
        </time>
    }
}

/// Where an invitation link leads: join the organization by accepting (signed in as the invited
/// address), by signing in first, or by choosing a password (no account yet).
#[component]
pub fn JoinPage() -> impl IntoView {
    let view_data = get_join();
    let feedback = use_context::<JoinFeedback>().unwrap_or_default();
    loaded(view_data, move |join: JoinView| {
        let JoinFeedback { error, needs_code } = feedback;
        view! {
            <PageTitle text="Join an organization · Customer Portal" />
            <div class="auth">
                <JoinBody join needs_code />
                <p class="error" role="alert">{error}</p>
            </div>
        }
    })
}

#[component]
fn JoinBody(
    join: JoinView,
    /// The sign-in form asks for a two-factor code too.
    needs_code: bool,
) -> impl IntoView {
    let Some(invitation) = join.invitation else {
        return view! {
            <h1>"This invitation link is not valid"</h1>
            <p>
                "It was already used, revoked, or has expired (links work for 7 days). "
                "Ask the person who invited you for a new one."
            </p>
        }
        .into_any();
    };
    let heading = format!("Join {}", invitation.organization_name);
    let offer = format!(
        "You are invited to join {} as {}.",
        invitation.organization_name,
        invitation.role.with_article()
    );
    let action = match join.signed_in_as {
        Some(email) if email == invitation.email => view! {
            <form method="post" action="/join/accept">
                <button type="submit">{format!("Join {}", invitation.organization_name)}</button>
            </form>
        }
        .into_any(),
        Some(email) => view! {
            <p class="notice">
                {format!(
                    "This invitation is for {}, and you are signed in as {email}. Sign out, then open the link again.",
                    invitation.email,
                )}
            </p>
        }
        .into_any(),
        None if invitation.has_account => view! {
            <PasswordForm email=invitation.email.clone() new_account=false needs_code />
        }
        .into_any(),
        None => {
            view! { <PasswordForm email=invitation.email.clone() new_account=true needs_code=false /> }
                .into_any()
        }
    };
    view! {
        <h1>{heading}</h1>
        <p>{offer}</p>
        {action}
    }
    .into_any()
}

/// Joining with a password: a new account's (at least 12 characters), or an existing one's.
#[component]
fn PasswordForm(email: String, new_account: bool, needs_code: bool) -> impl IntoView {
    let (action, intro, autocomplete, button) = if new_account {
        (
            "/join/sign-up",
            "Choose a password to create your account.",
            "new-password",
            "Create account and join",
        )
    } else {
        (
            "/join/sign-in",
            "Sign in to accept.",
            "current-password",
            "Sign in and join",
        )
    };
    view! {
        <form method="post" action=action class="stack">
            <p>{intro}</p>
            <label for="join-email">"Email"</label>
            <input id="join-email" type="email" readonly value=email autocomplete="username" />
            <label for="join-password">"Password"</label>
            <input
                id="join-password"
                name="password"
                type="password"
                required
                minlength=new_account.then_some("12")
                maxlength="1024"
                autocomplete=autocomplete
                aria-describedby=new_account.then_some("join-password-hint")
            />
            {new_account
                .then(|| {
                    view! { <p id="join-password-hint" class="hint">"At least 12 characters."</p> }
                })}
            {needs_code
                .then(|| {
                    view! {
                        <label for="join-code">"Authentication code"</label>
                        <input
                            id="join-code"
                            name="code"
                            type="text"
                            required
                            maxlength="64"
                            autocomplete="one-time-code"
                            autofocus
                            aria-describedby="join-code-hint"
                        />
                        <p id="join-code-hint" class="hint">
                            "The 6-digit code your authenticator app shows, or one of your recovery codes."
                        </p>
                    }
                })}
            <button type="submit">{button}</button>
        </form>
    }
}
