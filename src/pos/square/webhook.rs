//! Square webhook verification and parsing.

use crate::inbound::{WebhookError, WebhookEvent};
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
