//! Exact decimal parsing into fixed-point integers, shared by money and quantities. The POS
//! APIs send decimals as strings ("12.50", "0.25"); floats would lose cents.

/// Parses `-12.5` with `places` decimals into `-1250` (for `places = 2`). Trailing zeros past
/// `places` are accepted ("2.500" for three places); more significant digits are not.
pub fn parse_fixed(text: &str, places: u32) -> Option<i64> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() || !whole.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) {
        return None;
    }
    let frac = frac.trim_end_matches('0');
    if frac.len() > places as usize {
        return None;
    }
    let scale = 10i64.checked_pow(places)?;
    let whole: i64 = whole.parse().ok()?;
    let frac: i64 =
        if frac.is_empty() { 0 } else { format!("{frac:0<width$}", width = places as usize).parse().ok()? };
    let value = whole.checked_mul(scale)?.checked_add(frac)?;
    Some(if negative { -value } else { value })
}
