//! The request signature customers already use (CKEditor Cloud Services' scheme), one
//! implementation for verifying their REST calls and for signing our webhooks:
//!
//! `X-CS-Signature` = lowercase hex HMAC-SHA256, keyed with the API secret, over
//! `UPPER(method) + path_and_query + timestamp + body`; `X-CS-Timestamp` = the milliseconds since
//! the Unix epoch that were signed.
//!
//! Webhooks also carry the Standard Webhooks headers (standardwebhooks.com), so that customers can
//! verify them with that specification's libraries: `webhook-id`, `webhook-timestamp` (seconds),
//! and `webhook-signature`, `v1,` + base64 HMAC-SHA256 over `id.timestamp.body`, keyed with the
//! same secret (those libraries take it as `whsec_` + base64 of the secret's text).

use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use ring::hmac;

pub const TIMESTAMP_HEADER: &str = "x-cs-timestamp";
pub const SIGNATURE_HEADER: &str = "x-cs-signature";
pub const STANDARD_ID_HEADER: &str = "webhook-id";
pub const STANDARD_TIMESTAMP_HEADER: &str = "webhook-timestamp";
pub const STANDARD_SIGNATURE_HEADER: &str = "webhook-signature";

/// An API secret ready to sign and verify with: HMAC's keyed state (the key's two hash blocks)
/// is computed once, not per request. Wiped when dropped.
pub struct SigningKey(hmac::Key);

impl SigningKey {
    pub fn new(key: &[u8]) -> SigningKey {
        SigningKey(hmac::Key::new(hmac::HMAC_SHA256, key))
    }

    fn mac(&self, method: &str, path_and_query: &str, timestamp: &str, body: &[u8]) -> hmac::Tag {
        let mut mac = hmac::Context::with_key(&self.0);
        if method.bytes().any(|b| b.is_ascii_lowercase()) {
            mac.update(method.to_ascii_uppercase().as_bytes());
        } else {
            mac.update(method.as_bytes());
        }
        mac.update(path_and_query.as_bytes());
        mac.update(timestamp.as_bytes());
        mac.update(body);
        mac.sign()
    }

    /// The lowercase hex signature of a request.
    pub fn sign(&self, method: &str, path_and_query: &str, timestamp: &str, body: &[u8]) -> String {
        hex::encode(self.mac(method, path_and_query, timestamp, body))
    }

    /// A Standard Webhooks signature of a message: `v1,` + base64 HMAC-SHA256 over
    /// `id.timestamp.body` (`timestamp`: seconds since the Unix epoch).
    pub fn sign_standard(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = hmac::Context::with_key(&self.0);
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", BASE64.encode(mac.sign()))
    }

    /// Whether `expected` (a signature's bytes, see [`decode`]) is the request's signature,
    /// compared in constant time. A request is checked against several keys: its signature is
    /// decoded once.
    pub fn verify(
        &self,
        method: &str,
        path_and_query: &str,
        timestamp: &str,
        body: &[u8],
        expected: &[u8; 32],
    ) -> bool {
        let tag = self.mac(method, path_and_query, timestamp, body);
        let Ok(tag) = <&[u8; 32]>::try_from(tag.as_ref()) else {
            return false;
        };
        // Compared as four words (subtle's loop hides every element from the optimiser: four
        // rounds instead of 32).
        let words = |bytes: &[u8; 32]| -> [u64; 4] {
            std::array::from_fn(|i| {
                let mut word = [0u8; 8];
                word.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
                u64::from_ne_bytes(word)
            })
        };
        subtle::ConstantTimeEq::ct_eq(&words(tag)[..], &words(expected)[..]).into()
    }
}

impl Drop for SigningKey {
    fn drop(&mut self) {
        // The keyed state is as good as the key, and ring's keys are not wiped on drop: overwrite
        // it with an empty key's, and keep the write from being optimised away as dead.
        self.0 = hmac::Key::new(hmac::HMAC_SHA256, &[]);
        std::hint::black_box(&self.0);
    }
}

/// The lowercase hex signature of a request.
pub fn sign(
    key: &[u8],
    method: &str,
    path_and_query: &str,
    timestamp: &str,
    body: &[u8],
) -> String {
    SigningKey::new(key).sign(method, path_and_query, timestamp, body)
}

