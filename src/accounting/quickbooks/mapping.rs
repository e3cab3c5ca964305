//! QuickBooks Online's JSON, as far as a purchase order needs it: references, vendors,
//! accounts, items, purchase orders, query answers and faults.

use super::super::AccountingError;
use serde::Deserialize;
use serde_json::Value;

#[derive(Clone, Debug, Deserialize)]
pub struct Ref {
    pub value: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Vendor {
    pub id: String,
    pub display_name: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Account {
    pub id: String,
    pub name: Option<String>,
    pub account_type: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Item {
    pub id: String,
    pub name: Option<String>,
    pub sku: Option<String>,
    pub sync_token: Option<String>,
    pub expense_account_ref: Option<Ref>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PurchaseOrder {
    pub id: String,
    pub doc_number: Option<String>,
}

/// A value inside a query's single quotes: `'` and `\` escaped with a backslash.
pub fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if c == '\'' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// A name QuickBooks accepts for a vendor or an item: no `:` (it separates sub-items), tab or
/// newline, at most `max` characters.
pub fn name(text: &str, max: usize) -> String {
    let cleaned: String =
        text.chars().map(|c| if c == ':' || c == '\t' || c == '\n' || c == '\r' { ' ' } else { c }).collect();
    let trimmed = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    trimmed.chars().take(max).collect()
}

/// The objects of one entity in a query answer (`{"QueryResponse": {"Item": [...]}}`; an
/// answer with no match has no list).
pub fn query_list<T: serde::de::DeserializeOwned>(answer: &Value, entity: &str) -> Result<Vec<T>, AccountingError> {
    match answer.get("QueryResponse").and_then(|r| r.get(entity)) {
        None => Ok(Vec::new()),
        Some(list) => serde_json::from_value(list.clone())
            .map_err(|e| AccountingError::Malformed(format!("the {entity} query answer: {e}"))),
    }
}

/// The object a create or update answers (`{"Item": {...}, "time": ...}`).
pub fn one<T: serde::de::DeserializeOwned>(answer: &Value, entity: &str) -> Result<T, AccountingError> {
    let object = answer.get(entity).ok_or_else(|| AccountingError::Malformed(format!("no {entity} in the answer")))?;
    serde_json::from_value(object.clone()).map_err(|e| AccountingError::Malformed(format!("the {entity}: {e}")))
}

/// The first error of a `Fault` (`{"Fault": {"Error": [{"Message", "Detail", "code"}]}}`),
/// with keys matched in any case (some 401 bodies spell them `fault.error`).
pub fn fault(body: &Value) -> Option<(String, String)> {
    let get = |v: &Value, key: &str| -> Option<Value> {
        v.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.clone())
    };
    let fault = get(body, "Fault")?;
    let first = get(&fault, "Error").and_then(|e| e.as_array().and_then(|a| a.first().cloned()));
    let Some(first) = first else { return Some((String::new(), "a fault without an error".into())) };
    let text = |key: &str| get(&first, key).and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    let message = match (text("Message"), text("Detail")) {
        (m, d) if d.is_empty() || d == m => m,
        (m, d) => format!("{m}: {d}"),
    };
    Some((text("code"), message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_escaped_and_names_cleaned() {
        assert_eq!(quoted("Bob's \\ Burgers"), "'Bob\\'s \\\\ Burgers'");
        assert_eq!(name("Dairy: Oat\tMilk\n 1L", 100), "Dairy Oat Milk 1L");
        assert_eq!(name(&"x".repeat(150), 100).len(), 100);
    }

    #[test]
    fn faults_are_read_in_either_case() {
        let upper: Value = serde_json::json!({"Fault": {"Error": [{"Message": "Duplicate Document Number Error", "Detail": "Duplicate Document Number Error : You must specify a different number.", "code": "6140"}], "type": "ValidationFault"}});
        let (code, message) = fault(&upper).unwrap_or_default();
        assert_eq!(code, "6140");
        assert!(message.starts_with("Duplicate Document Number Error: "), "{message}");
        let lower: Value = serde_json::json!({"fault": {"error": [{"message": "message=AuthenticationFailed; errorCode=003200; statusCode=401", "code": "3200"}]}});
        assert_eq!(fault(&lower).map(|f| f.0), Some("3200".to_owned()));
        assert!(fault(&serde_json::json!({"QueryResponse": {}})).is_none());
    }
}
