//! Sign-up and sign-in pages: plain HTML forms (they post to the handlers in `handlers.rs`),
//! checked in the browser with the same rules the server applies (the forms are islands).

use leptos::{ev::SubmitEvent, html::Input, prelude::*};
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use super::{Email, check_password, parse_organization_name, percent_encode};
use crate::ui::PageTitle;

/// What a failed form post sends back to the page: the message and what was typed (never the
/// password). Rendered on the server and shipped to the browser with the page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormFeedback {
    pub error: Option<String>,
    pub email: String,
    pub organization_name: String,
    /// Where to go after signing in.
    pub next: String,
}

/// The failed post's feedback (a handler re-rendering the page provides it), else an empty form.
fn use_feedback() -> FormFeedback {
    let query = use_query_map();
    use_context::<FormFeedback>().unwrap_or_else(|| FormFeedback {
        next: query.read_untracked().get("next").unwrap_or_default(),
        ..FormFeedback::default()
    })
}

#[component]
pub fn SignUpPage() -> impl IntoView {
    let feedback = use_feedback();
    view! {
        <PageTitle text="Sign up · Customer Portal" />
        <div class="auth">
            <h1>"Sign up"</h1>
            <SignUpForm feedback />
            <p>"Already have an account? " <a href="/sign-in">"Sign in"</a></p>
        </div>
    }
}

#[island]
fn SignUpForm(feedback: FormFeedback) -> impl IntoView {
    let email = NodeRef::<Input>::new();
    let password = NodeRef::<Input>::new();
    let organization = NodeRef::<Input>::new();
    let (error, set_error) = signal(feedback.error.clone());
    let on_submit = move |ev: SubmitEvent| {
        let value = |input: NodeRef<Input>| input.get().map(|i| i.value()).unwrap_or_default();
        let checked = Email::parse(&value(email))
            .and_then(|_| check_password(&value(password)))
            .and_then(|()| parse_organization_name(&value(organization)).map(|_| ()));
        if let Err(message) = checked {
            ev.prevent_default();
            set_error.set(Some(message.to_owned()));
        }
    };

    view! {
        <form method="post" action="/sign-up" on:submit=on_submit>
                <FormError error />
                <EmailField value=feedback.email node_ref=email autocomplete="email" />
                <label for="password">"Password"</label>
                <input
                    id="password"
                    name="password"
                    type="password"
                    autocomplete="new-password"
                    aria-describedby="password-hint"
                    required
                    node_ref=password
                />
                <p class="hint" id="password-hint">
                    "At least 12 characters."
                </p>
                <label for="organization_name">"Organization name"</label>
                <input
                    id="organization_name"
                    name="organization_name"
                    type="text"
                    autocomplete="organization"
                    required
                    value=feedback.organization_name
                    node_ref=organization
                />
                <button type="submit">"Sign up"</button>
        </form>
    }
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let feedback = use_feedback();
    view! {
        <PageTitle text="Sign in · Customer Portal" />
        <div class="auth">
            <h1>"Sign in"</h1>
            <SignInForm feedback />
            <p>"New here? " <a href="/sign-up">"Sign up"</a></p>
        </div>
    }
}

#[island]
fn SignInForm(feedback: FormFeedback) -> impl IntoView {
    let email = NodeRef::<Input>::new();
    let (error, set_error) = signal(feedback.error.clone());
    let action = if feedback.next.is_empty() {
        "/sign-in".to_owned()
    } else {
        format!("/sign-in?next={}", percent_encode(&feedback.next))
    };
    let on_submit = move |ev: SubmitEvent| {
        let value = email.get().map(|i| i.value()).unwrap_or_default();
        if let Err(message) = Email::parse(&value) {
            ev.prevent_default();
            set_error.set(Some(message.to_owned()));
        }
    };

    view! {
        <form method="post" action=action on:submit=on_submit>
                <FormError error />
                <EmailField value=feedback.email node_ref=email autocomplete="username" />
                <label for="password">"Password"</label>
                <input
                    id="password"
                    name="password"
                    type="password"
                    autocomplete="current-password"
                    required
                />
                <button type="submit">"Sign in"</button>
        </form>
    }
}

/// The labelled email field both forms start with; `autocomplete` tells password managers
/// whether this is a new account ("email") or a sign-in ("username").
#[component]
fn EmailField(
    value: String,
    node_ref: NodeRef<Input>,
    autocomplete: &'static str,
) -> impl IntoView {
    view! {
        <label for="email">"Email"</label>
        <input
            id="email"
            name="email"
            type="email"
            autocomplete=autocomplete
            required
            value=value
            node_ref=node_ref
        />
    }
}

#[component]
fn FormError(error: ReadSignal<Option<String>>) -> impl IntoView {
    view! {
        <p class="error" role="alert" id="form-error">
            {move || error.get()}
        </p>
    }
}
