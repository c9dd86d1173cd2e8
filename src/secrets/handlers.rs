//! The tab's actions as plain form posts: what the tab does before its WASM has loaded, or
//! without JavaScript. Each does what the server function does (see [`super::actions`]), then
//! redirects (POST-redirect-GET: a reload repeats nothing) or, refused, answers with the form's
//! page again, the reason next to the field and the status of the error.

use axum::{
    Form,
    extract::{Path, State},
    http::{Extensions, HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Redirect, Response},
};
use leptos::prelude::provide_context;
use serde::Deserialize;
use uuid::Uuid;

use super::{
    actions::{self, Reveal},
    notice::{self, Done},
    views::{ActionFeedback, CreateFeedback},
};
use crate::{
    accounts::{db::Member, session::SignedIn, step_up::confirmed_by_form},
    audit::Origin,
    error::AppError,
    platform::state::AppState,
};

#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    label: String,
    #[serde(default)]
    expires_on: String,
    /// Present when the tab asked for it (step-up).
    #[serde(default)]
    password: String,
}

/// `POST /environments/{id}/api-secrets`: creates a secret, then sends the browser to the page
/// that shows its value once.
pub async fn create(
    State(state): State<AppState>,
    mut extensions: Extensions,
    SignedIn(member): SignedIn,
    origin: Origin,
    Path(environment_id): Path<Uuid>,
    Form(form): Form<CreateForm>,
) -> Response {
    let CreateForm {
        label,
        expires_on,
        password,
    } = form;
    let member = match confirmed_by_form(&state, member, password, &origin).await {
        Ok(member) => member,
        Err(error) => {
            return refused_create(&state, extensions, environment_id, label, expires_on, error)
                .await;
        }
    };
    extensions.insert(member.clone());
    let created = actions::create(
        &state,
        member,
        origin,
        environment_id,
        &label,
        &expires_on,
        Reveal::OnNextPage,
    )
    .await;
    match created {
        Ok(created) => {
            let secret = created.secret;
            to_reveal(&state, environment_id, secret.id, &secret.masked)
        }
        Err(error) => {
            refused_create(&state, extensions, environment_id, label, expires_on, error).await
        }
    }
}

/// The tab again, with what was typed and why it was refused.
async fn refused_create(
    state: &AppState,
    extensions: Extensions,
    environment_id: Uuid,
    label: String,
    expires_on: String,
    error: AppError,
) -> Response {
    let feedback = CreateFeedback {
        label,
        expires_on,
        error: Some(error.to_string()),
    };
    let page = format!("/environments/{environment_id}/api-secrets");
    state
        .render_page(&page, status_of(&error), extensions, move || {
            provide_context(feedback.clone())
        })
        .await
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    /// Remove's typed phrase.
    #[serde(default)]
    phrase: String,
    /// Rotate's date for the old secret.
    #[serde(default)]
    retire_on: String,
    /// Expiry's date (empty: never).
    #[serde(default)]
    expires_on: String,
    #[serde(default)]
    password: String,
}

/// `POST /environments/{id}/api-secrets/{secret}/{use-with-webhooks,remove,rotate,expiry}`: a
/// confirmation page's "Confirm" (with Remove's phrase, Rotate's or Expiry's date), posted to
/// the page's own path.
pub async fn confirm(
    State(state): State<AppState>,
    extensions: Extensions,
    SignedIn(member): SignedIn,
    origin: Origin,
    uri: Uri,
    Path((environment_id, secret_id)): Path<(Uuid, Uuid)>,
    Form(form): Form<ConfirmForm>,
) -> Response {
    let Some(confirms) = Confirms::of_path(uri.path()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let confirmation = Confirmation {
        state,
        extensions,
        environment_id,
        secret_id,
        confirms,
    };
    confirmation.run(member, origin, form).await
}

/// What a confirmation page confirms.
#[derive(Clone, Copy)]
enum Confirms {
    UseWithWebhooks,
    Remove,
    Rotate,
    Expiry,
}

impl Confirms {
    const ALL: [Confirms; 4] = [
        Confirms::UseWithWebhooks,
        Confirms::Remove,
        Confirms::Rotate,
        Confirms::Expiry,
    ];

    /// What the page at `path` confirms (its last segment).
    fn of_path(path: &str) -> Option<Confirms> {
        let last = path.rsplit('/').next()?;
        Confirms::ALL.into_iter().find(|c| c.page() == last)
    }

    /// The page's last path segment.
    fn page(self) -> &'static str {
        match self {
            Confirms::UseWithWebhooks => "use-with-webhooks",
            Confirms::Remove => "remove",
            Confirms::Rotate => "rotate",
            Confirms::Expiry => "expiry",
        }
    }
}

