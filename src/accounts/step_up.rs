//! Step-up ("sudo mode", as on GitHub): the actions the role table marks as dangerous (creating
//! or removing an API secret, switching the webhook signer, member changes) need the person to
//! have proved it is them within the last [`STEP_UP_MINUTES`]: by signing in, or by typing
//! their password again where the page asks for it. A stolen session cookie alone cannot do them.
//!
//! The server enforces it (`session::require` answers `AppError::ConfirmationNeeded`); the pages
//! ask inline: the API secrets tab's forms and modals show a password field ([`PasswordPrompt`]),
//! the plain-form pages a "Confirm it's you" form ([`ConfirmAccess`]) that works without
//! JavaScript. Wrong passwords count against the sign-in throttle.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::{
    Email,
    db::{Member, confirm_session},
    handlers::{Authentication, authenticate},
    session::require_member,
    throttle::release,
    two_factor::{
        is_code,
        verify::{Proof, Purpose, check},
    },
};
use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::{audit::Origin, error::fail, platform::state::app_state};

/// How long a confirmation (or a sign-in) lets dangerous actions through.
pub const STEP_UP_MINUTES: i32 = 10;

/// Said when the password typed to confirm is not the person's.
pub const WRONG_PASSWORD: &str = "The password is not right.";

/// Said when a code typed to confirm is not right (or was used already).
pub const WRONG_CODE: &str = "The code is not right, or it was used already.";

/// Confirms the signed-in person's password (or, when they have two-factor authentication, a
/// code from their app): dangerous actions are theirs for the next [`STEP_UP_MINUTES`] in this
/// session.
#[server(prefix = "/rpc", endpoint = "confirm_password")]
pub async fn confirm_password(password: String) -> Result<(), AppError> {
    let member = require_member()?;
    let state = app_state()?;
    confirm(&state, &member, password, &Origin::of_server_fn()).await
}

/// Confirms that `password` (or, with two-factor authentication, a code from their app) is
/// `member`'s: their session may do dangerous actions for the next [`STEP_UP_MINUTES`]. Shared
/// by the server function and the plain forms that carry a password field.
#[cfg(feature = "ssr")]
pub async fn confirm(
    state: &crate::platform::state::AppState,
    member: &Member,
    password: String,
    origin: &Origin,
) -> Result<(), AppError> {
    let email = Email::parse(&member.email).map_err(|_| fail(AppError::Unauthorized))?;
    let wait = if member.two_factor && is_code(&password) {
        let (user_id, purpose) = (member.user_id, Purpose::StepUp);
        match check(state, user_id, &email, &password, origin, purpose).await? {
            Proof::Accepted(mut tx) => {
                confirm_session(&mut *tx, member.session_id).await?;
                tx.commit().await?;
                return Ok(());
            }
            Proof::Wrong => return Err(fail(AppError::Invalid(WRONG_CODE.into()))),
            Proof::Throttled(wait) => wait,
        }
    } else {
        match authenticate(state, &email, password, origin).await? {
            Authentication::Verified(user_id) if user_id == member.user_id => {
                confirm_session(&state.pool, member.session_id).await?;
                return Ok(());
            }
            Authentication::NeedsSecondFactor(user_id) if user_id == member.user_id => {
                // This session passed the second factor already, so its right password is not
                // a failure. But it does not clear the wrong codes counted before it: a stolen
                // session and password would reset the count and guess codes without end.
                release(&state.pool, &email, origin.address()).await?;
                confirm_session(&state.pool, member.session_id).await?;
                return Ok(());
            }
            Authentication::Verified(_)
            | Authentication::NeedsSecondFactor(_)
            | Authentication::Wrong => {
                return Err(fail(AppError::Invalid(WRONG_PASSWORD.into())));
            }
            Authentication::Throttled(wait) => wait,
        }
    };
    Err(fail(AppError::TooManyAttempts(
        wait.message("Too many wrong attempts."),
    )))
}

/// `member` once the password their form carried (if any) confirmed it is them: for the plain
/// forms of dangerous actions, whose page shows the password field when it is needed.
#[cfg(feature = "ssr")]
pub async fn confirmed_by_form(
    state: &crate::platform::state::AppState,
    mut member: Member,
    password: String,
    origin: &Origin,
) -> Result<Member, AppError> {
    if !member.confirmed && !password.is_empty() {
        confirm(state, &member, password, origin).await?;
        member.confirmed = true;
    }
    Ok(member)
}

