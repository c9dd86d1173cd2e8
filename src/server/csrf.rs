//! Cross-site request forgery: every state-changing request (form posts, server functions) that
//! a browser sends on behalf of another site is refused with 403. Browsers say where a request
//! comes from in `Sec-Fetch-Site` (all current ones) or `Origin`; a request with neither comes
//! from a non-browser client, which cannot carry a victim's cookies. SameSite=Lax session
//! cookies are a second line.

use axum::{
    extract::Request,
    http::{HeaderMap, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

pub async fn refuse_cross_site(request: Request, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    );
    if safe || is_same_site(request.headers()) {
        next.run(request).await
    } else {
        tracing::warn!("refused a cross-site {} request", request.method());
        (
            StatusCode::FORBIDDEN,
            "Cross-site requests are refused. Use the portal's own pages.",
        )
            .into_response()
    }
}

fn is_same_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        // "none": typed in the address bar or a bookmark, i.e. by the user.
        return matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    match (headers.get(header::ORIGIN), headers.get(header::HOST)) {
        (None, _) => true,
        (Some(origin), Some(host)) => {
            let origin = origin.to_str().unwrap_or("");
            let authority = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            authority.is_some() && authority == host.to_str().ok()
        }
        (Some(_), None) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn fetch_metadata_decides_when_present() {
        assert!(is_same_site(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(is_same_site(&headers(&[("sec-fetch-site", "none")])));
        assert!(!is_same_site(&headers(&[("sec-fetch-site", "same-site")])));
        assert!(!is_same_site(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(!is_same_site(&headers(&[
            ("sec-fetch-site", "cross-site"),
            ("origin", "http://portal.example"),
            ("host", "portal.example"),
        ])));
    }

    #[test]
    fn otherwise_the_origin_must_be_this_host() {
        let host = ("host", "portal.example:3000");
        assert!(is_same_site(&headers(&[
            ("origin", "http://portal.example:3000"),
            host
        ])));
        assert!(is_same_site(&headers(&[
            ("origin", "https://portal.example:3000"),
            host
        ])));
        assert!(!is_same_site(&headers(&[
            ("origin", "http://evil.example"),
            host
        ])));
        assert!(!is_same_site(&headers(&[("origin", "null"), host])));
        assert!(!is_same_site(&headers(&[
            ("origin", "http://portal.example:3000.evil"),
            host
        ])));
        // No Origin and no fetch metadata: not a browser acting for another site.
        assert!(is_same_site(&headers(&[host])));
    }
}
