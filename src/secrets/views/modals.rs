//! The tab's one modal `<dialog>` and what it shows: the new secret's value (once), "Use with
//! webhooks", "Expiry" and "Remove", each confirmed or cancelled.

use leptos::{either::EitherOf6, prelude::*};

use super::{
    EXPIRY_HINT, Modal, STATUS_ID, TabState,
    dom::{focus_back, keep_focus_inside},
};
use crate::{
    accounts::step_up::{PasswordPrompt, StepUp},
    secrets::{
        CreatedSecret, SecretSummary, notice::Done, removal_phrase, remove_api_secret,
        rotate_api_secret, set_expiry, use_with_webhooks,
    },
    ui::copy::{copy_on_click, copy_outcome},
};

/// One native `<dialog>`, opened with `showModal()` whenever a modal is chosen: focus moves in
/// and stays in, Escape cancels, and focus returns to the opener (or to the status message
/// when the opener is gone or disabled).
#[component]
pub(super) fn ModalDialog() -> impl IntoView {
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
            // An `Either`, not `into_any`: a type-erased view carries every way of rendering
            // (async hydration included) into the WASM, used or not.
            {move || match state.modal.get() {
                Some(Modal::Created(created)) => EitherOf6::A(view! { <RevealSecret created /> }),
                Some(Modal::UseWithWebhooks(secret)) => {
                    EitherOf6::B(view! { <ConfirmWebhookSigner secret /> })
                }
                Some(Modal::Rotate(secret)) => EitherOf6::C(view! { <ConfirmRotate secret /> }),
                Some(Modal::Expiry(secret)) => EitherOf6::D(view! { <SetExpiry secret /> }),
                Some(Modal::Remove(secret)) => EitherOf6::E(view! { <ConfirmRemove secret /> }),
                None => EitherOf6::F(()),
            }}
        </dialog>
    }
}

