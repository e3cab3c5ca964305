//! The optional LLM, through the real client against a fake OpenAI-compatible server on
//! 127.0.0.1: it helps with phrasings the local classifier does not know, can only name our
//! commands, never sees secrets or card numbers, and its failures fall back to local answers.
#![allow(clippy::unwrap_used)]

mod common;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use tillpilot::app::App;
use tillpilot::config::{LlmConfig, Secret};
use tillpilot::llm::LlmClient;

/// A fake chat-completions endpoint that answers `answer` (or fails with `status`) and keeps
/// every request it saw.
#[derive(Clone)]
struct FakeLlm {
    answer: Arc<Mutex<(StatusCode, String)>>,
    seen: Arc<Mutex<Vec<Request>>>,
}

/// The `Authorization` header and JSON body of one request.
type Request = (Option<String>, Value);

async fn completions(
    State(fake): State<FakeLlm>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
    fake.seen.lock().unwrap().push((auth, body));
    let (status, content) = fake.answer.lock().unwrap().clone();
    let reply = json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "fake",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 120, "completion_tokens": 9, "total_tokens": 129}
    });
    (status, Json(reply))
}

async fn start_fake() -> (FakeLlm, String) {
    let fake = FakeLlm { answer: Arc::new(Mutex::new((StatusCode::OK, String::new()))), seen: Arc::default() };
    let router = axum::Router::new().route("/v1/chat/completions", post(completions)).with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (fake, format!("http://{addr}/v1"))
}

async fn app_with_llm(db: &common::TestDb, base_url: &str) -> App {
    let mut app = common::app(db).await;
    let config = LlmConfig {
        base_url: base_url.into(),
        api_key: Some(Secret::new("sk-test-key-123")),
        model: "fake".into(),
        timeout_secs: 5,
    };
    app.llm = Some(LlmClient::new(&config).unwrap());
    app
}

const ODD_PHRASING: &str = "what's the craic with the stuff I got online, card 4111 1111 1111 1111";

#[tokio::test]
async fn the_llm_routes_a_phrasing_the_classifier_does_not_know() {
    let db = common::sqlite_db();
    // Without an LLM this message is not understood.
    let plain = common::app(&db).await;
    assert_eq!(common::ask(&plain, "+13125550142", ODD_PHRASING).await.intent, None);

    let (fake, url) = start_fake().await;
    *fake.answer.lock().unwrap() = (StatusCode::OK, "```json\n{\"command\": \"order\"}\n```".into());
    let db = common::sqlite_db();
    let app = app_with_llm(&db, &url).await;
    let outcome = common::ask(&app, "+13125550142", ODD_PHRASING).await;
    assert_eq!(outcome.intent.as_deref(), Some("order"));
    assert!(common::seen(&outcome).contains("#1042"), "Alex's own orders: {}", common::seen(&outcome));

    let seen = fake.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    let (auth, body) = &seen[0];
    assert_eq!(auth.as_deref(), Some("Bearer sk-test-key-123"));
    let prompt = body.to_string();
    assert!(prompt.contains("the craic with the stuff I got online"), "{prompt}");
    assert!(prompt.contains("[card ••••1111]") && !prompt.contains("4111 1111"), "card masked before the prompt");
    assert!(!prompt.contains("sk-test-key") && !prompt.contains("+13125550142"), "no secrets or customer identity");
    let (calls, tokens): (i64, Option<i64>) =
        sqlx::query_as("SELECT COUNT(*), MAX(prompt_tokens) FROM llm_calls WHERE outcome = 'ok'")
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    assert_eq!((calls, tokens), (1, Some(120)));
}

#[tokio::test]
async fn the_llm_cannot_invent_commands_or_bypass_failures() {
    let (fake, url) = start_fake().await;
    let db = common::sqlite_db();
    let app = app_with_llm(&db, &url).await;

    *fake.answer.lock().unwrap() = (StatusCode::OK, "{\"command\": \"refund_everything\"}".into());
    let invented = common::ask(&app, "Sam", ODD_PHRASING).await;
    assert_eq!(invented.intent, None);
    assert!(invented.reply.text.starts_with("Sorry, I can't help with that."));

    *fake.answer.lock().unwrap() = (StatusCode::INTERNAL_SERVER_ERROR, String::new());
    let down = common::ask(&app, "Sam", ODD_PHRASING).await;
    assert_eq!(down.intent, None, "falls back to the local classifier");
    let (failed,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM llm_calls WHERE outcome <> 'ok'")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(failed, 1);

    // Confident local answers never reach the LLM.
    let before = fake.seen.lock().unwrap().len();
    assert_eq!(common::ask(&app, "Sam", "stock oat milk").await.intent.as_deref(), Some("stock"));
    assert_eq!(fake.seen.lock().unwrap().len(), before);
}
