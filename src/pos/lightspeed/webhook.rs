//! Lightspeed webhook verification and parsing.

use crate::config::LightspeedConfig;
use crate::domain::{CustomerId, OrderId, VariationId};
use crate::inbound::{Effect, Headers, Ingress, WebhookError, WebhookEvent};
use crate::signature::{hmac_sha256_matches, sha256_hex};
use base64::Engine;
use serde_json::Value;

pub const SIGNATURE_HEADER: &str = "x-signature";

/// The event types Tillpilot subscribes to, each registered at `…/webhooks/lightspeed?type=…`.
pub const EVENT_TYPES: [&str; 7] = [
    "sale.update",
    "product.update",
    "inventory.update",
    "customer.update",
    "consignment.send",
    "consignment.receive",
    "register_closure.create",
];

/// The delivery URL of one event type: `webhook_url` with `type=` added.
pub fn type_url(webhook_url: &str, event_type: &str) -> String {
    let separator = if webhook_url.contains('?') { '&' } else { '?' };
    format!("{webhook_url}{separator}type={event_type}")
}

#[derive(serde::Deserialize)]
struct Subscription {
    url: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(serde::Deserialize)]
struct Subscriptions {
    #[serde(default)]
    data: Vec<Subscription>,
}

/// Subscribes every event type in `EVENT_TYPES`, each at its own URL (`…?type=…`, since the
/// body names no type). A subscription that already exists is left alone, so running it again
/// changes nothing. Returns each type with whether it was new.
pub async fn subscribe(
    client: &super::client::LightspeedClient,
    webhook_url: &str,
) -> Result<Vec<(&'static str, bool)>, crate::pos::PosError> {
    let existing = client.get::<Subscriptions>("/webhooks", &[]).await?.map(|s| s.data).unwrap_or_default();
    let mut out = Vec::new();
    for kind in EVENT_TYPES {
        let url = type_url(webhook_url, kind);
        if existing.iter().any(|s| s.url.as_deref() == Some(url.as_str()) && s.kind.as_deref() == Some(kind)) {
            out.push((kind, false));
            continue;
        }
        let body = serde_json::json!({ "url": url, "active": true, "type": kind });
        match client.post_once::<Value>("/webhooks", &body).await {
            Ok(_) => out.push((kind, true)),
            // Lightspeed answers 409 for a type and URL it already delivers to.
            Err(crate::pos::PosError::Rejected { status: 409, .. }) => out.push((kind, false)),
            Err(err) => return Err(err),
        }
    }
    Ok(out)
}

/// The digest of `X-Signature: signature=...,algorithm=HMAC-SHA256` (pairs in any order, with
/// any spacing). The vendor does not say how the digest is encoded: hex and base64 are both
/// read.
fn digest(header: &str) -> Option<Vec<u8>> {
    let mut signature = None;
    let mut algorithm = None;
    for pair in header.split(',') {
        let (key, value) = pair.split_once('=')?;
        match key.trim().to_ascii_lowercase().as_str() {
            "signature" => signature = Some(value.trim()),
            "algorithm" => algorithm = Some(value.trim()),
            _ => {}
        }
    }
    if !algorithm?.eq_ignore_ascii_case("HMAC-SHA256") {
        return None;
    }
    let signature = signature?;
    // `=` padding is inside the value: split_once kept it.
    if signature.len() == 64
        && let Ok(bytes) = hex::decode(signature)
    {
        return Some(bytes);
    }
    let base64 = base64::engine::general_purpose::STANDARD
        .decode(signature)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(signature))
        .ok()?;
    Some(base64).filter(|b| b.len() == 32)
}

/// Checks the signature over the raw body, keyed with the app's client secret.
pub fn verify(client_secret: &str, body: &[u8], header: Option<&str>) -> Result<(), WebhookError> {
    let expected = header.and_then(digest).ok_or(WebhookError::BadSignature)?;
    if hmac_sha256_matches(client_secret.as_bytes(), &[body], &expected) {
        Ok(())
    } else {
        Err(WebhookError::BadSignature)
    }
}

/// The event type from the payload's shape, for a URL registered without `?type=`.
/// Consignment lines look the same whether sent or received, so those need the URL's type.
fn inferred_type(payload: &Value) -> &'static str {
    let has = |key: &str| payload.get(key).is_some();
    if has("consignment_id") {
        "consignment.line"
    } else if has("outlet_id") && has("product_id") && has("count") {
        "inventory.update"
    } else if has("register_sale_products") || has("invoice_number") {
        "sale.update"
    } else if has("customer_code") {
        "customer.update"
    } else if has("handle") || has("variant_parent_id") || has("sku") {
        "product.update"
    } else if has("register_id") {
        "register_closure.create"
    } else {
        "unknown"
    }
}

