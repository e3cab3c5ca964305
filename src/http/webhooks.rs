//! `POST /webhooks/square|clover|shopify`: verify the raw bytes, parse, record in the inbox
//! (group-committed), then answer 200. Forged → 401, malformed → 400, over 1 MiB → 413 (the
//! body limit), provider not configured → 404; none of them writes anything. A redelivery is
//! answered 200 and not recorded again.

use super::HttpState;
use crate::inbound::{WebhookError, WebhookEvent};
use crate::pos::{clover, shopify, square};
use crate::store::AuditEntry;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::json;

pub(super) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub(super) fn refuse(state: &HttpState, source: &str, err: &WebhookError) -> (StatusCode, &'static str) {
    let (status, outcome) = match err {
        WebhookError::BadSignature => (StatusCode::UNAUTHORIZED, "forged"),
        WebhookError::Malformed(_) => (StatusCode::BAD_REQUEST, "malformed"),
        WebhookError::NotConfigured => (StatusCode::NOT_FOUND, "not_configured"),
    };
    tracing::warn!(source, error = %err, "webhook refused");
    state.app.metrics.increment("tillpilot_webhooks_total", &format!("source=\"{source}\",outcome=\"{outcome}\""));
    (status, outcome)
}

pub(super) async fn record(state: &HttpState, source: &str, events: Vec<WebhookEvent>) -> (StatusCode, &'static str) {
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
            (StatusCode::OK, "ok")
        }
        // Not recorded: say so, and the provider will deliver it again.
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "try again"),
    }
}

/// Verifies and parses a Square delivery.
fn square_event(state: &HttpState, headers: &HeaderMap, body: &[u8]) -> Result<WebhookEvent, WebhookError> {
    let config = state.app.config.pos.square.as_ref();
    let (key, url) = config
        .and_then(|c| Some((c.webhook_signature_key.as_ref()?, c.webhook_url.as_deref()?)))
        .ok_or(WebhookError::NotConfigured)?;
    square::webhook::verify(key.expose(), url, body, header(headers, square::webhook::SIGNATURE_HEADER))?;
    square::webhook::parse(body)
}

pub async fn square(State(state): State<HttpState>, headers: HeaderMap, body: Bytes) -> (StatusCode, &'static str) {
    match square_event(&state, &headers, &body) {
        Ok(event) => record(&state, "square", vec![event]).await,
        Err(err) => refuse(&state, "square", &err),
    }
}

/// The benchmark's baseline: everything the real route does except recording.
pub async fn square_ack_only(
    State(state): State<HttpState>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    match square_event(&state, &headers, &body) {
        Ok(_) => (StatusCode::OK, "ok"),
        Err(err) => refuse(&state, "square", &err),
    }
}

pub async fn shopify(State(state): State<HttpState>, headers: HeaderMap, body: Bytes) -> (StatusCode, &'static str) {
    let Some(secret) = state.app.config.pos.shopify.as_ref().and_then(|c| c.api_secret.as_ref()) else {
        return refuse(&state, "shopify", &WebhookError::NotConfigured);
    };
    let verified =
        shopify::webhook::verify(secret.expose(), &body, header(&headers, shopify::webhook::SIGNATURE_HEADER))
            .and_then(|()| {
                shopify::webhook::parse(
                    header(&headers, shopify::webhook::WEBHOOK_ID_HEADER),
                    header(&headers, shopify::webhook::TOPIC_HEADER),
                    &body,
                )
            });
    match verified {
        Ok(event) => record(&state, "shopify", vec![event]).await,
        Err(err) => refuse(&state, "shopify", &err),
    }
}

pub async fn clover(State(state): State<HttpState>, headers: HeaderMap, body: Bytes) -> (StatusCode, &'static str) {
    let Some(config) = state.app.config.pos.clover.as_ref() else {
        return refuse(&state, "clover", &WebhookError::NotConfigured);
    };
    let auth_code = config.webhook_auth_code.as_ref().map(|c| c.expose());
    match clover::webhook::read(auth_code, header(&headers, clover::webhook::AUTH_HEADER), &body) {
        Ok(clover::webhook::CloverDelivery::Verification { code }) => {
            let store = &state.app.store;
            if store.meta("clover.verification_code").await.ok().flatten().as_deref() == Some(code.as_str()) {
                return (StatusCode::OK, "ok");
            }
            let saved =
                async {
                    let mut tx = store.begin().await?;
                    store.set_meta(&mut tx, "clover.verification_code", &code).await?;
                    store
                    .audit(&mut tx, &AuditEntry {
                        actor: "clover".into(),
                        channel: "webhook".into(),
                        kind: "webhook.verification".into(),
                        subject: "clover".into(),
                        detail: json!({ "note": "verification code received; paste it into the Clover dashboard" }),
                    })
                    .await?;
                    tx.commit().await.map_err(crate::store::StoreError::from)
                };
            match saved.await {
                Ok(()) => {
                    tracing::info!(
                        "Clover webhook verification code received; it is stored as clover.verification_code"
                    );
                    (StatusCode::OK, "ok")
                }
                Err(err) => {
                    tracing::error!(error = %err, "could not store the Clover verification code");
                    (StatusCode::SERVICE_UNAVAILABLE, "try again")
                }
            }
        }
        Ok(clover::webhook::CloverDelivery::Events(events)) => record(&state, "clover", events).await,
        Err(err) => refuse(&state, "clover", &err),
    }
}
