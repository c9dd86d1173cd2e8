//! The pages the tab's plain forms lead to before its WASM loads, or without JavaScript: the new
//! secret's value (once), and the confirmations of "Use with webhooks" and "Remove". Rendered on
//! the server; their forms post to [`crate::secrets::handlers`]. The hydrated tab does the same
//! in its modals, through the same rules.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

use super::{
    ActionFeedback, CopyButton, EXPIRY_HINT,
    modals::{RetireHint, RotateQuestion, ShownOnceWarning},
};
use crate::{
    accounts::{
        roles::Action,
        step_up::{PasswordPrompt, StepUp},
    },
    error::AppError,
    secrets::{
        ALREADY_ROTATING, RevealedSecret, SIGNER_CANNOT_BE_REMOVED, SIGNER_CANNOT_EXPIRE,
        SecretSummary, SecretsTab, list_api_secrets, notice::Done, removal_phrase,
        take_new_api_secret,
    },
    ui::{PageTitle, loaded},
};

/// The environment and the secret the URL names (`/environments/{id}/api-secrets/{secret}/…`).
pub(super) fn environment_and_secret() -> Option<(Uuid, Uuid)> {
    use_params_map().with_untracked(|p| {
        let id = |name| p.get(name).and_then(|v| Uuid::try_parse(&v).ok());
        id("id").zip(id("secret"))
    })
}

/// `/environments/{id}/api-secrets/{secret}/new`, where creating by a plain form leads: the new
/// value, shown to the session that created it, once. Reloaded, or reached by Back, it says
/// that the value cannot be shown again.
#[component]
pub fn NewSecretPage() -> impl IntoView {
    let ids = environment_and_secret();
    let revealed = async move {
        let (environment_id, secret_id) = ids.ok_or(AppError::NotFound)?;
        let revealed = take_new_api_secret(environment_id, secret_id).await?;
        Ok((environment_id, revealed))
    };
    loaded(revealed, |(environment_id, revealed)| {
        view! { <NewSecretView environment_id revealed /> }
    })
}

#[component]
fn NewSecretView(environment_id: Uuid, revealed: Option<RevealedSecret>) -> impl IntoView {
    let tab = format!("/environments/{environment_id}/api-secrets");
    let shown = revealed.map(
        |RevealedSecret {
             masked,
             label,
             value,
         }| {
            view! {
                <p class="status" role="status">
                    {Done::Created.message(&masked)}
                    {(!label.is_empty()).then(|| format!(" Label: {label}."))}
                </p>
                <section class="reveal" aria-labelledby="new-secret-warning">
                    <ShownOnceWarning id="new-secret-warning" />
                    <label for="new-secret-value">"API secret"</label>
                    <div class="reveal-value">
                        <input
                            id="new-secret-value"
                            class="secret-value"
                            type="text"
                            readonly
                            spellcheck="false"
                            autocomplete="off"
                            value=value.clone()
                        />
                        <CopyButton text=value />
                    </div>
                </section>
            }
        },
    );
    let gone = shown.is_none().then(|| {
        view! {
            <p>
                "The value of this API secret was shown once, when it was created, and cannot be shown again. "
                "If you did not copy it, remove this API secret and create another."
            </p>
        }
    });
    view! {
        <PageTitle text="Your new API secret · Customer Portal" />
        <h1>"Your new API secret"</h1>
        {shown}
        {gone}
        <p>
            <a href=tab>"Back to API secrets"</a>
        </p>
    }
}

/// The tab's data and the secret the URL names (not found if the environment has no such one).
fn tab_and_secret() -> impl Future<Output = Result<(SecretsTab, SecretSummary), AppError>> + Send {
    let ids = environment_and_secret();
    async move {
        let (environment_id, secret_id) = ids.ok_or(AppError::NotFound)?;
        let tab = list_api_secrets(environment_id).await?;
        let secret = tab.secrets.iter().find(|s| s.id == secret_id).cloned();
        Ok((tab, secret.ok_or(AppError::NotFound)?))
    }
}

/// `/environments/{id}/api-secrets/{secret}/use-with-webhooks`: "Use with webhooks", confirmed.
#[component]
pub fn UseWithWebhooksPage() -> impl IntoView {
    let error = use_context::<ActionFeedback>().map(|f| f.error);
    loaded(tab_and_secret(), move |(tab, secret)| {
        let body = if secret.webhook_signer {
            view! { <p>"This API secret signs your webhooks already."</p> }.into_any()
        } else {
            view! {
                <Confirmation
                    tab=tab.clone()
                    secret_id=secret.id
                    action=Action::SwitchWebhookSigner
                    page="use-with-webhooks"
                    error=error.clone()
                >
                    <p>
                        "Sign webhooks requests with the API secret " <Named secret=secret.clone() />
                        "? The API secret used with webhooks until now will no longer sign them."
                    </p>
                </Confirmation>
            }
            .into_any()
        };
        view! {
            <Heading tab text="Use with webhooks" />
            {body}
        }
        .into_any()
    })
}