/// The `payload` field of a form-encoded delivery, as a JSON object, and the event it is.
pub fn parse(type_param: Option<&str>, body: &[u8]) -> Result<WebhookEvent, WebhookError> {
    let payload = form_urlencoded::parse(body)
        .find(|(key, _)| key == "payload")
        .map(|(_, value)| value.into_owned())
        .ok_or_else(|| WebhookError::Malformed("no payload field in the form body".into()))?;
    let value: Value = serde_json::from_str(&payload).map_err(|e| WebhookError::Malformed(format!("payload: {e}")))?;
    if !value.is_object() {
        return Err(WebhookError::Malformed("the payload is not a JSON object".into()));
    }
    let event_type = match type_param.map(str::trim).filter(|t| !t.is_empty()) {
        Some(given) => given.to_owned(),
        None => inferred_type(&value).to_owned(),
    };
    let text = |key: &str| match value.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    // Stock is per product and outlet, a consignment line about its consignment; everything
    // else is about its own `id`.
    let object_id = match event_type.as_str() {
        "inventory.update" => text("product_id"),
        "consignment.receive" | "consignment.send" | "consignment.line" => text("consignment_id"),
        _ => text("id"),
    };
    let entity = match (&object_id, text("outlet_id")) {
        (Some(id), Some(outlet)) if event_type == "inventory.update" => format!("{id}@{outlet}"),
        (Some(id), _) => id.clone(),
        (None, _) => sha256_hex(payload.as_bytes()),
    };
    // No delivery id: a redelivery repeats the type, the entity and its version.
    let version = text("version").unwrap_or_else(|| sha256_hex(payload.as_bytes())[..16].to_owned());
    Ok(WebhookEvent {
        source: "lightspeed",
        event_id: format!("{event_type}:{entity}:{version}"),
        event_type,
        object_id,
        payload,
    })
}

/// The `type` parameter of the delivery URL's query string.
pub fn type_param(query: Option<&str>) -> Option<String> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(key, _)| key == "type")
        .map(|(_, value)| value.into_owned())
}

/// A delivery to `POST /webhooks/lightspeed[?type=...]`: verified with the app's client secret
/// on the raw bytes, then read into one inbox event.
pub fn ingest(
    config: &LightspeedConfig,
    headers: &dyn Headers,
    query: Option<&str>,
    body: &[u8],
) -> Result<Ingress, WebhookError> {
    verify(config.client_secret.expose(), body, headers.header(SIGNATURE_HEADER))?;
    let event = parse(type_param(query).as_deref(), body)?;
    Ok(Ingress::record(vec![event]))
}

/// What a recorded Lightspeed event asks for: stock, sales and customers are fetched fresh
/// (deliveries can arrive out of order; the API has the current figure).
pub fn effect(event_type: &str, object_id: Option<&str>) -> Effect {
    let Some(object) = object_id.filter(|o| !o.is_empty()) else { return Effect::NOT_ACTED_ON };
    match event_type {
        "inventory.update" => Effect::StockOf(VariationId::new(object)),
        "sale.update" => Effect::Order(OrderId::new(object)),
        "customer.update" => Effect::Customer(CustomerId::new(object)),
        "consignment.receive" => Effect::PurchaseOrderReceived(object.to_owned()),
        _ => Effect::NOT_ACTED_ON,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_header_is_read_in_any_order_as_hex_or_base64() {
        let hex_digest = "29040b7cd537226a58448e3dde08ef89b95adf70f5b7d16b95a3ecde4987c18a";
        let bytes = hex::decode(hex_digest).unwrap_or_default();
        let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
        assert_eq!(digest(&format!("signature={hex_digest},algorithm=HMAC-SHA256")), Some(bytes.clone()));
        assert_eq!(digest(&format!(" algorithm=hmac-sha256 , signature={b64}")), Some(bytes.clone()));
        assert_eq!(digest(&format!("signature={hex_digest},algorithm=HMAC-SHA1")), None);
        assert_eq!(digest(&format!("signature={hex_digest}")), None);
        assert_eq!(digest("signature=897hRT893qkA783M093ha903f,algorithm=HMAC-SHA256"), None, "the doc's placeholder");
    }

    #[test]
    fn the_type_comes_from_the_url_or_the_payload_shape() {
        let body =
            |json: &str| format!("payload={}", form_urlencoded::byte_serialize(json.as_bytes()).collect::<String>());
        let stock = body(r#"{"product_id":"P1","outlet_id":"O1","count":4,"version":77}"#);
        let event = parse(None, stock.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((event.event_type.as_str(), event.object_id.as_deref()), ("inventory.update", Some("P1")));
        assert_eq!(event.event_id, "inventory.update:P1@O1:77");
        let line = body(r#"{"id":"L1","consignment_id":"C1","product_id":"P1","count":"2","received":"2"}"#);
        let event = parse(Some("consignment.receive"), line.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(event.event_type, "consignment.receive");
        assert_eq!(event.object_id.as_deref(), Some("C1"), "a received line is about its consignment");
        assert!(
            matches!(effect(&event.event_type, event.object_id.as_deref()), Effect::PurchaseOrderReceived(c) if c == "C1")
        );
        assert!(matches!(parse(None, b"data=%7B%7D"), Err(WebhookError::Malformed(_))));
        assert!(matches!(parse(None, b"payload=%5B1%5D"), Err(WebhookError::Malformed(_))));
        assert!(matches!(parse(None, b"payload=not-json"), Err(WebhookError::Malformed(_))));
    }
}
