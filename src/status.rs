//! "System status": the portal asks Postgres how it is, from the server and from the browser.

use leptos::{either::Either, prelude::*, server_fn::ServerFn};
use serde::{Deserialize, Serialize};

use crate::{error::AppError, ui::PageTitle};
#[cfg(feature = "ssr")]
use crate::{error::internal_error, platform::state::app_state};

/// What the database says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    pub server_version: String,
    /// Latest applied migration, if any.
    pub schema_version: Option<i64>,
    /// Postgres' clock when it answered: RFC 3339 (for `<time datetime>`) and for people.
    /// Formatted on the server, so the browser's bundle carries no date library.
    pub checked_at: String,
    pub checked_at_text: String,
}

#[server(prefix = "/rpc", endpoint = "get_status")]
pub async fn get_status() -> Result<StatusReport, AppError> {
    let state = app_state()?;
    db::read(&state.pool)
        .await
        .map_err(|e| internal_error("reading the system status", &e))
}

#[cfg(feature = "ssr")]
pub mod db {
    use super::StatusReport;
    use chrono::{DateTime, SecondsFormat, Utc};

    pub async fn read(db: impl sqlx::PgExecutor<'_>) -> Result<StatusReport, sqlx::Error> {
        let row = sqlx::query!(
            r#"SELECT current_setting('server_version') AS "server_version!",
                      (SELECT max(version) FROM _sqlx_migrations) AS schema_version,
                      clock_timestamp() AS "database_time!: DateTime<Utc>""#
        )
        .fetch_one(db)
        .await?;
        Ok(StatusReport {
            server_version: row.server_version,
            schema_version: row.schema_version,
            checked_at: row
                .database_time
                .to_rfc3339_opts(SecondsFormat::Millis, true),
            checked_at_text: row
                .database_time
                .format("%Y-%m-%d %H:%M:%S%.3f UTC")
                .to_string(),
        })
    }
}

#[component]
pub fn StatusPage() -> impl IntoView {
    let first = crate::ui::start(get_status());
    view! {
        <PageTitle text="System status · Customer Portal" />
        <h1>"System status"</h1>
        <section aria-labelledby="database-heading">
            <h2 id="database-heading">"Database"</h2>
            {Suspend::new(async move { view! { <StatusCheck first=first.await /> } })}
        </section>
    }
}

/// The report and "Check again": a form posted to the server function (the page comes back
/// with a fresh report), or, once hydrated, the same call made in place.
#[island]
fn StatusCheck(first: Result<StatusReport, AppError>) -> impl IntoView {
    let latest = RwSignal::new(first);
    let pending = RwSignal::new(false);
    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if pending.get_untracked() {
            return;
        }
        pending.set(true);
        leptos::task::spawn_local(async move {
            latest.set(get_status().await);
            pending.set(false);
        });
    };
    view! {
        {move || report(latest.get())}
        <form method="post" action=GetStatus::url() on:submit=on_submit>
            <button type="submit" disabled=move || pending.get()>
                "Check again"
            </button>
        </form>
    }
}

fn report(result: Result<StatusReport, AppError>) -> impl IntoView {
    match result {
        Ok(status) => {
            let schema = status
                .schema_version
                .map_or_else(|| "none".to_owned(), |v| v.to_string());
            Either::Left(view! {
                <dl class="facts" aria-live="polite">
                    <dt>"State"</dt>
                    <dd>"Connected"</dd>
                    <dt>"PostgreSQL"</dt>
                    <dd>{status.server_version}</dd>
                    <dt>"Schema version"</dt>
                    <dd>{schema}</dd>
                    <dt>"Checked at"</dt>
                    <dd>
                        <time datetime=status.checked_at>{status.checked_at_text}</time>
                    </dd>
                </dl>
            })
        }
        Err(error) => Either::Right(view! {
            <p class="error" role="alert">
                {error.to_string()}
            </p>
        }),
    }
}
