//! Invitation links' tokens: `inv_` + 43 random base62 characters (256 bits from the operating
//! system), shown once in the link. Only their SHA-256 is stored: with that much randomness a
//! fast hash cannot be reversed, and a lookup by hash is a plain index probe.

use crate::platform::crypto::{push_random_base62, sha256};

pub const PREFIX: &str = "inv_";
const RANDOM_LEN: usize = 43;

/// A new token and its hash. Fails only if the operating system cannot supply randomness.
pub fn generate() -> Result<(String, [u8; 32]), rand::rand_core::OsError> {
    let mut token = String::with_capacity(PREFIX.len() + RANDOM_LEN);
    token.push_str(PREFIX);
    push_random_base62(&mut token, RANDOM_LEN)?;
    let hash = hash(&token);
    Ok((token, hash))
}

/// The stored form of a token.
pub fn hash(token: &str) -> [u8; 32] {
    sha256(token.as_bytes())
}

/// Whether `candidate` has the form of a token (checked before any lookup).
pub fn is_well_formed(candidate: &str) -> bool {
    candidate.len() == PREFIX.len() + RANDOM_LEN
        && candidate.starts_with(PREFIX)
        && candidate[PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_well_formed_and_stored_only_hashed() {
        let (a, hash_a) = generate().unwrap();
        let (b, _) = generate().unwrap();
        assert_ne!(a, b);
        assert!(is_well_formed(&a));
        assert_eq!(hash(&a), hash_a);
        assert_ne!(hash(&b), hash_a);
        assert!(!is_well_formed(&a[1..]));
        assert!(!is_well_formed(&format!("{}!", &a[..a.len() - 1])));
        assert!(!is_well_formed(""));
    }
}
