//! Square webhook verification and parsing.

use crate::config::SquareConfig;
use crate::domain::{CustomerId, LocationId, OrderId, Quantity, StockLevel, VariationId};
use crate::inbound::{Effect, Headers, Ingress, WebhookError, WebhookEvent};
use crate::signature::hmac_sha256_base64;
use serde_json::Value;

pub const SIGNATURE_HEADER: &str = "x-square-hmacsha256-signature";

/// Checks the signature over `notification_url` + the raw body.
pub fn verify(
    signature_key: &str,
    notification_url: &str,
    body: &[u8],
    signature: Option<&str>,
) -> Result<(), WebhookError> {
    let signature = signature.ok_or(WebhookError::BadSignature)?;
    if hmac_sha256_base64(signature_key.as_bytes(), &[notification_url.as_bytes(), body], signature) {
        Ok(())
    } else {
        Err(WebhookError::BadSignature)
    }
}

/// Reads the envelope `{merchant_id, type, event_id, created_at, data: {type, id, object}}`.
pub fn parse(body: &[u8]) -> Result<WebhookEvent, WebhookError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    let text = |key: &str| value.get(key).and_then(Value::as_str).filter(|s| !s.is_empty());
    let event_id = text("event_id").ok_or_else(|| WebhookError::Malformed("no event_id".into()))?;
    let event_type = text("type").ok_or_else(|| WebhookError::Malformed("no type".into()))?;
    let object_id = value.pointer("/data/id").and_then(Value::as_str).map(str::to_owned);
    Ok(WebhookEvent {
        source: "square",
        event_id: event_id.to_owned(),
        event_type: event_type.to_owned(),
        object_id,
        payload: String::from_utf8_lossy(body).into_owned(),
    })
}

/// A delivery to `POST /webhooks/square`: verified against the configured notification URL
/// and signature key, read into one inbox event.
pub fn ingest(config: &SquareConfig, headers: &dyn Headers, body: &[u8]) -> Result<Ingress, WebhookError> {
    let (Some(key), Some(url)) = (config.webhook_signature_key.as_ref(), config.webhook_url.as_deref()) else {
        return Err(WebhookError::NotConfigured);
    };
    verify(key.expose(), url, body, headers.header(SIGNATURE_HEADER))?;
    Ok(Ingress::record(vec![parse(body)?]))
}

/// `data.object.inventory_counts[]` of an `inventory.count.updated` event.
#[derive(serde::Deserialize)]
struct CountsEvent {
    data: CountsData,
}

#[derive(serde::Deserialize)]
struct CountsData {
    object: CountsObject,
}

#[derive(serde::Deserialize)]
struct CountsObject {
    inventory_counts: Vec<Count>,
}

#[derive(serde::Deserialize)]
struct Count {
    catalog_object_id: String,
    location_id: String,
    state: String,
    quantity: String,
    calculated_at: String,
}

/// What a recorded Square event asks for: stock counts are in the event; orders and
/// customers are fetched fresh.
pub fn effect(event_type: &str, object_id: Option<&str>, payload: &str) -> Result<Effect, String> {
    let object = || object_id.unwrap_or_default().to_owned();
    Ok(match event_type {
        "inventory.count.updated" => Effect::Stock(counts(payload)?),
        t if t.starts_with("order.") => Effect::Order(OrderId::new(object())),
        "customer.created" | "customer.updated" => Effect::Customer(CustomerId::new(object())),
        _ => Effect::NOT_ACTED_ON,
    })
}

/// The on-hand (`IN_STOCK`) counts of an `inventory.count.updated` event.
fn counts(payload: &str) -> Result<Vec<StockLevel>, String> {
    let event: CountsEvent = serde_json::from_str(payload).map_err(|e| format!("an inventory count event: {e}"))?;
    let mut levels = Vec::new();
    for count in event.data.object.inventory_counts.into_iter().filter(|c| c.state == "IN_STOCK") {
        let on_hand = Quantity::parse(&count.quantity).ok_or_else(|| format!("the count {:?}", count.quantity))?;
        let at = chrono::DateTime::parse_from_rfc3339(&count.calculated_at).map_err(|e| e.to_string())?;
        levels.push(StockLevel {
            variation_id: VariationId::new(count.catalog_object_id),
            location_id: LocationId::new(count.location_id),
            on_hand,
            counted_at_ms: at.timestamp_millis(),
        });
    }
    Ok(levels)
}
