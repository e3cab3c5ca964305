//! The optional LLM: any OpenAI-compatible chat-completions server. It only helps understand
//! a message the local classifier was unsure about, by naming one of our commands. It decides
//! nothing: the dispatcher still checks the command exists, checks the sender's role, and runs
//! the deterministic workflow. Prompts carry no secrets and no customer identity; each call is
//! recorded in `llm_calls`.

use crate::commands::{CommandSet, PROMPT_FILES};
use crate::config::LlmConfig;
use crate::store::{Store, now_ms};
use serde::Deserialize;
use std::time::{Duration, Instant};

/// Bumped whenever `prompts/intent.j2` changes meaning; stored with every call.
pub const INTENT_PROMPT_VERSION: &str = "intent.j2@1";

pub struct LlmClient {
    http: reqwest::Client,
    base_url: String,
    api_key: Option<String>,
    model: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("the LLM server could not be reached: {0}")]
    Unavailable(String),
    #[error("the LLM server answered {0}")]
    Status(u16),
    #[error("the LLM answer was not usable: {0}")]
    Unusable(String),
    #[error("prompt template error: {0}")]
    Template(String),
}

/// The LLM's reading of a message, after validation against our commands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LlmIntent {
    pub command: Option<String>,
}

#[derive(Deserialize)]
struct Completion {
    choices: Vec<Choice>,
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Choice {
    message: ChoiceMessage,
}

#[derive(Deserialize)]
struct ChoiceMessage {
    content: Option<String>,
}

#[derive(Deserialize)]
struct Usage {
    prompt_tokens: Option<i64>,
    completion_tokens: Option<i64>,
}

#[derive(Deserialize)]
struct IntentAnswer {
    command: Option<String>,
}

impl LlmClient {
    pub fn new(config: &LlmConfig) -> Result<LlmClient, LlmError> {
        crate::telemetry::install_crypto();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_secs))
            .build()
            .map_err(|e| LlmError::Unavailable(e.to_string()))?;
        Ok(LlmClient {
            http,
            base_url: config.base_url.trim_end_matches('/').to_owned(),
            api_key: config.api_key.as_ref().map(|k| k.expose().to_owned()),
            model: config.model.clone(),
        })
    }

    /// Asks which command `message` is for. `message` must already have card numbers masked.
    pub async fn classify(
        &self,
        store: &Store,
        commands: &CommandSet,
        shop_name: &str,
        message: &str,
    ) -> Result<LlmIntent, LlmError> {
        let prompt = render_intent_prompt(commands, shop_name, message)?;
        let started = Instant::now();
        let result = self.complete(&prompt).await;
        let latency = started.elapsed().as_millis() as i64;
        let (outcome, tokens) = match &result {
            Ok((_, usage)) => ("ok".to_owned(), usage.as_ref().map(|u| (u.prompt_tokens, u.completion_tokens))),
            Err(e) => (e.to_string(), None),
        };
        let (prompt_tokens, completion_tokens) = tokens.unwrap_or((None, None));
        // Recording the call is best effort: a full disk must not turn into a wrong answer.
        let call = crate::store::llm_calls::LlmCall {
            at_ms: now_ms(),
            model: &self.model,
            prompt_version: INTENT_PROMPT_VERSION,
            prompt_tokens,
            completion_tokens,
            latency_ms: latency,
            outcome: &outcome,
        };
        let _ = store.record_llm_call(&call).await;
        let (content, _) = result?;
        let answer: IntentAnswer =
            serde_json::from_str(extract_json(&content)).map_err(|e| LlmError::Unusable(e.to_string()))?;
        // Only a command we define counts; anything else is "none".
        let command = answer.command.filter(|c| commands.get(c).is_some());
        Ok(LlmIntent { command })
    }

    async fn complete(&self, prompt: &str) -> Result<(String, Option<Usage>), LlmError> {
        let body = serde_json::json!({
            "model": self.model,
            "temperature": 0,
            "messages": [
                {"role": "system", "content": "You route shop staff and customer messages to commands. Answer with JSON only."},
                {"role": "user", "content": prompt},
            ],
        });
        let mut request = self.http.post(format!("{}/chat/completions", self.base_url)).json(&body);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.map_err(|e| LlmError::Unavailable(e.without_url().to_string()))?;
        if !response.status().is_success() {
            return Err(LlmError::Status(response.status().as_u16()));
        }
        let completion: Completion =
            response.json().await.map_err(|e| LlmError::Unusable(e.without_url().to_string()))?;
        let content = completion
            .choices
            .into_iter()
            .next()
            .and_then(|c| c.message.content)
            .ok_or_else(|| LlmError::Unusable("no message in the answer".into()))?;
        Ok((content, completion.usage))
    }
}

fn render_intent_prompt(commands: &CommandSet, shop_name: &str, message: &str) -> Result<String, LlmError> {
    let template = PROMPT_FILES
        .iter()
        .find(|(name, _)| *name == "intent.j2")
        .map(|(_, text)| *text)
        .ok_or_else(|| LlmError::Template("prompts/intent.j2 is missing".into()))?;
    let mut env = minijinja::Environment::new();
    env.add_template("intent", template).map_err(|e| LlmError::Template(e.to_string()))?;
    let commands: Vec<minijinja::Value> = commands
        .all()
        .iter()
        .map(|c| minijinja::context! { name => &c.name, summary => &c.summary, usage => &c.usage })
        .collect();
    env.get_template("intent")
        .and_then(|t| t.render(minijinja::context! { shop_name, commands, message }))
        .map_err(|e| LlmError::Template(e.to_string()))
}

/// The JSON object inside an answer that may wrap it in prose or a code fence.
fn extract_json(content: &str) -> &str {
    match (content.find('{'), content.rfind('}')) {
        (Some(start), Some(end)) if end > start => &content[start..=end],
        _ => content,
    }
}
