//! The portal's shell: document, header with the tabs, routes.

use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::{
    SsrMode,
    components::{A, Redirect, Route, Router, Routes},
    path,
};

use crate::status::StatusPage;

/// The whole HTML document, rendered on the server around [`App`].
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let stylesheet = format!("/{}/{}.css", options.site_pkg_dir, options.output_name);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light" />
                <link rel="stylesheet" id="leptos" href=stylesheet />
                <link rel="icon" href="/favicon.ico" sizes="any" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    mark_hydrated();

    view! {
        <Router>
            <a class="skip-link" href="#main">
                "Skip to content"
            </a>
            <header class="site-header">
                <a class="brand" href="/">
                    "Customer Portal"
                </a>
                <nav aria-label="Portal">
                    <ul class="tabs">
                        <li>
                            <A href="/api-secrets">"API secrets"</A>
                        </li>
                    </ul>
                </nav>
            </header>
            <main id="main" tabindex="-1">
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=|| view! { <Redirect path="/api-secrets" /> } />
                    <Route path=path!("/api-secrets") view=ApiSecretsPage />
                    // In order: the data is in the HTML where it belongs, so the page is right without
                    // JavaScript (out-of-order streaming needs a script to place it).
                    <Route path=path!("/status") view=StatusPage ssr=SsrMode::InOrder />
                </Routes>
            </main>
            <footer class="site-footer">
                <A href="/status">"System status"</A>
            </footer>
        </Router>
    }
}

/// Tests and scripts wait for `<html data-hydrated>`: a click before hydration would be lost.
/// Effects never run during server rendering, so the attribute appears only in the browser.
fn mark_hydrated() {
    Effect::new(|_| {
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-hydrated", "");
        }
    });
}

#[component]
fn ApiSecretsPage() -> impl IntoView {
    view! {
        <Title text="API secrets · Customer Portal" />
        <h1>"API secrets"</h1>
        <p>
            "API secrets authenticate your REST API calls and sign the webhooks we send you. "
            "Keep them in a safe place."
        </p>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Page not found · Customer Portal" />
        <h1>"Page not found"</h1>
        <p>
            <a href="/api-secrets">"Go to API secrets"</a>
        </p>
    }
}
