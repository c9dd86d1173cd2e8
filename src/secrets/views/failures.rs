//! "Failed requests" on the API secrets tab: rendered on the server (no island), from its own
//! server call.

use leptos::prelude::*;

use super::signature_check::SignatureCheck;
use crate::{
    secrets::failures::{FailedRequest, FailedRequests},
    ui::{DataTable, time::relative_time},
};

#[component]
pub fn FailedRequestsSection(requests: FailedRequests) -> impl IntoView {
    let FailedRequests { requests, now } = requests;
    let count = requests.len();
    let rows = requests
        .into_iter()
        .map(|request| view! { <FailedRow request now_ms=now.ms /> })
        .collect_view();
    view! {
        <section class="failed-requests" aria-labelledby="failed-requests-title">
            <h2 id="failed-requests-title">"Failed requests"</h2>
            <p class="hint">
                "The latest signed REST API requests we refused (up to 200), and why. "
                "A refusal never says which API secret came close. Anyone who knows this "
                "environment's ID can send requests, so these show what callers sent, not who they are."
            </p>
            {if count == 0 {
                view! { <p class="empty">"No refused requests."</p> }.into_any()
            } else {
                view! {
                    <DataTable
                        class="failures"
                        caption="Failed requests"
                        columns=&["Time", "Request", "Caller", "Reason"]
                    >
                        {rows}
                    </DataTable>
                }
                    .into_any()
            }}
            <SignatureCheck />
        </section>
    }
}

#[component]
fn FailedRow(request: FailedRequest, now_ms: i64) -> impl IntoView {
    view! {
        <tr>
            <td data-title="Time">
                <time datetime=request.at.iso title=request.at.utc>
                    {relative_time(now_ms, request.at.ms)}
                </time>
            </td>
            <td data-title="Request" class="mono">{format!("{} {}", request.method, request.path)}</td>
            <td data-title="Caller">
                <span class="mono">{request.address.unwrap_or_else(|| "unknown".into())}</span>
                <span class="user-agent">{request.user_agent}</span>
            </td>
            <td data-title="Reason">
                <code>{request.reason}</code>
                " "
                {request.explanation}
            </td>
        </tr>
    }
}
