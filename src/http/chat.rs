//! Chat ingress: `POST /slack/events|commands|interactions`, `/telegram/webhook`,
//! `/discord/interactions` and `/sms/twilio`. Each verifies the raw bytes first (forged or
//! stale → 401, malformed → 400, not configured → 404, nothing written), records the event in
//! the inbox keyed by the platform's own id (so a retry is not processed twice), and answers
//! at once; the inbox worker does the work and the outbox sends the answer. SMS keywords
//! (STOP, START, HELP) are handled here, before anything else.

use super::HttpState;
use super::webhooks::{header, record, refuse};
use crate::channels::sms::mapping::{Keyword, keyword, twiml};
use crate::channels::{discord, inbox_event, slack, sms, telegram};
use crate::domain::Phone;
use crate::inbound::{WebhookError, WebhookEvent};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header as http_header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

fn now_secs() -> i64 {
    crate::store::now_ms() / 1_000
}

/// Verifies a Slack request. `Ok(true)` when it repeats one already accepted and recorded (Slack
/// retrying the same signed delivery, with `X-Slack-Retry-Num`): it is acknowledged 200 and
/// not recorded again, since a failed delivery counts against the app with Slack.
fn verify_slack(state: &HttpState, headers: &HeaderMap, body: &[u8]) -> Result<bool, WebhookError> {
    let slack = state.app.config.slack.as_ref().ok_or(WebhookError::NotConfigured)?;
    slack::webhook::verify(
        slack.signing_secret.expose(),
        header(headers, slack::webhook::TIMESTAMP_HEADER),
        header(headers, slack::webhook::SIGNATURE_HEADER),
        body,
        now_secs(),
    )?;
    Ok(header(headers, slack::webhook::SIGNATURE_HEADER).is_some_and(|sig| state.replays.seen(sig, now_secs())))
}

/// A verified request whose signature was already accepted is a replay.
fn replayed(state: &HttpState, headers: &HeaderMap, signature_header: &str) -> Result<(), WebhookError> {
    match header(headers, signature_header) {
        Some(signature) if state.replays.seen(signature, now_secs()) => Err(WebhookError::BadSignature),
        _ => Ok(()),
    }
}

/// Remembers an accepted signature for the rest of its window (once the event is recorded, so
/// a request we failed to record can still come again).
fn accepted(state: &HttpState, headers: &HeaderMap, signature_header: &str, window: u64) {
    if let Some(signature) = header(headers, signature_header) {
        state.replays.remember(signature, now_secs().saturating_add_unsigned(window), now_secs());
    }
}

fn refused(state: &HttpState, source: &str, err: &WebhookError) -> Response {
    refuse(state, source, err).into_response()
}

async fn recorded(state: &HttpState, source: &str, event: WebhookEvent) -> Result<(), Response> {
    match record(state, source, vec![event]).await {
        (StatusCode::OK, _) => Ok(()),
        other => Err(other.into_response()),
    }
}

pub async fn slack_events(State(state): State<HttpState>, headers: HeaderMap, body: Bytes) -> Response {
    let parsed = match verify_slack(&state, &headers, &body) {
        Ok(true) => return StatusCode::OK.into_response(),
        verified => verified.and_then(|_| slack::webhook::parse_event(&body)),
    };
    match parsed {
        Err(err) => refused(&state, "slack", &err),
        Ok(slack::webhook::SlackEvent::UrlVerification(challenge)) => {
            Json(json!({ "challenge": challenge })).into_response()
        }
        Ok(slack::webhook::SlackEvent::Chat { event_id, event }) => {
            match recorded(&state, "slack", inbox_event("slack", event_id, &event)).await {
                Ok(()) => {
                    accepted(&state, &headers, slack::webhook::SIGNATURE_HEADER, slack::webhook::WINDOW_SECS);
                    StatusCode::OK.into_response()
                }
                Err(response) => response,
            }
        }
        Ok(slack::webhook::SlackEvent::Ignored { event_id, event_type }) => {
            // Stored for the record, acknowledged, not acted on.
            let stored = WebhookEvent {
                source: "slack",
                event_id: if event_id.is_empty() {
                    format!("{event_type}:{}", crate::store::now_ms())
                } else {
                    event_id
                },
                event_type: format!("slack.{event_type}"),
                object_id: None,
                payload: String::from_utf8_lossy(&body).into_owned(),
            };
            match recorded(&state, "slack", stored).await {
                Ok(()) => {
                    accepted(&state, &headers, slack::webhook::SIGNATURE_HEADER, slack::webhook::WINDOW_SECS);
                    StatusCode::OK.into_response()
                }
                Err(response) => response,
            }
        }
    }
}

