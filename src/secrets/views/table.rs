//! The list of API secrets: one row each, with its dates and its actions.

use leptos::prelude::*;

use super::{Modal, TabState};
use crate::{
    accounts::roles::Action,
    secrets::SecretSummary,
    ui::time::{Moment, local_time, relative_time},
};

#[component]
pub(super) fn SecretsTable() -> impl IntoView {
    let state = expect_context::<TabState>();
    let empty = move || state.secrets.with(Vec::is_empty);
    view! {
        <p class="empty" hidden=move || !empty()>"This environment has no API secrets yet."</p>
        <table class="grid secrets" hidden=empty>
            <caption class="visually-hidden">"API secrets"</caption>
            <thead>
                <tr>
                    <th scope="col">"API secret"</th>
                    <th scope="col">"Created"</th>
                    <th scope="col">"Last used"</th>
                    <th scope="col">"Actions"</th>
                </tr>
            </thead>
            <tbody>
                <For
                    each=move || state.secrets.get()
                    key=|secret| {
                        (secret.id, secret.webhook_signer, secret.last_used_at.as_ref().map(|m| m.ms))
                    }
                    children=move |secret| view! { <SecretRow secret /> }
                />
            </tbody>
        </table>
    }
}

#[component]
fn SecretRow(secret: SecretSummary) -> impl IntoView {
    let state = expect_context::<TabState>();
    let use_id = format!("use-{}", secret.id);
    let remove_id = format!("remove-{}", secret.id);
    let reason_id = format!("remove-reason-{}", secret.id);
    let use_reason_id = format!("use-reason-{}", secret.id);
    let may_switch = state.role.may(Action::SwitchWebhookSigner);
    let may_remove = state.role.may(Action::RemoveSecret);
    let for_use = secret.clone();
    let for_remove = secret.clone();
    let signer = secret.webhook_signer;
    view! {
        <tr>
            <th scope="row">
                <code class="masked">{secret.masked.clone()}</code>
                {(!secret.label.is_empty()).then(|| view! { <span class="label">{secret.label.clone()}</span> })}
                {signer.then(|| view! { <span class="badge">"Used with webhooks"</span> })}
            </th>
            <td data-title="Created">
                <TimeAgo at=secret.created_at.clone() />
            </td>
            <td data-title="Last used">
                {match secret.last_used_at.clone() {
                    Some(at) => view! { <TimeAgo at /> }.into_any(),
                    None => view! { <span>"Never"</span> }.into_any(),
                }}
            </td>
            <td class="actions">
                {(!signer)
                    .then(|| {
                        view! {
                            <button
                                id=use_id.clone()
                                type="button"
                                class="secondary"
                                disabled=!may_switch
                                aria-describedby=(!may_switch).then(|| use_reason_id.clone())
                                on:click=move |_| {
                                    state.open(Modal::UseWithWebhooks(for_use.clone()), &use_id)
                                }
                            >
                                "Use with webhooks"
                            </button>
                        }
                    })}
                <span class="tip">
                    <button
                        id=remove_id.clone()
                        type="button"
                        class="icon danger"
                        disabled=signer || !may_remove
                        aria-describedby=(signer || !may_remove).then(|| reason_id.clone())
                        on:click=move |_| state.open(Modal::Remove(for_remove.clone()), &remove_id)
                    >
                        <TrashIcon />
                        <span class="tip-text">"Remove"</span>
                    </button>
                </span>
                {(!signer && !may_switch)
                    .then(|| {
                        view! {
                            <p id=use_reason_id class="hint">
                                {Action::SwitchWebhookSigner.refusal()}
                            </p>
                        }
                    })}
                {(signer || !may_remove)
                    .then(|| {
                        let reason = if !may_remove {
                            Action::RemoveSecret.refusal()
                        } else {
                            "To remove it, set another API secret to be used with webhooks first."
                        };
                        view! {
                            <p id=reason_id class="hint">
                                {reason}
                            </p>
                        }
                    })}
            </td>
        </tr>
    }
}

/// "3 hours ago", with the exact date and time (the viewer's time zone once the page is
/// hydrated, UTC before) on hover and on keyboard focus.
#[component]
fn TimeAgo(at: Moment) -> impl IntoView {
    let state = expect_context::<TabState>();
    let ms = at.ms;
    let utc = at.utc.clone();
    let exact = move || {
        if state.hydrated.get() {
            local_time(ms).unwrap_or_else(|| utc.clone())
        } else {
            utc.clone()
        }
    };
    view! {
        <span class="tip">
            <time datetime=at.iso tabindex="0">
                {move || relative_time(state.now_ms.get(), ms)}
            </time>
            <span class="tip-text">{exact}</span>
        </span>
    }
}

#[component]
fn TrashIcon() -> impl IntoView {
    view! {
        <svg aria-hidden="true" focusable="false" width="18" height="18" viewBox="0 0 24 24">
            <path
                fill="currentColor"
                d="M9 3h6l1 2h4v2H4V5h4l1-2zm-3 6h12l-1 12H7L6 9zm4 2v8h2v-8h-2zm4 0v8h2v-8h-2z"
            />
        </svg>
    }
}
