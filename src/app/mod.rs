//! The portal's shell: document, header (organization, environment switcher, tabs, sign out),
//! routes.

mod bundles;

pub use bundles::hash_file_path;
use bundles::{Bundles, IslandScripts};

use leptos::{either::Either, prelude::*};
use leptos_meta::{MetaTags, provide_meta_context};
use leptos_router::{
    SsrMode,
    components::{Route, Router, Routes},
    hooks::use_location,
    path,
};

use crate::{
    accounts::{
        sessions::SessionsPage,
        two_factor::views::{SecondStepPage, SecurityPage},
        views::{SignInPage, SignUpPage},
    },
    audit_log::views::AuditLogPage,
    environments::{
        Shell, ShellLoad,
        views::{EnvironmentSwitcher, EnvironmentsPage, current_environment_id},
    },
    members::views::{JoinPage, MembersPage},
    secrets::views::{
        ApiSecretsPage, ExpiryPage, NewSecretPage, RemoveSecretPage, RotateSecretPage,
        SecretUsagePage, UseWithWebhooksPage,
    },
    status::StatusPage,
    ui::{DatabaseUnavailable, NotFound, Unavailable},
    webhooks::views::WebhooksPage,
};

/// The whole HTML document, rendered on the server around [`App`].
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let bundles = Bundles::of(&options);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light" />
                <meta
                    name="description"
                    content="Create, rotate and remove the API secrets that sign your REST API calls and our webhooks."
                />
                <link id="leptos" rel="stylesheet" href=bundles.css.clone() />
                <link rel="icon" href="/favicon.ico" sizes="any" />
                <AutoReload options />
                <IslandScripts bundles />
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

    let shell = ShellLoad::start();
    provide_context(shell.clone());
    // The server could not read what the page needs: the layout says why instead.
    let unavailable = use_context::<DatabaseUnavailable>().is_some();

    // Every page is rendered whole before it is sent (SsrMode::Async): its data is in the HTML
    // where it belongs, so the page is right before the WASM loads and without JavaScript
    // (out-of-order streaming needs a script), and a missing environment can still set 404.
    view! {
        <Router>
            <a class="skip-link" href="#main">
                "Skip to content"
            </a>
            <Header shell />
            <main id="main" tabindex="-1">
                {if unavailable {
                    Either::Left(view! { <Unavailable /> })
                } else {
                    Either::Right(view! {
                        <Routes fallback=NotFound>
                            <Route path=path!("/sign-in") view=SignInPage ssr=SsrMode::Async />
                            <Route
                                path=path!("/sign-in/two-factor")
                                view=SecondStepPage
                                ssr=SsrMode::Async
                            />
                            <Route path=path!("/sign-up") view=SignUpPage ssr=SsrMode::Async />
                            <Route path=path!("/environments") view=EnvironmentsPage ssr=SsrMode::Async />
                            <Route
                                path=path!("/environments/:id/api-secrets")
                                view=ApiSecretsPage
                                ssr=SsrMode::Async
                            />
                            <Route
                                path=path!("/environments/:id/api-secrets/:secret")
                                view=SecretUsagePage
                                ssr=SsrMode::Async
                            />
                            <Route
                                path=path!("/environments/:id/api-secrets/:secret/new")
                                view=NewSecretPage
                                ssr=SsrMode::Async
                            />
                            <Route
                                path=path!("/environments/:id/api-secrets/:secret/use-with-webhooks")
                                view=UseWithWebhooksPage
                                ssr=SsrMode::Async
                            />
                            <Route
                                path=path!("/environments/:id/api-secrets/:secret/remove")
                                view=RemoveSecretPage
                                ssr=SsrMode::Async
                            />
                            <Route
                                path=path!("/environments/:id/api-secrets/:secret/rotate")
                                view=RotateSecretPage
                                ssr=SsrMode::Async
                            />
                            <Route
                                path=path!("/environments/:id/api-secrets/:secret/expiry")
                                view=ExpiryPage
                                ssr=SsrMode::Async
                            />
                            <Route
                                path=path!("/environments/:id/webhooks")
                                view=WebhooksPage
                                ssr=SsrMode::Async
                            />
                            <Route path=path!("/members") view=MembersPage ssr=SsrMode::Async />
                            <Route path=path!("/audit-log") view=AuditLogPage ssr=SsrMode::Async />
                            <Route path=path!("/sessions") view=SessionsPage ssr=SsrMode::Async />
                            <Route path=path!("/security") view=SecurityPage ssr=SsrMode::Async />
                            <Route path=path!("/join") view=JoinPage ssr=SsrMode::Async />
                            <Route path=path!("/status") view=StatusPage ssr=SsrMode::Async />
                        </Routes>
                    })
                }}
            </main>
            <footer class="site-footer">
                <NavLink href="/status".into() label="System status" />
            </footer>
        </Router>
    }
}

