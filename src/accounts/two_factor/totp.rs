//! The codes themselves: TOTP (RFC 6238) as every authenticator app reads it from a QR code
//! (HMAC-SHA1, 6 digits, 30-second steps), and one-time recovery codes.

use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};
use zeroize::Zeroizing;

use super::CODE_DIGITS;
use crate::platform::crypto::{random_bytes, sha256};

pub const STEP_SECONDS: u64 = 30;
/// 160 bits: RFC 4226's recommended length.
const SEED_BYTES: usize = 20;
/// Codes of the step before and the step after are accepted too (clocks drift, people type).
const SKEW_STEPS: u8 = 1;
/// Recovery codes: 80 random bits each, written as 20 hex digits in groups of five.
pub const RECOVERY_CODES: usize = 10;
const RECOVERY_CODE_BYTES: usize = 10;

/// A person's TOTP seed, wiped from memory when dropped.
pub struct Seed(Zeroizing<Vec<u8>>);

impl Seed {
    /// A new random seed. Fails only if the operating system cannot supply randomness.
    pub fn generate() -> Result<Seed, rand::rand_core::OsError> {
        Ok(Seed(Zeroizing::new(random_bytes::<SEED_BYTES>()?.to_vec())))
    }

    /// A seed as it was stored (opened from its sealed form).
    pub fn from_bytes(bytes: Zeroizing<Vec<u8>>) -> Seed {
        Seed(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    fn totp(&self) -> TOTP {
        let digits = CODE_DIGITS;
        TOTP::new_unchecked(
            Algorithm::SHA1,
            digits,
            SKEW_STEPS,
            STEP_SECONDS,
            self.0.to_vec(),
        )
    }

    /// The key typed into an authenticator app by hand: base32 (RFC 4648, no padding), in
    /// groups of four.
    pub fn manual_key(&self) -> Zeroizing<String> {
        let base32 = Zeroizing::new(self.totp().get_secret_base32());
        let groups: Vec<&str> = base32
            .as_bytes()
            .chunks(4)
            .map(|chunk| std::str::from_utf8(chunk).unwrap_or_default())
            .collect();
        Zeroizing::new(groups.join(" "))
    }

    /// The `otpauth://` URI the QR code holds (Google's Key Uri Format).
    pub fn uri(&self, issuer: &str, account: &str) -> Zeroizing<String> {
        let key = Zeroizing::new(self.totp().get_secret_base32());
        let (issuer, account) = (component(issuer), component(account));
        Zeroizing::new(format!(
            "otpauth://totp/{issuer}:{account}?secret={}&issuer={issuer}&algorithm=SHA1&digits={CODE_DIGITS}&period={STEP_SECONDS}",
            key.as_str()
        ))
    }

    /// The time step whose code `code` is, among the steps around `now` (seconds since the
    /// epoch); `None` when it is none of theirs. Compared in constant time.
    pub fn matching_step(&self, code: &str, now: u64) -> Option<i64> {
        let totp = self.totp();
        let current = now / STEP_SECONDS;
        let skew = u64::from(SKEW_STEPS);
        (current.saturating_sub(skew)..=current + skew)
            .rev()
            .find(|step| {
                let expected = Zeroizing::new(totp.generate(step * STEP_SECONDS));
                bool::from(expected.as_bytes().ct_eq(code.as_bytes()))
            })
            .and_then(|step| i64::try_from(step).ok())
    }
}

/// The code's step for someone whose newest accepted step is `last_step`: only a later one is
/// accepted, so a code (or an older one) never works twice.
pub fn is_fresh(step: i64, last_step: i64) -> bool {
    step > last_step
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn component(text: &str) -> String {
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                char::from(byte).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

/// A new set of recovery codes, shown once, and their stored form.
pub fn recovery_codes() -> Result<Vec<(String, [u8; 32])>, rand::rand_core::OsError> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let bytes = random_bytes::<RECOVERY_CODE_BYTES>()?;
            let digits = Zeroizing::new(hex::encode(bytes.as_slice()));
            let code = digits
                .as_bytes()
                .chunks(5)
                .map(|chunk| std::str::from_utf8(chunk).unwrap_or_default())
                .collect::<Vec<_>>()
                .join("-");
            Ok((code, sha256(digits.as_bytes())))
        })
        .collect()
}

/// The stored form of a typed recovery code (dashes, spaces and case ignored), or `None` when it
/// cannot be one.
pub fn recovery_code_hash(typed: &str) -> Option<[u8; 32]> {
    let digits: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (digits.len() == RECOVERY_CODE_BYTES * 2 && digits.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| sha256(digits.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, appendix B: the SHA-1 seed "12345678901234567890", 8 digits there; the last
    /// six of each are the 6-digit codes.
    #[test]
    fn codes_follow_rfc_6238() {
        let seed = Seed::from_bytes(Zeroizing::new(b"12345678901234567890".to_vec()));
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(seed.matching_step(code, time), Some((time / 30) as i64));
        }
        // One step either side is accepted, two are not; neither is another code.
        assert_eq!(
            seed.matching_step("005924", 1_234_567_890 + 30),
            Some(41_152_263)
        );
        assert_eq!(seed.matching_step("005924", 1_234_567_890 + 60), None);
        assert_eq!(seed.matching_step("005925", 1_234_567_890), None);
        assert_eq!(seed.matching_step("", 1_234_567_890), None);
        assert!(is_fresh(41_152_264, 41_152_263));
        assert!(!is_fresh(41_152_263, 41_152_263));
    }

    #[test]
    fn manual_keys_and_uris_spell_the_seed_in_base32() {
        let seed = Seed::from_bytes(Zeroizing::new(b"12345678901234567890".to_vec()));
        assert_eq!(
            seed.manual_key().as_str(),
            "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ"
        );
        assert_eq!(
            seed.uri("Customer Portal", "a:b@example.com").as_str(),
            "otpauth://totp/Customer%20Portal:a%3Ab%40example.com?\
             secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Customer%20Portal&algorithm=SHA1&digits=6&period=30"
        );
        let (a, b) = (Seed::generate().unwrap(), Seed::generate().unwrap());
        assert_eq!(a.as_bytes().len(), 20);
        assert_ne!(a.as_bytes(), b.as_bytes());
    }

    #[test]
    fn recovery_codes_are_random_and_typed_loosely() {
        let codes = recovery_codes().unwrap();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let (code, hash) = &codes[0];
        assert_eq!(code.len(), 23);
        assert_ne!(codes[0].0, codes[1].0);
        assert_eq!(recovery_code_hash(code), Some(*hash));
        let loose = format!(" {} ", code.replace('-', " ").to_uppercase());
        assert_eq!(recovery_code_hash(&loose), Some(*hash));
        assert_eq!(recovery_code_hash(&code[1..]), None);
        assert_eq!(recovery_code_hash("zzzzz-zzzzz-zzzzz-zzzzz"), None);
        assert_eq!(recovery_code_hash("123456"), None);
    }
}
