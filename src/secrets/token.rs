//! The API secret's written form: `csk_` + 43 random base62 characters (256 bits from the
//! operating system's CSPRNG) + 6 base62 characters of CRC-32 over everything before them.
//!
//! The fixed prefix and the checksum let secret scanners recognise a leaked secret with few
//! false positives, the way GitHub's tokens do: a random 53-character string starting `csk_`
//! has a 1 in 4 billion chance of a valid checksum. The whole string is the HMAC key.

use zeroize::Zeroizing;

use crate::platform::crypto::push_random_base62;

pub const PREFIX: &str = "csk_";
/// 43 base62 characters carry 43 × log2(62) ≈ 256.03 bits.
const RANDOM_LEN: usize = 43;
const CHECKSUM_LEN: usize = 6;
pub const LEN: usize = PREFIX.len() + RANDOM_LEN + CHECKSUM_LEN;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A new secret. Fails only if the operating system cannot supply randomness.
pub fn generate() -> Result<Zeroizing<String>, rand::rand_core::OsError> {
    // The capacity is the whole secret's: the string never reallocates (and leaves no copy).
    let mut secret = Zeroizing::new(String::with_capacity(LEN));
    secret.push_str(PREFIX);
    push_random_base62(&mut secret, RANDOM_LEN)?;
    let checksum = checksum(&secret);
    secret.push_str(&checksum);
    Ok(secret)
}

/// Whether `candidate` has the form of one of our secrets, checksum included.
pub fn is_well_formed(candidate: &str) -> bool {
    candidate.len() == LEN
        && candidate.starts_with(PREFIX)
        && candidate[PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric())
        && checksum(&candidate[..LEN - CHECKSUM_LEN]) == candidate[LEN - CHECKSUM_LEN..]
}

/// What may be shown of a secret: `csk_…` and its last 4 characters.
pub fn mask(secret: &str) -> String {
    let tail = &secret[secret.len().saturating_sub(4)..];
    format!("{PREFIX}…{tail}")
}

fn checksum(text: &str) -> String {
    let mut n = crc32fast::hash(text.as_bytes());
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    out.iter().map(|&b| char::from(b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_well_formed_and_distinct() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_eq!(a.len(), LEN);
        assert!(a.starts_with("csk_"));
        assert!(is_well_formed(&a) && is_well_formed(&b));
        assert_ne!(*a, *b);
    }

    #[test]
    fn a_changed_character_breaks_the_checksum() {
        let secret = generate().unwrap();
        let mut bytes = secret.as_bytes().to_vec();
        bytes[10] = if bytes[10] == b'a' { b'b' } else { b'a' };
        assert!(!is_well_formed(std::str::from_utf8(&bytes).unwrap()));
        assert!(!is_well_formed(&secret[..LEN - 1]));
        assert!(!is_well_formed(&format!("xsk_{}", &secret[4..])));
        assert!(!is_well_formed("csk_"));
    }

    #[test]
    fn the_random_part_uses_the_whole_alphabet() {
        // 200 secrets × 43 characters: every one of the 62 characters turns up.
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let secret = generate().unwrap();
            seen.extend(secret[4..4 + RANDOM_LEN].chars());
        }
        assert_eq!(seen.len(), 62);
    }

    #[test]
    fn masks_show_the_prefix_and_the_last_four_characters() {
        let secret = generate().unwrap();
        let masked = mask(&secret);
        assert_eq!(masked, format!("csk_…{}", &secret[LEN - 4..]));
        assert!(!masked.contains(&secret[4..LEN - 4]));
    }
}
