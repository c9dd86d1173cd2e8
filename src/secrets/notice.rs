//! What the tab says after an action ("API secret csk_…a1B2 removed."). The hydrated tab says
//! it at once; after a plain form's post, the redirect carries it in a short-lived cookie scoped
//! to the environment's tab, which the tab reads and clears: never in the URL, where it would
//! stay in the history and show again on every reload.

/// An action done.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Done {
    Created,
    Signer,
    Removed,
    /// A new expiry date.
    Expires,
    /// No expiry date any more.
    NeverExpires,
}

impl Done {
    pub fn message(self, masked: &str) -> String {
        match self {
            Done::Created => format!("API secret {masked} created."),
            Done::Signer => format!("API secret {masked} is now used with webhooks."),
            Done::Removed => format!("API secret {masked} removed."),
            Done::Expires => format!("API secret {masked} has a new expiry date."),
            Done::NeverExpires => format!("API secret {masked} does not expire."),
        }
    }
}

#[cfg(feature = "ssr")]
pub use cookie::{clear, read, set};

#[cfg(feature = "ssr")]
mod cookie {
    use axum::http::{HeaderMap, HeaderValue, header};
    use uuid::Uuid;

    use super::Done;
    use crate::secrets::token::PREFIX;

    const NAME: &str = "api_secrets_done";
    const KINDS: [(Done, &str); 5] = [
        (Done::Created, "created"),
        (Done::Signer, "signer"),
        (Done::Removed, "removed"),
        (Done::Expires, "expires"),
        (Done::NeverExpires, "never"),
    ];

    /// The `Set-Cookie` that carries `done` to the environment's tab (for a minute). It holds
    /// the secret's masked tail only, the part the tab shows anyway.
    pub fn set(done: Done, masked: &str, environment_id: Uuid, secure: bool) -> HeaderValue {
        let kind = KINDS
            .iter()
            .find(|(d, _)| *d == done)
            .map_or("", |(_, k)| k);
        let tail: String = masked.chars().filter(char::is_ascii_alphanumeric).collect();
        let tail = &tail[tail.len().saturating_sub(4)..];
        cookie(&format!("{kind}.{tail}"), 60, environment_id, secure)
    }

    /// The `Set-Cookie` that deletes it, once the tab said it.
    pub fn clear(environment_id: Uuid, secure: bool) -> HeaderValue {
        cookie("", 0, environment_id, secure)
    }

    fn cookie(value: &str, max_age: u32, environment_id: Uuid, secure: bool) -> HeaderValue {
        let secure = if secure { "; Secure" } else { "" };
        let cookie = format!(
            "{NAME}={value}; Path=/environments/{environment_id}/api-secrets; Max-Age={max_age}; \
             HttpOnly; SameSite=Strict{secure}"
        );
        // A uuid, fixed words and ASCII letters and digits: always a valid header value.
        HeaderValue::from_str(&cookie).unwrap_or(HeaderValue::from_static(""))
    }

    /// What the request's cookie says was done, if it carries one. Anything but the exact
    /// shape [`set`] writes (a forged or mangled cookie) says nothing.
    pub fn read(headers: &HeaderMap) -> Option<String> {
        let value = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|h| h.to_str().ok())
            .flat_map(|h| h.split(';'))
            .find_map(|pair| pair.trim().strip_prefix(NAME)?.strip_prefix('='))?;
        let (kind, tail) = value.split_once('.')?;
        let done = KINDS.iter().find(|(_, k)| *k == kind)?.0;
        let valid = tail.len() == 4 && tail.bytes().all(|b| b.is_ascii_alphanumeric());
        valid.then(|| done.message(&format!("{PREFIX}…{tail}")))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn request_with(cookie: &str) -> HeaderMap {
            let mut headers = HeaderMap::new();
            headers.insert(header::COOKIE, HeaderValue::from_str(cookie).unwrap());
            headers
        }

        #[test]
        fn the_cookie_carries_what_was_done_and_nothing_else() {
            let id = Uuid::nil();
            let set = set(Done::Removed, "csk_…a1B2", id, true);
            let set = set.to_str().unwrap();
            assert!(set.starts_with("api_secrets_done=removed.a1B2; Path=/environments/"));
            assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"));
            assert!(set.ends_with("; Secure"));
            let pair = set.split(';').next().unwrap();
            let said = read(&request_with(&format!("id=abc; {pair}")));
            assert_eq!(said.as_deref(), Some("API secret csk_…a1B2 removed."));
            assert!(clear(id, false).to_str().unwrap().contains("Max-Age=0"));
        }

        #[test]
        fn a_forged_cookie_says_nothing() {
            for forged in [
                "api_secrets_done=removed.<b>x</b>",
                "api_secrets_done=removed.a1B2c",
                "api_secrets_done=deleted.a1B2",
                "api_secrets_done=removed",
                "api_secrets_done=",
                "api_secrets_done2=removed.a1B2",
            ] {
                assert_eq!(read(&request_with(forged)), None, "{forged}");
            }
        }
    }
}