/// Beside a new secret's value, wherever it is shown (this modal, or the page after a plain form).
#[component]
pub(super) fn ShownOnceWarning(#[prop(optional)] id: Option<&'static str>) -> impl IntoView {
    view! {
        <p id=id class="warning">
            <strong>"Copy it now and keep it in a safe place. "</strong>
            "It will not be possible to display the full value of this API secret again."
        </p>
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
        <ShownOnceWarning />
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
    let step_up = StepUp::new(state.confirm);
    let masked = secret.masked.clone();
    let confirm = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        let masked = masked.clone();
        leptos::task::spawn_local(async move {
            let switched = step_up
                .run(|| use_with_webhooks(state.environment_id, secret.id))
                .await;
            match switched {
                Ok(secrets) => {
                    state.secrets.set(secrets);
                    state.done(Done::Signer.message(&masked));
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
        <form on:submit=confirm>
            <PasswordPrompt step_up id="signer-password" autofocus=true />
            <p class="error" role="alert">{move || error.get()}</p>
            <div class="modal-actions">
                <button type="submit" disabled=move || busy.get() || step_up.missing()>
                    "Confirm"
                </button>
                <button type="button" class="secondary" autofocus on:click=cancel>
                    "Cancel"
                </button>
            </div>
        </form>
    }
}

/// "Rotate": a new secret replaces this one (and its webhook signing); its value is shown next,
/// once. An optional date retires the old one.
#[component]
fn ConfirmRotate(secret: SecretSummary) -> impl IntoView {
    let state = expect_context::<TabState>();
    let retire_on = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let step_up = StepUp::new(state.confirm);
    let masked = secret.masked.clone();
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        let masked = masked.clone();
        let retire = retire_on.get_untracked();
        leptos::task::spawn_local(async move {
            let rotated = step_up
                .run(|| rotate_api_secret(state.environment_id, secret.id, retire))
                .await;
            match rotated {
                Ok(created) => {
                    state.secrets.set(created.secrets.clone());
                    let message = format!(
                        "API secret {} created to replace {masked}.",
                        created.secret.masked
                    );
                    // The old row's "Rotate" is gone: focus goes to the message afterwards.
                    state.open(Modal::Created(created), STATUS_ID);
                    state.status.set(message);
                }
                Err(e) => error.set(Some(e.to_string())),
            }
            busy.set(false);
        });
    };
    let cancel = move |_| state.modal.set(None);
    view! {
        <h2 id="modal-title">"Rotate API secret"</h2>
        <form on:submit=submit>
            <RotateQuestion secret=secret.clone() />
            <label for="retire-date">"Retire the old one on (optional)"</label>
            <input
                id="retire-date"
                type="date"
                aria-describedby="retire-hint rotate-error"
                prop:value=move || retire_on.get()
                on:input=move |ev| retire_on.set(event_target_value(&ev))
            />
            <RetireHint />
            <PasswordPrompt step_up id="rotate-password" autofocus=true />
            <p id="rotate-error" class="error" role="alert">{move || error.get()}</p>
            <div class="modal-actions">
                <button type="submit" disabled=move || busy.get() || step_up.missing()>
                    "Confirm"
                </button>
                <button type="button" class="secondary" autofocus on:click=cancel>
                    "Cancel"
                </button>
            </div>
        </form>
    }
}

/// What "Rotate" does, asked of the person (this modal, or its page without the WASM).
#[component]
pub(super) fn RotateQuestion(secret: SecretSummary) -> impl IntoView {
    view! {
        <p>
            "Create a new API secret to replace " <code class="masked">{secret.masked.clone()}</code>
            {(!secret.label.is_empty()).then(|| format!(" ({})", secret.label))} "? "
            {secret.webhook_signer.then_some("The new one signs your webhooks from now on. ")}
            "The old one keeps working until you remove it: move your callers to the new one, "
            "and this tab shows when nothing has used the old one for 24 hours."
        </p>
    }
}

/// Under the date that retires the old secret.
#[component]
pub(super) fn RetireHint() -> impl IntoView {
    view! {
        <p id="retire-hint" class="hint">
            "From 00:00 UTC on that day, requests signed with the old one are refused. Empty: it works until you remove it."
        </p>
    }
}

/// A new expiry date, or none (an empty field).
#[component]
fn SetExpiry(secret: SecretSummary) -> impl IntoView {
    let state = expect_context::<TabState>();
    // The current date, as the field spells it (`YYYY-MM-DD`).
    let day = RwSignal::new(
        secret
            .expires_at
            .as_ref()
            .map(|at| at.iso.chars().take(10).collect::<String>())
            .unwrap_or_default(),
    );
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let step_up = StepUp::new(state.confirm);
    let masked = secret.masked.clone();
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        let masked = masked.clone();
        let expires_on = day.get_untracked();
        leptos::task::spawn_local(async move {
            let never = expires_on.trim().is_empty();
            let saved = step_up
                .run(|| set_expiry(state.environment_id, secret.id, expires_on))
                .await;
            match saved {
                Ok(secrets) => {
                    state.secrets.set(secrets);
                    let done = if never {
                        Done::NeverExpires
                    } else {
                        Done::Expires
                    };
                    state.done(done.message(&masked));
                }
                Err(e) => error.set(Some(e.to_string())),
            }
            busy.set(false);
        });
    };
    let cancel = move |_| state.modal.set(None);
    view! {
        <h2 id="modal-title">"Expiry"</h2>
        <form on:submit=submit>
            <p>
                "When should the API secret " <code class="masked">{secret.masked.clone()}</code>
                {(!secret.label.is_empty()).then(|| format!(" ({})", secret.label))}
                " expire? Leave the date empty for never."
            </p>
            <label for="expiry-date">"Expires on"</label>
            <input
                id="expiry-date"
                type="date"
                autofocus
                aria-describedby="expiry-hint expiry-error"
                prop:value=move || day.get()
                on:input=move |ev| day.set(event_target_value(&ev))
            />
            <p id="expiry-hint" class="hint">{EXPIRY_HINT}</p>
            <PasswordPrompt step_up id="expiry-password" />
            <p id="expiry-error" class="error" role="alert">{move || error.get()}</p>
            <div class="modal-actions">
                <button type="submit" disabled=move || busy.get() || step_up.missing()>
                    "Confirm"
                </button>
                <button type="button" class="secondary" on:click=cancel>"Cancel"</button>
            </div>
        </form>
    }
}

#[component]
fn ConfirmRemove(secret: SecretSummary) -> impl IntoView {
    let state = expect_context::<TabState>();
    let phrase = removal_phrase(&secret.masked);
    let typed = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let step_up = StepUp::new(state.confirm);
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
                let removed = step_up
                    .run(|| remove_api_secret(state.environment_id, secret.id, typed))
                    .await;
                match removed {
                    Ok(secrets) => {
                        state.secrets.set(secrets);
                        state.done(Done::Removed.message(&masked));
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
            <PasswordPrompt step_up id="remove-password" />
            <p id="remove-error" class="error" role="alert">{move || error.get()}</p>
            <div class="modal-actions">
                <button
                    type="submit"
                    class="danger"
                    disabled=move || !matches() || busy.get() || step_up.missing()
                >
                    "Confirm"
                </button>
                <button type="button" class="secondary" on:click=cancel>"Cancel"</button>
            </div>
        </form>
    }
}
