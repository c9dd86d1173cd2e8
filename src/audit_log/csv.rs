//! `GET /audit-log.csv`: the log as CSV, with the page's filters, every matching event, newest
//! first. Streamed a batch at a time (a long trail is never held in memory). The trail holds
//! text anyone can choose (a failed sign-in's user agent, webhook URLs, addresses), so no cell
//! may become a formula: every cell is quoted (a spreadsheet whose list separator is `;` does
//! not split a quoted cell), and one that starts like a formula (`=`, `+`, `-`, `@`, tab,
//! carriage return) is prefixed with `'`.

use axum::{
    body::{Body, Bytes},
    extract::{Query, State},
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use futures_util::{StreamExt, stream};
use serde::Deserialize;

use super::{AuditEntry, AuditFilter, db};
use crate::{
    accounts::session::SignedIn,
    error::{AppError, internal_error},
    platform::state::AppState,
};

const BATCH: i64 = 1000;
const HEADER: &str = "time,actor,action,description,subject,environment,ip,user_agent\r\n";

#[derive(Deserialize)]
pub struct FilterQuery {
    environment: Option<String>,
    actor: Option<String>,
    action: Option<String>,
}

pub async fn export(
    State(state): State<AppState>,
    SignedIn(member): SignedIn,
    Query(query): Query<FilterQuery>,
) -> Result<Response, AppError> {
    let filter = AuditFilter::parse(
        query.environment.as_deref(),
        query.actor.as_deref(),
        query.action.as_deref(),
    )
    .map_err(|m| AppError::Invalid(m.into()))?;
    let organization_id = member.organization_id;
    // (cursor, finished): the next batch is older than the cursor.
    let batches = stream::unfold((None, false), move |(before, finished)| {
        let pool = state.pool.clone();
        let filter = filter.clone();
        async move {
            if finished {
                return None;
            }
            match db::entries(&pool, organization_id, &filter, before, BATCH).await {
                Ok(entries) => {
                    let last = entries.last().map(|entry| entry.id);
                    let mut text = if before.is_none() {
                        HEADER.to_owned()
                    } else {
                        String::new()
                    };
                    for entry in &entries {
                        text.push_str(&line(entry));
                    }
                    let done = (entries.len() as i64) < BATCH;
                    Some((Ok(Bytes::from(text)), (last.or(before), done)))
                }
                Err(e) => {
                    // The download ends short, as an error (the client sees it was cut off).
                    internal_error("exporting the audit log", &e);
                    Some((Err(e), (before, true)))
                }
            }
        }
    })
    // Compression polls again after the end: a fused stream answers "ended" again.
    .fuse();
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"audit-log.csv\""),
            ),
        ],
        Body::from_stream(batches),
    )
        .into_response())
}

fn line(entry: &AuditEntry) -> String {
    let fields = [
        entry.at.iso.as_str(),
        entry.actor.as_str(),
        entry.action.name(),
        entry.action.describe(),
        entry.subject.as_str(),
        entry.environment.as_deref().unwrap_or(""),
        entry.ip.as_deref().unwrap_or(""),
        entry.user_agent.as_deref().unwrap_or(""),
    ];
    let mut line = fields.map(cell).join(",");
    line.push_str("\r\n");
    line
}

/// One CSV cell (RFC 4180), quoted, never a formula.
fn cell(value: &str) -> String {
    let guard = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        "'"
    } else {
        ""
    };
    format!("\"{guard}{}\"", value.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_never_formulas() {
        let cases = [
            ("ada@example.com", r#""ada@example.com""#),
            ("a,b", r#""a,b""#),
            // A spreadsheet splitting on ";" does not split a quoted cell.
            ("Mozilla;=HYPERLINK(1)", r#""Mozilla;=HYPERLINK(1)""#),
            (r#"say "hi""#, r#""say ""hi""""#),
            ("two\nlines", "\"two\nlines\""),
            (
                r#"=HYPERLINK("http://x")"#,
                r#""'=HYPERLINK(""http://x"")""#,
            ),
            ("+1", r#""'+1""#),
            ("-1", r#""'-1""#),
            ("@SUM(A1)", r#""'@SUM(A1)""#),
            ("\tx", "\"'\tx\""),
        ];
        for (value, expected) in cases {
            assert_eq!(cell(value), expected, "{value:?}");
        }
    }
}
