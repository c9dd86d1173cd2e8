//! Portal users' passwords: argon2id with OWASP's parameters (m = 19456 KiB, t = 2, p = 1),
//! stored as PHC strings. Hashing runs on the blocking pool, and at most
//! `MAX_CONCURRENT_HASHES` at a time, so a flood of sign-ins cannot exhaust memory or starve
//! the async workers. The permit goes with the hash, not with the request: a client that hangs
//! up does not free it while its hash still runs. Waiting for one is bounded (`MAX_WAIT`).

use std::sync::{
    Arc, LazyLock,
    atomic::{AtomicUsize, Ordering},
};

use argon2::{
    Algorithm, Argon2, Params, Version,
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng},
};
use tokio::sync::Semaphore;

/// Each hash holds 19 MiB for its duration: this bounds the total at ~76 MiB.
const MAX_CONCURRENT_HASHES: usize = 4;

/// A request that cannot start its hash within this long is refused (503, try again).
const MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Hashes running now (what the permits bound; tests and operators read it).
static RUNNING: AtomicUsize = AtomicUsize::new(0);

static PERMITS: LazyLock<Arc<Semaphore>> =
    LazyLock::new(|| Arc::new(Semaphore::new(MAX_CONCURRENT_HASHES)));

/// A hash of a password nobody has: verifying against it costs what a real verification costs,
/// so "no such user" takes as long as "wrong password".
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    hash_blocking("not a password anybody uses").expect("hashing a constant cannot fail")
});

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("argon2: {0}")]
    Argon2(String),
    #[error("the hashing task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("every password check was busy for {MAX_WAIT:?}")]
    Busy,
}

/// Busy is the customer's to retry (503); anything else is logged and answered as internal.
impl From<PasswordError> for crate::error::AppError {
    fn from(error: PasswordError) -> Self {
        match error {
            PasswordError::Busy => crate::error::fail(crate::error::AppError::Busy),
            other => crate::error::internal_error("checking a password", &other),
        }
    }
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).expect("OWASP's argon2id parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_blocking(password: &str) -> Result<String, PasswordError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| PasswordError::Argon2(e.to_string()))
}

fn verify_blocking(password: &str, phc: &str) -> Result<bool, PasswordError> {
    let parsed = PasswordHash::new(phc).map_err(|e| PasswordError::Argon2(e.to_string()))?;
    // The parameters come from the PHC string, so hashes made under older parameters verify.
    match argon2().verify_password(password.as_bytes(), &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::Password) => Ok(false),
        Err(e) => Err(PasswordError::Argon2(e.to_string())),
    }
}

async fn limited<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, PasswordError> {
    let permit = tokio::time::timeout(MAX_WAIT, PERMITS.clone().acquire_owned())
        .await
        .map_err(|_| PasswordError::Busy)?
        .expect("the semaphore is never closed");
    // Moved into the blocking task: released when the hash ends, even if this future was
    // dropped (its client disconnected) long before.
    let task = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        RUNNING.fetch_add(1, Ordering::SeqCst);
        let result = work();
        RUNNING.fetch_sub(1, Ordering::SeqCst);
        result
    });
    Ok(task.await?)
}

/// How many hashes are running at this moment.
pub fn running() -> usize {
    RUNNING.load(Ordering::SeqCst)
}

/// Computes the dummy hash ahead of the first sign-in (blocking: call from a blocking thread),
/// so that even the first unknown-email attempt costs what the others do.
pub fn warm_up() {
    LazyLock::force(&DUMMY_HASH);
}

/// Hashes a new password into a PHC string.
pub async fn hash(password: String) -> Result<String, PasswordError> {
    limited(move || hash_blocking(&password)).await?
}

/// Verifies `password` against a stored PHC string; with `None` (no such user) it does the same
/// work against a dummy hash and answers false.
pub async fn verify(password: String, phc: Option<String>) -> Result<bool, PasswordError> {
    limited(move || match phc {
        Some(phc) => verify_blocking(&password, &phc),
        None => verify_blocking(&password, &DUMMY_HASH).map(|_| false),
    })
    .await?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_phc_with_owasp_parameters_and_verify() {
        let phc = hash("correct horse battery".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(
            verify("correct horse battery".into(), Some(phc.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify("wrong horse battery".into(), Some(phc.clone()))
                .await
                .unwrap()
        );
        // Salted: the same password hashes differently.
        assert_ne!(phc, hash("correct horse battery".into()).await.unwrap());
    }

    #[tokio::test]
    async fn an_unknown_user_never_verifies() {
        assert!(
            !verify("not a password anybody uses".into(), None)
                .await
                .unwrap()
        );
    }
}
