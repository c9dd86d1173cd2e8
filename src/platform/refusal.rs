//! Why a signed request was refused: named for the caller (REST answers) and for the customer
//! ("Failed requests"), never saying which secret came close.

const ALL: [Refusal; 9] = [
    Refusal::MissingTimestamp,
    Refusal::MissingSignature,
    Refusal::MalformedTimestamp,
    Refusal::StaleTimestamp,
    Refusal::FutureTimestamp,
    Refusal::BadSignature,
    Refusal::ExpiredSecret,
    Refusal::Replayed,
    Refusal::BodyTooLarge,
];

/// Why a request was refused: the reason is named, never which secret came close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    MissingTimestamp,
    MissingSignature,
    MalformedTimestamp,
    StaleTimestamp,
    FutureTimestamp,
    BadSignature,
    /// Signed with a secret past its expiry (only its holder can sign so: saying so leaks
    /// nothing, and tells them what to fix).
    ExpiredSecret,
    Replayed,
    BodyTooLarge,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::MissingTimestamp => "missing_timestamp",
            Refusal::MissingSignature => "missing_signature",
            Refusal::MalformedTimestamp => "malformed_timestamp",
            Refusal::StaleTimestamp => "stale_timestamp",
            Refusal::FutureTimestamp => "future_timestamp",
            Refusal::BadSignature => "bad_signature",
            Refusal::ExpiredSecret => "expired_secret",
            Refusal::Replayed => "replayed_request",
            Refusal::BodyTooLarge => "body_too_large",
        }
    }

    /// The refusal a [`Refusal::code`] names.
    pub fn of_code(code: &str) -> Option<Refusal> {
        ALL.into_iter().find(|refusal| refusal.code() == code)
    }

    pub fn message(self) -> &'static str {
        match self {
            Refusal::MissingTimestamp => "The X-CS-Timestamp header is missing.",
            Refusal::MissingSignature => "The X-CS-Signature header is missing.",
            Refusal::MalformedTimestamp => {
                "X-CS-Timestamp must be the number of milliseconds since the Unix epoch, in digits without leading zeros."
            }
            Refusal::StaleTimestamp => {
                "X-CS-Timestamp is too old: sign each request when you send it."
            }
            Refusal::FutureTimestamp => "X-CS-Timestamp is in the future: check your clock.",
            Refusal::BadSignature => {
                "X-CS-Signature does not match this request signed with any API secret of this environment."
            }
            Refusal::ExpiredSecret => {
                "The API secret that signed this request has expired: sign with another API secret of this environment."
            }
            Refusal::Replayed => {
                "This signed request was already accepted: sign every request that changes something anew, with its own X-CS-Timestamp."
            }
            Refusal::BodyTooLarge => "The request body is larger than 1 MiB.",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_is_found_by_its_code() {
        for refusal in ALL {
            assert_eq!(Refusal::of_code(refusal.code()), Some(refusal));
        }
        assert_eq!(Refusal::of_code("made_up"), None);
    }
}
