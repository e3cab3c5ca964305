//! Twilio's inbound SMS webhook: `X-Twilio-Signature` = base64 HMAC-SHA1(auth token, the
//! configured webhook URL + every POST parameter name and value, sorted). Twilio's own
//! validators accept the URL with and without the default port, and so do we.

use super::mapping::{Keyword, keyword, twiml};
use crate::channels::{ChannelKind, ChatAction, ChatEvent};
use crate::config::TwilioConfig;
use crate::domain::Phone;
use crate::inbound::{Ack, Headers, Ingress, WebhookError};
use crate::signature::hmac_sha1_base64;

pub const SIGNATURE_HEADER: &str = "x-twilio-signature";

/// The string Twilio signs: the URL, then each parameter's name and value in sorted order
/// (repeated names: values sorted, exact duplicates once).
pub fn string_to_sign(url: &str, params: &[(String, String)]) -> String {
    let mut pairs: Vec<&(String, String)> = params.iter().collect();
    pairs.sort();
    pairs.dedup();
    let mut out = url.to_owned();
    for (name, value) in pairs {
        out.push_str(name);
        out.push_str(value);
    }
    out
}

/// The other form Twilio's validators accept: `url` without its port when it has one, else
/// with the scheme's default port added.
fn with_other_port_form(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let default = match scheme {
        "https" => "443",
        "http" => "80",
        _ => return None,
    };
    let (authority, path) = rest.find(['/', '?']).map_or((rest, ""), |i| rest.split_at(i));
    match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => Some(format!("{scheme}://{host}{path}")),
        _ => Some(format!("{scheme}://{authority}:{default}{path}")),
    }
}

/// Checks the signature of a form-encoded request to `url`.
pub fn verify(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    signature: Option<&str>,
) -> Result<(), WebhookError> {
    let signature = signature.ok_or(WebhookError::BadSignature)?;
    let candidates = std::iter::once(url.to_owned()).chain(with_other_port_form(url));
    for candidate in candidates {
        if hmac_sha1_base64(auth_token.as_bytes(), string_to_sign(&candidate, params).as_bytes(), signature) {
            return Ok(());
        }
    }
    Err(WebhookError::BadSignature)
}

/// The form parameters of a body.
pub fn params(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// A text to `POST /sms/twilio`: verified against the configured webhook URL; STOP and START
/// become consent changes and HELP is answered at once, before anything else reads the
/// message; anything else is recorded for the inbox worker, which answers through the outbox
/// (after checking consent).
pub fn ingest(config: &TwilioConfig, shop: &str, headers: &dyn Headers, body: &[u8]) -> Result<Ingress, WebhookError> {
    let url = config.webhook_url.as_deref().ok_or(WebhookError::NotConfigured)?;
    let params = params(body);
    verify(config.auth_token.expose(), url, &params, headers.header(SIGNATURE_HEADER))?;
    let param = |name: &str| param(&params, name);
    let (Some(sid), Some(from)) = (param("MessageSid"), param("From").and_then(Phone::parse)) else {
        return Err(WebhookError::Malformed("no MessageSid or From".into()));
    };
    let text = param("Body").unwrap_or_default();
    let help = || {
        format!(
            "{shop}: text a question like \"is oat milk in stock\" or \"where is my order 1042\". Reply STOP to opt out."
        )
    };
    Ok(match keyword(text) {
        Some(Keyword::Help) => Ingress::Answer(Ack::Xml(twiml(Some(&help())))),
        // Carriers confirm an opt-out themselves; we send nothing more.
        Some(Keyword::Stop) => {
            Ingress::Consent { phone: from, opted_in: false, said: text.trim().to_owned(), ack: Ack::Xml(twiml(None)) }
        }
        Some(Keyword::Start) => {
            let again = format!("{shop}: you will get our messages again. Reply STOP to opt out.");
            Ingress::Consent {
                phone: from,
                opted_in: true,
                said: text.trim().to_owned(),
                ack: Ack::Xml(twiml(Some(&again))),
            }
        }
        None => {
            let event = ChatEvent {
                channel: ChannelKind::Sms,
                user: from.to_string(),
                conversation: from.to_string(),
                what: ChatAction::Said { text: text.to_owned() },
                respond_url: None,
                thread: None,
            };
            Ingress::Record {
                events: vec![crate::channels::inbox_event("sms", sid.to_owned(), &event)],
                ack: Ack::Xml(twiml(None)),
            }
        }
    })
}
