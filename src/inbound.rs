//! What every POS webhook becomes after verification: one or more events for the inbox, each
//! with the provider's own id so a redelivery is recognised.

use serde::Serialize;

/// One verified event, ready for the inbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WebhookEvent {
    /// `square`, `clover` or `shopify`.
    pub source: &'static str,
    /// The provider's id for this delivery's event; unique per source.
    pub event_id: String,
    /// The provider's event type (`order.updated`, `orders/create`, `O:UPDATE`).
    pub event_type: String,
    /// The object the event is about, for in-order processing per object.
    pub object_id: Option<String>,
    /// The event as received (for Clover, the one notification), as JSON text.
    pub payload: String,
}

/// Why a webhook was refused. Each maps to one HTTP status and writes nothing.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// 401: missing or wrong signature.
    #[error("signature missing or invalid")]
    BadSignature,
    /// 400: verified, but not the JSON we expect.
    #[error("malformed webhook body: {0}")]
    Malformed(String),
    /// 404: this provider is not configured.
    #[error("this webhook is not configured")]
    NotConfigured,
}
