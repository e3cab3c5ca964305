//! What every fake vendor server shares, POS and chat platforms alike: one fault vocabulary
//! to answer the next calls with (an HTTP status, with `Retry-After` for a 429; a stall longer
//! than the client's timeout; a malformed body; a connection dropped mid-answer), and a record
//! of the calls received (with when).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug)]
pub enum Fault {
    /// This status; for a 429, the wait in seconds, which each fake says the way its platform
    /// does (`Retry-After`, or in the body).
    Status(u16, Option<&'static str>),
    /// Wait this long, then answer normally.
    Stall(Duration),
    /// 200 with a body cut short.
    Malformed,
    /// Start the answer, then close the connection.
    Drop,
}

/// A 200 whose body fails after the headers: the client sees the connection drop.
pub fn dropped() -> Response {
    let broken = futures_util::stream::once(async {
        Err::<axum::body::Bytes, std::io::Error>(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "dropped"))
    });
    (StatusCode::OK, axum::body::Body::from_stream(broken)).into_response()
}

/// `response` with a `Retry-After` header saying `after` seconds, when there is a wait to say.
pub fn with_retry_after(mut response: Response, after: Option<&str>) -> Response {
    if let Some(after) = after {
        response.headers_mut().insert("retry-after", after.parse().unwrap());
    }
    response
}

/// Answers `fault`: `error` renders a status in the platform's own shape (given the 429's wait),
/// `malformed` is the platform's body cut short. `None` once a stall is over: answer normally.
pub async fn answer(
    fault: Option<Fault>,
    error: impl Fn(StatusCode, Option<&str>) -> Response,
    malformed: &'static str,
) -> Option<Response> {
    match fault? {
        Fault::Status(code, retry_after) => Some(error(StatusCode::from_u16(code).unwrap(), retry_after)),
        Fault::Stall(d) => {
            tokio::time::sleep(d).await;
            None
        }
        Fault::Malformed => Some((StatusCode::OK, malformed).into_response()),
        Fault::Drop => Some(dropped()),
    }
}

#[derive(Default)]
pub struct Recorder {
    faults: Mutex<VecDeque<Fault>>,
    calls: Mutex<Vec<(Instant, String)>>,
}

impl Recorder {
    pub fn fail_next(&self, faults: &[Fault]) {
        self.faults.lock().unwrap().extend(faults.iter().cloned());
    }

    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().iter().map(|(_, c)| c.clone()).collect()
    }

    pub fn times(&self) -> Vec<Instant> {
        self.calls.lock().unwrap().iter().map(|(t, _)| *t).collect()
    }

    /// Records the call; answers `refusal` (a failed auth check) if there is one, else the
    /// next queued fault, rendering statuses with `error`.
    pub async fn gate(
        &self,
        what: String,
        refusal: Option<Response>,
        error: impl Fn(StatusCode) -> Response,
    ) -> Option<Response> {
        self.calls.lock().unwrap().push((Instant::now(), what));
        if refusal.is_some() {
            return refusal;
        }
        let fault = self.faults.lock().unwrap().pop_front();
        answer(fault, |status, after| with_retry_after(error(status), after), "{\"elements\": [").await
    }
}
