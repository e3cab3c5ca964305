//! Entities in a message: order numbers, locations and products, and the message with those
//! spans replaced by slot words (`<order>`, `<location>`, `<product>`) for the classifier.

use super::products::{ProductIndex, ProductResolution};
use super::text::{Token, edit_distance, tokenize};
use crate::domain::{Location, LocationId, Phone};
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LocationMatch {
    pub id: LocationId,
    pub name: String,
}

/// Everything recognised in one message.
#[derive(Clone, Debug, PartialEq)]
pub struct Entities {
    pub tokens: Vec<Token>,
    pub order_numbers: Vec<String>,
    pub locations: Vec<LocationMatch>,
    /// Email addresses and phone numbers that name a customer, normalised.
    pub customers: Vec<CustomerRef>,
    pub products: ProductResolution,
    /// The message with entity spans replaced by slot words, for intent classification.
    pub delexicalized: Vec<String>,
}

/// A customer named by contact detail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CustomerRef {
    Email(String),
    Phone(Phone),
}

const CUSTOMER_SLOT: &str = "qqcustomerqq";

/// Pulls email addresses and phone numbers out of `text`, replacing each with a slot word so
/// their pieces are not read as products or order numbers.
fn extract_customers(text: &str) -> (Vec<CustomerRef>, String) {
    let mut found = Vec::new();
    let mut rest = Vec::new();
    for word in text.split_whitespace() {
        let bare = word.trim_matches(|c: char| matches!(c, ',' | '?' | '!' | '(' | ')' | ';' | ':' | '"' | '\''));
        let bare = bare.strip_suffix('.').unwrap_or(bare);
        let digits = bare.chars().filter(char::is_ascii_digit).count();
        if bare.starts_with('•') {
            // The tail of a masked card number ("[card ••••1111]") is not an order number.
            continue;
        }
        if let Some((user, domain)) = bare.split_once('@')
            && !user.is_empty()
            && domain.contains('.')
        {
            found.push(CustomerRef::Email(bare.to_lowercase()));
            rest.push(CUSTOMER_SLOT);
        } else if digits >= 10
            && let Some(phone) = Phone::parse(bare)
        {
            found.push(CustomerRef::Phone(phone));
            rest.push(CUSTOMER_SLOT);
        } else {
            rest.push(word);
        }
    }
    (found, rest.join(" "))
}

impl Entities {
    pub fn extract(text: &str, index: &ProductIndex, locations: &[Location]) -> Entities {
        let (customers, text) = extract_customers(text);
        let tokens = tokenize(&text);
        let mut used = vec![false; tokens.len()];
        let mut slots: Vec<Option<&'static str>> = vec![None; tokens.len()];
        for (p, token) in tokens.iter().enumerate() {
            if token.norm == CUSTOMER_SLOT {
                used[p] = true;
                slots[p] = Some("<customer>");
            }
        }
        let (order_numbers, order_positions) = extract_order_numbers(&tokens);
        for p in order_positions {
            used[p] = true;
            slots[p] = Some("<order>");
        }
        let (found_locations, location_positions) = extract_locations(&tokens, locations);
        for p in location_positions {
            used[p] = true;
            slots[p] = Some("<location>");
        }
        let products = index.resolve_tokens(&tokens, &used);
        let product_positions: Vec<usize> = match &products {
            ProductResolution::One(m) => m.positions.clone(),
            ProductResolution::Ambiguous(ms) => ms.first().map(|m| m.positions.clone()).unwrap_or_default(),
            ProductResolution::None => Vec::new(),
        };
        for p in product_positions {
            if !used[p] {
                slots[p] = Some("<product>");
            }
        }
        let mut delexicalized: Vec<String> = Vec::new();
        for (token, slot) in tokens.iter().zip(&slots) {
            match slot {
                Some(slot) if delexicalized.last().map(String::as_str) == Some(*slot) => {}
                Some(slot) => delexicalized.push((*slot).to_owned()),
                None => delexicalized.push(token.norm.clone()),
            }
        }
        Entities { tokens, order_numbers, locations: found_locations, customers, products, delexicalized }
    }
}

