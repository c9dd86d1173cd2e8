//! The "Audit log" tab: rendered on the server, filtered by a plain GET form, paged by links
//! (newest first, "Older events" carries the cursor), so it works without JavaScript.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::{API_ACTOR, AuditEntry, AuditPage, list_audit_events};
use crate::{
    audit::AuditAction,
    ui::{DataTable, PageTitle, loaded, time::relative_time},
};

#[component]
pub fn AuditLogPage() -> impl IntoView {
    let [environment, actor, action, before] = use_query_map()
        .with_untracked(|q| ["environment", "actor", "action", "before"].map(|name| q.get(name)));
    let page = list_audit_events(environment, actor, action, before);
    view! {
        <PageTitle text="Audit log · Customer Portal" />
        <h1>"Audit log"</h1>
        <p>
            "Every change to API secrets, webhooks, members and invitations, newest first: "
            "who made it, when, and from where."
        </p>
        {loaded(page, |page: AuditPage| view! { <AuditLogView page /> })}
    }
}

#[component]
fn AuditLogView(page: AuditPage) -> impl IntoView {
    let filter = page.filter.clone();
    let query = filter.query();
    let csv_href = if query.is_empty() {
        "/audit-log.csv".to_owned()
    } else {
        format!("/audit-log.csv?{query}")
    };
    let with_query = |extra: Option<String>| {
        let parts: Vec<String> = [Some(query.clone()).filter(|q| !q.is_empty()), extra]
            .into_iter()
            .flatten()
            .collect();
        if parts.is_empty() {
            "/audit-log".to_owned()
        } else {
            format!("/audit-log?{}", parts.join("&"))
        }
    };
    let older_href = page
        .older
        .map(|id| with_query(Some(format!("before={id}"))));
    let newest_href = with_query(None);
    let now_ms = page.now_ms;
    let count = page.entries.len();
    let rows = page
        .entries
        .into_iter()
        .map(|entry| view! { <EntryRow entry now_ms /> })
        .collect_view();
    view! {
        <form class="filters" method="get" action="/audit-log">
            <div class="field">
                <label for="audit-environment">"Environment"</label>
                <select id="audit-environment" name="environment">
                    <option value="">"All environments"</option>
                    {page
                        .choices
                        .environments
                        .into_iter()
                        .map(|(id, name)| {
                            view! {
                                <option value=id.to_string() selected=filter.environment == Some(id)>
                                    {name}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="audit-actor">"Actor"</label>
                <select id="audit-actor" name="actor">
                    <option value="">"Anyone"</option>
                    <option value=API_ACTOR selected=filter.actor.as_deref() == Some(API_ACTOR)>
                        "REST API"
                    </option>
                    {page
                        .choices
                        .actors
                        .into_iter()
                        .map(|actor| {
                            let selected = filter.actor.as_deref() == Some(actor.as_str());
                            view! {
                                <option value=actor.clone() selected=selected>
                                    {actor.clone()}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="audit-action">"Action"</label>
                <select id="audit-action" name="action">
                    <option value="">"Any action"</option>
                    {AuditAction::ALL
                        .into_iter()
                        .map(|action| {
                            view! {
                                <option value=action.name() selected=filter.action == Some(action)>
                                    {action.describe()}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </div>
            <button type="submit">"Filter"</button>
            <a class="export" href=csv_href download="audit-log.csv">
                "Export as CSV"
            </a>
        </form>
        {if count == 0 {
            view! { <p>"No events match."</p> }.into_any()
        } else {
            view! {
                <DataTable
                    class="audit"
                    caption="Audit log"
                    columns=&["When", "Who", "What", "Subject", "Environment", "From"]
                >
                    {rows}
                </DataTable>
            }
            .into_any()
        }}
        <nav class="pager" aria-label="Audit log pages">
            {page.older.is_none().then(|| view! { <span>"No older events."</span> })}
            {older_href.map(|href| view! { <a href=href>"Older events"</a> })}
            <a href=newest_href>"Newest events"</a>
        </nav>
    }
}

#[component]
fn EntryRow(entry: AuditEntry, now_ms: i64) -> impl IntoView {
    view! {
        <tr>
            <td data-title="When">
                <time datetime=entry.at.iso.clone() title=entry.at.utc.clone()>
                    {relative_time(now_ms, entry.at.ms)}
                </time>
                <span class="utc">{entry.at.utc.clone()}</span>
            </td>
            <td data-title="Who" class="wrap">{entry.actor}</td>
            <td data-title="What">{entry.action.describe()}</td>
            <td data-title="Subject" class="mono wrap">{entry.subject}</td>
            <td data-title="Environment">{entry.environment.unwrap_or_else(|| "—".into())}</td>
            <td data-title="From" class="wrap">
                {entry.ip.unwrap_or_else(|| "unknown".into())}
                {entry.user_agent.map(|agent| view! { <span class="agent">{agent}</span> })}
            </td>
        </tr>
    }
}
