//! The Webhooks tab: server-rendered, plain HTML forms posted to the server functions, so it
//! works before the WASM loads and without JavaScript. "Remove" opens a native modal `<dialog>`
//! with HTML's invoker commands (`commandfor`, no script; browsers that predate them get it from
//! the WASM, see `crate::hydrate`). Only the delivery logs are islands:
//! they follow the deliveries while the tab is open.

use leptos::{either::Either, prelude::*};
use uuid::Uuid;

use super::{
    AddWebhook, Delivery, DeliveryStatus, EVENTS, RemoveWebhook, WebhookWithLog, WebhooksTab,
    list_webhooks,
};
use crate::{
    accounts::roles::Action,
    environments::views::environment_tab,
    ui::time::{relative_time, start_clock, time_until},
    ui::{PageTitle, error_of, loaded},
};

#[component]
pub fn WebhooksPage() -> impl IntoView {
    let tab = environment_tab(list_webhooks);
    let add = ServerAction::<AddWebhook>::new();
    let remove = ServerAction::<RemoveWebhook>::new();
    loaded(tab, move |tab: WebhooksTab| {
        view! { <WebhooksView tab add remove /> }
    })
}

#[component]
fn WebhooksView(
    tab: WebhooksTab,
    add: ServerAction<AddWebhook>,
    remove: ServerAction<RemoveWebhook>,
) -> impl IntoView {
    let environment_id = tab.environment.id.to_string();
    let secrets_href = format!("/environments/{environment_id}/api-secrets");
    let form_environment_id = environment_id.clone();
    let this_page = format!("/environments/{environment_id}/webhooks");
    let add_error = error_of(add.value());
    let remove_error = error_of(remove.value());
    let now_ms = tab.now_ms;
    let tab_environment_id = tab.environment.id;
    let count = tab.webhooks.len();
    let may_manage = tab.role.may(Action::ManageWebhooks);
    // Why "Add webhook" is disabled, if it is: the role first, then the missing signer.
    let add_blocked_by = if !may_manage {
        Some("webhooks-role")
    } else if !tab.has_signer {
        Some("no-signer")
    } else {
        None
    };
    view! {
        <PageTitle text=format!("Webhooks · {} · Customer Portal", tab.environment.name) />
        <h1>"Webhooks"</h1>
        <p class="lead">"Environment: " <strong>{tab.environment.name.clone()}</strong></p>
        <p>
            "We POST your environment's events to these URLs, signed with the API secret used with webhooks "
            "(headers X-CS-Timestamp and X-CS-Signature), and retry failed deliveries."
        </p>
        <h2>"Add webhook"</h2>
        {(!tab.has_signer)
            .then(|| {
                view! {
                    <p class="notice" id="no-signer">
                        {super::NO_SIGNER} " "
                        <a href=secrets_href>"Go to API secrets"</a>
                    </p>
                }
            })}
        {(!may_manage)
            .then(|| {
                view! {
                    <p class="notice" id="webhooks-role">
                        {Action::ManageWebhooks.refusal()}
                    </p>
                }
            })}
        <ActionForm action=add attr:class="webhook-form">
            <input type="hidden" name="environment_id" value=form_environment_id />
            <div class="field">
                <label for="webhook-url">"URL"</label>
                <input
                    id="webhook-url"
                    name="url"
                    type="url"
                    required
                    maxlength="2048"
                    placeholder="https://example.com/webhooks"
                    spellcheck="false"
                />
            </div>
            <fieldset class="field">
                <legend>"Events"</legend>
                {EVENTS
                    .iter()
                    .map(|event| {
                        let field = format!("event_{}", event.replace('.', "_"));
                        let id = format!("webhook-{field}");
                        let label_for = id.clone();
                        view! {
                            <label class="check" for=label_for>
                                <input id=id type="checkbox" name=field value="on" checked=true />
                                <code>{*event}</code>
                            </label>
                        }
                    })
                    .collect_view()}
            </fieldset>
            <div class="field">
                <label for="webhook-max-retries">"Max retries"</label>
                <input id="webhook-max-retries" name="max_retries" type="number" min="0" max="20" step="1" value="5" required />
            </div>
            <div class="field">
                <label for="webhook-retry-interval">"Retry interval"</label>
                <span class="with-unit">
                    <input
                        id="webhook-retry-interval"
                        name="retry_interval_minutes"
                        type="number"
                        min="1"
                        max="1440"
                        step="1"
                        value="10"
                        required
                        aria-describedby="webhook-retry-interval-unit"
                    />
                    <span id="webhook-retry-interval-unit">"minutes"</span>
                </span>
            </div>
            <button
                type="submit"
                disabled=add_blocked_by.is_some()
                aria-describedby=add_blocked_by
            >
                "Add webhook"
            </button>
        </ActionForm>
        <p class="error" role="alert">{add_error}</p>
        <h2>"Your webhooks"</h2>
        <p class="error" role="alert">{remove_error}</p>
        {if count == 0 {
            view! { <p>"No webhooks yet."</p> }.into_any()
        } else {
            let refresh = view! {
                <p>
                    <a href=this_page>"Refresh the log"</a>
                </p>
            };
            let cards = tab
                .webhooks
                .into_iter()
                .map(|webhook| {
                    view! {
                        <WebhookCard
                            webhook
                            environment_id=tab_environment_id
                            now_ms
                            remove
                            may_manage
                        />
                    }
                })
                .collect_view();
            view! { {refresh} {cards} }.into_any()
        }}
    }
}