/// Order numbers: `#1042`, `order 1042`, `order no. 1042`, `order number 1042`, or a bare
/// number of three to eight digits (longer runs are phone numbers). Returns the numbers and the token positions they used.
pub fn extract_order_numbers(tokens: &[Token]) -> (Vec<String>, Vec<usize>) {
    let mut numbers = Vec::new();
    let mut positions = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        let raw = token.raw.as_str();
        let candidate = if let Some(rest) = raw.strip_prefix('#') {
            (!rest.is_empty()
                && rest.chars().all(|c| c.is_ascii_alphanumeric())
                && rest.chars().any(|c| c.is_ascii_digit()))
            .then(|| rest.to_ascii_uppercase())
        } else if raw.chars().all(|c| c.is_ascii_digit()) {
            let after_order_word =
                i > 0 && matches!(tokens[i - 1].norm.as_str(), "order" | "no" | "number" | "num" | "receipt");
            ((3..=8).contains(&raw.len()) || (after_order_word && !raw.is_empty())).then(|| raw.to_owned())
        } else {
            None
        };
        if let Some(number) = candidate
            && !numbers.contains(&number)
        {
            numbers.push(number);
            positions.push(i);
        }
    }
    (numbers, positions)
}

/// Location names, tolerating one typo in words of five letters or more and ignoring generic
/// words (`St`, `Store`). Returns the locations and the token positions they used.
pub fn extract_locations(tokens: &[Token], locations: &[Location]) -> (Vec<LocationMatch>, Vec<usize>) {
    const GENERIC: &[&str] = &["st", "street", "store", "shop", "location", "branch", "road", "rd", "ave", "avenue"];
    let mut found = Vec::new();
    let mut positions = Vec::new();
    for location in locations {
        let words: Vec<String> =
            tokenize(&location.name).into_iter().map(|t| t.norm).filter(|w| !GENERIC.contains(&w.as_str())).collect();
        if words.is_empty() {
            continue;
        }
        let matches_word = |token: &Token, word: &str| {
            token.norm == word || (word.len() >= 5 && edit_distance(&token.norm, word, 1).is_some())
        };
        for start in 0..tokens.len() {
            let span = &tokens[start..];
            if span.len() >= words.len() && words.iter().zip(span).all(|(w, t)| matches_word(t, w)) {
                found.push(LocationMatch { id: location.id.clone(), name: location.name.clone() });
                let mut end = start + words.len();
                while end < tokens.len() && GENERIC.contains(&tokens[end].norm.as_str()) {
                    end += 1;
                }
                positions.extend(start..end);
                break;
            }
        }
    }
    (found, positions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_numbers_in_the_ways_people_write_them() {
        let numbers = |text: &str| extract_order_numbers(&tokenize(text)).0;
        assert_eq!(numbers("where is my order #1042?"), ["1042"]);
        assert_eq!(numbers("order 1042 status"), ["1042"]);
        assert_eq!(numbers("order no. 77"), ["77"]);
        assert_eq!(numbers("status of # 1043"), ["1043"]);
        assert!(numbers("call me on 3125550142").is_empty());
        assert_eq!(numbers("#A12B"), ["A12B"]);
        assert!(numbers("do we have 3 mugs").is_empty());
        assert!(numbers("500g of coffee").is_empty());
    }

    #[test]
    fn emails_and_phones_name_customers_and_hide_from_other_extractors() {
        let (found, rest) = extract_customers("orders for Alex.Kim@example.com, or +13125550142?");
        assert_eq!(
            found,
            [
                CustomerRef::Email("alex.kim@example.com".into()),
                CustomerRef::Phone(Phone::parse("+13125550142").unwrap())
            ]
        );
        assert_eq!(rest, "orders for qqcustomerqq or qqcustomerqq");
        let (_, rest) = extract_customers("charged twice on [card ••••1111] for 1042");
        assert_eq!(rest, "charged twice on [card for 1042");
    }

    #[test]
    fn locations_with_and_without_generic_words() {
        let locations = vec![
            Location { id: LocationId::new("L1"), name: "Main St".into(), timezone: "UTC".into() },
            Location { id: LocationId::new("L2"), name: "Riverside".into(), timezone: "UTC".into() },
        ];
        let names = |text: &str| {
            extract_locations(&tokenize(text), &locations).0.into_iter().map(|l| l.name).collect::<Vec<_>>()
        };
        assert_eq!(names("is oat milk in stock at Main St"), ["Main St"]);
        assert_eq!(names("stock at riversde"), ["Riverside"]);
        assert!(names("oat milk").is_empty());
    }
}
