//! Encryption at rest of API secrets and two-factor seeds: AES-256-GCM under a master key from
//! configuration.
//!
//! The server must use them later (verifying REST signatures, signing webhooks, checking
//! authentication codes), so they are encrypted, not hashed. Each row stores the id of the master
//! key that sealed it, a fresh 96-bit nonce and the ciphertext; the associated data binds the
//! ciphertext to what it belongs to ([`Binding`]), so a ciphertext copied onto another row (or
//! from one table to the other) does not decrypt.
//!
//! Master keys come as `id:hex` entries (64 hex digits = 256 bits); the first entry seals new
//! secrets, the others only open existing ones. Rotation: put a new key first, keep the old ones
//! after it (README, "Master key rotation").

use std::{fmt, path::Path};

use aes_gcm::{
    Aes256Gcm, Key, KeyInit, Nonce,
    aead::{Aead, AeadCore, OsRng, Payload},
};
use uuid::Uuid;
use zeroize::Zeroizing;

const KEY_ID_MAX_LEN: usize = 32;

/// The master keys. Debug output names the key ids, never the keys.
pub struct Keyring {
    /// Non-empty; `keys[0]` seals.
    keys: Vec<MasterKey>,
}

struct MasterKey {
    id: String,
    cipher: Aes256Gcm,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyringError {
    #[error("no master key: the key list is empty")]
    Empty,
    #[error(
        "master key entry {0} is not `id:hex` (an id of letters, digits, '-' or '_', then 64 hex digits)"
    )]
    Malformed(usize),
    #[error("master key id `{0}` appears twice")]
    Duplicate(String),
}

