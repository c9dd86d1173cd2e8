//! The "API secrets" tab: the list, "Create a new API secret", and the three modals (the new
//! value, "Use with webhooks", "Remove").
//!
//! The page is rendered whole on the server from one server call; after that, each action's
//! answer carries the environment's fresh list, which replaces the one on screen (rows are
//! keyed, so only changed rows are redrawn and focus has somewhere stable to return to).

use leptos::prelude::*;
use uuid::Uuid;

use super::{
    CreatedSecret, LIMIT_REACHED, MAX_SECRETS, Moment, SecretSummary, SecretsTab,
    create_api_secret, list_api_secrets, parse_label, relative_time, removal_phrase,
    remove_api_secret, use_with_webhooks,
};
use crate::{app::NotFound, environments::views::environment_tab, error::AppError, ui::PageTitle};

const STATUS_ID: &str = "secrets-status";
const CREATE_BUTTON_ID: &str = "create-secret";

#[component]
pub fn ApiSecretsPage() -> impl IntoView {
    let tab = environment_tab(list_api_secrets);
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match tab.await {
                    Ok(tab) => {
                        view! {
                            <PageTitle text=format!("API secrets · {} · Customer Portal", tab.environment.name) />
                            <h1>"API secrets"</h1>
                            <p class="lead">"Environment: " <strong>{tab.environment.name.clone()}</strong></p>
                            <p>
                                "API secrets authenticate your REST API calls and sign the webhooks we send you. "
                                "You can have up to 3, which makes rotating them easy. Keep them in a safe place."
                            </p>
                            <EnvironmentId id=tab.environment.id.to_string() />
                            <SecretsTabView tab />
                        }
                            .into_any()
                    }
                    Err(AppError::NotFound) => view! { <NotFound /> }.into_any(),
                    Err(error) => {
                        view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// The environment's id, which REST API URLs need: a read-only field and "Copy".
#[component]
fn EnvironmentId(id: String) -> impl IntoView {
    view! {
        <div class="environment-id">
            <label for="environment-id">"Environment ID"</label>
            <div class="copy-row">
                <input
                    id="environment-id"
                    class="mono"
                    type="text"
                    readonly
                    spellcheck="false"
                    value=id.clone()
                />
                <CopyButton text=id />
            </div>
        </div>
    }
}

/// "Copy" (Clipboard API), then a visible "Copied".
#[island]
fn CopyButton(text: String) -> impl IntoView {
    let copied = RwSignal::new(None::<bool>);
    view! {
        <button type="button" class="secondary" on:click=copy_on_click(text, copied)>
            "Copy"
        </button>
        <span class="copied" role="status">
            {copy_outcome(copied)}
        </span>
    }
}

/// A "Copy" button's click: copies `text` (Clipboard API), then records in `copied` whether it
/// worked.
fn copy_on_click(
    text: String,
    copied: RwSignal<Option<bool>>,
) -> impl Fn(leptos::ev::MouseEvent) + 'static {
    move |_| {
        let text = text.clone();
        leptos::task::spawn_local(async move {
            copied.set(Some(copy_to_clipboard(&text).await));
        });
    }
}

/// What a "Copy" button's status says.
fn copy_outcome(copied: RwSignal<Option<bool>>) -> impl Fn() -> &'static str + 'static {
    move || match copied.get() {
        Some(true) => "Copied",
        Some(false) => "Could not copy: select the value and copy it yourself.",
        None => "",
    }
}

/// Which modal is open, and for which secret.
#[derive(Clone, PartialEq)]
enum Modal {
    Created(CreatedSecret),
    UseWithWebhooks(SecretSummary),
    Remove(SecretSummary),
}

/// State shared by the tab's parts.
#[derive(Clone, Copy)]
struct TabState {
    environment_id: Uuid,
    secrets: RwSignal<Vec<SecretSummary>>,
    /// The browser's clock once hydrated; until then, the server's (same text on both sides).
    now_ms: RwSignal<i64>,
    hydrated: RwSignal<bool>,
    modal: RwSignal<Option<Modal>>,
    /// The id of the element that opened the modal: focus goes back to it.
    opener: StoredValue<String>,
    status: RwSignal<String>,
}

impl TabState {
    fn open(&self, modal: Modal, opener: &str) {
        self.opener.set_value(opener.to_owned());
        self.status.set(String::new());
        self.modal.set(Some(modal));
    }

    /// Closes the modal after a change: focus moves to the message saying what happened.
    fn done(&self, message: String) {
        self.opener.set_value(STATUS_ID.to_owned());
        self.status.set(message);
        self.modal.set(None);
    }
}

/// The interactive part of the tab: an island, hydrated in the browser from the data it was
/// rendered with (metadata only: values are never part of it).
#[island]
fn SecretsTabView(tab: SecretsTab) -> impl IntoView {
    let state = TabState {
        environment_id: tab.environment.id,
        secrets: RwSignal::new(tab.secrets),
        now_ms: RwSignal::new(tab.now_ms),
        hydrated: RwSignal::new(false),
        modal: RwSignal::new(None),
        opener: StoredValue::new(CREATE_BUTTON_ID.to_owned()),
        status: RwSignal::new(String::new()),
    };
    provide_context(state);
    Effect::new(move |_| {
        state.hydrated.set(true);
        start_clock(state.now_ms);
        keep_fresh(state);
    });

    view! {
        <CreateForm />
        <p id=STATUS_ID class="status" role="status" tabindex="-1">
            {move || state.status.get()}
        </p>
        <SecretsTable />
        <ModalDialog />
    }
}

#[component]
fn CreateForm() -> impl IntoView {
    let state = expect_context::<TabState>();
    let label = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let full = move || state.secrets.with(Vec::len) >= MAX_SECRETS;

    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if busy.get_untracked() || full() {
            return;
        }
        let text = label.get_untracked();
        if let Err(message) = parse_label(&text) {
            error.set(Some(message.to_owned()));
            return;
        }
        error.set(None);
        busy.set(true);
        leptos::task::spawn_local(async move {
            match create_api_secret(state.environment_id, text).await {
                Ok(created) => {
                    label.set(String::new());
                    state.secrets.set(created.secrets.clone());
                    let message = format!("API secret {} created.", created.secret.masked);
                    state.open(Modal::Created(created), CREATE_BUTTON_ID);
                    state.status.set(message);
                }
                Err(e) => error.set(Some(e.to_string())),
            }
            busy.set(false);
        });
    };

    view! {
        <form class="create-secret" on:submit=submit>
            <div class="field">
                <label for="secret-label">"Label (optional)"</label>
                <input
                    id="secret-label"
                    name="label"
                    type="text"
                    maxlength="100"
                    autocomplete="off"
                    placeholder="e.g. CI deploys"
                    aria-describedby="create-error"
                    prop:value=move || label.get()
                    on:input=move |ev| label.set(event_target_value(&ev))
                />
            </div>
            <button
                id=CREATE_BUTTON_ID
                type="submit"
                disabled=move || full() || busy.get()
                aria-describedby="create-limit"
            >
                "Create a new API secret"
            </button>
            <p id="create-limit" class="hint" hidden=move || !full()>{LIMIT_REACHED}</p>
            <p id="create-error" class="error" role="alert">{move || error.get()}</p>
        </form>
    }
}

#[component]
fn SecretsTable() -> impl IntoView {
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
                        disabled=signer
                        aria-describedby=signer.then(|| reason_id.clone())
                        on:click=move |_| state.open(Modal::Remove(for_remove.clone()), &remove_id)
                    >
                        <TrashIcon />
                        <span class="tip-text">"Remove"</span>
                    </button>
                </span>
                {signer
                    .then(|| {
                        view! {
                            <p id=reason_id class="hint">
                                "To remove it, set another API secret to be used with webhooks first."
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

/// One native `<dialog>`, opened with `showModal()` whenever a modal is chosen: focus moves in
/// and stays in, Escape cancels, and focus returns to the opener (or to the status message
/// when the opener is gone or disabled).
#[component]
fn ModalDialog() -> impl IntoView {
    let state = expect_context::<TabState>();
    let dialog = NodeRef::<leptos::html::Dialog>::new();
    Effect::new(move |_| {
        let open = state.modal.with(Option::is_some);
        if let Some(dialog) = dialog.get() {
            if open && !dialog.open() {
                let _ = dialog.show_modal();
            } else if !open && dialog.open() {
                dialog.close();
            }
        }
    });
    let on_close = move |_| {
        state.modal.set(None);
        state.opener.with_value(|id| focus_back(id));
    };
    view! {
        <dialog
            node_ref=dialog
            class="modal"
            aria-labelledby="modal-title"
            on:close=on_close
            on:keydown=keep_focus_inside
        >
            {move || match state.modal.get() {
                Some(Modal::Created(created)) => view! { <RevealSecret created /> }.into_any(),
                Some(Modal::UseWithWebhooks(secret)) => {
                    view! { <ConfirmWebhookSigner secret /> }.into_any()
                }
                Some(Modal::Remove(secret)) => view! { <ConfirmRemove secret /> }.into_any(),
                None => ().into_any(),
            }}
        </dialog>
    }
}

#[component]
fn RevealSecret(created: CreatedSecret) -> impl IntoView {
    let state = expect_context::<TabState>();
    let copied = RwSignal::new(None::<bool>);
    let value = created.value;
    let copy = copy_on_click(value.clone(), copied);
    // Back to "Create a new API secret" (or, when it is now disabled, to the status message).
    let close = move |_| state.modal.set(None);
    view! {
        <h2 id="modal-title">"Your new API secret"</h2>
        <p class="warning">
            <strong>"Copy it now and keep it in a safe place. "</strong>
            "It will not be possible to display the full value of this API secret again."
        </p>
        <label for="new-secret-value">"API secret"</label>
        <div class="copy-row">
            <input
                id="new-secret-value"
                class="secret-value"
                type="text"
                readonly
                spellcheck="false"
                autocomplete="off"
                value=value
                on:focus=move |ev| {
                    use wasm_bindgen::JsCast;
                    if let Some(input) = ev
                        .target()
                        .and_then(|t| t.dyn_into::<leptos::web_sys::HtmlInputElement>().ok())
                    {
                        input.select();
                    }
                }
            />
            <button type="button" autofocus on:click=copy>"Copy"</button>
        </div>
        <p class="copied" role="status">
            {copy_outcome(copied)}
        </p>
        <div class="modal-actions">
            <button type="button" class="secondary" on:click=close>"Close"</button>
        </div>
    }
}

#[component]
fn ConfirmWebhookSigner(secret: SecretSummary) -> impl IntoView {
    let state = expect_context::<TabState>();
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let masked = secret.masked.clone();
    let confirm = move |_| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        let masked = masked.clone();
        leptos::task::spawn_local(async move {
            match use_with_webhooks(state.environment_id, secret.id).await {
                Ok(secrets) => {
                    state.secrets.set(secrets);
                    state.done(format!("API secret {masked} is now used with webhooks."));
                }
                Err(e) => error.set(Some(e.to_string())),
            }
            busy.set(false);
        });
    };
    let cancel = move |_| state.modal.set(None);
    view! {
        <h2 id="modal-title">"Use with webhooks"</h2>
        <p>
            "Sign webhooks requests with the API secret "
            <code class="masked">{secret.masked.clone()}</code>
            {(!secret.label.is_empty()).then(|| format!(" ({})", secret.label))}
            "? The API secret used with webhooks until now will no longer sign them."
        </p>
        <p class="error" role="alert">{move || error.get()}</p>
        <div class="modal-actions">
            <button type="button" disabled=move || busy.get() on:click=confirm>"Confirm"</button>
            <button type="button" class="secondary" autofocus on:click=cancel>"Cancel"</button>
        </div>
    }
}

#[component]
fn ConfirmRemove(secret: SecretSummary) -> impl IntoView {
    let state = expect_context::<TabState>();
    let phrase = removal_phrase(&secret.masked);
    let typed = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let matches = {
        let phrase = phrase.clone();
        move || typed.with(|t| *t == phrase)
    };
    let masked = secret.masked.clone();
    let submit = {
        let matches = matches.clone();
        move |event: leptos::ev::SubmitEvent| {
            event.prevent_default();
            if busy.get_untracked() || !matches() {
                return;
            }
            busy.set(true);
            let masked = masked.clone();
            let typed = typed.get_untracked();
            leptos::task::spawn_local(async move {
                match remove_api_secret(state.environment_id, secret.id, typed).await {
                    Ok(secrets) => {
                        state.secrets.set(secrets);
                        state.done(format!("API secret {masked} removed."));
                    }
                    Err(e) => error.set(Some(e.to_string())),
                }
                busy.set(false);
            });
        }
    };
    let cancel = move |_| state.modal.set(None);
    view! {
        <h2 id="modal-title">"Remove API secret"</h2>
        <form on:submit=submit>
            <p>
                "Remove the API secret " <code class="masked">{secret.masked.clone()}</code>
                {(!secret.label.is_empty()).then(|| format!(" ({})", secret.label))}
                "? Requests signed with it will be refused. "
                <strong>"This operation cannot be undone."</strong>
            </p>
            <label for="remove-phrase">
                "To confirm, type " <kbd class="phrase">{phrase.clone()}</kbd>
            </label>
            <input
                id="remove-phrase"
                type="text"
                autocomplete="off"
                spellcheck="false"
                autofocus
                aria-describedby="remove-error"
                on:input=move |ev| typed.set(event_target_value(&ev))
            />
            <p id="remove-error" class="error" role="alert">{move || error.get()}</p>
            <div class="modal-actions">
                <button type="submit" class="danger" disabled=move || !matches() || busy.get()>
                    "Confirm"
                </button>
                <button type="button" class="secondary" on:click=cancel>"Cancel"</button>
            </div>
        </form>
    }
}

/// Tab from the modal's last control goes to its first, Shift+Tab from the first to the last:
/// focus never leaves the modal for the browser's toolbar.
fn keep_focus_inside(event: leptos::ev::KeyboardEvent) {
    use wasm_bindgen::JsCast;
    if event.key() != "Tab" {
        return;
    }
    let Some(dialog) = event
        .current_target()
        .and_then(|t| t.dyn_into::<leptos::web_sys::Element>().ok())
    else {
        return;
    };
    let Ok(list) = dialog.query_selector_all(
        "button:not([disabled]), input:not([disabled]), [tabindex]:not([tabindex='-1'])",
    ) else {
        return;
    };
    let focusable: Vec<leptos::web_sys::HtmlElement> = (0..list.length())
        .filter_map(|i| list.item(i))
        .filter_map(|node| node.dyn_into().ok())
        .collect();
    let (Some(first), Some(last)) = (focusable.first(), focusable.last()) else {
        return;
    };
    let active = document().active_element();
    let is = |el: &leptos::web_sys::HtmlElement| {
        let element: &leptos::web_sys::Element = el;
        active.as_ref() == Some(element)
    };
    let target = if event.shift_key() && is(first) {
        last
    } else if !event.shift_key() && is(last) {
        first
    } else {
        return;
    };
    event.prevent_default();
    let _ = target.focus();
}

/// Moves focus to the element with this id, or to the status message if it is gone or disabled.
fn focus_back(id: &str) {
    use wasm_bindgen::JsCast;
    let focus = |id: &str| {
        document()
            .get_element_by_id(id)
            .and_then(|el| el.dyn_into::<leptos::web_sys::HtmlElement>().ok())
            .is_some_and(|el| {
                let _ = el.focus();
                let element: &leptos::web_sys::Element = &el;
                document()
                    .active_element()
                    .is_some_and(|active| active == *element)
            })
    };
    if !focus(id) {
        focus(STATUS_ID);
    }
}

/// Reloads the list every 30 seconds while no modal is open, so "Last used" follows the REST
/// calls made meanwhile (browser only).
fn keep_fresh(state: TabState) {
    #[cfg(feature = "hydrate")]
    {
        let refresh = move || {
            if state.modal.with_untracked(Option::is_some) {
                return;
            }
            leptos::task::spawn_local(async move {
                if let Ok(tab) = list_api_secrets(state.environment_id).await
                    && state.modal.with_untracked(Option::is_none)
                {
                    state.secrets.set(tab.secrets);
                }
            });
        };
        if let Ok(handle) = set_interval_with_handle(refresh, std::time::Duration::from_secs(30)) {
            on_cleanup(move || handle.clear());
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = state;
}

/// Starts the browser clock that keeps relative times fresh (browser only).
pub(crate) fn start_clock(now_ms: RwSignal<i64>) {
    #[cfg(feature = "hydrate")]
    {
        let tick = move || now_ms.set(js_sys::Date::now() as i64);
        tick();
        if let Ok(handle) = set_interval_with_handle(tick, std::time::Duration::from_secs(15)) {
            on_cleanup(move || handle.clear());
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = now_ms;
}

/// The exact date and time in the viewer's locale and time zone (browser only).
fn local_time(ms: i64) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsValue;
        let options = js_sys::Object::new();
        js_sys::Reflect::set(&options, &"dateStyle".into(), &"medium".into()).ok()?;
        js_sys::Reflect::set(&options, &"timeStyle".into(), &"long".into()).ok()?;
        let date = js_sys::Date::new(&JsValue::from_f64(ms as f64));
        let locale = window()
            .navigator()
            .language()
            .unwrap_or_else(|| "en".into());
        Some(date.to_locale_string(&locale, &options).into())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = ms;
        None
    }
}

/// Writes to the clipboard through the Clipboard API; whether it worked (browser only).
async fn copy_to_clipboard(text: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        let promise = window().navigator().clipboard().write_text(text);
        wasm_bindgen_futures::JsFuture::from(promise).await.is_ok()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = text;
        false
    }
}
