//! Slack Socket Mode, for shops without a public URL: `apps.connections.open` with the app-level
//! (`xapp-`) token gives a WebSocket URL; Slack sends envelopes (`hello`, `events_api`,
//! `slash_commands`, `interactive`, `disconnect`) over it, and each is acknowledged by sending
//! back its `envelope_id`. Events are recorded in the inbox exactly as the HTTP routes record
//! them (same dedupe keys), and acknowledged only once recorded, so Slack redelivers anything
//! we did not keep. The connection is reopened when Slack asks or it drops.

use crate::channels::ChannelError;
use crate::channels::slack::webhook::{SlackEvent, command_from_fields, interaction_from_json, parse_event};
use crate::config::Secret;
use crate::inbound::WebhookEvent;
use crate::workflows::Shop;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// Asks Slack for a WebSocket URL.
pub async fn open_connection(
    http: &reqwest::Client,
    api_base: &str,
    app_token: &Secret,
) -> Result<String, ChannelError> {
    let url = format!("{}/apps.connections.open", api_base.trim_end_matches('/'));
    let (_, body) = crate::channels::wire::send(http.post(url).bearer_auth(app_token.expose()), "Slack").await?;
    if body.get("ok").and_then(Value::as_bool) != Some(true) {
        let error = body.get("error").and_then(Value::as_str).unwrap_or("no error code");
        return Err(ChannelError::Rejected(format!("apps.connections.open: {error}")));
    }
    body.get("url")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| ChannelError::Rejected("apps.connections.open answered without a url".into()))
}

/// What one envelope becomes: an inbox event to record (or nothing), and whether Slack asked
/// us to reconnect.
pub fn read_envelope(envelope: &Value) -> Result<(Option<WebhookEvent>, bool), String> {
    let kind = envelope.get("type").and_then(Value::as_str).unwrap_or_default();
    let payload = envelope.get("payload").cloned().unwrap_or(Value::Null);
    let event = match kind {
        "hello" => None,
        "disconnect" => return Ok((None, true)),
        "events_api" => match parse_event(payload.to_string().as_bytes()).map_err(|e| e.to_string())? {
            SlackEvent::Chat { event_id, event } => Some(crate::channels::inbox_event("slack", event_id, &event)),
            SlackEvent::Ignored { event_id, event_type } => Some(WebhookEvent {
                source: "slack",
                event_id: if event_id.is_empty() { envelope_id(envelope) } else { event_id },
                event_type: format!("slack.{event_type}"),
                object_id: None,
                payload: payload.to_string(),
            }),
            SlackEvent::UrlVerification(_) => None,
        },
        "slash_commands" => {
            let fields: Vec<(String, String)> = payload
                .as_object()
                .map(|o| o.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
                .unwrap_or_default();
            let (id, event) = command_from_fields(&fields).map_err(|e| e.to_string())?;
            Some(crate::channels::inbox_event("slack", format!("command:{id}"), &event))
        }
        "interactive" => {
            let (id, event) = interaction_from_json(&payload).map_err(|e| e.to_string())?;
            Some(crate::channels::inbox_event("slack", format!("action:{id}"), &event))
        }
        other => {
            tracing::debug!(kind = other, "a Socket Mode envelope Tillpilot does not handle");
            None
        }
    };
    Ok((event, false))
}

fn envelope_id(envelope: &Value) -> String {
    envelope.get("envelope_id").and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// Keeps a Socket Mode connection open until `stop` changes.
pub async fn run(app: Arc<Shop>, api_base: String, app_token: Secret, mut stop: tokio::sync::watch::Receiver<bool>) {
    let http = match crate::channels::wire::client() {
        Ok(http) => http,
        Err(err) => {
            tracing::error!(error = %err, "Slack Socket Mode cannot start");
            return;
        }
    };
    let mut pause = Duration::from_secs(1);
    loop {
        // The connection watches `stop` itself, so it can finish acknowledging what it recorded.
        let connected = connect_and_serve(&app, &http, &api_base, &app_token, &mut stop).await;
        match connected {
            Ok(()) => pause = Duration::from_secs(1),
            Err(err) => {
                tracing::warn!(error = %err, "Slack Socket Mode connection failed; reconnecting");
                pause = (pause * 2).min(Duration::from_secs(60));
            }
        }
        if *stop.borrow() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.changed() => return,
        }
    }
}

async fn connect_and_serve(
    app: &Shop,
    http: &reqwest::Client,
    api_base: &str,
    app_token: &Secret,
    stop: &mut tokio::sync::watch::Receiver<bool>,
) -> Result<(), String> {
    let url = open_connection(http, api_base, app_token).await.map_err(|e| e.to_string())?;
    let connect = tokio_tungstenite::connect_async(url.as_str());
    let (mut socket, _) = tokio::select! {
        connected = connect => connected.map_err(|e| e.to_string())?,
        _ = stop.changed() => return Ok(()),
    };
    loop {
        let message = tokio::select! {
            message = socket.next() => message,
            _ = stop.changed() => return Ok(()),
        };
        let Some(message) = message else { return Ok(()) };
        let text = match message.map_err(|e| e.to_string())? {
            Message::Text(text) => text,
            Message::Close(_) => return Ok(()),
            // Pings are answered by the library; nothing else carries envelopes.
            _ => continue,
        };
        let envelope: Value = match serde_json::from_str(text.as_str()) {
            Ok(envelope) => envelope,
            Err(err) => {
                tracing::warn!(error = %err, "an unreadable Socket Mode message");
                continue;
            }
        };
        let (event, reconnect) = match read_envelope(&envelope) {
            Ok(read) => read,
            Err(err) => {
                // Malformed but from Slack over our own connection: acknowledge so it is not resent.
                tracing::warn!(error = %err, "a Socket Mode envelope could not be read");
                (None, false)
            }
        };
        if reconnect {
            return Ok(());
        }
        if let Some(event) = event {
            crate::channels::record(&app.store, &[event]).await.map_err(|e| e.to_string())?;
        }
        let id = envelope_id(&envelope);
        if !id.is_empty() {
            socket.send(Message::text(json!({ "envelope_id": id }).to_string())).await.map_err(|e| e.to_string())?;
        }
    }
}