#[component]
fn WebhookCard(
    webhook: WebhookWithLog,
    environment_id: Uuid,
    now_ms: i64,
    remove: ServerAction<RemoveWebhook>,
    /// The viewer may remove webhooks (else "Remove" is disabled; the tab says why).
    may_manage: bool,
) -> impl IntoView {
    let WebhookWithLog {
        webhook,
        deliveries,
    } = webhook;
    let heading_id = format!("webhook-{}", webhook.id);
    let dialog_id = format!("remove-webhook-{}", webhook.id);
    let dialog_title_id = format!("{dialog_id}-title");
    let dialog_text_id = format!("{dialog_id}-text");
    let settings = format!(
        "Events: {}. Max retries: {}. Retry interval: {} minute{}.",
        webhook.events.join(", "),
        webhook.max_retries,
        webhook.retry_interval_minutes,
        if webhook.retry_interval_minutes == 1 {
            ""
        } else {
            "s"
        },
    );
    view! {
        <section class="webhook" aria-labelledby=heading_id.clone()>
            <div class="webhook-head">
                <h3 id=heading_id.clone() class="mono">{webhook.url.clone()}</h3>
                <button
                    type="button"
                    class="danger"
                    commandfor=dialog_id.clone()
                    command="show-modal"
                    disabled=!may_manage
                    aria-describedby=(!may_manage).then_some("webhooks-role")
                    aria-label=format!("Remove webhook {}", webhook.url)
                >
                    "Remove"
                </button>
            </div>
            <dialog
                id=dialog_id
                class="modal"
                aria-labelledby=dialog_title_id.clone()
                aria-describedby=dialog_text_id.clone()
            >
                <h2 id=dialog_title_id.clone()>"Remove this webhook?"</h2>
                <p id=dialog_text_id.clone()>
                    "We will stop sending events to " <span class="mono">{webhook.url.clone()}</span>
                    ". Its delivery log is removed with it, and deliveries not yet made are not sent. "
                    "This cannot be undone."
                </p>
                <div class="modal-actions">
                    <ActionForm action=remove>
                        <input
                            type="hidden"
                            name="environment_id"
                            value=environment_id.to_string()
                        />
                        <input type="hidden" name="webhook_id" value=webhook.id.to_string() />
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
            <p>{settings}</p>
            <DeliveryLog environment_id webhook_id=webhook.id deliveries now_ms />
        </section>
    }
}