pub async fn slack_commands(State(state): State<HttpState>, headers: HeaderMap, body: Bytes) -> Response {
    let parsed = match verify_slack(&state, &headers, &body) {
        Ok(true) => return StatusCode::OK.into_response(),
        verified => verified.and_then(|_| slack::webhook::parse_command(&body)),
    };
    match parsed {
        Err(err) => refused(&state, "slack", &err),
        Ok((id, event)) => match recorded(&state, "slack", inbox_event("slack", format!("command:{id}"), &event)).await
        {
            // The answer follows through the command's response_url.
            Ok(()) => StatusCode::OK.into_response(),
            Err(response) => response,
        },
    }
}

pub async fn slack_interactions(State(state): State<HttpState>, headers: HeaderMap, body: Bytes) -> Response {
    let parsed = match verify_slack(&state, &headers, &body) {
        Ok(true) => return StatusCode::OK.into_response(),
        verified => verified.and_then(|_| slack::webhook::parse_interaction(&body)),
    };
    match parsed {
        Err(err) => refused(&state, "slack", &err),
        Ok((id, event)) => {
            match recorded(&state, "slack", inbox_event("slack", format!("action:{id}"), &event)).await {
                Ok(()) => StatusCode::OK.into_response(),
                Err(response) => response,
            }
        }
    }
}

pub async fn telegram(State(state): State<HttpState>, headers: HeaderMap, body: Bytes) -> Response {
    let config = state.app.config.telegram.as_ref();
    let secret =
        config.filter(|t| t.mode == crate::config::TelegramMode::Webhook).and_then(|t| t.webhook_secret.as_ref());
    let Some(secret) = secret else { return refused(&state, "telegram", &WebhookError::NotConfigured) };
    if let Err(err) = telegram::webhook::verify(secret.expose(), header(&headers, telegram::webhook::SECRET_HEADER)) {
        return refused(&state, "telegram", &err);
    }
    let update: Value = match serde_json::from_slice(&body) {
        Ok(update) => update,
        Err(err) => return refused(&state, "telegram", &WebhookError::Malformed(err.to_string())),
    };
    let event = match telegram::webhook::parse_update(&update) {
        Ok((id, Some(event))) => inbox_event("telegram", id.to_string(), &event),
        Ok((id, None)) => WebhookEvent {
            source: "telegram",
            event_id: id.to_string(),
            event_type: "telegram.other".into(),
            object_id: None,
            payload: String::from_utf8_lossy(&body).into_owned(),
        },
        Err(err) => return refused(&state, "telegram", &err),
    };
    match recorded(&state, "telegram", event).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(response) => response,
    }
}