/// A secret sealed for storage.
pub struct Sealed {
    pub key_id: String,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OpenError {
    #[error("the master key `{0}` that sealed this secret is not configured")]
    UnknownKey(String),
    #[error("the secret does not decrypt: wrong key, or not this row's ciphertext")]
    Corrupt,
}

/// What a sealed value belongs to: its associated data.
#[derive(Debug, Clone, Copy)]
pub enum Binding {
    ApiSecret {
        id: Uuid,
        environment_id: Uuid,
    },
    /// A person's TOTP seed.
    TwoFactorSeed {
        user_id: Uuid,
    },
}

impl Binding {
    /// A versioned label, then the ids' raw bytes.
    fn associated_data(self) -> Vec<u8> {
        let (label, ids): (&[u8], [Option<Uuid>; 2]) = match self {
            Binding::ApiSecret { id, environment_id } => {
                (b"api_secret:v1:", [Some(id), Some(environment_id)])
            }
            Binding::TwoFactorSeed { user_id } => (b"totp_seed:v1:", [Some(user_id), None]),
        };
        let mut aad = label.to_vec();
        for id in ids.into_iter().flatten() {
            aad.extend_from_slice(id.as_bytes());
        }
        aad
    }
}

impl Keyring {
    /// Parses entries separated by newlines or commas; blank lines and `#` comments are skipped.
    pub fn parse(text: &str) -> Result<Keyring, KeyringError> {
        let mut keys: Vec<MasterKey> = Vec::new();
        let entries = text
            .split(['\n', ','])
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'));
        for (index, entry) in entries.enumerate() {
            let number = index + 1;
            let (id, hex_key) = entry
                .split_once(':')
                .ok_or(KeyringError::Malformed(number))?;
            let valid_id = !id.is_empty()
                && id.len() <= KEY_ID_MAX_LEN
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            let mut key = Zeroizing::new([0u8; 32]);
            if !valid_id || hex::decode_to_slice(hex_key, key.as_mut_slice()).is_err() {
                return Err(KeyringError::Malformed(number));
            }
            if keys.iter().any(|k| k.id == id) {
                return Err(KeyringError::Duplicate(id.to_owned()));
            }
            keys.push(MasterKey {
                id: id.to_owned(),
                cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key.as_slice())),
            });
        }
        if keys.is_empty() {
            return Err(KeyringError::Empty);
        }
        Ok(Keyring { keys })
    }

    /// A new random key entry, `id:hex`, for a key file.
    pub fn generate_entry(id: &str) -> String {
        let key = Aes256Gcm::generate_key(&mut OsRng);
        let hex_key = Zeroizing::new(hex::encode(key.as_slice()));
        format!("{id}:{}", hex_key.as_str())
    }

    /// The id of the key that seals new secrets.
    pub fn current_key_id(&self) -> &str {
        &self.keys[0].id
    }

    pub fn seal(&self, binding: Binding, plaintext: &[u8]) -> Result<Sealed, OpenError> {
        let key = &self.keys[0];
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let aad = binding.associated_data();
        let ciphertext = key
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| OpenError::Corrupt)?;
        Ok(Sealed {
            key_id: key.id.clone(),
            nonce: nonce.to_vec(),
            ciphertext,
        })
    }

    /// The plaintext, wiped from memory when dropped.
    pub fn open(
        &self,
        binding: Binding,
        key_id: &str,
        nonce: &[u8],
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, OpenError> {
        let key = self
            .keys
            .iter()
            .find(|k| k.id == key_id)
            .ok_or_else(|| OpenError::UnknownKey(key_id.to_owned()))?;
        if nonce.len() != 12 {
            return Err(OpenError::Corrupt);
        }
        let aad = binding.associated_data();
        key.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| OpenError::Corrupt)
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field(
                "key_ids",
                &self.keys.iter().map(|k| &k.id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Appends `count` random base62 characters (`[0-9A-Za-z]`, from the operating system's CSPRNG)
/// to `out`: the random part of API secrets and invitation tokens. Fails only if the operating
/// system cannot supply randomness.
pub fn push_random_base62(out: &mut String, count: usize) -> Result<(), rand::rand_core::OsError> {
    use rand::{
        TryRngCore,
        distr::{Alphanumeric, Distribution},
        rngs::OsRng,
    };
    let mut rng = OsRng;
    // Probe once so a broken OS source is an error, not a panic inside `unwrap_err`.
    rng.try_next_u32()?;
    out.extend(
        Alphanumeric
            .sample_iter(rng.unwrap_err())
            .take(count)
            .map(char::from),
    );
    Ok(())
}

/// `N` random bytes from the operating system's CSPRNG, wiped when dropped.
pub fn random_bytes<const N: usize>() -> Result<Zeroizing<[u8; N]>, rand::rand_core::OsError> {
    use rand::{TryRngCore, rngs::OsRng};
    let mut bytes = Zeroizing::new([0; N]);
    OsRng.try_fill_bytes(bytes.as_mut_slice())?;
    Ok(bytes)
}

/// SHA-256: the stored form of random tokens (invitation links, recovery codes), whose
/// randomness makes a fast hash irreversible.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, data);
    let mut hash = [0; 32];
    hash.copy_from_slice(digest.as_ref());
    hash
}

/// Reads a key file, refusing one that other users could read.
pub fn read_key_file(path: &Path) -> Result<Zeroizing<String>, std::io::Error> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!(
                "{} can be read by other users (mode {:o}); run `chmod 600` on it",
                path.display(),
                mode & 0o777
            ),
        ));
    }
    std::fs::read_to_string(path).map(Zeroizing::new)
}

