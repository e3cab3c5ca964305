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

/// The headers of a request, however the server holds them.
pub trait Headers {
    fn header(&self, name: &str) -> Option<&str>;
}

/// What one verified delivery asks of the ingress. Every route takes the same steps: the
/// adapter verifies and reads the raw bytes into one of these (or refuses with a
/// [`WebhookError`]); the ingress does the writing, then answers with the [`Ack`].
#[derive(Debug, PartialEq)]
pub enum Ingress {
    /// Record these events in the inbox, then acknowledge.
    Record { events: Vec<WebhookEvent>, ack: Ack },
    /// Acknowledge at once, keeping nothing (a URL check, a ping, SMS HELP).
    Answer(Ack),
    /// Record a phone number's messaging consent (SMS STOP and START) before anything else
    /// reads the message, then acknowledge.
    Consent { phone: crate::domain::Phone, opted_in: bool, said: String, ack: Ack },
    /// Keep a value the owner needs to finish connecting the platform (Clover's verification
    /// code), with a note for the audit log.
    Setup { key: &'static str, value: String, note: &'static str },
}

/// The 2xx answer a platform expects once its delivery is safe with us.
#[derive(Clone, Debug, PartialEq)]
pub enum Ack {
    Empty,
    Json(serde_json::Value),
    /// TwiML, for Twilio.
    Xml(String),
}

impl Ingress {
    /// Events to record, answered with an empty 200.
    pub fn record(events: Vec<WebhookEvent>) -> Ingress {
        Ingress::Record { events, ack: Ack::Empty }
    }
}

/// How a route treats a verified request whose signature it accepted before.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repeats {
    /// Nothing to remember: the inbox's dedupe on the provider's event id is enough.
    Deduped,
    /// Acknowledge without recording again (Slack retries a delivery with the same signature,
    /// and counts anything but 2xx against the app).
    Acknowledge { signature_header: &'static str, window_secs: u64 },
    /// Refuse as a replay (Discord never sends one signature twice).
    Refuse { signature_header: &'static str, window_secs: u64 },
}

/// What a recorded event asks of the inbox worker, decided by the adapter that knows its
/// vendor's event types (`pos::effect_of`, `channels::effect_of`).
#[derive(Debug, PartialEq)]
pub enum Effect {
    /// Counts carried in the event itself, applied when newer than the mirror's.
    Stock(Vec<crate::domain::StockLevel>),
    /// Fetch the variation's current stock everywhere.
    StockOf(crate::domain::VariationId),
    /// Fetch the order's current state (so a late delivery cannot roll the mirror back).
    Order(crate::domain::OrderId),
    Customer(crate::domain::CustomerId),
    /// A gift card sold or topped up, for the checkout assistant's fraud rules.
    GiftCard(crate::domain::GiftCardActivity),
    /// A purchase order the POS holds (by the POS's id) was booked in there: read what arrived.
    PurchaseOrderReceived(String),
    /// Something a person said or pressed on a chat platform.
    Chat(Box<crate::message::ChatEvent>),
    /// Kept for the record; nothing to do.
    Ignore(&'static str),
}

impl Effect {
    pub const NOT_ACTED_ON: Effect = Effect::Ignore("stored; not an event type Tillpilot acts on");
}
