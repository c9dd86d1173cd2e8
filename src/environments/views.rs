//! The environments page and the switcher in the portal's header.

use leptos::prelude::*;
use leptos_router::hooks::use_location;
use uuid::Uuid;

use super::{CreateEnvironment, Environment, RenameEnvironment, ShellLoad};
use crate::{
    accounts::roles::Action,
    error::AppError,
    ui::{DataTable, PageTitle, error_of},
};

/// The environment id in the current URL (`/environments/{id}/…`), if any. Pages and the
/// shell are rendered on the server only, once: the URL does not change under them.
pub fn current_environment_id() -> Option<Uuid> {
    use_location().pathname.with_untracked(|path| {
        let rest = path.strip_prefix("/environments/")?;
        rest.split('/').next()?.parse().ok()
    })
}

/// A tab's data for the environment in the current URL, loaded by `load` (a server function);
/// not found when the URL names none.
pub fn environment_tab<T, Fut>(
    load: impl FnOnce(Uuid) -> Fut + Send + 'static,
) -> impl Future<Output = Result<T, AppError>> + Send + 'static
where
    Fut: Future<Output = Result<T, AppError>> + Send + 'static,
{
    let id = current_environment_id();
    async move {
        match id {
            Some(id) => load(id).await,
            None => Err(AppError::NotFound),
        }
    }
}

#[component]
pub fn EnvironmentsPage() -> impl IntoView {
    // Rendered on the server only: the forms post to the server functions, which send the
    // browser back here (with the error, if any, which the actions read from the URL).
    let create = ServerAction::<CreateEnvironment>::new();
    let rename = ServerAction::<RenameEnvironment>::new();
    let shell = expect_context::<ShellLoad>();
    let create_error = error_of(create.value());
    let rename_error = error_of(rename.value());

    view! {
        <PageTitle text="Environments · Customer Portal" />
        <h1>"Environments"</h1>
        <p>"Each environment has its own API secrets and webhooks."</p>
        {Suspend::new(async move {
            let shell = shell.get().await.ok().flatten();
            let may_manage = shell
                .as_ref()
                .is_some_and(|s| s.account.role.may(Action::ManageEnvironments));
            let environments = shell.map(|s| s.environments).unwrap_or_default();
            view! {
                {(!may_manage)
                    .then(|| {
                        view! {
                            <p class="notice" id="environments-role">
                                {Action::ManageEnvironments.refusal()}
                            </p>
                        }
                    })}
                <DataTable caption="Environments" columns=&["Name", "Actions"]>
                    {environments
                        .into_iter()
                        .map(|environment| view! { <EnvironmentRow environment rename may_manage /> })
                        .collect_view()}
                </DataTable>
                <p class="error" role="alert">{rename_error}</p>
                <h2>"Create an environment"</h2>
                <ActionForm action=create attr:class="inline-form">
                    <label for="new-environment-name">"Name"</label>
                    <input id="new-environment-name" name="name" type="text" required maxlength="50" />
                    <button
                        type="submit"
                        disabled=!may_manage
                        aria-describedby=(!may_manage).then_some("environments-role")
                    >
                        "Create environment"
                    </button>
                </ActionForm>
                <p class="error" role="alert">{create_error}</p>
            }
        })}
    }
}

#[component]
fn EnvironmentRow(
    environment: Environment,
    rename: ServerAction<RenameEnvironment>,
    /// The viewer may rename (else "Rename" is disabled; the page says why).
    may_manage: bool,
) -> impl IntoView {
    let input_id = format!("rename-{}", environment.id);
    let label = format!("New name for {}", environment.name);
    view! {
        <tr>
            <th scope="row">
                <a href=format!("/environments/{}/api-secrets", environment.id)>{environment.name.clone()}</a>
            </th>
            <td>
                <ActionForm action=rename attr:class="inline-form">
                    <input type="hidden" name="id" value=environment.id.to_string() />
                    <label class="visually-hidden" for=input_id.clone()>{label}</label>
                    <input id=input_id name="name" type="text" required maxlength="50" value=environment.name />
                    <button
                        type="submit"
                        class="secondary"
                        disabled=!may_manage
                        aria-describedby=(!may_manage).then_some("environments-role")
                    >
                        "Rename"
                    </button>
                </ActionForm>
            </td>
        </tr>
    }
}

/// The header's environment switcher: a plain GET form, so it works without JavaScript.
#[component]
pub fn EnvironmentSwitcher(environments: Vec<Environment>) -> impl IntoView {
    let current = current_environment_id();
    view! {
        <form class="switcher" method="get" action="/environments/switch">
            <label class="visually-hidden" for="environment-switcher">
                "Environment"
            </label>
            <select id="environment-switcher" name="id">
                {environments
                    .into_iter()
                    .map(|environment| {
                        let id = environment.id;
                        view! {
                            <option value=id.to_string() selected=current == Some(id)>
                                {environment.name}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
            <button type="submit" class="secondary">"Switch"</button>
        </form>
    }
}
