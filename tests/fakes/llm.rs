//! A fake OpenAI-compatible chat-completions server on 127.0.0.1. It answers from a script
//! (text, tool calls, or both, one answer per request), or from a function of the request, and
//! keeps every request with its `Authorization` header, so a test sees exactly what the model
//! was sent. Faults come from the shared vocabulary (`wire::Fault`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use super::wire::{Fault, Recorder};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One scripted answer of the model.
#[derive(Clone, Debug, Default)]
pub struct Answer {
    pub content: Option<String>,
    /// (tool name, arguments as JSON text).
    pub calls: Vec<(String, String)>,
}

impl Answer {
    pub fn text(content: &str) -> Answer {
        Answer { content: Some(content.into()), calls: Vec::new() }
    }

    pub fn call(name: &str, arguments: Value) -> Answer {
        Answer { content: None, calls: vec![(name.into(), arguments.to_string())] }
    }

    pub fn and_call(mut self, name: &str, arguments: Value) -> Answer {
        self.calls.push((name.into(), arguments.to_string()));
        self
    }
}

type Responder = Arc<dyn Fn(&Value) -> Answer + Send + Sync>;

/// A request's `Authorization` header and JSON body.
pub type Request = (Option<String>, Value);

#[derive(Clone, Default)]
pub struct FakeLlm {
    script: Arc<Mutex<VecDeque<Answer>>>,
    responder: Arc<Mutex<Option<Responder>>>,
    delay: Arc<Mutex<Duration>>,
    seen: Arc<Mutex<Vec<Request>>>,
    recorder: Arc<Recorder>,
}

impl FakeLlm {
    /// Starts the fake; the base URL to configure is `http://127.0.0.1:PORT/v1`.
    pub async fn start() -> (FakeLlm, String) {
        let fake = FakeLlm::default();
        let router = axum::Router::new().route("/v1/chat/completions", post(completions)).with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        (fake, format!("http://{addr}/v1"))
    }

    /// The next requests get these answers, in order; after them, `respond_with` or a plain
    /// "I can't help with that."
    pub fn script(&self, answers: Vec<Answer>) {
        self.script.lock().unwrap().extend(answers);
    }

    pub fn respond_with(&self, responder: impl Fn(&Value) -> Answer + Send + Sync + 'static) {
        *self.responder.lock().unwrap() = Some(Arc::new(responder));
    }

    /// Every answer waits this long first.
    pub fn delay(&self, delay: Duration) {
        *self.delay.lock().unwrap() = delay;
    }

    pub fn fail_next(&self, faults: &[Fault]) {
        self.recorder.fail_next(faults);
    }

    /// Every request body so far, with its Authorization header.
    pub fn requests(&self) -> Vec<Request> {
        self.seen.lock().unwrap().clone()
    }

    pub fn request_count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

/// The last user message of a request.
pub fn last_user_text(request: &Value) -> String {
    request["messages"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// The names of the tools a request offered.
pub fn offered_tools(request: &Value) -> Vec<String> {
    request["tools"]
        .as_array()
        .map(|tools| tools.iter().map(|t| t["function"]["name"].as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

async fn completions(State(fake): State<FakeLlm>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
    fake.seen.lock().unwrap().push((auth, body.clone()));
    let delay = *fake.delay.lock().unwrap();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let error = |status: StatusCode| {
        (status, Json(json!({"error": {"message": "scripted failure", "type": "server_error", "code": null}})))
            .into_response()
    };
    if let Some(refused) = fake.recorder.gate("chat.completions".into(), None, error).await {
        return refused;
    }
    let scripted = fake.script.lock().unwrap().pop_front();
    let responder = fake.responder.lock().unwrap().clone();
    let answer =
        scripted.or_else(|| responder.map(|r| r(&body))).unwrap_or_else(|| Answer::text("I can't help with that."));
    let calls: Vec<Value> = answer
        .calls
        .iter()
        .enumerate()
        .map(|(n, (name, arguments))| {
            json!({"id": format!("call_{n}"), "type": "function", "function": {"name": name, "arguments": arguments}})
        })
        .collect();
    let mut message = json!({"role": "assistant", "content": answer.content});
    if !calls.is_empty() {
        message["tool_calls"] = Value::Array(calls);
    }
    let finish = if answer.calls.is_empty() { "stop" } else { "tool_calls" };
    Json(json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "fake",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 120, "completion_tokens": 9, "total_tokens": 129}
    }))
    .into_response()
}

/// Faults this fake answers: a status, or a stall (`Fault::Stall`) for the timeout tests.
pub fn stall(seconds: u64) -> Fault {
    Fault::Stall(Duration::from_secs(seconds))
}
