//! The Security page (two-factor authentication: set up, recovery codes, turn off) and the
//! sign-in's second step. Plain forms, rendered on the server: what a form reveals is in its
//! answer only ([`Revealed`], from the handler), never in page data.

use leptos::prelude::*;

use super::{RequireTwoFactor, Revealed, SecurityView, security_status};
use crate::{
    accounts::{
        roles::{Action, Role},
        step_up::{CONFIRM_ACCESS_ID, ConfirmAccess, ConfirmPassword},
        views::FormFeedback,
    },
    error::AppError,
    ui::{PageTitle, error_of, loaded, time::relative_time},
};

#[component]
pub fn SecurityPage() -> impl IntoView {
    let status = security_status();
    let revealed = use_context::<Revealed>().unwrap_or_default();
    let error = revealed.error.clone();
    view! {
        <PageTitle text="Security · Customer Portal" />
        <h1>"Security"</h1>
        <p>
            "Protect your account with a second step at sign-in. To see where you are signed "
            "in, open " <a href="/sessions">"Sessions"</a> "."
        </p>
        <p class="error" role="alert">{error}</p>
        {loaded(
            status,
            move |status: SecurityView| {
                view! { <TwoFactor status revealed /> }
            },
        )}
    }
}

#[component]
fn TwoFactor(status: SecurityView, revealed: Revealed) -> impl IntoView {
    let confirm = ServerAction::<ConfirmPassword>::new();
    // Setting it up needs a recent confirmation; once on, changes ask for a code instead.
    let waiting = !status.confirmed && status.enabled_since.is_none();
    let why = waiting.then_some(CONFIRM_ACCESS_ID);
    let required = (!status.required_by.is_empty()).then(|| {
        format!(
            "{} requires two-factor authentication of its members.",
            status.required_by.join(", ")
        )
    });
    let body = if let Some((qr, key)) = revealed.setup {
        view! { <SetUp qr key /> }.into_any()
    } else if !revealed.recovery_codes.is_empty() {
        view! { <RecoveryCodes codes=revealed.recovery_codes /> }.into_any()
    } else if let Some(since) = status.enabled_since {
        let when = relative_time(status.now_ms, since.ms);
        let left = match status.recovery_codes_left {
            1 => "1 recovery code left.".to_owned(),
            n => format!("{n} recovery codes left."),
        };
        let locked = required.is_some();
        view! {
            <p>
                <strong>"On"</strong> ", since "
                <time datetime=since.iso title=since.utc>{when}</time> ". " {left}
            </p>
            // Both changes ask for a code (or a recovery code), never only the password.
            <form class="inline-form" method="post" action="/security/two-factor/recovery-codes">
                <label for="change-code">"Authentication code"</label>
                <input
                    id="change-code"
                    name="code"
                    type="text"
                    autocomplete="one-time-code"
                    maxlength="64"
                    required
                    aria-describedby="change-code-hint"
                />
                <button type="submit" class="secondary">"Generate new recovery codes"</button>
                <button
                    type="submit"
                    class="danger"
                    formaction="/security/two-factor/disable"
                    disabled=locked
                    aria-describedby=locked.then_some("two-factor-required")
                >
                    "Turn off two-factor authentication"
                </button>
            </form>
            <p class="hint" id="change-code-hint">
                "To change it, enter a code from your authenticator app, or one of your recovery codes."
            </p>
        }
        .into_any()
    } else if status.pending {
        view! {
            <p>"Enter the code your authenticator app shows to finish setting up."</p>
            <EnableForm />
            <form method="post" action="/security/two-factor/setup">
                <button type="submit" class="secondary" disabled=waiting aria-describedby=why>
                    "Start over"
                </button>
            </form>
        }
        .into_any()
    } else {
        view! {
            <p>
                <strong>"Off."</strong>
                " With it on, signing in also asks for a code from an app on your phone, so a "
                "stolen password alone cannot open your account."
            </p>
            <form method="post" action="/security/two-factor/setup">
                <button type="submit" disabled=waiting aria-describedby=why>
                    "Set up two-factor authentication"
                </button>
            </form>
        }
        .into_any()
    };
    view! {
        <section class="two-factor" aria-labelledby="two-factor-title">
            <h2 id="two-factor-title">"Two-factor authentication"</h2>
            {required.map(|text| view! { <p class="notice" id="two-factor-required">{text}</p> })}
            {body}
        </section>
        {waiting.then(|| view! { <ConfirmAccess action=confirm what="To set it up" /> })}
    }
}

/// The set-up: the QR code, the same key to type, and the first code's form.
#[component]
fn SetUp(qr: String, key: String) -> impl IntoView {
    view! {
        <ol class="steps">
            <li>
                "Scan this QR code with your authenticator app (1Password, Google Authenticator, "
                "Microsoft Authenticator, Authy…)."
                <div class="qr" role="img" aria-label="QR code of your two-factor key" inner_html=qr></div>
            </li>
            <li>
                "Or type this key into the app: " <code class="manual-key">{key}</code>
            </li>
            <li>"Enter the code the app shows."<EnableForm /></li>
        </ol>
        <p class="hint">
            "This key is shown only now. If you leave this page before entering a code, start over."
        </p>
    }
}

