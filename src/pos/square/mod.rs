//! Square.
//!
//! Contract (see the shared PLATFORMS notes, section 1, and developer.squareup.com/docs):
//! - Auth: `Authorization: Bearer <access token>`, `Square-Version` pinned.
//! - Webhooks: header `x-square-hmacsha256-signature` = base64(HMAC-SHA256(signature key,
//!   notification URL + raw body)); the URL must match the subscription byte for byte.
//! - Ack: any 2xx, quickly; undelivered notifications are retried for up to 24 hours.
//! - Dedupe key: the envelope's `event_id`.
//! - `order.created`/`order.updated` carry only ids: fetch the order before acting.

pub mod webhook;