/// The bytes of a hex signature (either case), if it is one.
pub fn decode(signature: &str) -> Option<[u8; 32]> {
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(signature, &mut bytes).ok()?;
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Standard Webhooks specification's example (its secret is `whsec_` + base64 of the
    /// key's bytes).
    #[test]
    fn standard_webhooks_signatures_match_the_specifications_example() {
        let key = BASE64.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let signature = SigningKey::new(&key).sign_standard(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    /// Whether `signature` (hex) is the request's signature under `key`, as the server checks it.
    fn verify(
        key: &[u8],
        method: &str,
        path_and_query: &str,
        timestamp: &str,
        body: &[u8],
        signature: &str,
    ) -> bool {
        decode(signature).is_some_and(|expected| {
            SigningKey::new(key).verify(method, path_and_query, timestamp, body, &expected)
        })
    }

    const VECTOR: &str = "56ac656c7f932c5b775be28949e90af9a2356eae2826539f10ab6526a0eec762";

    #[test]
    fn the_published_vector() {
        let signature = sign(
            b"SECRET",
            "POST",
            "/webhook?a=1",
            "1563276169752",
            br#"{"a":1}"#,
        );
        assert_eq!(signature, VECTOR);
        // The method is upper-cased before signing.
        assert_eq!(
            sign(
                b"SECRET",
                "post",
                "/webhook?a=1",
                "1563276169752",
                br#"{"a":1}"#
            ),
            VECTOR
        );
        assert!(verify(
            b"SECRET",
            "POST",
            "/webhook?a=1",
            "1563276169752",
            br#"{"a":1}"#,
            VECTOR
        ));
        // Upper-case hex is the same bytes.
        assert!(verify(
            b"SECRET",
            "POST",
            "/webhook?a=1",
            "1563276169752",
            br#"{"a":1}"#,
            &VECTOR.to_uppercase()
        ));
    }

    #[test]
    fn one_keyed_state_serves_many_requests() {
        let key = SigningKey::new(b"SECRET");
        let vector = decode(VECTOR).unwrap();
        for _ in 0..3 {
            assert_eq!(
                key.sign("POST", "/webhook?a=1", "1563276169752", br#"{"a":1}"#),
                VECTOR
            );
            assert!(key.verify(
                "post",
                "/webhook?a=1",
                "1563276169752",
                br#"{"a":1}"#,
                &vector
            ));
            assert!(!key.verify("POST", "/webhook?a=1", "1563276169752", b"", &vector));
        }
    }

    #[test]
    fn a_signature_one_bit_off_anywhere_is_refused() {
        let key = SigningKey::new(b"SECRET");
        let vector = decode(VECTOR).unwrap();
        for byte in 0..32 {
            for bit in 0..8 {
                let mut off = vector;
                off[byte] ^= 1 << bit;
                assert!(!key.verify("POST", "/webhook?a=1", "1563276169752", br#"{"a":1}"#, &off));
            }
        }
        assert!(key.verify(
            "POST",
            "/webhook?a=1",
            "1563276169752",
            br#"{"a":1}"#,
            &vector
        ));
    }

    #[test]
    fn any_change_breaks_the_signature() {
        let ok = |key: &[u8], m: &str, p: &str, t: &str, b: &[u8]| verify(key, m, p, t, b, VECTOR);
        assert!(!ok(
            b"SECRET2",
            "POST",
            "/webhook?a=1",
            "1563276169752",
            br#"{"a":1}"#
        ));
        assert!(!ok(
            b"SECRET",
            "PUT",
            "/webhook?a=1",
            "1563276169752",
            br#"{"a":1}"#
        ));
        assert!(!ok(
            b"SECRET",
            "POST",
            "/webhook?a=2",
            "1563276169752",
            br#"{"a":1}"#
        ));
        assert!(!ok(
            b"SECRET",
            "POST",
            "/webhooks?a=1",
            "1563276169752",
            br#"{"a":1}"#
        ));
        assert!(!ok(
            b"SECRET",
            "POST",
            "/webhook?a=1",
            "1563276169753",
            br#"{"a":1}"#
        ));
        assert!(!ok(
            b"SECRET",
            "POST",
            "/webhook?a=1",
            "1563276169752",
            br#"{"a":2}"#
        ));
        assert!(!verify(
            b"SECRET",
            "POST",
            "/webhook?a=1",
            "1563276169752",
            br#"{"a":1}"#,
            "zz"
        ));
        assert!(!verify(
            b"SECRET",
            "POST",
            "/webhook?a=1",
            "1563276169752",
            br#"{"a":1}"#,
            &VECTOR[..62]
        ));
    }
}
