//! The HTTP server: POS webhooks and chat ingress (Slack, Telegram, Discord, SMS), all through
//! one ingress path; the checkout assistant's review API; and health, readiness and metrics for operators. Every route caps its body at 1 MiB.

use crate::jobs::intake::Intake;
use crate::workflows::Shop;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use std::sync::Arc;
use tokio::net::TcpListener;

pub mod ingress;
pub mod review;
pub use crate::signature as verify;

/// The largest request body any route accepts.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What every handler shares: the app, and the inbox writer that group-commits webhooks.
#[derive(Clone)]
pub struct HttpState {
    pub app: Arc<Shop>,
    pub intake: Intake,
    pub replays: Arc<verify::ReplayGuard>,
}

/// The routes. Starts the inbox writer, so call it inside the runtime that will serve.
pub fn router(app: Arc<Shop>) -> Router {
    let intake = Intake::start(app.store.clone());
    crate::workflows::review::start(&app);
    routes(app, intake, false)
}

/// The routes plus `POST /bench/ack-only/square`, which verifies and parses exactly like the
/// real route but answers without recording: the baseline the intake benchmark compares
/// durable intake against. Never mounted by `run` or `demo`.
pub fn benchmark_router(app: Arc<Shop>) -> (Router, Intake) {
    let intake = Intake::start(app.store.clone());
    crate::workflows::review::start(&app);
    (routes(app, intake.clone(), true), intake)
}

fn routes(app: Arc<Shop>, intake: Intake, ack_only: bool) -> Router {
    let mut router = Router::new();
    if ack_only {
        router = router.route("/bench/ack-only/square", post(ingress::square_ack_only));
    }
    router
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/webhooks/square", post(ingress::square))
        .route("/webhooks/clover", post(ingress::clover))
        .route("/webhooks/shopify", post(ingress::shopify))
        .route("/webhooks/lightspeed", post(ingress::lightspeed))
        .route("/slack/events", post(ingress::slack_events))
        .route("/slack/commands", post(ingress::slack_commands))
        .route("/slack/interactions", post(ingress::slack_interactions))
        .route("/telegram/webhook", post(ingress::telegram))
        .route("/discord/interactions", post(ingress::discord))
        .route("/sms/twilio", post(ingress::sms))
        .route("/api/ai/transaction-review", post(review::transaction_review))
        .route("/api/ai/approvals/{id}", get(review::approval))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(HttpState { app, intake, replays: Arc::default() })
}

/// Serves until `shutdown` resolves.
pub async fn serve(
    app: Arc<Shop>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(app)).with_graceful_shutdown(shutdown).await
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok\n"
}

/// The process can do its work: the database answers.
async fn readyz(State(state): State<HttpState>) -> impl IntoResponse {
    match state.app.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready\n"),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n")
        }
    }
}

async fn metrics(State(state): State<HttpState>) -> impl IntoResponse {
    let mut text = state.app.metrics.render();
    // Inbox backlog and parked events, read fresh: they are what an operator acts on.
    match state.app.store.inbox_states().await {
        Ok(states) => {
            text.push_str("# HELP tillpilot_inbox_events Webhook events in the inbox by state.\n");
            text.push_str("# TYPE tillpilot_inbox_events gauge\n");
            for wanted in ["pending", "done", "parked"] {
                let n = states.iter().find(|(s, _)| s == wanted).map_or(0, |(_, n)| *n);
                text.push_str(&format!("tillpilot_inbox_events{{state=\"{wanted}\"}} {n}\n"));
            }
        }
        Err(err) => tracing::warn!(error = %err, "could not read inbox states for /metrics"),
    }
    match state.app.store.outbox_states().await {
        Ok(states) => {
            text.push_str("# HELP tillpilot_outbox_messages Outgoing messages by channel and state.\n");
            text.push_str("# TYPE tillpilot_outbox_messages gauge\n");
            for (channel, wanted, n) in states {
                let channel = crate::telemetry::label(&channel);
                text.push_str(&format!("tillpilot_outbox_messages{{channel=\"{channel}\",state=\"{wanted}\"}} {n}\n"));
            }
        }
        Err(err) => tracing::warn!(error = %err, "could not read outbox states for /metrics"),
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}
