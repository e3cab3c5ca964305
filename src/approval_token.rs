//! Approval buttons' tokens and codes. A button carries `ap.<code>.<a|r>.<signature>`: the
//! approval's six-character code, the decision, and an HMAC under the shop's key, so a press
//! can only decide what the button said, and only for the shop that posted it. The code alone
//! is what a phone replies with (`YES K7Q2MX`).

use crate::signature::{hmac_sha256, secrets_equal};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

const TOKEN_PREFIX: &str = "ap.";
/// Characters of the token's signature (96 bits).
const SIGNATURE_CHARS: usize = 16;
/// Approval codes avoid letters and digits people confuse (0/O, 1/I/L).
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

/// Bytes from the operating system's random source.
pub fn random_bytes(n: usize) -> Vec<u8> {
    use std::io::Read;
    let mut bytes = vec![0u8; n];
    if std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes)).is_err() {
        // No /dev/urandom (not Linux or macOS): the standard library's hash keys, which it
        // draws from the operating system's random source.
        use std::hash::{BuildHasher, Hasher};
        bytes = (0..n.div_ceil(8))
            .flat_map(|i| {
                let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
                hasher.write_usize(i);
                hasher.finish().to_le_bytes()
            })
            .take(n)
            .collect();
    }
    bytes
}

/// A new approval code: six characters from `CODE_ALPHABET`.
pub fn new_code() -> String {
    random_bytes(6).iter().map(|b| CODE_ALPHABET[*b as usize % CODE_ALPHABET.len()] as char).collect()
}

fn signature(key: &[u8], id: &str, approve: bool) -> String {
    let decision = if approve { "a" } else { "r" };
    let mac = hmac_sha256(key, &[TOKEN_PREFIX.as_bytes(), id.as_bytes(), b".", decision.as_bytes()]);
    URL_SAFE_NO_PAD.encode(mac).chars().take(SIGNATURE_CHARS).collect()
}

/// The action a button carries: `ap.<code>.<a|r>.<signature>`.
pub fn token(key: &[u8], id: &str, approve: bool) -> String {
    format!("{TOKEN_PREFIX}{id}.{}.{}", if approve { "a" } else { "r" }, signature(key, id, approve))
}

/// Whether a button action is an approval token at all (signed or not).
pub fn is_token(action: &str) -> bool {
    action.starts_with(TOKEN_PREFIX)
}

/// The approval code in a token, for SMS renderings.
pub fn code_of(action: &str) -> Option<&str> {
    action.strip_prefix(TOKEN_PREFIX)?.split('.').next()
}

/// The approval and decision a token names, if its signature is ours.
pub fn verify_token(key: &[u8], action: &str) -> Option<(String, bool)> {
    let mut parts = action.strip_prefix(TOKEN_PREFIX)?.split('.');
    let (id, decision, sig) = (parts.next()?, parts.next()?, parts.next()?);
    let approve = match decision {
        "a" => true,
        "r" => false,
        _ => return None,
    };
    secrets_equal(sig.as_bytes(), signature(key, id, approve).as_bytes()).then(|| (id.to_owned(), approve))
}

/// `YES K7Q2MX` / `no k7q2mx`: an SMS decision, if the text is one.
pub fn sms_decision(text: &str) -> Option<(String, bool)> {
    let mut words = text.split_whitespace();
    let (verb, code) = (words.next()?, words.next()?);
    let code = code.to_ascii_uppercase();
    if words.next().is_some() || code.len() != 6 || !code.bytes().all(|b| CODE_ALPHABET.contains(&b)) {
        return None;
    }
    let approve = match verb.to_ascii_uppercase().as_str() {
        "YES" | "Y" | "APPROVE" => true,
        "NO" | "N" | "REJECT" => false,
        _ => return None,
    };
    Some((code, approve))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_with_their_key_and_decision() {
        let key = b"k".repeat(32);
        let approve = token(&key, "K7Q2MX", true);
        assert!(approve.len() <= 64, "fits Telegram callback data: {approve}");
        assert_eq!(verify_token(&key, &approve), Some(("K7Q2MX".into(), true)));
        assert_eq!(code_of(&approve), Some("K7Q2MX"));
        let forged = approve.replace(".a.", ".r.");
        assert_eq!(verify_token(&key, &forged), None, "a decision cannot be flipped");
        assert_eq!(verify_token(&b"x".repeat(32), &approve), None, "another shop's key");
        assert_eq!(verify_token(&key, "stock id:A"), None);
    }

    #[test]
    fn sms_decisions_need_a_verb_and_a_code() {
        assert_eq!(sms_decision("YES k7q2mx"), Some(("K7Q2MX".into(), true)));
        assert_eq!(sms_decision("no K7Q2MX"), Some(("K7Q2MX".into(), false)));
        assert_eq!(sms_decision("yes please"), None);
        assert_eq!(sms_decision("yes K7Q2MX now"), None);
    }

    #[test]
    fn codes_are_six_unambiguous_characters() {
        let code = new_code();
        assert_eq!(code.len(), 6);
        assert!(code.bytes().all(|b| CODE_ALPHABET.contains(&b)), "{code}");
    }
}