/// `/environments/{id}/api-secrets/{secret}/remove`: "Remove", with the typed phrase.
#[component]
pub fn RemoveSecretPage() -> impl IntoView {
    let error = use_context::<ActionFeedback>().map(|f| f.error);
    loaded(tab_and_secret(), move |(tab, secret)| {
        let error = error.clone();
        let phrase = removal_phrase(&secret.masked);
        let question = view! {
            <p>
                "Remove the API secret " <Named secret=secret.clone() />
                "? Requests signed with it will be refused. "
                <strong>"This operation cannot be undone."</strong>
            </p>
        };
        let body = if secret.webhook_signer {
            view! {
                {question}
                <p class="notice">{SIGNER_CANNOT_BE_REMOVED}</p>
            }
            .into_any()
        } else {
            view! {
                <Confirmation
                    tab=tab.clone()
                    secret_id=secret.id
                    action=Action::RemoveSecret
                    page="remove"
                    error=error.clone()
                >
                    {question}
                    <label for="remove-phrase">
                        "To confirm, type " <kbd class="phrase">{phrase}</kbd>
                    </label>
                    <input
                        id="remove-phrase"
                        name="phrase"
                        type="text"
                        required
                        autocomplete="off"
                        spellcheck="false"
                        autofocus
                        aria-describedby="confirm-error"
                        aria-invalid=error.is_some().then_some("true")
                    />
                </Confirmation>
            }
            .into_any()
        };
        view! {
            <Heading tab text="Remove API secret" />
            {body}
        }
        .into_any()
    })
}

/// `/environments/{id}/api-secrets/{secret}/rotate`: "Rotate", with an optional date that
/// retires the old one; then the new value, once.
#[component]
pub fn RotateSecretPage() -> impl IntoView {
    let error = use_context::<ActionFeedback>().map(|f| f.error);
    loaded(tab_and_secret(), move |(tab, secret)| {
        let body = if secret.rotation.is_some() {
            view! { <p class="notice">{ALREADY_ROTATING}</p> }.into_any()
        } else {
            view! {
                <Confirmation
                    tab=tab.clone()
                    secret_id=secret.id
                    action=Action::RotateSecret
                    page="rotate"
                    error=error.clone()
                >
                    <RotateQuestion secret=secret.clone() />
                    <label for="retire-date">"Retire the old one on (optional)"</label>
                    <input
                        id="retire-date"
                        name="retire_on"
                        type="date"
                        aria-describedby="retire-hint confirm-error"
                    />
                    <RetireHint />
                </Confirmation>
            }
            .into_any()
        };
        view! {
            <Heading tab text="Rotate API secret" />
            {body}
        }
        .into_any()
    })
}

/// `/environments/{id}/api-secrets/{secret}/expiry`: a new expiry date, or none.
#[component]
pub fn ExpiryPage() -> impl IntoView {
    let error = use_context::<ActionFeedback>().map(|f| f.error);
    loaded(tab_and_secret(), move |(tab, secret)| {
        let error = error.clone();
        // The current date, as the field spells it (`YYYY-MM-DD`).
        let day = secret
            .expires_at
            .as_ref()
            .map(|at| at.iso.chars().take(10).collect::<String>())
            .unwrap_or_default();
        let body = if secret.webhook_signer {
            view! { <p class="notice">{SIGNER_CANNOT_EXPIRE}</p> }.into_any()
        } else {
            view! {
                <Confirmation
                    tab=tab.clone()
                    secret_id=secret.id
                    action=Action::ExpireSecret
                    page="expiry"
                    error=error.clone()
                >
                    <p>
                        "When should the API secret " <Named secret=secret.clone() />
                        " expire? Leave the date empty for never."
                    </p>
                    <label for="expiry-date">"Expires on"</label>
                    <input
                        id="expiry-date"
                        name="expires_on"
                        type="date"
                        value=day
                        aria-describedby="expiry-hint confirm-error"
                        aria-invalid=error.is_some().then_some("true")
                    />
                    <p id="expiry-hint" class="hint">{EXPIRY_HINT}</p>
                </Confirmation>
            }
            .into_any()
        };
        view! {
            <Heading tab text="Expiry" />
            {body}
        }
        .into_any()
    })
}

#[component]
fn Heading(tab: SecretsTab, text: &'static str) -> impl IntoView {
    view! {
        <PageTitle text=format!("{text} · {} · Customer Portal", tab.environment.name) />
        <h1>{text}</h1>
        <p class="lead">"Environment: " <strong>{tab.environment.name.clone()}</strong></p>
    }
}

/// `csk_…a1B2 (label)`.
#[component]
fn Named(secret: SecretSummary) -> impl IntoView {
    view! {
        <code class="masked">{secret.masked}</code>
        {(!secret.label.is_empty()).then(|| format!(" ({})", secret.label))}
    }
}

/// A confirmation's form (posted to this page's path), its password field when the person has
/// not confirmed who they are lately, why it was refused, "Confirm" and "Cancel". A role that
/// may not do `action` gets the reason instead.
#[component]
fn Confirmation(
    tab: SecretsTab,
    secret_id: Uuid,
    action: Action,
    /// The page's last path segment, which its handler answers.
    page: &'static str,
    error: Option<String>,
    children: Children,
) -> impl IntoView {
    let back = format!("/environments/{}/api-secrets", tab.environment.id);
    if !tab.role.may(action) {
        return view! {
            {children()}
            <p class="notice">{action.refusal()}</p>
            <p>
                <a href=back>"Back to API secrets"</a>
            </p>
        }
        .into_any();
    }
    let path = format!("{back}/{secret_id}/{page}");
    let step_up = StepUp::new(RwSignal::new(!tab.confirmed));
    view! {
        <form class="confirm" method="post" action=path>
            {children()}
            <PasswordPrompt step_up id="confirm-password" />
            <p id="confirm-error" class="error" role="alert">{error}</p>
            <div class="modal-actions">
                <button type="submit" class=(page == "remove").then_some("danger")>"Confirm"</button>
                <a class="button secondary" href=back>"Cancel"</a>
            </div>
        </form>
    }
    .into_any()
}
