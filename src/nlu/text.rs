//! Text normalisation shared by the product index, the entity extractors and the classifier.

/// A word of the input with where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// Lower-case, ASCII-folded, singular, with size words in one spelling.
    pub norm: String,
    /// The token as typed, lower-cased (for order numbers and `#` handling).
    pub raw: String,
}

/// Splits text into tokens. Hyphens and apostrophes inside a word join it (`t-shirt` →
/// `tshirt`, `what's` → `whats`), a leading `#` is kept on the raw form, and everything else
/// that is not a letter or digit separates words.
pub fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut hash = false;
    let chars: Vec<char> = text.chars().collect();
    let flush = |current: &mut String, hash: &mut bool, tokens: &mut Vec<Token>| {
        if !current.is_empty() {
            let raw = if *hash { format!("#{current}") } else { current.clone() };
            tokens.push(Token { norm: normalize_word(current), raw });
            current.clear();
        }
        *hash = false;
    };
    for (i, &c) in chars.iter().enumerate() {
        if let Some(folded) = fold(c) {
            current.push(folded);
        } else if matches!(c, '-' | '\'' | '’')
            && !current.is_empty()
            && chars.get(i + 1).is_some_and(|n| n.is_alphanumeric())
        {
            // joined: t-shirt, what's
        } else if c == '#' && current.is_empty() {
            hash = true;
        } else {
            flush(&mut current, &mut hash, &mut tokens);
        }
    }
    flush(&mut current, &mut hash, &mut tokens);
    tokens
}

/// Lower-cases and strips accents from the letters we meet in shop catalogs; other
/// alphanumeric characters pass through; anything else is a separator.
fn fold(c: char) -> Option<char> {
    if c.is_ascii_alphanumeric() {
        return Some(c.to_ascii_lowercase());
    }
    let folded = match c {
        'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' | 'À' | 'Á' | 'Â' | 'Ä' => 'a',
        'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' => 'e',
        'í' | 'ì' | 'î' | 'ï' => 'i',
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'Ó' | 'Ö' => 'o',
        'ú' | 'ù' | 'û' | 'ü' | 'Ü' => 'u',
        'ñ' => 'n',
        'ç' => 'c',
        c if c.is_alphanumeric() => return c.to_lowercase().next(),
        _ => return None,
    };
    Some(folded)
}

/// Singular form and canonical size words: `mugs` → `mug`, `berries` → `berry`, `lg` →
/// `large`.
pub fn normalize_word(word: &str) -> String {
    match word {
        "xl" | "xlarge" | "extralarge" => return "xl".into(),
        "l" | "lg" | "lrg" | "large" => return "large".into(),
        "m" | "med" | "medium" => return "medium".into(),
        "s" | "sm" | "small" => return "small".into(),
        "grey" | "gray" => return "grey".into(),
        "litre" | "liter" | "litres" | "liters" => return "l".into(),
        "tee" | "tees" => return "tshirt".into(),
        _ => {}
    }
    singular(word)
}

fn singular(word: &str) -> String {
    let n = word.len();
    if n <= 3 || word.chars().any(|c| c.is_ascii_digit()) {
        return word.to_owned();
    }
    if let Some(stem) = word.strip_suffix("ies")
        && n > 4
    {
        return format!("{stem}ie");
    }
    for suffix in ["sses", "shes", "ches", "xes", "zes", "oes"] {
        if word.ends_with(suffix) {
            return word[..n - 2].to_owned();
        }
    }
    if word.ends_with('s') && !word.ends_with("ss") && !word.ends_with("us") && !word.ends_with("is") {
        return word[..n - 1].to_owned();
    }
    word.to_owned()
}