#[component]
fn EnableForm() -> impl IntoView {
    view! {
        <form class="inline-form" method="post" action="/security/two-factor/enable">
            <label for="enable-code">"Authentication code"</label>
            <input
                id="enable-code"
                name="code"
                type="text"
                inputmode="numeric"
                autocomplete="one-time-code"
                maxlength="16"
                required
            />
            <button type="submit">"Turn on"</button>
        </form>
    }
}

/// New recovery codes, shown once.
#[component]
fn RecoveryCodes(codes: Vec<String>) -> impl IntoView {
    view! {
        <p role="status">
            <strong>"Two-factor authentication is on."</strong>
            " Save these recovery codes somewhere safe (a password manager): each signs you in "
            "once if you lose your phone. They are shown only now."
        </p>
        <ol class="recovery-codes" aria-label="Recovery codes">
            {codes
                .into_iter()
                .map(|code| view! { <li><code>{code}</code></li> })
                .collect_view()}
        </ol>
        <p><a href="/security">"I have saved them"</a></p>
    }
}

/// Whether this session's password step passed and waits for its code.
#[server(prefix = "/rpc", endpoint = "second_step_awaited")]
pub async fn second_step_awaited() -> Result<bool, AppError> {
    use crate::{accounts::session::awaiting_second_factor, error::internal_error};
    let session = crate::accounts::session::request_extension::<tower_sessions::Session>();
    let Some(session) = session else {
        return Ok(false);
    };
    let awaiting = awaiting_second_factor(&session).await;
    let awaiting = awaiting.map_err(|e| internal_error("reading the session", &e))?;
    Ok(awaiting.is_some())
}

/// The sign-in's second step: a code from the app, or a recovery code. A failed post's answer
/// (its feedback provided) shows the form again with the message: the session still waits.
#[component]
pub fn SecondStepPage() -> impl IntoView {
    let posted = use_context::<FormFeedback>();
    let body = match posted {
        Some(feedback) => view! { <SecondStepForm error=feedback.error /> }.into_any(),
        None => {
            let awaited = second_step_awaited();
            loaded(awaited, |awaited: bool| {
                if awaited {
                    return view! { <SecondStepForm error=None /> }.into_any();
                }
                view! {
                    <p>
                        "Your sign-in has expired (the code is asked for within 5 minutes). "
                        <a href="/sign-in">"Sign in again"</a>
                    </p>
                }
                .into_any()
            })
            .into_any()
        }
    };
    view! {
        <PageTitle text="Two-factor authentication · Customer Portal" />
        <div class="auth">
            <h1>"Two-factor authentication"</h1>
            {body}
        </div>
    }
}

#[component]
fn SecondStepForm(error: Option<String>) -> impl IntoView {
    view! {
        <form method="post" action="/sign-in/two-factor">
            <p class="error" role="alert" id="form-error">{error}</p>
            <label for="code">"Authentication code"</label>
            <input
                id="code"
                name="code"
                type="text"
                autocomplete="one-time-code"
                maxlength="64"
                required
                autofocus
                aria-describedby="code-hint"
            />
            <p class="hint" id="code-hint">
                "The 6-digit code your authenticator app shows, or one of your recovery codes."
            </p>
            <button type="submit">"Verify"</button>
        </form>
        <p>
            <a href="/sign-in">"Sign in as someone else"</a>
        </p>
    }
}

/// The Members tab's section: whether the organization requires two-factor authentication, and
/// (for owners) the form that changes it.
#[component]
pub fn TwoFactorPolicy(required: bool, role: Role, confirmed: bool) -> impl IntoView {
    let action = ServerAction::<RequireTwoFactor>::new();
    let owner = role.may(Action::RequireTwoFactor);
    let reason = if !owner {
        Some("two-factor-owners")
    } else if !confirmed {
        Some(CONFIRM_ACCESS_ID)
    } else {
        None
    };
    let (state, button) = if required {
        (
            "Required: members without it set it up before they can do anything else.",
            "Stop requiring two-factor authentication",
        )
    } else {
        (
            "Not required: each member chooses on their Security page.",
            "Require two-factor authentication",
        )
    };
    view! {
        <section aria-labelledby="two-factor-policy-title">
            <h2 id="two-factor-policy-title">"Two-factor authentication"</h2>
            <p>{state}</p>
            {(!owner)
                .then(|| {
                    view! {
                        <p class="notice" id="two-factor-owners">
                            {Action::RequireTwoFactor.refusal()}
                        </p>
                    }
                })}
            <ActionForm action attr:class="inline-form">
                <input type="hidden" name="required" value=(!required).to_string() />
                <button
                    type="submit"
                    class=if required { "danger" } else { "secondary" }
                    disabled=reason.is_some()
                    aria-describedby=reason
                >
                    {button}
                </button>
            </ActionForm>
            <p class="error" role="alert">{error_of(action.value())}</p>
        </section>
    }
}
