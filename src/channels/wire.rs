//! One HTTP call to a chat platform, classified for the outbox: 429 (with the platform's wait)
//! and 5xx or network trouble are transient, other refusals permanent. The outbox worker does
//! the retrying, so a call here is one attempt.

use super::ChannelError;
use serde_json::Value;
use std::time::Duration;

/// A client with the timeouts every platform call uses.
pub fn client() -> Result<reqwest::Client, ChannelError> {
    crate::telemetry::install_crypto();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .connect_timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| ChannelError::Unavailable(e.to_string()))
}

/// Sends and returns the status and body (JSON when it parses, else the text as a string).
/// 429 and 5xx become errors here; other statuses are the caller's to read.
pub async fn send(request: reqwest::RequestBuilder, platform: &str) -> Result<(u16, Value), ChannelError> {
    let response = request.send().await.map_err(|e| ChannelError::Unavailable(e.without_url().to_string()))?;
    let status = response.status();
    let after = crate::retry::retry_after(response.headers());
    let bytes = response.bytes().await.map_err(|e| ChannelError::Unavailable(e.without_url().to_string()))?;
    let body: Value =
        serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    if status.as_u16() == 429 {
        // Discord and Telegram also say how long in the body.
        let in_body = body
            .get("retry_after")
            .or_else(|| body.pointer("/parameters/retry_after"))
            .and_then(Value::as_f64)
            .map(Duration::from_secs_f64);
        return Err(ChannelError::RateLimited(after.or(in_body).unwrap_or(Duration::from_secs(1))));
    }
    if status.is_server_error() {
        return Err(ChannelError::Unavailable(format!("{platform} answered {status}")));
    }
    Ok((status.as_u16(), body))
}
