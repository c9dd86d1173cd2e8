//! The "API secrets" tab: the list, "Create a new API secret", and the three modals (the new
//! value, "Use with webhooks", "Remove").
//!
//! The page is rendered whole on the server from one server call; after that, each action's
//! answer carries the environment's fresh list, which replaces the one on screen (rows are
//! keyed, so only changed rows are redrawn and focus has somewhere stable to return to).

use leptos::prelude::*;
use uuid::Uuid;

mod confirm;
mod dom;
mod failures;
mod modals;
mod signature_check;
mod table;
mod usage;

pub use confirm::{
    ExpiryPage, NewSecretPage, RemoveSecretPage, RotateSecretPage, UseWithWebhooksPage,
};
use failures::FailedRequestsSection;
use modals::ModalDialog;
use table::SecretsTable;
pub use usage::SecretUsagePage;

use super::{
    CreatedSecret, LIMIT_REACHED, MAX_SECRETS, SecretSummary, SecretsPage, SecretsTab,
    api_secrets_page, create_api_secret, notice::Done, parse_label,
};
use crate::{
    accounts::{
        roles::{Action, Role},
        step_up::{PasswordPrompt, StepUp},
    },
    environments::views::environment_tab,
    ui::{PageTitle, copy::CopyButton, loaded, time::start_clock},
};

const STATUS_ID: &str = "secrets-status";
/// Under every expiry date field.
const EXPIRY_HINT: &str = "From 00:00 UTC on that day, requests signed with it are refused. \
     The API secret used with webhooks cannot expire.";
const CREATE_BUTTON_ID: &str = "create-secret";

/// What was typed into "Create a new API secret" when its plain form post was refused, and why:
/// the tab is rendered again with them.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CreateFeedback {
    pub label: String,
    pub expires_on: String,
    pub error: Option<String>,
}

/// Why a confirmation page's post was refused: the page is rendered again, saying so.
#[derive(Clone, Debug)]
pub struct ActionFeedback {
    pub error: String,
}

#[component]
pub fn ApiSecretsPage() -> impl IntoView {
    let page = environment_tab(api_secrets_page);
    let create = use_context::<CreateFeedback>().unwrap_or_default();
    let notice = take_notice();
    loaded(page, move |SecretsPage { tab, failed }| {
        view! {
            <PageTitle text=format!("API secrets · {} · Customer Portal", tab.environment.name) />
            <h1>"API secrets"</h1>
            <p class="lead">"Environment: " <strong>{tab.environment.name.clone()}</strong></p>
            <p>
                "API secrets authenticate your REST API calls and sign the webhooks we send you. "
                "You can have up to 3, which makes rotating them easy. Keep them in a safe place."
            </p>
            <EnvironmentId id=tab.environment.id.to_string() />
            <SecretsTabView tab create notice />
            <FailedRequestsSection requests=failed />
        }
    })
}

