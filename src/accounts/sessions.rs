//! "Sessions": where a person is signed in (browser, address, when it signed in, when it was
//! last used), and ending any of them, or all but this one. Plain forms: works without
//! JavaScript. An ended session is signed out on its very next request.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg(feature = "ssr")]
use super::{db, session::require_member};
#[cfg(feature = "ssr")]
use crate::{
    audit::{self, AuditAction, Origin},
    error::fail,
    platform::{now_ms, state::app_state},
};
use crate::{
    error::AppError,
    ui::{
        DataTable, PageTitle, error_of, loaded,
        time::{Moment, relative_time},
    },
};

/// One session, as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    pub id: Uuid,
    /// "Chrome 148 on Linux", from the user agent.
    pub browser: String,
    pub ip: Option<String>,
    pub signed_in: Moment,
    pub last_seen: Moment,
    /// The session this page was opened in.
    pub current: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionsTab {
    pub sessions: Vec<SessionView>,
    pub now_ms: i64,
}

#[server(prefix = "/rpc", endpoint = "list_sessions")]
pub async fn list_sessions() -> Result<SessionsTab, AppError> {
    let member = require_member()?;
    let state = app_state()?;
    let sessions = db::sessions(&state.pool, member.user_id)
        .await?
        .into_iter()
        .map(|row| SessionView {
            id: row.id,
            browser: browser(row.user_agent.as_deref().unwrap_or("")),
            ip: row.ip,
            signed_in: row.signed_in_at.into(),
            last_seen: row.last_seen_at.into(),
            current: row.id == member.session_id,
        })
        .collect();
    Ok(SessionsTab {
        sessions,
        now_ms: now_ms(),
    })
}

/// Ends one of the signed-in person's sessions (not this one: that is "Sign out").
#[server(prefix = "/rpc", endpoint = "end_session")]
pub async fn end_session(id: Uuid) -> Result<(), AppError> {
    let member = require_member()?;
    if id == member.session_id {
        return Err(fail(AppError::Invalid(
            "This is the session you are using: sign out instead.".into(),
        )));
    }
    end(&member, Some(id), None).await
}

/// Ends every session of the signed-in person but this one.
#[server(prefix = "/rpc", endpoint = "end_other_sessions")]
pub async fn end_other_sessions() -> Result<(), AppError> {
    let member = require_member()?;
    end(&member, None, Some(member.session_id)).await
}

#[cfg(feature = "ssr")]
async fn end(
    member: &db::Member,
    only: Option<Uuid>,
    except: Option<Uuid>,
) -> Result<(), AppError> {
    let state = app_state()?;
    let mut tx = state.pool.begin().await?;
    let ended = db::end_sessions(&mut *tx, member.user_id, only, except).await?;
    if ended == 0 && only.is_some() {
        return Err(fail(AppError::NotFound));
    }
    if ended > 0 {
        let origin = Origin::of_server_fn();
        let action = AuditAction::SessionEnded;
        audit::record_for_each_organization(&mut *tx, member.user_id, &origin, action).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A browser's name, major version and system, from its user agent ("Chrome 148 on Linux");
/// "Unknown browser" when it says nothing we recognise.
pub fn browser(user_agent: &str) -> String {
    let version = |token: &str| {
        user_agent.split(token).nth(1).map(|rest| {
            rest.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        })
    };
    let named = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("HeadlessChrome/", "Chrome"),
        ("Chrome/", "Chrome"),
        ("CriOS/", "Chrome"),
        ("Version/", "Safari"),
    ]
    .into_iter()
    .find_map(|(token, name)| {
        version(token).map(|v| {
            if v.is_empty() {
                name.to_owned()
            } else {
                format!("{name} {v}")
            }
        })
    });
    let system = [
        ("Windows", "Windows"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Android", "Android"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(token, _)| user_agent.contains(token))
    .map(|(_, name)| name);
    match (named, system) {
        (Some(browser), Some(system)) => format!("{browser} on {system}"),
        (Some(browser), None) => browser,
        (None, Some(system)) => format!("A browser on {system}"),
        (None, None) if user_agent.is_empty() => "Unknown browser".to_owned(),
        // Not a browser we know: say what it calls itself (a script, a tool), briefly.
        (None, None) => user_agent.chars().take(40).collect(),
    }
}

#[component]
pub fn SessionsPage() -> impl IntoView {
    let tab = list_sessions();
    let end = ServerAction::<EndSession>::new();
    let end_others = ServerAction::<EndOtherSessions>::new();
    view! {
        <PageTitle text="Sessions · Customer Portal" />
        <h1>"Sessions"</h1>
        <p>
            "Where you are signed in. End any session you do not recognise: it is signed out on "
            "its next click."
        </p>
        {loaded(
            tab,
            move |tab: SessionsTab| {
                let others = tab.sessions.iter().filter(|s| !s.current).count();
                let now_ms = tab.now_ms;
                let rows = tab
                    .sessions
                    .into_iter()
                    .map(|session| view! { <SessionRow session now_ms end /> })
                    .collect_view();
                view! {
                    <DataTable
                        class="sessions"
                        caption="Your sessions"
                        columns=&["Browser", "Address", "Signed in", "Last seen", "Actions"]
                    >
                        {rows}
                    </DataTable>
                    <p class="error" role="alert">{error_of(end.value())}</p>
                    <ActionForm action=end_others>
                        <button type="submit" class="danger" disabled=others == 0>
                            "End all other sessions"
                        </button>
                    </ActionForm>
                    <p class="error" role="alert">{error_of(end_others.value())}</p>
                }
            },
        )}
    }
}

#[component]
fn SessionRow(session: SessionView, now_ms: i64, end: ServerAction<EndSession>) -> impl IntoView {
    let label = format!("End the session of {}", session.browser);
    view! {
        <tr>
            <th scope="row">
                {session.browser.clone()}
                {session.current.then(|| view! { <span class="badge">"This session"</span> })}
            </th>
            <td data-title="Address">{session.ip.unwrap_or_else(|| "unknown".into())}</td>
            <td data-title="Signed in">
                <time datetime=session.signed_in.iso.clone() title=session.signed_in.utc.clone()>
                    {relative_time(now_ms, session.signed_in.ms)}
                </time>
            </td>
            <td data-title="Last seen">
                <time datetime=session.last_seen.iso.clone() title=session.last_seen.utc.clone()>
                    {relative_time(now_ms, session.last_seen.ms)}
                </time>
            </td>
            <td>
                {(!session.current)
                    .then(|| {
                        view! {
                            <ActionForm action=end>
                                <input type="hidden" name="id" value=session.id.to_string() />
                                <button type="submit" class="secondary" aria-label=label.clone()>
                                    "End"
                                </button>
                            </ActionForm>
                        }
                    })}
            </td>
        </tr>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_are_named_from_their_user_agents() {
        let cases = [
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/148.0.0.0 Safari/537.36",
                "Chrome 148 on Linux",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86",
                "Edge 131 on Windows",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.7; rv:133.0) Gecko/20100101 Firefox/133.0",
                "Firefox 133 on macOS",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
                "Safari 18 on iOS",
            ),
            ("curl/8.5.0", "curl/8.5.0"),
            ("", "Unknown browser"),
        ];
        for (agent, expected) in cases {
            assert_eq!(browser(agent), expected, "{agent}");
        }
    }
}