/// Replaces card numbers (13–19 digits, spaces or dashes allowed, passing the Luhn check) with
/// a mask that keeps the last four digits. Runs before anything stores or forwards a message.
pub fn mask_card_numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() && (i == 0 || !chars[i - 1].is_ascii_alphanumeric()) {
            let mut j = i;
            let mut digits = String::new();
            let mut end = i;
            while j < chars.len() && (chars[j].is_ascii_digit() || matches!(chars[j], ' ' | '-')) {
                if chars[j].is_ascii_digit() {
                    digits.push(chars[j]);
                    end = j + 1;
                }
                if digits.len() > 19 {
                    break;
                }
                j += 1;
            }
            let bounded = end >= chars.len() || !chars[end].is_ascii_alphanumeric();
            if (13..=19).contains(&digits.len()) && bounded && luhn(&digits) {
                out.push_str("[card ••••");
                out.push_str(&digits[digits.len() - 4..]);
                out.push(']');
                i = end;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// Masks what must never be stored or forwarded from a chat message: card numbers (see
/// `mask_card_numbers`), the code after a word like "cvv" or "security code", and secrets (API
/// keys and tokens by their published shapes, and whatever follows "password" or "api key").
/// Runs before the inbox, the audit log, conversation state or an LLM prompt see the text.
pub fn mask_sensitive(text: &str) -> String {
    let text = mask_card_numbers(text);
    let mut out = String::with_capacity(text.len());
    // What the words before asked for: a card code within the next three words, or the next
    // word as a secret.
    let (mut code_within, mut secret_next) = (0u8, false);
    let mut previous = String::new();
    for piece in text.split_inclusive(char::is_whitespace) {
        let word = piece.trim_end();
        let space = &piece[word.len()..];
        let bare = word.trim_matches(|c: char| matches!(c, ',' | '.' | ';' | '!' | '?' | '(' | ')' | '"' | '\''));
        let lower = bare.to_lowercase();
        let is_code = (3..=4).contains(&bare.len()) && bare.chars().all(|c| c.is_ascii_digit());
        if code_within > 0 && is_code {
            out.push_str(&word.replace(bare, "[code]"));
            code_within = 0;
        } else if let Some((key, value)) = bare.split_once(['=', ':'])
            && SECRET_WORDS.contains(&key.to_lowercase().as_str())
            && !value.is_empty()
        {
            out.push_str(&word.replace(value, "[secret]"));
        } else if looks_like_secret(bare)
            || (secret_next && !bare.is_empty() && !matches!(lower.as_str(), "is" | ":" | "=" | "was"))
        {
            out.push_str(&word.replace(bare, "[secret]"));
            secret_next = false;
        } else {
            out.push_str(word);
        }
        out.push_str(space);
        code_within = code_within.saturating_sub(1);
        let key = lower.trim_end_matches([':', '=']);
        if matches!(key, "cvv" | "cvv2" | "cvc" | "cvc2" | "csc" | "cid") || (previous == "security" && key == "code") {
            code_within = 4;
        }
        if SECRET_WORDS.contains(&key) || (previous == "api" && key == "key") {
            secret_next = true;
        } else if !matches!(lower.as_str(), "is" | ":" | "=" | "was" | "my" | "the") && !bare.is_empty() {
            secret_next = secret_next && looks_like_secret(bare);
        }
        previous = key.to_owned();
    }
    out
}

/// Words after which the next word is a secret ("password hunter2", "token: abc").
const SECRET_WORDS: &[&str] =
    &["password", "passwd", "pwd", "passcode", "passphrase", "token", "apikey", "api_key", "secret"];

/// The shapes of keys and tokens the shop's platforms issue: Slack (`xoxb-`, `xapp-`), OpenAI-style
/// (`sk-`), Stripe (`sk_live_`, `rk_live_`), GitHub (`ghp_`, `github_pat_`), Shopify (`shpat_`,
/// `shpss_`), Square (`EAAA`, `sq0atp-`, `sq0csp-`), AWS (`AKIA`), webhook secrets (`whsec_`),
/// Telegram bot tokens (`123456789:AA…`), and any 40 characters or more of mixed letters and
/// digits.
fn looks_like_secret(word: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "xoxb-",
        "xoxp-",
        "xoxa-",
        "xoxr-",
        "xoxs-",
        "xapp-",
        "sk-",
        "sk_live_",
        "sk_test_",
        "rk_live_",
        "rk_test_",
        "ghp_",
        "gho_",
        "ghs_",
        "github_pat_",
        "shpat_",
        "shpss_",
        "shpca_",
        "EAAA",
        "sq0atp-",
        "sq0csp-",
        "AKIA",
        "whsec_",
    ];
    let keyish = |s: &str| s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if PREFIXES.iter().any(|p| word.strip_prefix(p).is_some_and(|rest| rest.len() >= 16 && keyish(rest))) {
        return true;
    }
    if let Some((bot, key)) = word.split_once(':')
        && (8..=10).contains(&bot.len())
        && bot.chars().all(|c| c.is_ascii_digit())
        && key.len() >= 30
        && keyish(key)
    {
        return true;
    }
    word.len() >= 40
        && keyish(word)
        && word.chars().any(|c| c.is_ascii_digit())
        && word.chars().any(|c| c.is_ascii_lowercase())
        && word.chars().any(|c| c.is_ascii_uppercase())
}

fn luhn(digits: &str) -> bool {
    let mut sum = 0;
    for (i, c) in digits.chars().rev().enumerate() {
        let mut d = c.to_digit(10).unwrap_or(0);
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

/// Damerau–Levenshtein (optimal string alignment) distance, giving up above `max`.
pub fn edit_distance(a: &str, b: &str, max: usize) -> Option<usize> {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let width = b.len() + 1;
    let mut prev2 = vec![0usize; width];
    let mut prev: Vec<usize> = (0..width).collect();
    let mut cur = vec![0usize; width];
    for i in 1..=a.len() {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
            row_min = row_min.min(v);
        }
        if row_min > max {
            return None;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    let d = prev[b.len()];
    (d <= max).then_some(d)
}

/// Words that carry the question, not the product: never matched against the catalog.
pub fn is_stopword(word: &str) -> bool {
    const WORDS: &[&str] = &[
        "a",
        "an",
        "the",
        "of",
        "for",
        "to",
        "in",
        "on",
        "at",
        "is",
        "are",
        "am",
        "be",
        "do",
        "does",
        "did",
        "we",
        "i",
        "you",
        "u",
        "me",
        "my",
        "our",
        "us",
        "it",
        "its",
        "this",
        "that",
        "there",
        "any",
        "some",
        "have",
        "has",
        "got",
        "how",
        "many",
        "much",
        "what",
        "whats",
        "where",
        "wheres",
        "when",
        "which",
        "who",
        "whos",
        "stock",
        "instock",
        "left",
        "hand",
        "onhand",
        "available",
        "availability",
        "check",
        "show",
        "tell",
        "please",
        "pls",
        "can",
        "could",
        "would",
        "will",
        "still",
        "more",
        "count",
        "level",
        "inventory",
        "carry",
        "sell",
        "order",
        "status",
        "and",
        "or",
        "with",
        "by",
        "from",
        "about",
        "know",
        "need",
        "want",
        "looking",
        "like",
        "see",
        "get",
        "right",
        "now",
        "today",
        "currently",
        "store",
        "shop",
        "location",
        "back",
        "out",
        "unit",
        "item",
        "product",
        "thing",
        "do",
        "hey",
        "hi",
        "hello",
        "thanks",
        "thank",
        "yes",
        "no",
        "if",
        "so",
        "just",
        "all",
        "st",
        "street",
        "ave",
        "number",
        "no",
        "many",
        "lot",
        "quantity",
        "qty",
        "remaining",
        "shelf",
        "shelve",
        "again",
    ];
    WORDS.contains(&word)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norms(text: &str) -> Vec<String> {
        tokenize(text).into_iter().map(|t| t.norm).collect()
    }

    #[test]
    fn tokenizes_like_a_person_reads() {
        assert_eq!(norms("How many T-Shirts (lg)?"), ["how", "many", "tshirt", "large"]);
        assert_eq!(norms("what's #1042"), ["what", "1042"]);
        assert_eq!(tokenize("#1042")[0].raw, "#1042");
        assert_eq!(
            norms("Crème Brûlée berries boxes glass hoodies"),
            ["creme", "brulee", "berrie", "box", "glass", "hoodie"]
        );
    }

    #[test]
    fn masks_card_numbers_only() {
        let masked = mask_card_numbers("card 4111 1111 1111 1111 exp 12/29, order 1042, phone 3125550142");
        assert_eq!(masked, "card [card ••••1111] exp 12/29, order 1042, phone 3125550142");
        assert_eq!(mask_card_numbers("4111-1111-1111-1112"), "4111-1111-1111-1112"); // fails Luhn
        assert_eq!(mask_card_numbers("5500005555555559"), "[card ••••5559]");
    }

    #[test]
    fn masks_card_codes_and_secrets_and_leaves_the_rest() {
        assert_eq!(
            mask_sensitive("card 4111 1111 1111 1111 exp 12/29 cvv 123, order 1042"),
            "card [card ••••1111] exp 12/29 cvv [code], order 1042"
        );
        assert_eq!(mask_sensitive("the security code is 4321"), "the security code is [code]");
        assert_eq!(mask_sensitive("stock 123 oat milk"), "stock 123 oat milk");
        assert_eq!(mask_sensitive("my password is hunter2 ok"), "my password is [secret] ok");
        assert_eq!(mask_sensitive("password=hunter2"), "password=[secret]");
        assert_eq!(mask_sensitive("api key: abc123def"), "api key: [secret]");
        assert_eq!(mask_sensitive("use xoxb-1234567890-abcdefghijklmnop for slack"), "use [secret] for slack");
        assert_eq!(mask_sensitive("bot 123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"), "bot [secret]");
        assert_eq!(mask_sensitive("sk-proj-abcdefghijklmnopqrstuvwx."), "[secret].");
        assert_eq!(mask_sensitive("where is order 1042?"), "where is order 1042?");
        assert_eq!(mask_sensitive("PO-1001 oat milk 120"), "PO-1001 oat milk 120");
        assert_eq!(mask_sensitive("how many tokens do we have"), "how many tokens do we have");
    }

    #[test]
    fn edit_distance_counts_transpositions_once() {
        assert_eq!(edit_distance("mug", "mugs", 2), Some(1));
        assert_eq!(edit_distance("milk", "mlik", 2), Some(1));
        assert_eq!(edit_distance("sourdough", "sourdouhg", 1), Some(1));
        assert_eq!(edit_distance("oat", "chocolate", 2), None);
    }
}
