//! Square webhook verification and parsing.

use crate::config::SquareConfig;
use crate::domain::{CustomerId, GiftCardActivity, LocationId, Money, OrderId, Quantity, StockLevel, VariationId};
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
        GIFT_CARD_ACTIVITY => match gift_card_activity(payload)? {
            Some(activity) => Effect::GiftCard(activity),
            None => Effect::Ignore("a gift-card activity that puts no money on a card"),
        },
        _ => Effect::NOT_ACTED_ON,
    })
}

/// The event type that reports gift cards sold and topped up.
pub const GIFT_CARD_ACTIVITY: &str = "gift_card.activity.created";

/// `data.object.gift_card_activity` of a `gift_card.activity.created` event, when it put money
/// on a card: an `ACTIVATE` (a card sold) or a `LOAD` (a card topped up). The card's number
/// (GAN) is not kept.
pub fn gift_card_activity(payload: &str) -> Result<Option<GiftCardActivity>, String> {
    let value: Value = serde_json::from_str(payload).map_err(|e| format!("a gift-card event: {e}"))?;
    let activity = value
        .pointer("/data/object/gift_card_activity")
        .ok_or_else(|| "a gift-card event without data.object.gift_card_activity".to_owned())?;
    let text = |key: &str| activity.get(key).and_then(Value::as_str);
    let details = match text("type") {
        Some("ACTIVATE") => "activate_activity_details",
        Some("LOAD") => "load_activity_details",
        _ => return Ok(None),
    };
    let cents = activity
        .pointer(&format!("/{details}/amount_money/amount"))
        .and_then(Value::as_i64)
        .ok_or_else(|| format!("a gift-card event without {details}.amount_money"))?;
    let at = text("created_at")
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .ok_or_else(|| "a gift-card event without created_at".to_owned())?;
    let location = text("location_id").ok_or_else(|| "a gift-card event without location_id".to_owned())?;
    let id = text("id").ok_or_else(|| "a gift-card event without an activity id".to_owned())?;
    Ok(Some(GiftCardActivity {
        id: id.to_owned(),
        location_id: LocationId::new(location),
        at_ms: at.timestamp_millis(),
        amount: Money::from_minor(cents),
    }))
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
