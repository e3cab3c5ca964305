//! SMS through Twilio.
//!
//! Contract (see the shared PLATFORMS notes, section 4, and twilio.com/docs/messaging):
//! - Ingress: `POST /sms/twilio`, form-encoded (`MessageSid`, `From`, `To`, `Body`, …), signed
//!   with `X-Twilio-Signature` over the configured `webhook_url` plus the sorted parameters
//!   (HMAC-SHA1 with the auth token); answered with TwiML.
//! - STOP/UNSUBSCRIBE/CANCEL/END/QUIT, START/UNSTOP and HELP are handled before anything else
//!   and recorded in `consents`; nothing is ever sent to a number that opted out (the outbox
//!   checks before every send, and Twilio's 21610 parks a message for good).
//! - Dedupe key: `MessageSid`.
//! - Outbound: the Messages API, form-encoded with basic auth; 429 / 20429 when sending too
//!   fast. A person approves by SMS with `YES <code>` or `NO <code>`.

pub mod client;
pub mod mapping;
pub mod webhook;

use crate::channels::{Channel, ChannelError, ChannelKind, MessageRef, Reply};
use async_trait::async_trait;
use client::TwilioClient;

pub struct SmsChannel {
    pub client: TwilioClient,
}

#[async_trait]
impl Channel for SmsChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Sms
    }

    async fn post(&self, target: &str, reply: &Reply) -> Result<String, ChannelError> {
        self.client.send(target, &mapping::render(reply)).await
    }

    /// A text cannot be edited: the outcome goes out as a new, short message.
    async fn edit(&self, message: &MessageRef, reply: &Reply) -> Result<(), ChannelError> {
        self.client.send(&message.target, &mapping::render(reply)).await.map(|_| ())
    }
}