/// Where a confirmed action sends the browser.
enum Answer {
    /// The tab, saying what was done to the secret (by its masked form, when known).
    Tab(Done, Option<String>),
    /// The new secret's page, which shows its value once.
    Reveal(Uuid, String),
}

/// A confirmation page's post.
struct Confirmation {
    state: AppState,
    extensions: Extensions,
    environment_id: Uuid,
    secret_id: Uuid,
    confirms: Confirms,
}

impl Confirmation {
    /// Its step-up, its action; done, back to the tab, which says so.
    async fn run(mut self, member: Member, origin: Origin, form: ConfirmForm) -> Response {
        let member = match confirmed_by_form(&self.state, member, form.password, &origin).await {
            Ok(member) => member,
            Err(error) => return self.refused(error).await,
        };
        // A refusal's page is rendered for the member as confirmed now: it asks no password.
        self.extensions.insert(member.clone());
        let (state, environment_id, secret_id) = (&self.state, self.environment_id, self.secret_id);
        // The secret's masked form in the list an action left.
        let in_list = |secrets: Vec<super::SecretSummary>| {
            let found = secrets.into_iter().find(|s| s.id == secret_id);
            found.map(|s| s.masked)
        };
        let outcome = match self.confirms {
            Confirms::UseWithWebhooks => {
                actions::use_with_webhooks(state, member, origin, environment_id, secret_id)
                    .await
                    .map(|secrets| Answer::Tab(Done::Signer, in_list(secrets)))
            }
            Confirms::Remove => {
                let phrase = &form.phrase;
                actions::remove(state, member, origin, environment_id, secret_id, phrase)
                    .await
                    // Gone from the list: the phrase, which matched, names it.
                    .map(|_| {
                        Answer::Tab(
                            Done::Removed,
                            phrase.strip_prefix("remove ").map(str::to_owned),
                        )
                    })
            }
            Confirms::Expiry => {
                let date = &form.expires_on;
                let done = if date.trim().is_empty() {
                    Done::NeverExpires
                } else {
                    Done::Expires
                };
                actions::set_expiry(state, member, origin, environment_id, secret_id, date)
                    .await
                    .map(|secrets| Answer::Tab(done, in_list(secrets)))
            }
            Confirms::Rotate => {
                let (date, reveal) = (&form.retire_on, Reveal::OnNextPage);
                actions::rotate(
                    state,
                    member,
                    origin,
                    environment_id,
                    secret_id,
                    date,
                    reveal,
                )
                .await
                .map(|created| Answer::Reveal(created.secret.id, created.secret.masked))
            }
        };
        match outcome {
            Ok(Answer::Tab(done, masked)) => {
                let tab = format!("/environments/{environment_id}/api-secrets");
                match masked {
                    Some(masked) => {
                        let cookie =
                            notice::set(done, &masked, environment_id, state.secure_cookies);
                        redirect(&tab, cookie)
                    }
                    None => Redirect::to(&tab).into_response(),
                }
            }
            Ok(Answer::Reveal(id, masked)) => to_reveal(state, environment_id, id, &masked),
            Err(error) => self.refused(error).await,
        }
    }

    /// The page again, saying why, with the error's status.
    async fn refused(&self, error: AppError) -> Response {
        let page = format!(
            "/environments/{}/api-secrets/{}/{}",
            self.environment_id,
            self.secret_id,
            self.confirms.page()
        );
        let feedback = ActionFeedback {
            error: error.to_string(),
        };
        self.state
            .render_page(
                &page,
                status_of(&error),
                self.extensions.clone(),
                move || provide_context(feedback.clone()),
            )
            .await
    }
}

/// 303 to the page that shows the new secret's value once; the tab will say it was created.
fn to_reveal(state: &AppState, environment_id: Uuid, secret_id: Uuid, masked: &str) -> Response {
    let to = format!("/environments/{environment_id}/api-secrets/{secret_id}/new");
    let done = Done::Created;
    let cookie = notice::set(done, masked, environment_id, state.secure_cookies);
    redirect(&to, cookie)
}

fn status_of(error: &AppError) -> StatusCode {
    StatusCode::from_u16(error.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// 303 to `to`, carrying the tab's notice.
fn redirect(to: &str, cookie: HeaderValue) -> Response {
    let mut response = Redirect::to(to).into_response();
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}
