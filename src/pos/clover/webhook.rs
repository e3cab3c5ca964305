//! Clover webhook verification and parsing.

use crate::config::CloverConfig;
use crate::domain::{CustomerId, OrderId, VariationId};
use crate::inbound::{Effect, Headers, Ingress, WebhookError, WebhookEvent};
use crate::signature::secrets_equal;
use serde_json::{Value, json};

pub const AUTH_HEADER: &str = "x-clover-auth";

/// What a verified Clover POST carried.
#[derive(Debug, PartialEq, Eq)]
pub enum CloverDelivery {
    /// The setup handshake: record the code and answer 200.
    Verification {
        code: String,
    },
    Events(Vec<WebhookEvent>),
}

/// The handshake is the one unauthenticated POST Clover makes, and only while the shop has no
/// auth code configured (the code comes from the dashboard after the handshake); once one is,
/// every POST needs it, so nobody can post handshakes at will.
pub fn read(auth_code: Option<&str>, header: Option<&str>, body: &[u8]) -> Result<CloverDelivery, WebhookError> {
    let value: Option<Value> = serde_json::from_slice(body).ok();
    let handshake = value
        .as_ref()
        .and_then(Value::as_object)
        .filter(|o| o.len() == 1)
        .and_then(|o| o.get("verificationCode"))
        .and_then(Value::as_str);
    let Some(expected) = auth_code else {
        return match handshake {
            Some(code) => Ok(CloverDelivery::Verification { code: code.to_owned() }),
            None => Err(WebhookError::NotConfigured),
        };
    };
    let given = header.ok_or(WebhookError::BadSignature)?;
    if !secrets_equal(given.as_bytes(), expected.as_bytes()) {
        return Err(WebhookError::BadSignature);
    }
    if let Some(code) = handshake {
        return Ok(CloverDelivery::Verification { code: code.to_owned() });
    }
    let value = value.ok_or_else(|| WebhookError::Malformed("not JSON".into()))?;
    let merchants = value
        .get("merchants")
        .and_then(Value::as_object)
        .ok_or_else(|| WebhookError::Malformed("no merchants".into()))?;
    let mut events = Vec::new();
    for (merchant, updates) in merchants {
        let updates =
            updates.as_array().ok_or_else(|| WebhookError::Malformed("merchant updates are not a list".into()))?;
        for update in updates {
            let object_id = update.get("objectId").and_then(Value::as_str).filter(|s| !s.is_empty());
            let kind = update.get("type").and_then(Value::as_str);
            let ts = update.get("ts").and_then(Value::as_i64);
            let (Some(object_id), Some(kind), Some(ts)) = (object_id, kind, ts) else {
                return Err(WebhookError::Malformed("an update lacks objectId, type or ts".into()));
            };
            let key = object_id.split_once(':').map_or(object_id, |(key, _)| key);
            events.push(WebhookEvent {
                source: "clover",
                event_id: format!("{object_id}@{ts}"),
                event_type: format!("{key}:{kind}"),
                object_id: Some(object_id.to_owned()),
                payload: json!({ "appId": value.get("appId"), "merchantId": merchant, "update": update }).to_string(),
            });
        }
    }
    if events.is_empty() {
        return Err(WebhookError::Malformed("no updates".into()));
    }
    Ok(CloverDelivery::Events(events))
}

/// Where Clover's verification code is kept for the owner to paste into the dashboard.
pub const VERIFICATION_KEY: &str = "clover.verification_code";

/// A delivery to `POST /webhooks/clover`: the one-time verification handshake, or verified
/// notifications.
pub fn ingest(config: &CloverConfig, headers: &dyn Headers, body: &[u8]) -> Result<Ingress, WebhookError> {
    let auth_code = config.webhook_auth_code.as_ref().map(|c| c.expose());
    Ok(match read(auth_code, headers.header(AUTH_HEADER), body)? {
        CloverDelivery::Verification { code } => Ingress::Setup {
            key: VERIFICATION_KEY,
            value: code,
            note: "verification code received; paste it into the Clover dashboard",
        },
        CloverDelivery::Events(events) => Ingress::record(events),
    })
}

/// What a recorded Clover notification asks for: notifications carry only ids (`O:`, `C:`,
/// `I:` prefixes), so the object is fetched fresh; a deleted item changes no stock.
pub fn effect(event_type: &str, object_id: Option<&str>) -> Effect {
    let id = || object_id.and_then(|o| o.split_once(':')).map(|(_, id)| id.to_owned()).unwrap_or_default();
    match event_type {
        t if t.starts_with("O:") => Effect::Order(OrderId::new(id())),
        t if t.starts_with("C:") => Effect::Customer(CustomerId::new(id())),
        t if t.starts_with("I:") && !t.ends_with(":DELETE") => Effect::StockOf(VariationId::new(id())),
        _ => Effect::NOT_ACTED_ON,
    }
}
