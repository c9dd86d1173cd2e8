// Rust (crates hmac 0.12, sha2 0.10, hex 0.4): sign a REST API request, verify a webhook.
use hmac::{Hmac, Mac};
use sha2::Sha256;

fn mac(api_secret: &str, method: &str, path_and_query: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(api_secret.as_bytes()).expect("HMAC takes any key");
    mac.update(method.to_uppercase().as_bytes());
    mac.update(path_and_query.as_bytes());
    mac.update(timestamp.as_bytes());
    mac.update(body);
    mac
}

/// The value of X-CS-Signature; send it with X-CS-Timestamp (milliseconds since the epoch).
pub fn sign(api_secret: &str, method: &str, path_and_query: &str, timestamp: &str, body: &[u8]) -> String {
    hex::encode(mac(api_secret, method, path_and_query, timestamp, body).finalize().into_bytes())
}

/// A webhook: the signature must match (compared in constant time) and be recent. The headers
/// are the sender's: anything malformed is simply not genuine.
pub fn is_genuine_webhook(
    api_secret: &str,
    method: &str,
    path_and_query: &str,
    timestamp: &str,
    signature: &str,
    body: &[u8],
) -> bool {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    // Digits only, no leading zero (one spelling per moment), at most 16.
    let canonical = timestamp.len() <= 16
        && timestamp.starts_with(|c: char| matches!(c, '1'..='9'))
        && timestamp.bytes().all(|b| b.is_ascii_digit());
    let recent = canonical && timestamp.parse::<u64>().is_ok_and(|t| now.abs_diff(t) < 5 * 60 * 1000);
    let Ok(signature) = hex::decode(signature) else { return false };
    recent && mac(api_secret, method, path_and_query, timestamp, body).verify_slice(&signature).is_ok()
}
