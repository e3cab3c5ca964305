//! Slack Socket Mode, for shops without a public URL: `apps.connections.open` with the app-level
//! (`xapp-`) token gives a WebSocket URL; Slack sends envelopes (`hello`, `events_api`,
//! `slash_commands`, `interactive`, `disconnect`) over it, and each is acknowledged by sending
//! back its `envelope_id`. Events are recorded in the inbox exactly as the HTTP routes record
//! them (same dedupe keys), and acknowledged only once recorded, so Slack redelivers anything
//! we did not keep. The connection is reopened when Slack asks or it drops.

use crate::channels::ChannelError;
use crate::channels::slack::webhook::{from_callback, from_command, from_interaction};
use crate::config::Secret;
use crate::inbound::WebhookEvent;
use crate::workflows::Shop;
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use slack_morphism::prelude::{SlackCommandEvent, SlackInteractionEvent, SlackPushEventCallback};
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

/// What one Socket Mode frame asks of us.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Envelope {
    /// The inbox row to record before acknowledging.
    pub event: Option<WebhookEvent>,
    /// The `envelope_id` to send back once recorded.
    pub ack: Option<String>,
    /// Slack asked us to reconnect (`disconnect`).
    pub reconnect: bool,
}

/// A Socket Mode frame. The payloads are slack-morphism's models; the envelope around them is
/// four fields (the crate keeps its own envelope model private to its listener).
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Frame {
    Hello {},
    Disconnect {},
    EventsApi { envelope_id: String, payload: Box<SlackPushEventCallback> },
    SlashCommands { envelope_id: String, payload: Box<SlackCommandEvent> },
    Interactive { envelope_id: String, payload: Box<SlackInteractionEvent> },
}

/// What any frame that carries an envelope has, read or not.
#[derive(Deserialize)]
struct Envelope0 {
    envelope_id: Option<String>,
    payload: Option<serde_json::Value>,
}

/// The acknowledgement Slack waits for.
#[derive(Serialize)]
struct Ack<'a> {
    envelope_id: &'a str,
}

/// Reads one frame. A frame the models cannot read is kept in the inbox as received and
/// acknowledged, so Slack neither loses nor resends it.
pub fn read_envelope(text: &str) -> Envelope {
    let (event, id) = match serde_json::from_str::<Frame>(text) {
        Ok(Frame::Hello {}) => return Envelope::default(),
        Ok(Frame::Disconnect {}) => return Envelope { reconnect: true, ..Envelope::default() },
        Ok(Frame::EventsApi { envelope_id, payload }) => (from_callback(*payload), envelope_id),
        Ok(Frame::SlashCommands { envelope_id, payload }) => (from_command(*payload), envelope_id),
        Ok(Frame::Interactive { envelope_id, payload }) => match from_interaction(*payload) {
            Ok(event) => (event, envelope_id),
            Err(err) => return unreadable(text, &err.to_string()),
        },
        Err(err) => return unreadable(text, &err.to_string()),
    };
    let payload = serde_json::from_str::<Envelope0>(text).ok().and_then(|e| e.payload).map(|p| p.to_string());
    Envelope { event: event.into_inbox(&payload.unwrap_or_default()), ack: Some(id), reconnect: false }
}

/// The text of the acknowledgement for `envelope_id`.
pub fn acknowledgement(envelope_id: &str) -> String {
    serde_json::to_string(&Ack { envelope_id }).unwrap_or_default()
}

fn unreadable(text: &str, error: &str) -> Envelope {
    let Some(id) = serde_json::from_str::<Envelope0>(text).ok().and_then(|e| e.envelope_id) else {
        tracing::warn!(error, "a Socket Mode frame without an envelope id");
        return Envelope::default();
    };
    tracing::warn!(error, "kept a Socket Mode envelope the model could not read");
    let event = WebhookEvent {
        source: "slack",
        event_id: format!("envelope:{id}"),
        event_type: "slack.unreadable".into(),
        object_id: None,
        payload: text.to_owned(),
    };
    Envelope { event: Some(event), ack: Some(id), reconnect: false }
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
        let envelope = read_envelope(text.as_str());
        if envelope.reconnect {
            return Ok(());
        }
        if let Some(event) = envelope.event {
            crate::channels::record(&app.store, &[event]).await.map_err(|e| e.to_string())?;
        }
        if let Some(id) = envelope.ack {
            socket.send(Message::text(acknowledgement(&id))).await.map_err(|e| e.to_string())?;
        }
    }
}
