//! What every fake vendor server shares: a record of the calls it received (with when), and
//! queued faults to answer the next calls with: an HTTP status (with `Retry-After`), a stall
//! longer than the client's timeout, or a malformed body.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug)]
pub enum Fault {
    Status(u16, Option<&'static str>),
    Stall(Duration),
    Malformed,
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
        match fault {
            None => None,
            Some(Fault::Status(code, retry_after)) => {
                let mut response = error(StatusCode::from_u16(code).unwrap());
                if let Some(after) = retry_after {
                    response.headers_mut().insert("retry-after", after.parse().unwrap());
                }
                Some(response)
            }
            Some(Fault::Stall(d)) => {
                tokio::time::sleep(d).await;
                None
            }
            Some(Fault::Malformed) => Some((StatusCode::OK, "{\"elements\": [").into_response()),
        }
    }
}