/// A webhook's delivery log, which follows its deliveries while the tab is open: it reloads them
/// every 2 seconds while an attempt is under way or due, when a retry falls due, every minute
/// otherwise, and not while the tab is hidden (see [`super::log_reload_due`]).
/// Without JavaScript, "Refresh the log" reloads the page.
#[island]
fn DeliveryLog(
    environment_id: Uuid,
    webhook_id: Uuid,
    deliveries: Vec<Delivery>,
    now_ms: i64,
) -> impl IntoView {
    let deliveries = RwSignal::new(deliveries);
    let now_ms = RwSignal::new(now_ms);
    start_clock(now_ms);
    follow(environment_id, webhook_id, deliveries);
    let rows = move || {
        let now_ms = now_ms.get();
        deliveries.with(|list| {
            if list.is_empty() {
                Either::Left(view! {
                    <tr>
                        <td colspan="6">"No deliveries yet."</td>
                    </tr>
                })
            } else {
                Either::Right(
                    list.iter()
                        .cloned()
                        .map(|delivery| view! { <DeliveryRow delivery now_ms /> })
                        .collect_view(),
                )
            }
        })
    };
    view! {
        <table class="grid deliveries">
            <caption>"Delivery log"</caption>
            <thead>
                <tr>
                    <th scope="col">"Event"</th>
                    <th scope="col">"Status"</th>
                    <th scope="col">"Attempts"</th>
                    <th scope="col">"Last response"</th>
                    <th scope="col">"Next attempt"</th>
                    <th scope="col">"Created"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

/// Reloads the webhook's deliveries as [`DeliveryLog`] says (browser only).
fn follow(environment_id: Uuid, webhook_id: Uuid, deliveries: RwSignal<Vec<Delivery>>) {
    #[cfg(feature = "hydrate")]
    {
        let last = StoredValue::new(js_sys::Date::now() as i64);
        // One reload at a time, so that a slow answer never overwrites a newer one.
        let loading = StoredValue::new(false);
        let tick = move || {
            let now = js_sys::Date::now() as i64;
            // Within half a tick of a reload's time counts as due.
            let due = deliveries
                .with_untracked(|list| super::log_reload_due(list, now + 500, last.get_value()));
            if !due || loading.get_value() || document().hidden() {
                return;
            }
            last.set_value(now);
            loading.set_value(true);
            leptos::task::spawn_local(async move {
                // Kept as they are on an error (the webhook may have just been removed).
                if let Ok(latest) = super::list_deliveries(environment_id, webhook_id).await {
                    deliveries.set(latest);
                }
                loading.set_value(false);
            });
        };
        if let Ok(handle) = set_interval_with_handle(tick, std::time::Duration::from_secs(1)) {
            on_cleanup(move || handle.clear());
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (environment_id, webhook_id, deliveries);
}

#[component]
fn DeliveryRow(delivery: Delivery, now_ms: i64) -> impl IntoView {
    let status_text = match delivery.status {
        DeliveryStatus::Delivered => "Delivered",
        DeliveryStatus::Failed => "Failed",
        DeliveryStatus::Pending => "Pending",
    };
    let response = match (delivery.last_status_code, &delivery.last_error) {
        (Some(code), _) => code.to_string(),
        (None, Some(error)) => error.clone(),
        (None, None) => "—".to_owned(),
    };
    let next = match &delivery.next_attempt_at {
        // The attempt's lease end is no next attempt to speak of.
        Some(_) if delivery.attempt_in_progress => Either::Left("In progress"),
        Some(at) => Either::Right(view! {
            <time datetime=at.iso.clone() title=at.utc.clone()>{time_until(now_ms, at.ms)}</time>
        }),
        None => Either::Left("—"),
    };
    let created = delivery.created_at.clone();
    view! {
        <tr>
            <td>
                <code>{delivery.event.clone()}</code>
            </td>
            <td>
                <span class=format!("delivery-status {}", delivery.status.name())>{status_text}</span>
            </td>
            <td>{delivery.attempts}</td>
            <td>{response}</td>
            <td>{next}</td>
            <td>
                <time datetime=created.iso.clone() title=created.utc.clone()>
                    {relative_time(now_ms, created.ms)}
                </time>
            </td>
        </tr>
    }
}