/// What the last plain form post did, if it said so (see [`crate::secrets::notice`]); the cookie
/// that said it is cleared.
fn take_notice() -> String {
    #[cfg(feature = "ssr")]
    {
        let said = with_context(|parts: &axum::http::request::Parts| {
            crate::secrets::notice::read(&parts.headers)
        })
        .flatten();
        let environment_id = crate::environments::views::current_environment_id();
        let state = use_context::<crate::platform::state::AppState>();
        let response = use_context::<leptos_axum::ResponseOptions>();
        if let (Some(_), Some(id), Some(state), Some(response)) =
            (&said, environment_id, state, response)
        {
            let clear = crate::secrets::notice::clear(id, state.secure_cookies);
            response.append_header(axum::http::header::SET_COOKIE, clear);
        }
        said.unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    String::new()
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

/// Which modal is open, and for which secret.
#[derive(Clone, PartialEq)]
enum Modal {
    Created(CreatedSecret),
    UseWithWebhooks(SecretSummary),
    Rotate(SecretSummary),
    Expiry(SecretSummary),
    Remove(SecretSummary),
}

/// State shared by the tab's parts.
#[derive(Clone, Copy)]
struct TabState {
    environment_id: Uuid,
    /// The viewer's role: controls it may not use are disabled, with the reason.
    role: Role,
    /// Whether the actions ask for the password first (step-up).
    confirm: RwSignal<bool>,
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
///
/// `create` and `notice`: what a plain form post, before the WASM or without it, left to say.
#[island]
fn SecretsTabView(tab: SecretsTab, create: CreateFeedback, notice: String) -> impl IntoView {
    let state = TabState {
        environment_id: tab.environment.id,
        role: tab.role,
        confirm: RwSignal::new(!tab.confirmed),
        secrets: RwSignal::new(tab.secrets),
        now_ms: RwSignal::new(tab.now_ms),
        hydrated: RwSignal::new(false),
        modal: RwSignal::new(None),
        opener: StoredValue::new(CREATE_BUTTON_ID.to_owned()),
        status: RwSignal::new(notice),
    };
    provide_context(state);
    Effect::new(move |_| {
        state.hydrated.set(true);
        start_clock(state.now_ms);
        keep_fresh(state);
    });

    view! {
        <CreateForm feedback=create />
        <p id=STATUS_ID class="status" role="status" tabindex="-1">
            {move || state.status.get()}
        </p>
        <SecretsTable />
        <ModalDialog />
    }
}

/// "Create a new API secret": a form posted to the server before the WASM loads (see
/// [`crate::secrets::handlers::create`]), sent by the server function once it has.
#[component]
fn CreateForm(feedback: CreateFeedback) -> impl IntoView {
    let state = expect_context::<TabState>();
    let label = RwSignal::new(feedback.label);
    let expires_on = RwSignal::new(feedback.expires_on);
    let error = RwSignal::new(feedback.error);
    let action = format!("/environments/{}/api-secrets", state.environment_id);
    let busy = RwSignal::new(false);
    let full = move || state.secrets.with(Vec::len) >= MAX_SECRETS;
    // The first secret becomes the webhook signer, which never expires: no date field for it.
    let first = move || state.secrets.with(Vec::is_empty);
    let allowed = state.role.may(Action::CreateSecret);
    let step_up = StepUp::new(state.confirm);

    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if busy.get_untracked() || full() || !allowed {
            return;
        }
        let text = label.get_untracked();
        let expires = expires_on.get_untracked();
        if let Err(message) = parse_label(&text) {
            error.set(Some(message.to_owned()));
            return;
        }
        error.set(None);
        busy.set(true);
        leptos::task::spawn_local(async move {
            let created = step_up
                .run(|| create_api_secret(state.environment_id, text, expires))
                .await;
            match created {
                Ok(created) => {
                    label.set(String::new());
                    expires_on.set(String::new());
                    state.secrets.set(created.secrets.clone());
                    let message = Done::Created.message(&created.secret.masked);
                    state.open(Modal::Created(created), CREATE_BUTTON_ID);
                    state.status.set(message);
                }
                Err(e) => error.set(Some(e.to_string())),
            }
            busy.set(false);
        });
    };

    view! {
        <form class="create-secret" method="post" action=action on:submit=submit>
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
                    value=label.get_untracked()
                    prop:value=move || label.get()
                    on:input=move |ev| label.set(event_target_value(&ev))
                />
            </div>
            <div class="field" hidden=first>
                <label for="secret-expires">"Expires (optional)"</label>
                <input
                    id="secret-expires"
                    name="expires_on"
                    type="date"
                    aria-describedby="secret-expires-hint create-error"
                    value=expires_on.get_untracked()
                    prop:value=move || expires_on.get()
                    on:input=move |ev| expires_on.set(event_target_value(&ev))
                />
                <p id="secret-expires-hint" class="hint">{EXPIRY_HINT}</p>
            </div>
            {allowed.then(|| view! { <PasswordPrompt step_up id="create-password" /> })}
            <button
                id=CREATE_BUTTON_ID
                type="submit"
                disabled=move || !allowed || full() || busy.get() || step_up.missing()
                aria-describedby=if allowed { "create-limit" } else { "create-role" }
            >
                "Create a new API secret"
            </button>
            <p id="create-limit" class="hint" hidden=move || !allowed || !full()>{LIMIT_REACHED}</p>
            {(!allowed)
                .then(|| {
                    view! { <p id="create-role" class="hint">{Action::CreateSecret.refusal()}</p> }
                })}
            <p id="create-error" class="error" role="alert">{move || error.get()}</p>
        </form>
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
                if let Ok(tab) = crate::secrets::list_api_secrets(state.environment_id).await
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
