//! Every inbound route, POS webhooks and chat platforms alike, takes the same three steps:
//! the adapter verifies the raw bytes and reads them into an [`Ingress`] (forged or stale →
//! 401, malformed → 400, not configured → 404, over 1 MiB → 413, and nothing written); the
//! ingress records what it asks to keep (inbox events, group-committed, keyed by the
//! provider's own id so a redelivery is not kept twice; SMS consent; a setup code); then it
//! answers with the acknowledgement the platform expects. Nothing is acknowledged before it is
//! durable: a failed write answers 503 and the provider delivers again.

use super::HttpState;
use crate::channels::{discord, slack, sms, telegram};
use crate::inbound::{Ack, Headers, Ingress, Repeats, WebhookError, WebhookEvent};
use crate::pos::{clover, lightspeed, shopify, square};
use crate::store::{AuditEntry, StoreError};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header as http_header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

impl Headers for HeaderMap {
    fn header(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| v.to_str().ok())
    }
}

fn now_secs() -> i64 {
    crate::store::now_ms() / 1_000
}

fn configured<T>(section: Option<&T>) -> Result<&T, WebhookError> {
    section.ok_or(WebhookError::NotConfigured)
}

/// Verify → record → acknowledge: the one path every route's delivery takes.
async fn deliver(
    state: &HttpState,
    source: &'static str,
    repeats: Repeats,
    headers: &HeaderMap,
    delivered: Result<Ingress, WebhookError>,
) -> Response {
    let ingress = match delivered {
        Ok(ingress) => ingress,
        Err(err) => return refuse(state, source, &err),
    };
    let signature = match repeats {
        Repeats::Deduped => None,
        Repeats::Acknowledge { signature_header, window_secs } | Repeats::Refuse { signature_header, window_secs } => {
            headers.header(signature_header).map(|s| (s, window_secs))
        }
    };
    if let Some((signature, _)) = signature
        && state.replays.seen(signature, now_secs())
    {
        return match repeats {
            Repeats::Refuse { .. } => refuse(state, source, &WebhookError::BadSignature),
            _ => StatusCode::OK.into_response(),
        };
    }
    let ack = match ingress {
        Ingress::Answer(ack) => return acknowledge(ack),
        Ingress::Record { events, ack } => match record(state, source, events).await {
            Ok(()) => ack,
            Err(response) => return response,
        },
        Ingress::Consent { phone, opted_in, said, ack } => match consent(state, &phone, opted_in, &said).await {
            Ok(()) => ack,
            Err(response) => return response,
        },
        Ingress::Setup { key, value, note } => match setup(state, source, key, &value, note).await {
            Ok(()) => Ack::Empty,
            Err(response) => return response,
        },
    };
    // Remembered once kept, so a request we failed to keep can still come again.
    if let Some((signature, window)) = signature {
        state.replays.remember(signature, now_secs().saturating_add_unsigned(window), now_secs());
    }
    acknowledge(ack)
}

fn acknowledge(ack: Ack) -> Response {
    match ack {
        Ack::Empty => (StatusCode::OK, "ok").into_response(),
        Ack::Json(body) => Json(body).into_response(),
        Ack::Xml(body) => ([(http_header::CONTENT_TYPE, "application/xml")], body).into_response(),
    }
}

fn try_again() -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response()
}

fn refuse(state: &HttpState, source: &str, err: &WebhookError) -> Response {
    let (status, outcome) = match err {
        WebhookError::BadSignature => (StatusCode::UNAUTHORIZED, "forged"),
        WebhookError::Malformed(_) => (StatusCode::BAD_REQUEST, "malformed"),
        WebhookError::NotConfigured => (StatusCode::NOT_FOUND, "not_configured"),
    };
    tracing::warn!(source, error = %err, "webhook refused");
    state.app.metrics.increment("tillpilot_webhooks_total", &format!("source=\"{source}\",outcome=\"{outcome}\""));
    (status, outcome).into_response()
}

async fn record(state: &HttpState, source: &str, events: Vec<WebhookEvent>) -> Result<(), Response> {
    if events.is_empty() {
        return Ok(());
    }
    let count = events.len();
    match state.intake.submit(events).await {
        Ok(new) => {
            let metrics = &state.app.metrics;
            for _ in 0..new {
                metrics.increment("tillpilot_webhooks_total", &format!("source=\"{source}\",outcome=\"accepted\""));
            }
            for _ in new..count {
                metrics.increment("tillpilot_webhooks_total", &format!("source=\"{source}\",outcome=\"duplicate\""));
            }
            Ok(())
        }
        // Not recorded: say so, and the provider will deliver it again.
        Err(_) => Err(try_again()),
    }
}

async fn consent(state: &HttpState, phone: &crate::domain::Phone, opted_in: bool, said: &str) -> Result<(), Response> {
    let store = &state.app.store;
    let result = async {
        let mut tx = store.begin().await?;
        store.set_consent(&mut tx, phone, opted_in, said, crate::store::now_ms()).await?;
        tx.commit().await?;
        Ok::<(), StoreError>(())
    };
    result.await.map_err(|err| {
        tracing::error!(error = %err, "could not record an SMS keyword");
        try_again()
    })
}

