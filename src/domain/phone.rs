//! Phone numbers in E.164 form. A customer's identity is their phone number, so the comparison
//! must not depend on how someone typed it.

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Phone(String);

impl Phone {
    /// Accepts `+15551230001`, `+1 (555) 123-0001` and, for North American shops, a bare
    /// ten-digit `555-123-0001`. Anything else is rejected rather than guessed.
    pub fn parse(text: &str) -> Option<Phone> {
        let trimmed = text.trim();
        let digits: String = trimmed.chars().filter(|c| c.is_ascii_digit()).collect();
        let allowed = trimmed.chars().all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')' | '.'));
        if !allowed {
            return None;
        }
        if trimmed.starts_with('+') {
            if (8..=15).contains(&digits.len()) && !digits.starts_with('0') {
                return Some(Phone(format!("+{digits}")));
            }
            return None;
        }
        match digits.len() {
            10 => Some(Phone(format!("+1{digits}"))),
            11 if digits.starts_with('1') => Some(Phone(format!("+{digits}"))),
            _ => None,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `+1••••••0001`: enough for a person to recognise their own number, nothing more.
    pub fn masked(&self) -> String {
        let n = self.0.len();
        let tail = &self.0[n.saturating_sub(4)..];
        let head = &self.0[..2.min(n)];
        format!("{head}{}{tail}", "•".repeat(n.saturating_sub(6)))
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Phone {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Phone::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!("expected a phone number in E.164 form like +15551230001, got {text:?}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_common_spellings() {
        let want = Some("+15551230001");
        assert_eq!(Phone::parse("+15551230001").as_ref().map(Phone::as_str), want);
        assert_eq!(Phone::parse("+1 (555) 123-0001").as_ref().map(Phone::as_str), want);
        assert_eq!(Phone::parse("555.123.0001").as_ref().map(Phone::as_str), want);
        assert_eq!(Phone::parse("1-555-123-0001").as_ref().map(Phone::as_str), want);
        assert_eq!(Phone::parse("12345"), None);
        assert_eq!(Phone::parse("maria"), None);
        assert_eq!(Phone::parse("+0123456789"), None);
    }
}