#[component]
fn Header(shell: ShellLoad) -> impl IntoView {
    let current = current_environment_id();
    view! {
        <header class="site-header">
            // "/" is answered by the server (a redirect), not by the client-side router.
            <a class="brand" href="/" rel="external">
                "Customer Portal"
            </a>
            {Suspend::new(async move {
                shell
                    .get()
                    .await
                    .ok()
                    .flatten()
                    .map(|shell| {
                        // The environment in the URL if it is one of ours, else the first.
                        let environment = current
                            .filter(|id| shell.environments.iter().any(|e| e.id == *id))
                            .or_else(|| shell.environments.first().map(|e| e.id));
                        let tab_href = |tab: &str| {
                            environment.map_or_else(
                                || "/environments".to_owned(),
                                |id| format!("/environments/{id}/{tab}"),
                            )
                        };
                        let environments = shell.environments.clone();
                        view! {
                            <div class="context">
                                <OrganizationSwitcher shell=shell.clone() />
                                <EnvironmentSwitcher environments />
                            </div>
                            <nav aria-label="Portal">
                                <ul class="tabs">
                                    <li>
                                        <NavLink href=tab_href("api-secrets") label="API secrets" />
                                    </li>
                                    <li>
                                        <NavLink href=tab_href("webhooks") label="Webhooks" />
                                    </li>
                                    <li>
                                        <NavLink
                                            href="/environments".into()
                                            exact=true
                                            label="Environments"
                                        />
                                    </li>
                                    <li>
                                        <NavLink
                                            href="/members".into()
                                            exact=true
                                            label="Members"
                                        />
                                    </li>
                                    <li>
                                        <NavLink href="/audit-log".into() label="Audit log" />
                                    </li>
                                </ul>
                            </nav>
                            <form class="sign-out" method="post" action="/sign-out">
                                // Your address; it leads to your account's security.
                                <a
                                    class="who"
                                    href="/security"
                                    title="Security: two-factor authentication, sessions"
                                >
                                    {shell.account.email.clone()}
                                </a>
                                <button type="submit" class="secondary">"Sign out"</button>
                            </form>
                        }
                    })
            })}
        </header>
    }
}

/// A link of the portal's navigation, `aria-current="page"` where the URL is: at its address, or
/// (unless `exact`) below it. The shell is rendered on the server only (no island, no client-side
/// router), so this is decided once, from the request's path.
#[component]
fn NavLink(href: String, #[prop(optional)] exact: bool, label: &'static str) -> impl IntoView {
    let current = use_location().pathname.with_untracked(|path| {
        let below = !exact
            && path
                .strip_prefix(href.as_str())
                .is_some_and(|rest| rest.starts_with('/'));
        (*path == href || below).then_some("page")
    });
    view! {
        <a href=href aria-current=current>
            {label}
        </a>
    }
}

/// The organization the member acts for; with several, a form to switch (a POST: it changes the
/// session, so it is not a link).
#[component]
fn OrganizationSwitcher(shell: Shell) -> impl IntoView {
    let current = shell.account.organization_id;
    if shell.organizations.len() < 2 {
        let name = shell.account.organization_name;
        return view! {
            <span class="organization" title=name.clone()>
                {name.clone()}
            </span>
        }
        .into_any();
    }
    view! {
        <form class="switcher" method="post" action="/organizations/switch">
            <label class="visually-hidden" for="organization-switcher">
                "Organization"
            </label>
            <select id="organization-switcher" name="id">
                {shell
                    .organizations
                    .into_iter()
                    .map(|organization| {
                        view! {
                            <option value=organization.id.to_string() selected=organization.id == current>
                                {organization.name}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
            <button type="submit" class="secondary" aria-label="Switch organization">
                "Switch"
            </button>
        </form>
    }
    .into_any()
}
