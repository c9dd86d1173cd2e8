//! Who uses a secret: the sparkline in its row, and its detail page (requests per day, callers).

use leptos::prelude::*;

use crate::{
    secrets::usage::{CALLER_DAYS, DAYS, SecretUsage, api_secret_usage},
    ui::{DataTable, PageTitle, loaded, time::relative_time},
};

const BAR_WIDTH: usize = 4;
const HEIGHT: i64 = 24;

/// Requests per day as bars (oldest left), with its numbers as the accessible name: the detail
/// page has them all.
#[component]
pub fn Sparkline(days: Vec<i64>) -> impl IntoView {
    // A new secret has no days yet: zeros.
    let padded: Vec<i64> = std::iter::repeat_n(0, DAYS.saturating_sub(days.len()))
        .chain(days.iter().copied().map(|n| n.max(0)))
        .collect();
    let total: i64 = padded.iter().sum();
    let today = padded.last().copied().unwrap_or_default();
    let max = padded.iter().copied().max().unwrap_or_default().max(1);
    let label = format!("Requests per day, last {DAYS} days: {total} in all, {today} today");
    let width = padded.len() * BAR_WIDTH;
    let bars = padded
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(i, n)| {
            // Any use shows: at least 2 px.
            let height = (n * (HEIGHT - 2) / max).max(2);
            view! {
                <rect
                    x=(i * BAR_WIDTH).to_string()
                    y=(HEIGHT - 1 - height).to_string()
                    width=(BAR_WIDTH - 1).to_string()
                    height=height.to_string()
                />
            }
        })
        .collect_view();
    view! {
        <svg
            class="sparkline"
            role="img"
            aria-label=label
            width=width.to_string()
            height=HEIGHT.to_string()
            viewBox=format!("0 0 {width} {HEIGHT}")
        >
            <rect class="base" x="0" y=(HEIGHT - 1).to_string() width=width.to_string() height="1" />
            {bars}
        </svg>
    }
}

/// `/environments/{id}/api-secrets/{secret}`: a secret's requests per day and its callers.
/// Rendered on the server only (no island): it has nothing to click but links.
#[component]
pub fn SecretUsagePage() -> impl IntoView {
    let ids = super::confirm::environment_and_secret();
    let usage = async move {
        match ids {
            Some((environment_id, secret_id)) => api_secret_usage(environment_id, secret_id).await,
            None => Err(crate::error::AppError::NotFound),
        }
    };
    loaded(usage, |usage: SecretUsage| view! { <UsageView usage /> })
}

#[component]
fn UsageView(usage: SecretUsage) -> impl IntoView {
    let SecretUsage {
        environment,
        secret,
        days,
        callers,
        other_requests,
        now_ms,
    } = usage;
    let back = format!("/environments/{}/api-secrets", environment.id);
    let total: i64 = days.iter().map(|(_, n)| n).sum();
    let last_used = secret
        .last_used_at
        .as_ref()
        .map_or_else(|| "Never".to_owned(), |at| relative_time(now_ms, at.ms));
    let no_callers = callers.is_empty() && other_requests == 0;
    let counts: Vec<i64> = days.iter().map(|(_, n)| *n).collect();
    let caller_rows = callers
        .into_iter()
        .map(|caller| {
            view! {
                <tr>
                    <th scope="row" class="mono">{caller.address}</th>
                    <td class="mono">
                        {if caller.user_agent.is_empty() {
                            "(none)".to_owned()
                        } else {
                            caller.user_agent
                        }}
                    </td>
                    <td>
                        <time datetime=caller.first_seen.iso title=caller.first_seen.utc>
                            {relative_time(now_ms, caller.first_seen.ms)}
                        </time>
                    </td>
                    <td>
                        <time datetime=caller.last_seen.iso title=caller.last_seen.utc>
                            {relative_time(now_ms, caller.last_seen.ms)}
                        </time>
                    </td>
                    <td class="number">{caller.requests}</td>
                </tr>
            }
        })
        .collect_view();
    let day_rows = days
        .into_iter()
        .rev()
        .map(|(day, requests)| {
            view! {
                <tr>
                    <th scope="row">
                        <time datetime=day.clone()>{day.clone()}</time>
                    </th>
                    <td class="number">{requests}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <PageTitle text=format!(
            "Usage of {} · API secrets · {} · Customer Portal",
            secret.masked,
            environment.name,
        ) />
        <p class="back">
            <a href=back>"Back to API secrets"</a>
        </p>
        <h1>"Usage of " <code class="masked">{secret.masked.clone()}</code></h1>
        <p class="lead">
            "Environment: " <strong>{environment.name.clone()}</strong>
            {(!secret.label.is_empty()).then(|| format!(" · {}", secret.label))}
            {format!(" · Last used: {last_used}")}
        </p>
        <h2>{format!("Callers in the last {CALLER_DAYS} days")}</h2>
        <p class="hint">
            "Each client address and user agent that made verified requests with this API secret. "
            "When none is left, nothing uses it: it is safe to remove."
        </p>
        {if no_callers {
            view! { <p class="empty">{format!("No verified requests in the last {CALLER_DAYS} days.")}</p> }
                .into_any()
        } else {
            view! {
                <DataTable
                    class="callers"
                    caption="Callers"
                    columns=&["Address", "User agent", "First seen", "Last seen", "Requests"]
                >
                    {caller_rows}
                </DataTable>
                {(other_requests > 0)
                    .then(|| {
                        view! {
                            <p class="hint">
                                {format!(
                                    "Other callers: {other_requests} requests (beyond the callers we keep per second, or with no known address).",
                                )}
                            </p>
                        }
                    })}
            }
                .into_any()
        }}
        <h2>{format!("Requests per day, last {DAYS} days")}</h2>
        <p class="usage-total">
            <Sparkline days=counts />
            {format!(" {total} verified requests in all (days in UTC).")}
        </p>
        <DataTable class="days" caption="Requests per day" columns=&["Day", "Verified requests"]>
            {day_rows}
        </DataTable>
    }
}
