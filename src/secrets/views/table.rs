//! The list of API secrets: one row each, with its dates and its actions.

use leptos::{either::Either, prelude::*};

use super::{Modal, TabState, usage::Sparkline};
use crate::{
    accounts::roles::Action,
    secrets::{
        EXPIRING_CANNOT_SIGN, EXPIRY_WARNING_DAYS, MAX_SECRETS, ROTATE_LIMIT, Rotation,
        SecretSummary,
    },
    ui::time::{Moment, local_time, relative_time, time_until},
};

#[component]
pub(super) fn SecretsTable() -> impl IntoView {
    let state = expect_context::<TabState>();
    let empty = move || state.secrets.with(Vec::is_empty);
    // (expired, expiring within the warning's days)
    let counts = move || {
        let now = state.now_ms.get();
        state.secrets.with(|secrets| {
            secrets
                .iter()
                .filter_map(|secret| secret.expires_at.as_ref())
                .fold((0, 0), |(expired, soon), at| match Expiry::of(at.ms, now) {
                    Expiry::Passed => (expired + 1, soon),
                    Expiry::Soon => (expired, soon + 1),
                    Expiry::Later => (expired, soon),
                })
        })
    };
    view! {
        <p class="empty" hidden=move || !empty()>"This environment has no API secrets yet."</p>
        <p class="warning" hidden=move || counts() == (0, 0)>{move || expiry_warning(counts())}</p>
        <table class="grid secrets" hidden=empty>
            <caption class="visually-hidden">"API secrets"</caption>
            <thead>
                <tr>
                    <th scope="col">"API secret"</th>
                    <th scope="col">"Created"</th>
                    <th scope="col">"Last used"</th>
                    <th scope="col">"Usage"</th>
                    <th scope="col">"Actions"</th>
                </tr>
            </thead>
            <tbody>
                <For
                    each=move || state.secrets.get()
                    key=|secret| {
                        (
                            secret.id,
                            secret.webhook_signer,
                            secret.last_used_at.as_ref().map(|m| m.ms),
                            secret.expires_at.as_ref().map(|m| m.ms),
                            secret.rotation.as_ref().map(|r| r.safe_to_remove),
                            secret.requests_past_day,
                        )
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
    let expiry_id = format!("expiry-{}", secret.id);
    let expiry_reason_id = format!("expiry-reason-{}", secret.id);
    let rotate_id = format!("rotate-{}", secret.id);
    let rotate_reason_id = format!("rotate-reason-{}", secret.id);
    let may_rotate = state.role.may(Action::RotateSecret);
    let full = move || state.secrets.with(|secrets| secrets.len() >= MAX_SECRETS);
    let cannot_rotate = move || !may_rotate || full();
    let rotating = secret.rotation.is_some();
    // What the actions' modals are opened with: one copy, shared by the buttons' handlers.
    let opens = StoredValue::new(secret.clone());
    let may_switch = state.role.may(Action::SwitchWebhookSigner);
    let may_remove = state.role.may(Action::RemoveSecret);
    let may_expire = state.role.may(Action::ExpireSecret);
    // A secret with an expiry date cannot sign webhooks (they would be left unsigned).
    let dated = secret.expires_at.is_some();
    let expiry = secret.expires_at.clone().map(|at| {
        let expiry = move || Expiry::of(at.ms, state.now_ms.get());
        let (expired, soon) = (
            move || expiry() == Expiry::Passed,
            move || expiry() == Expiry::Soon,
        );
        view! {
            <span class="expiry" class:soon=soon class:expired=expired>
                {move || expiry_text(state.now_ms.get(), &at)}
            </span>
        }
    });
    let signer = secret.webhook_signer;
    // The secret's own pages: its usage, and (before the WASM loads) its confirmations.
    let usage_href = format!(
        "/environments/{}/api-secrets/{}",
        state.environment_id, secret.id
    );
    let page = usage_href.clone();
    view! {
        <tr>
            <th scope="row">
                <code class="masked">{secret.masked.clone()}</code>
                {(!secret.label.is_empty()).then(|| view! { <span class="label">{secret.label.clone()}</span> })}
                {signer.then(|| view! { <span class="badge">"Used with webhooks"</span> })}
                {expiry}
                {secret.rotation.clone().map(|rotation| view! { <RotationStatus secret=secret.clone() rotation /> })}
            </th>
            <td data-title="Created">
                <TimeAgo at=secret.created_at.clone() />
            </td>
            <td data-title="Last used">
                {match secret.last_used_at.clone() {
                    Some(at) => Either::Left(view! { <TimeAgo at /> }),
                    None => Either::Right(view! { <span>"Never"</span> }),
                }}
            </td>
            <td data-title="Usage" class="usage">
                <Sparkline days=secret.daily_requests.clone() />
                <a href=usage_href>
                    "Details" <span class="visually-hidden">{format!(" of {}", secret.masked)}</span>
                </a>
            </td>
            <td class="actions">
                {(!signer)
                    .then(|| {
                        view! {
                            <form class="row-action" method="get" action=format!("{page}/use-with-webhooks")>
                                <button
                                    id=use_id.clone()
                                    type="submit"
                                    class="secondary"
                                    disabled=!may_switch || dated
                                    aria-describedby=(!may_switch || dated).then(|| use_reason_id.clone())
                                    on:click=move |ev| {
                                        ev.prevent_default();
                                        state.open(Modal::UseWithWebhooks(opens.get_value()), &use_id)
                                    }
                                >
                                    "Use with webhooks"
                                </button>
                            </form>
                        }
                    })}
                {(!rotating)
                    .then(|| {
                        let reason_id = rotate_reason_id.clone();
                        view! {
                            <form class="row-action" method="get" action=format!("{page}/rotate")>
                                <button
                                    id=rotate_id.clone()
                                    type="submit"
                                    class="secondary"
                                    disabled=cannot_rotate
                                    aria-describedby=move || cannot_rotate().then(|| reason_id.clone())
                                    on:click=move |ev| {
                                        ev.prevent_default();
                                        state.open(Modal::Rotate(opens.get_value()), &rotate_id)
                                    }
                                >
                                    "Rotate"
                                </button>
                            </form>
                        }
                    })}
                {(!signer)
                    .then(|| {
                        view! {
                            <form class="row-action" method="get" action=format!("{page}/expiry")>
                                <button
                                    id=expiry_id.clone()
                                    type="submit"
                                    class="secondary"
                                    disabled=!may_expire
                                    aria-describedby=(!may_expire).then(|| expiry_reason_id.clone())
                                    on:click=move |ev| {
                                        ev.prevent_default();
                                        state.open(Modal::Expiry(opens.get_value()), &expiry_id)
                                    }
                                >
                                    "Expiry"
                                </button>
                            </form>
                        }
                    })}
                <form class="row-action" method="get" action=format!("{page}/remove")>
                    <span class="tip">
                        <button
                            id=remove_id.clone()
                            type="submit"
                            class="icon danger"
                            disabled=signer || !may_remove
                            aria-describedby=(signer || !may_remove).then(|| reason_id.clone())
                            on:click=move |ev| {
                                ev.prevent_default();
                                state.open(Modal::Remove(opens.get_value()), &remove_id)
                            }
                        >
                            <TrashIcon />
                            <span class="tip-text">"Remove"</span>
                        </button>
                    </span>
                </form>
                {(!signer && (!may_switch || dated))
                    .then(|| {
                        view! {
                            <p id=use_reason_id class="hint">
                                {if may_switch {
                                    EXPIRING_CANNOT_SIGN
                                } else {
                                    Action::SwitchWebhookSigner.refusal()
                                }}
                            </p>
                        }
                    })}
                {secret
                    .rotation
                    .is_none()
                    .then(|| {
                        view! {
                            <p id=rotate_reason_id class="hint" hidden=move || !cannot_rotate()>
                                {move || {
                                    if may_rotate {
                                        ROTATE_LIMIT
                                    } else {
                                        Action::RotateSecret.refusal()
                                    }
                                }}
                            </p>
                        }
                    })}
                {(!signer && !may_expire)
                    .then(|| {
                        view! {
                            <p id=expiry_reason_id class="hint">
                                {Action::ExpireSecret.refusal()}
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

/// A rotating secret: what replaces it, both ones' traffic, and whether it is safe to remove.
#[component]
fn RotationStatus(secret: SecretSummary, rotation: Rotation) -> impl IntoView {
    let state = expect_context::<TabState>();
    let replacement = rotation.replaced_by;
    let new_counts = move || {
        state.secrets.with(|secrets| {
            secrets
                .iter()
                .find(|s| s.id == replacement)
                .map_or((0, 0), |s| (s.requests_past_hour, s.requests_past_day))
        })
    };
    let new_masked = rotation.replaced_by_masked.clone();
    let since = rotation.since.ms;
    let traffic = move || {
        let (hour, day) = new_counts();
        format!(
            "Past hour: {} requests (new: {hour}). Past day: {} (new: {day}).",
            secret.requests_past_hour, secret.requests_past_day
        )
    };
    view! {
        <span class="badge rotating">"Rotating"</span>
        <span class="rotation">
            {move || {
                format!(
                    "Being replaced by {new_masked} since {}. ",
                    relative_time(state.now_ms.get(), since),
                )
            }}
            {traffic}
        </span>
        {if rotation.safe_to_remove {
            Either::Left(
                view! { <strong class="safe">"Safe to remove: no requests for 24 hours."</strong> },
            )
        } else {
            Either::Right(view! {
                <span class="rotation">
                    "Not yet safe to remove: it verified a request, or co-signed webhooks, within the past 24 hours."
                </span>
            })
        }}
    }
}

const WARNING_MS: i64 = EXPIRY_WARNING_DAYS * 24 * 3600 * 1000;

/// Where a secret's expiry stands: the row's colour and the warning above the table.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expiry {
    Passed,
    /// Within the warning's days.
    Soon,
    Later,
}

impl Expiry {
    fn of(expires_ms: i64, now_ms: i64) -> Expiry {
        match expires_ms - now_ms {
            left if left <= 0 => Expiry::Passed,
            left if left <= WARNING_MS => Expiry::Soon,
            _ => Expiry::Later,
        }
    }
}

/// "Expired 2 days ago", "Expires in 5 hours", "Expires in 3 days" (whole days left), "Expires
/// 31 Jan 2027, 00:00 UTC".
fn expiry_text(now_ms: i64, at: &Moment) -> String {
    const DAY_MS: i64 = 24 * 3600 * 1000;
    let left = at.ms - now_ms;
    if left <= 0 {
        format!("Expired {}", relative_time(now_ms, at.ms))
    } else if left <= DAY_MS {
        format!("Expires {}", time_until(now_ms, at.ms))
    } else if left <= WARNING_MS {
        format!("Expires in {} days", left / DAY_MS)
    } else {
        format!("Expires {}", at.utc)
    }
}

/// Above the table: what has expired, and what will within the warning's days.
fn expiry_warning((expired, soon): (usize, usize)) -> String {
    let mut text = match expired {
        0 => String::new(),
        1 => "An API secret has expired: requests signed with it are refused. ".to_owned(),
        n => format!("{n} API secrets have expired: requests signed with them are refused. "),
    };
    match soon {
        0 => {}
        1 => text.push_str(&format!(
            "An API secret expires within {EXPIRY_WARNING_DAYS} days: create another and move your callers to it before then."
        )),
        n => text.push_str(&format!(
            "{n} API secrets expire within {EXPIRY_WARNING_DAYS} days: create others and move your callers to them before then."
        )),
    }
    text.trim_end().to_owned()
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