pub async fn discord(State(state): State<HttpState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(config) = state.app.config.discord.as_ref() else {
        return refused(&state, "discord", &WebhookError::NotConfigured);
    };
    let Some(key) = discord::webhook::public_key(&config.public_key) else {
        return refused(&state, "discord", &WebhookError::NotConfigured);
    };
    let verified = discord::webhook::verify(
        &key,
        header(&headers, discord::webhook::TIMESTAMP_HEADER),
        header(&headers, discord::webhook::SIGNATURE_HEADER),
        &body,
        now_secs(),
    )
    .and_then(|()| replayed(&state, &headers, discord::webhook::SIGNATURE_HEADER));
    if let Err(err) = verified {
        return refused(&state, "discord", &err);
    }
    match discord::webhook::parse(&body, &config.api_base_url, &config.application_id) {
        Err(err) => refused(&state, "discord", &err),
        Ok(discord::webhook::Interaction::Ping) => Json(json!({ "type": 1 })).into_response(),
        Ok(discord::webhook::Interaction::Chat { id, event, is_click, .. }) => {
            match recorded(&state, "discord", inbox_event("discord", id, &event)).await {
                // A deferred answer now; the real one edits it (commands) or follows (clicks).
                Ok(()) => {
                    accepted(&state, &headers, discord::webhook::SIGNATURE_HEADER, discord::webhook::WINDOW_SECS);
                    Json(json!({ "type": if is_click { 6 } else { 5 } })).into_response()
                }
                Err(response) => response,
            }
        }
        Ok(discord::webhook::Interaction::Other { kind, .. }) => Json(json!({ "type": 4, "data": {
            "content": format!("Tillpilot does not handle interactions of type {kind}."), "flags": 64 } }))
        .into_response(),
    }
}

fn xml(body: String) -> Response {
    ([(http_header::CONTENT_TYPE, "application/xml")], body).into_response()
}

pub async fn sms(State(state): State<HttpState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some((config, url)) = state.app.config.twilio.as_ref().and_then(|t| Some((t, t.webhook_url.as_deref()?)))
    else {
        return refused(&state, "sms", &WebhookError::NotConfigured);
    };
    let params = sms::webhook::params(&body);
    let signature = header(&headers, sms::webhook::SIGNATURE_HEADER);
    if let Err(err) = sms::webhook::verify(config.auth_token.expose(), url, &params, signature) {
        return refused(&state, "sms", &err);
    }
    let param = |name: &str| sms::webhook::param(&params, name);
    let (Some(sid), Some(from)) = (param("MessageSid"), param("From").and_then(Phone::parse)) else {
        return refused(&state, "sms", &WebhookError::Malformed("no MessageSid or From".into()));
    };
    let text = param("Body").unwrap_or_default();
    if let Some(word) = keyword(text) {
        return sms_keyword(&state, &from, word, text).await;
    }
    let event = crate::channels::ChatEvent {
        channel: crate::channels::ChannelKind::Sms,
        user: from.to_string(),
        conversation: from.to_string(),
        what: crate::channels::ChatAction::Said { text: text.to_owned() },
        respond_url: None,
    };
    match recorded(&state, "sms", inbox_event("sms", sid.to_owned(), &event)).await {
        // The answer goes out through the outbox, which checks consent first.
        Ok(()) => xml(twiml(None)),
        Err(response) => response,
    }
}

/// STOP, START and HELP: recorded and answered before anything else reads the message.
async fn sms_keyword(state: &HttpState, from: &Phone, word: Keyword, text: &str) -> Response {
    let shop = &state.app.config.shop.name;
    let answer = match word {
        Keyword::Help => {
            return xml(twiml(Some(&format!(
                "{shop}: text a question like \"is oat milk in stock\" or \"where is my order 1042\". Reply STOP to opt out."
            ))));
        }
        // Carriers confirm an opt-out themselves; we send nothing more.
        Keyword::Stop => None,
        Keyword::Start => Some(format!("{shop}: you will get our messages again. Reply STOP to opt out.")),
    };
    let store = &state.app.store;
    let result = async {
        let mut tx = store.begin().await?;
        store.set_consent(&mut tx, from, word == Keyword::Start, text.trim(), crate::store::now_ms()).await?;
        tx.commit().await?;
        Ok::<(), crate::store::StoreError>(())
    }
    .await;
    match result {
        Ok(()) => xml(twiml(answer.as_deref())),
        Err(err) => {
            tracing::error!(error = %err, "could not record an SMS keyword");
            (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response()
        }
    }
}