/// Creates a key file with one new key, readable by its owner only (development).
pub fn create_key_file(path: &Path, key_id: &str) -> Result<(), std::io::Error> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    let entry = Zeroizing::new(Keyring::generate_entry(key_id));
    writeln!(
        file,
        "# API secrets' master keys (id:hex). The first one seals new secrets; keep old ones\n\
         # below it until every secret sealed with them is gone. Never commit this file.\n{}",
        entry.as_str()
    )?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const K2: &str = "k2:1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100";

    #[test]
    fn sealed_secrets_open_with_their_ids_only() {
        let keyring = Keyring::parse(K1).unwrap();
        let (secret, env) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let binding = |id, environment_id| Binding::ApiSecret { id, environment_id };
        let sealed = keyring.seal(binding(secret, env), b"csk_value").unwrap();
        assert_eq!(sealed.key_id, "k1");
        assert_eq!(sealed.nonce.len(), 12);
        assert!(!sealed.ciphertext.windows(9).any(|w| w == b"csk_value"));
        let open = |b| keyring.open(b, "k1", &sealed.nonce, &sealed.ciphertext);
        assert_eq!(open(binding(secret, env)).unwrap().as_slice(), b"csk_value");
        assert_eq!(
            open(binding(Uuid::from_u128(3), env)),
            Err(OpenError::Corrupt)
        );
        assert_eq!(
            open(binding(secret, Uuid::from_u128(3))),
            Err(OpenError::Corrupt)
        );
        // Neither opens as a two-factor seed, nor a seed as another person's.
        assert_eq!(
            open(Binding::TwoFactorSeed { user_id: secret }),
            Err(OpenError::Corrupt)
        );
        let seed = Binding::TwoFactorSeed { user_id: secret };
        let sealed = keyring.seal(seed, b"seed").unwrap();
        let open = |b| keyring.open(b, "k1", &sealed.nonce, &sealed.ciphertext);
        assert_eq!(open(seed).unwrap().as_slice(), b"seed");
        let other = Binding::TwoFactorSeed { user_id: env };
        assert_eq!(open(other), Err(OpenError::Corrupt));
    }

    const NIL: Binding = Binding::ApiSecret {
        id: Uuid::nil(),
        environment_id: Uuid::nil(),
    };

    #[test]
    fn every_seal_uses_a_fresh_nonce() {
        let keyring = Keyring::parse(K1).unwrap();
        let a = keyring.seal(NIL, b"x").unwrap();
        let b = keyring.seal(NIL, b"x").unwrap();
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.ciphertext, b.ciphertext);
    }

    #[test]
    fn after_rotation_old_secrets_still_open_and_new_ones_use_the_new_key() {
        let old = Keyring::parse(K1).unwrap();
        let sealed = old.seal(NIL, b"old").unwrap();
        let rotated = Keyring::parse(&format!("{K2}\n{K1}")).unwrap();
        assert_eq!(rotated.current_key_id(), "k2");
        let opened = rotated
            .open(NIL, "k1", &sealed.nonce, &sealed.ciphertext)
            .unwrap();
        assert_eq!(opened.as_slice(), b"old");
        assert_eq!(rotated.seal(NIL, b"new").unwrap().key_id, "k2");
        // Without the old key, its secrets cannot be opened, and the error says which key.
        let only_new = Keyring::parse(K2).unwrap();
        assert_eq!(
            only_new.open(NIL, "k1", &sealed.nonce, &sealed.ciphertext),
            Err(OpenError::UnknownKey("k1".into()))
        );
    }

    #[test]
    fn key_lists_are_checked() {
        assert_eq!(
            Keyring::parse(" \n# nothing\n").unwrap_err(),
            KeyringError::Empty
        );
        assert_eq!(
            Keyring::parse("k1:abcd").unwrap_err(),
            KeyringError::Malformed(1)
        );
        assert_eq!(
            Keyring::parse(&format!("{K1},bad id:{}", &K1[3..])).unwrap_err(),
            KeyringError::Malformed(2)
        );
        assert_eq!(
            Keyring::parse(&format!("{K1},{K1}")).unwrap_err(),
            KeyringError::Duplicate("k1".into())
        );
        let keyring = Keyring::parse(&format!("# comment\n{K2},\n{K1}\n")).unwrap();
        assert_eq!(
            format!("{keyring:?}"),
            r#"Keyring { key_ids: ["k2", "k1"] }"#
        );
        // An error never quotes the key material.
        let error =
            Keyring::parse("k1:zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
                .unwrap_err()
                .to_string();
        assert!(!error.contains("0102"));
    }

    #[test]
    fn key_files_are_created_private_and_refused_when_readable_by_others() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("portal-keys-{}", Uuid::new_v4()));
        let path = dir.join("secrets.keys");
        create_key_file(&path, "dev-1").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let keyring = Keyring::parse(&read_key_file(&path).unwrap()).unwrap();
        assert_eq!(keyring.current_key_id(), "dev-1");
        // Never overwritten.
        assert!(create_key_file(&path, "dev-2").is_err());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let error = read_key_file(&path).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::PermissionDenied);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
