//! Shopify webhook verification and parsing.

use crate::config::ShopifyConfig;
use crate::domain::{CustomerId, OrderId};
use crate::inbound::{Effect, Headers, Ingress, WebhookError, WebhookEvent};
use crate::signature::hmac_sha256_base64;
use serde_json::Value;

pub const SIGNATURE_HEADER: &str = "x-shopify-hmac-sha256";
pub const WEBHOOK_ID_HEADER: &str = "x-shopify-webhook-id";
pub const TOPIC_HEADER: &str = "x-shopify-topic";

/// Checks the signature over the raw body.
pub fn verify(api_secret: &str, body: &[u8], signature: Option<&str>) -> Result<(), WebhookError> {
    let signature = signature.ok_or(WebhookError::BadSignature)?;
    if hmac_sha256_base64(api_secret.as_bytes(), &[body], signature) { Ok(()) } else { Err(WebhookError::BadSignature) }
}

/// The event from the delivery headers and the resource in the body.
pub fn parse(webhook_id: Option<&str>, topic: Option<&str>, body: &[u8]) -> Result<WebhookEvent, WebhookError> {
    let event_id = webhook_id
        .filter(|s| !s.is_empty())
        .ok_or_else(|| WebhookError::Malformed("no X-Shopify-Webhook-Id".into()))?;
    let topic = topic.filter(|s| !s.is_empty()).ok_or_else(|| WebhookError::Malformed("no X-Shopify-Topic".into()))?;
    let value: Value = serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    if !value.is_object() {
        return Err(WebhookError::Malformed("the body is not a JSON object".into()));
    }
    // Orders and products carry `id`; inventory levels are keyed by item and location.
    let object_id = match (value.get("id"), value.get("inventory_item_id"), value.get("location_id")) {
        (Some(id), _, _) => Some(id.to_string()),
        (None, Some(item), Some(location)) => Some(format!("{item}@{location}")),
        _ => None,
    };
    Ok(WebhookEvent {
        source: "shopify",
        event_id: event_id.to_owned(),
        event_type: topic.to_owned(),
        object_id,
        payload: String::from_utf8_lossy(body).into_owned(),
    })
}

/// A delivery to `POST /webhooks/shopify`: verified with the app's API secret, named by its
/// webhook id and topic headers.
pub fn ingest(config: &ShopifyConfig, headers: &dyn Headers, body: &[u8]) -> Result<Ingress, WebhookError> {
    let secret = config.api_secret.as_ref().ok_or(WebhookError::NotConfigured)?;
    verify(secret.expose(), body, headers.header(SIGNATURE_HEADER))?;
    let event = parse(headers.header(WEBHOOK_ID_HEADER), headers.header(TOPIC_HEADER), body)?;
    Ok(Ingress::record(vec![event]))
}

/// What a recorded Shopify webhook asks for: orders and customers are fetched fresh.
pub fn effect(topic: &str, object_id: Option<&str>) -> Effect {
    let object = || object_id.unwrap_or_default().to_owned();
    match topic {
        t if t.starts_with("orders/") => Effect::Order(OrderId::new(object())),
        t if t.starts_with("customers/") => Effect::Customer(CustomerId::new(object())),
        _ => Effect::NOT_ACTED_ON,
    }
}
