//! A server function called by a plain HTML form (no JavaScript) answers an error with a
//! redirect back to its page, the error in the URL (`?__path=…&__err=…`), and the page shows it.
//! Anyone can write such a URL, and the page would show their text in its alert box: a phishing
//! aid on our own origin. So the error a redirect carries is also kept in the visitor's session,
//! and a page request's `__err` is honoured once, only if it is the one kept; any other is
//! removed from the request before the page sees it.

use axum::{
    extract::Request,
    http::{Method, Uri, header},
    middleware::Next,
    response::Response,
};
use tower_sessions::Session;

const KEY: &str = "action_error";
const PARAMS: [&str; 2] = ["__err", "__path"];

pub async fn only_our_own(session: Session, mut request: Request, next: Next) -> Response {
    if let Some(error) = request.uri().query().and_then(error_param) {
        let kept = session.remove::<String>(KEY).await.ok().flatten();
        if kept.as_deref() != Some(error.as_str()) {
            tracing::warn!("removed an action error the server did not produce from a page link");
            if let Some(uri) = without_error(request.uri()) {
                *request.uri_mut() = uri;
            }
        }
    }
    let action = request.method() == Method::POST && request.uri().path().starts_with("/rpc/");
    let mut response = next.run(request).await;
    if action && response.status().is_redirection() {
        tidy_location(&mut response);
        let error = response
            .headers()
            .get(header::LOCATION)
            .and_then(|location| location.to_str().ok())
            .and_then(|location| location.split_once('?'))
            .and_then(|(_, query)| error_param(query));
        if let Some(error) = error
            && let Err(e) = session.insert(KEY, error).await
        {
            // The page will not show the error (its link is refused): say so in the log.
            tracing::warn!(error = %e, "keeping an action error in the session failed");
        }
    }
    response
}

/// Back to the page without the empty query Leptos leaves when it takes its parameters out of
/// the page's address (`/members?` → `/members`).
fn tidy_location(response: &mut Response) {
    let tidy = response
        .headers()
        .get(header::LOCATION)
        .and_then(|location| location.to_str().ok())
        .and_then(|location| location.strip_suffix('?'))
        .and_then(|location| header::HeaderValue::from_str(location).ok());
    if let Some(location) = tidy {
        response.headers_mut().insert(header::LOCATION, location);
    }
}

fn error_param(query: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "__err")
        .map(|(_, value)| value.into_owned())
}

/// `uri` without the error parameters (the others kept as they were).
fn without_error(uri: &Uri) -> Option<Uri> {
    let query = uri.query()?;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let name = pair.split('=').next().unwrap_or("");
            !PARAMS.contains(&name)
        })
        .collect();
    let path = uri.path();
    let path_and_query = if kept.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", kept.join("&"))
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = path_and_query.parse().ok();
    Uri::from_parts(parts).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_error_parameters_are_removed() {
        let uri: Uri = "/environments?a=1&__path=%2Frpc%2Fx&__err=abc&b=2"
            .parse()
            .unwrap();
        assert_eq!(without_error(&uri).unwrap(), "/environments?a=1&b=2");
        let uri: Uri = "/environments?__err=abc&__path=x".parse().unwrap();
        assert_eq!(without_error(&uri).unwrap(), "/environments");
        assert_eq!(error_param("__path=x&__err=a%2Bb").as_deref(), Some("a+b"));
        assert_eq!(error_param("x=__err"), None);
    }
}
