//! Signature checks shared by every inbound route. All comparisons are constant-time (the
//! `hmac` crate's `verify_slice`), and all of them run on the raw bytes before any parsing.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Whether `signature_b64` is the base64 HMAC-SHA256 of the concatenated `parts` under `key`.
pub fn hmac_sha256_base64(key: &[u8], parts: &[&[u8]], signature_b64: &str) -> bool {
    let Ok(expected) = STANDARD.decode(signature_b64.trim()) else { return false };
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else { return false };
    for part in parts {
        mac.update(part);
    }
    mac.verify_slice(&expected).is_ok()
}

/// Whether `expected` (raw bytes) is the HMAC-SHA256 of the concatenated `parts` under `key`,
/// compared in constant time.
pub fn hmac_sha256_matches(key: &[u8], parts: &[&[u8]], expected: &[u8]) -> bool {
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else { return false };
    for part in parts {
        mac.update(part);
    }
    mac.verify_slice(expected).is_ok()
}

/// Hex HMAC-SHA256 of the concatenated `parts` (Slack signs this way; compare the result with
/// `secrets_equal`).
pub fn hmac_sha256_hex(key: &[u8], parts: &[&[u8]]) -> String {
    hex::encode(hmac_sha256(key, parts))
}

/// Hex SHA-256 of `bytes` (a stable name for a payload that carries no id of its own).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(Sha256::digest(bytes))
}

/// Raw HMAC-SHA256 of the concatenated `parts`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    // HMAC takes keys of any length, so this cannot fail.
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else { return Vec::new() };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

/// Whether `signature_b64` is the base64 HMAC-SHA1 of `message` under `key` (Twilio).
pub fn hmac_sha1_base64(key: &[u8], message: &[u8], signature_b64: &str) -> bool {
    let Ok(expected) = STANDARD.decode(signature_b64.trim()) else { return false };
    let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(key) else { return false };
    mac.update(message);
    mac.verify_slice(&expected).is_ok()
}

/// Constant-time equality for shared secrets sent as-is (Clover's auth code, Telegram's
/// secret token): compares HMACs of both under a fixed key, so timing reveals nothing about
/// where they differ, whatever their lengths.
pub fn secrets_equal(given: &[u8], expected: &[u8]) -> bool {
    let digest = |value: &[u8]| {
        let mut mac = HmacSha256::new_from_slice(b"tillpilot secret comparison").ok()?;
        mac.update(value);
        Some(mac)
    };
    match (digest(given), digest(expected)) {
        (Some(given), Some(expected)) => given.verify_slice(&expected.finalize().into_bytes()).is_ok(),
        _ => false,
    }
}

/// Whether a request signed at `timestamp` (unix seconds, as the platform sent it) is within
/// `window_secs` of `now_secs`. Any text that is not a whole number, and any number however
/// large or small, is handled without overflow: outside the window is outside.
pub fn within_window(timestamp: &str, now_secs: i64, window_secs: u64) -> bool {
    timestamp.trim().parse::<i64>().is_ok_and(|ts| now_secs.abs_diff(ts) <= window_secs)
}

/// Signatures of timestamped requests (Slack, Discord) already accepted inside their window:
/// the same signed request arriving again is a replay, refused with 401. A platform's own
/// retry is signed anew, so it passes (and the inbox's dedupe keeps it from running twice).
#[derive(Default)]
pub struct ReplayGuard {
    seen: std::sync::Mutex<std::collections::HashMap<String, i64>>,
}

impl ReplayGuard {
    /// Whether `signature` was already accepted and is still inside its window.
    pub fn seen(&self, signature: &str, now_secs: i64) -> bool {
        let seen = match self.seen.lock() {
            Ok(seen) => seen,
            Err(poisoned) => poisoned.into_inner(),
        };
        seen.get(signature).is_some_and(|until| *until >= now_secs)
    }

    /// Remembers an accepted request's signature until `until_secs`.
    pub fn remember(&self, signature: &str, until_secs: i64, now_secs: i64) {
        let mut seen = match self.seen.lock() {
            Ok(seen) => seen,
            Err(poisoned) => poisoned.into_inner(),
        };
        seen.retain(|_, until| *until >= now_secs);
        seen.insert(signature.to_owned(), until_secs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_holds_at_the_extremes() {
        let now = 1_780_000_000;
        assert!(within_window("1780000000", now, 300));
        assert!(within_window(" 1779999700 ", now, 300));
        assert!(!within_window("1779999699", now, 300));
        assert!(!within_window("1780000301", now, 300));
        for extreme in [i64::MIN, i64::MIN + 1, now - i64::MAX, i64::MAX, -1, 0] {
            assert!(!within_window(&extreme.to_string(), now, 300), "{extreme}");
        }
        assert!(!within_window("99999999999999999999999", now, 300));
        assert!(!within_window("1780000000.5", now, 300));
        assert!(!within_window("", now, 300));
    }

    #[test]
    fn secrets_compare_exactly() {
        assert!(secrets_equal(b"0307e264", b"0307e264"));
        assert!(!secrets_equal(b"0307e264", b"0307e265"));
        assert!(!secrets_equal(b"", b"0307e264"));
    }
}
