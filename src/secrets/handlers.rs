//! The tab's actions as plain form posts: what the tab does before its WASM has loaded, or
//! without JavaScript. Each does what the server function does (see [`super::actions`]), then
//! redirects (POST-redirect-GET: a reload repeats nothing) or, refused, answers with the form's
//! page again, the reason next to the field and the status of the error.

use axum::{
    Form,
    extract::{Path, State},
    http::{Extensions, HeaderValue, StatusCode, header},
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
            let to = format!(
                "/environments/{environment_id}/api-secrets/{}/new",
                secret.id
            );
            let cookie = notice::set(
                Done::Created,
                &secret.masked,
                environment_id,
                state.secure_cookies,
            );
            redirect(&to, cookie)
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
    #[serde(default)]
    password: String,
}

/// `POST /environments/{id}/api-secrets/{secret}/use-with-webhooks`: the confirmation page's
/// "Confirm".
pub async fn use_with_webhooks(
    State(state): State<AppState>,
    extensions: Extensions,
    SignedIn(member): SignedIn,
    origin: Origin,
    Path((environment_id, secret_id)): Path<(Uuid, Uuid)>,
    Form(form): Form<ConfirmForm>,
) -> Response {
    let confirmation = Confirmation {
        state,
        extensions,
        environment_id,
        secret_id,
        page: "use-with-webhooks",
    };
    let member = match confirmation.confirmed(member, form.password, &origin).await {
        Ok(member) => member,
        Err(response) => return response,
    };
    let switched = actions::use_with_webhooks(
        &confirmation.state,
        member,
        origin,
        environment_id,
        secret_id,
    )
    .await;
    confirmation.answer(switched, Done::Signer, None).await
}

/// `POST /environments/{id}/api-secrets/{secret}/remove`: the confirmation page's "Confirm",
/// with the typed phrase.
pub async fn remove(
    State(state): State<AppState>,
    extensions: Extensions,
    SignedIn(member): SignedIn,
    origin: Origin,
    Path((environment_id, secret_id)): Path<(Uuid, Uuid)>,
    Form(form): Form<ConfirmForm>,
) -> Response {
    let confirmation = Confirmation {
        state,
        extensions,
        environment_id,
        secret_id,
        page: "remove",
    };
    let member = match confirmation.confirmed(member, form.password, &origin).await {
        Ok(member) => member,
        Err(response) => return response,
    };
    let removed = actions::remove(
        &confirmation.state,
        member,
        origin,
        environment_id,
        secret_id,
        &form.phrase,
    )
    .await;
    // Gone from the list: the phrase, which matched, names it ("remove a1B2").
    let masked = form.phrase.strip_prefix("remove ").map(str::to_owned);
    confirmation.answer(removed, Done::Removed, masked).await
}

/// A confirmation page's post: its step-up, then its answer.
struct Confirmation {
    state: AppState,
    extensions: Extensions,
    environment_id: Uuid,
    secret_id: Uuid,
    /// The page's last path segment.
    page: &'static str,
}

impl Confirmation {
    async fn confirmed(
        &self,
        member: Member,
        password: String,
        origin: &Origin,
    ) -> Result<Member, Response> {
        match confirmed_by_form(&self.state, member, password, origin).await {
            Ok(member) => Ok(member),
            Err(error) => Err(self.refused(error).await),
        }
    }

    /// Done: back to the tab, which says so. Refused: the page again, saying why.
    /// `masked`: the secret's, when it is no longer in the list.
    async fn answer(
        self,
        outcome: Result<Vec<super::SecretSummary>, AppError>,
        done: Done,
        masked: Option<String>,
    ) -> Response {
        let secrets = match outcome {
            Ok(secrets) => secrets,
            Err(error) => return self.refused(error).await,
        };
        let masked = masked.or_else(|| {
            secrets
                .iter()
                .find(|s| s.id == self.secret_id)
                .map(|s| s.masked.clone())
        });
        let tab = format!("/environments/{}/api-secrets", self.environment_id);
        match masked {
            Some(masked) => {
                let cookie = notice::set(
                    done,
                    &masked,
                    self.environment_id,
                    self.state.secure_cookies,
                );
                redirect(&tab, cookie)
            }
            None => Redirect::to(&tab).into_response(),
        }
    }

    async fn refused(&self, error: AppError) -> Response {
        let page = format!(
            "/environments/{}/api-secrets/{}/{}",
            self.environment_id, self.secret_id, self.page
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

fn status_of(error: &AppError) -> StatusCode {
    StatusCode::from_u16(error.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// 303 to `to`, carrying the tab's notice.
fn redirect(to: &str, cookie: HeaderValue) -> Response {
    let mut response = Redirect::to(to).into_response();
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}
