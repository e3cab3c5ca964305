//! Shopify.
//!
//! Contract (see the shared PLATFORMS notes, section 3, and shopify.dev/docs/apps/build/webhooks):
//! - Auth: `X-Shopify-Access-Token` on the Admin API (GraphQL where REST is deprecated).
//! - Webhooks: header `X-Shopify-Hmac-Sha256` = base64(HMAC-SHA256(app client secret, raw
//!   body)); headers are case-insensitive.
//! - Ack: 2xx within 5 seconds; up to 8 retries over 4 hours with the original payload.
//! - Dedupe key: `X-Shopify-Webhook-Id`. The topic is in `X-Shopify-Topic`.

pub mod webhook;
