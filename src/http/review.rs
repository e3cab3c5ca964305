//! The checkout assistant's two routes for the shop's POS middleware, both behind the bearer
//! token of `[review]` (compared in constant time; a wrong or missing token is 401):
//! `POST /api/ai/transaction-review` (a cart in, recommendations out; a malformed cart is 400
//! with the field it is about, an oversized one 413, and nothing is recorded for either) and
//! `GET /api/ai/approvals/{id}` (the state of a manager approval the review asked for).

use super::HttpState;
use crate::workflows::review::{self, ReviewError};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// Checks the bearer token; the refusal otherwise.
fn authorised(state: &HttpState, headers: &HeaderMap) -> Result<(), (StatusCode, &'static str)> {
    let Some(config) = state.app.config.review.as_ref() else {
        return Err((StatusCode::NOT_FOUND, "transaction review is not configured ([review] is missing)"));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .unwrap_or_default();
    if crate::signature::secrets_equal(given.trim().as_bytes(), config.bearer_token.expose().as_bytes()) {
        Ok(())
    } else {
        state.app.metrics.increment("tillpilot_reviews_refused_total", "why=\"token\"");
        Err((StatusCode::UNAUTHORIZED, "a valid bearer token is required"))
    }
}

pub async fn transaction_review(State(state): State<HttpState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err((status, why)) = authorised(&state, &headers) {
        return error(status, why);
    }
    let cart = match review::parse(&body) {
        Ok(cart) => cart,
        Err(err) => {
            state.app.metrics.increment("tillpilot_reviews_refused_total", "why=\"malformed\"");
            return error(StatusCode::BAD_REQUEST, &err.0);
        }
    };
    match review::review(&state.app, cart).await {
        Ok(answer) => Json(answer).into_response(),
        Err(ReviewError::Refused(why)) => error(StatusCode::BAD_REQUEST, &why),
        Err(ReviewError::NotConfigured) => error(StatusCode::NOT_FOUND, "transaction review is not configured"),
        Err(ReviewError::Unavailable(why)) => {
            tracing::error!(error = %why, "could not record a review");
            error(StatusCode::SERVICE_UNAVAILABLE, "reviews cannot be recorded right now; try again")
        }
    }
}

pub async fn approval(State(state): State<HttpState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err((status, why)) = authorised(&state, &headers) {
        return error(status, why);
    }
    let app = &state.app;
    let found = async {
        let Some(approval) = app.store.approval(&id).await? else { return Ok(None) };
        if approval.kind != review::APPROVAL_KIND {
            return Ok(None);
        }
        let Some(review) = app.store.review_for_approval(&id).await? else { return Ok(None) };
        Ok::<_, crate::store::StoreError>(Some(review::decision_body(&approval, &review)))
    };
    match found.await {
        Ok(Some(body)) => Json(body).into_response(),
        // Answered to the middleware a moment ago and still on its way to the database.
        Ok(None) if app.review.is_issued(&id) => Json(json!({ "approval_id": id, "state": "pending" })).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, "no such approval"),
        Err(err) => {
            tracing::error!(error = %err, "could not read an approval");
            error(StatusCode::SERVICE_UNAVAILABLE, "the database is not answering; try again")
        }
    }
}