/// A form's step-up, in the browser: whether the page must ask for the password (shared by
/// every form of the page), and what this form's field holds.
#[derive(Clone, Copy)]
pub struct StepUp {
    needed: RwSignal<bool>,
    password: RwSignal<String>,
    input: NodeRef<leptos::html::Input>,
}

impl StepUp {
    /// `needed`: the page's, true when it was rendered without a recent confirmation.
    pub fn new(needed: RwSignal<bool>) -> StepUp {
        StepUp {
            needed,
            password: RwSignal::new(String::new()),
            input: NodeRef::new(),
        }
    }

    /// Runs `action`, confirming the typed password first when the page asks for it. When the
    /// server answers that a confirmation is needed (it expired while the page was open), the
    /// field appears and takes the focus: the person types it and tries again.
    pub async fn run<T, F>(self, action: impl FnOnce() -> F) -> Result<T, AppError>
    where
        F: std::future::Future<Output = Result<T, AppError>>,
    {
        if self.needed.get_untracked() {
            confirm_password(self.password.get_untracked()).await?;
            self.needed.set(false);
            self.password.set(String::new());
        }
        let result = action().await;
        if matches!(result, Err(AppError::ConfirmationNeeded)) {
            self.needed.set(true);
            self.focus_soon();
        }
        result
    }

    /// Whether the field is shown and empty (its form's submit button waits for it).
    pub fn missing(&self) -> bool {
        self.needed.get() && self.password.with(String::is_empty)
    }

    fn focus_soon(self) {
        #[cfg(feature = "hydrate")]
        request_animation_frame(move || {
            if let Some(input) = self.input.get_untracked() {
                let _ = input.focus();
            }
        });
    }
}

/// The password field a form or modal shows when the page asks for a confirmation.
#[component]
pub fn PasswordPrompt(
    step_up: StepUp,
    id: &'static str,
    /// Takes the focus when its modal opens.
    #[prop(optional)]
    autofocus: bool,
) -> impl IntoView {
    let hint = format!("{id}-hint");
    move || {
        step_up.needed.get().then(|| {
            view! {
                <div class="field step-up">
                    <label for=id>"Your password"</label>
                    <input
                        id=id
                        node_ref=step_up.input
                        // Sent with its form when it is posted before the WASM loads.
                        name="password"
                        type="password"
                        required
                        maxlength="1024"
                        autocomplete="current-password"
                        autofocus=autofocus
                        aria-describedby=hint.clone()
                        prop:value=move || step_up.password.get()
                        on:input=move |ev| step_up.password.set(event_target_value(&ev))
                    />
                    <p id=hint.clone() class="hint">
                        "Confirm it's you: this action needs your password (or a code from your authenticator app). You will not be asked again for 10 minutes."
                    </p>
                </div>
            }
        })
    }
}

/// Id of the text that says why a page's dangerous controls wait: their `aria-describedby`.
pub const CONFIRM_ACCESS_ID: &str = "confirm-access-why";

/// "Confirm it's you" on a page of plain forms: a password form (a post that works without
/// JavaScript) whose success brings the person back to the page, its controls enabled.
#[component]
pub fn ConfirmAccess(
    action: ServerAction<ConfirmPassword>,
    /// What the confirmation unlocks, e.g. "To invite, change or remove members".
    what: &'static str,
) -> impl IntoView {
    view! {
        <section class="confirm-access" aria-labelledby="confirm-access-title">
            <h2 id="confirm-access-title">"Confirm it's you"</h2>
            <p id=CONFIRM_ACCESS_ID>
                {what} ", confirm your password (or enter a code from your authenticator app). "
                "You will not be asked again for 10 minutes."
            </p>
            <ActionForm action attr:class="inline-form">
                <label for="confirm-password">"Your password"</label>
                <input
                    id="confirm-password"
                    name="password"
                    type="password"
                    required
                    maxlength="1024"
                    autocomplete="current-password"
                />
                <button type="submit">"Confirm password"</button>
            </ActionForm>
            <p class="error" role="alert">{crate::ui::error_of(action.value())}</p>
        </section>
    }
}