/// Keeps a setup value once: the same value again writes nothing (so an unauthenticated
/// handshake repeated cannot grow the audit log).
async fn setup(state: &HttpState, source: &str, key: &str, value: &str, note: &str) -> Result<(), Response> {
    let store = &state.app.store;
    if store.meta(key).await.ok().flatten().as_deref() == Some(value) {
        return Ok(());
    }
    let saved = async {
        let mut tx = store.begin().await?;
        store.set_meta(&mut tx, key, value).await?;
        let entry = AuditEntry {
            actor: source.into(),
            channel: "webhook".into(),
            kind: "webhook.verification".into(),
            subject: source.into(),
            detail: json!({ "note": note }),
        };
        store.audit(&mut tx, &entry).await?;
        tx.commit().await.map_err(StoreError::from)
    };
    match saved.await {
        Ok(()) => {
            tracing::info!(source, key, "{note}; it is stored as {key}");
            Ok(())
        }
        Err(err) => {
            tracing::error!(source, error = %err, "could not store a setup value");
            Err(try_again())
        }
    }
}

pub async fn square(State(state): State<HttpState>, headers: HeaderMap, body: Bytes) -> Response {
    let delivered = configured(state.app.config.pos.square.as_ref())
        .and_then(|config| square::webhook::ingest(config, &headers, &body));
    deliver(&state, "square", Repeats::Deduped, &headers, delivered).await
}

/// The benchmark's baseline: everything the real route does except recording.
pub async fn square_ack_only(State(state): State<HttpState>, headers: HeaderMap, body: Bytes) -> Response {
    let delivered = configured(state.app.config.pos.square.as_ref())
        .and_then(|config| square::webhook::ingest(config, &headers, &body));
    match delivered {
        Ok(_) => acknowledge(Ack::Empty),
        Err(err) => refuse(&state, "square", &err),
    }
}

pub async fn shopify(State(state): State<HttpState>, headers: HeaderMap, body: Bytes) -> Response {
    let delivered = configured(state.app.config.pos.shopify.as_ref())
        .and_then(|config| shopify::webhook::ingest(config, &headers, &body));
    deliver(&state, "shopify", Repeats::Deduped, &headers, delivered).await
}

/// Each event type is registered at its own `?type=` (the body names none).
pub async fn lightspeed(
    State(state): State<HttpState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let delivered = configured(state.app.config.pos.lightspeed.as_ref())
        .and_then(|config| lightspeed::webhook::ingest(config, &headers, query.as_deref(), &body));
    deliver(&state, "lightspeed", Repeats::Deduped, &headers, delivered).await
}

pub async fn clover(State(state): State<HttpState>, headers: HeaderMap, body: Bytes) -> Response {
    let delivered = configured(state.app.config.pos.clover.as_ref())
        .and_then(|config| clover::webhook::ingest(config, &headers, &body));
    deliver(&state, "clover", Repeats::Deduped, &headers, delivered).await
}

pub async fn slack_events(State(state): State<HttpState>, headers: HeaderMap, body: Bytes) -> Response {
    let delivered = configured(state.app.config.slack.as_ref())
        .and_then(|config| slack::webhook::ingest_event(config, &headers, &body, now_secs()));
    deliver(&state, "slack", slack::webhook::REPEATS, &headers, delivered).await
}

pub async fn slack_commands(State(state): State<HttpState>, headers: HeaderMap, body: Bytes) -> Response {
    let delivered = configured(state.app.config.slack.as_ref())
        .and_then(|config| slack::webhook::ingest_command(config, &headers, &body, now_secs()));
    deliver(&state, "slack", slack::webhook::REPEATS, &headers, delivered).await
}

pub async fn slack_interactions(State(state): State<HttpState>, headers: HeaderMap, body: Bytes) -> Response {
    let delivered = configured(state.app.config.slack.as_ref())
        .and_then(|config| slack::webhook::ingest_interaction(config, &headers, &body, now_secs()));
    deliver(&state, "slack", slack::webhook::REPEATS, &headers, delivered).await
}

pub async fn telegram(State(state): State<HttpState>, headers: HeaderMap, body: Bytes) -> Response {
    let delivered = configured(state.app.config.telegram.as_ref())
        .and_then(|config| telegram::webhook::ingest(config, &headers, &body));
    deliver(&state, "telegram", Repeats::Deduped, &headers, delivered).await
}

pub async fn discord(State(state): State<HttpState>, headers: HeaderMap, body: Bytes) -> Response {
    let delivered = configured(state.app.config.discord.as_ref())
        .and_then(|config| discord::webhook::ingest(config, &headers, &body, now_secs()));
    deliver(&state, "discord", discord::webhook::REPEATS, &headers, delivered).await
}

pub async fn sms(State(state): State<HttpState>, headers: HeaderMap, body: Bytes) -> Response {
    let shop = state.app.config.shop.name.clone();
    let delivered = configured(state.app.config.twilio.as_ref())
        .and_then(|config| sms::webhook::ingest(config, &shop, &headers, &body));
    deliver(&state, "sms", Repeats::Deduped, &headers, delivered).await
}
