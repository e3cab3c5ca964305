//! The optional LLM: any OpenAI-compatible chat-completions server. It only helps understand
//! a message the local classifier was unsure about, by naming one of our commands. It decides
//! nothing: the dispatcher still checks the command exists, checks the sender's role, and runs
//! the deterministic workflow. Prompts carry no secrets and no customer identity; each call is
//! recorded in `llm_calls`.

use crate::commands::{CommandSet, PROMPT_FILES};
use crate::config::LlmConfig;
use crate::store::{Store, now_ms};
use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::middleware::ReqwestService;
use async_openai::types::chat::{
    ChatCompletionRequestSystemMessage, ChatCompletionRequestUserMessage, CreateChatCompletionRequest,
};
use serde::Deserialize;
use std::time::{Duration, Instant};

/// Bumped whenever `prompts/intent.j2` changes meaning; stored with every call.
pub const INTENT_PROMPT_VERSION: &str = "intent.j2@1";

pub struct LlmClient {
    client: Client<OpenAIConfig>,
    model: String,
}

/// Token counts from the answer, when the server reports them.
struct Usage {
    prompt_tokens: Option<i64>,
    completion_tokens: Option<i64>,
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
struct IntentAnswer {
    command: Option<String>,
}

impl LlmClient {
    /// async-openai's client and types over our reqwest client: `with_http_service` takes out
    /// its built-in retries (a classification that waits for several attempts is slower than
    /// the deterministic path it would improve), and our timeout bounds the one attempt.
    pub fn new(config: &LlmConfig) -> Result<LlmClient, LlmError> {
        crate::telemetry::install_crypto();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_secs))
            .connect_timeout(Duration::from_secs(config.timeout_secs.min(5)))
            .build()
            .map_err(|e| LlmError::Unavailable(e.to_string()))?;
        let mut openai = OpenAIConfig::new().with_api_base(config.base_url.trim_end_matches('/'));
        // Servers without keys (a local model) get no Authorization header worth reading.
        if let Some(key) = &config.api_key {
            openai = openai.with_api_key(key.expose());
        }
        let client = Client::build(http.clone(), openai).with_http_service(ReqwestService::new(http));
        Ok(LlmClient { client, model: config.model.clone() })
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
        let request = CreateChatCompletionRequest {
            model: self.model.clone(),
            temperature: Some(0.0),
            messages: vec![
                ChatCompletionRequestSystemMessage::from(
                    "You route shop staff and customer messages to commands. Answer with JSON only.",
                )
                .into(),
                ChatCompletionRequestUserMessage::from(prompt).into(),
            ],
            ..Default::default()
        };
        let completion = self.client.chat().create(request).await.map_err(from_openai)?;
        let usage = completion.usage.as_ref().map(|u| Usage {
            prompt_tokens: Some(i64::from(u.prompt_tokens)),
            completion_tokens: Some(i64::from(u.completion_tokens)),
        });
        let content = completion
            .choices
            .into_iter()
            .next()
            .and_then(|c| c.message.content)
            .ok_or_else(|| LlmError::Unusable("no message in the answer".into()))?;
        Ok((content, usage))
    }
}

/// The server's refusal keeps its status; transport trouble never carries the URL (or the key).
fn from_openai(err: OpenAIError) -> LlmError {
    match err {
        OpenAIError::ApiError(answer) => LlmError::Status(answer.status_code.as_u16()),
        OpenAIError::Reqwest(e) => match e.status() {
            Some(status) => LlmError::Status(status.as_u16()),
            None => LlmError::Unavailable(e.without_url().to_string()),
        },
        OpenAIError::JSONDeserialize(e, _) => LlmError::Unusable(e.to_string()),
        other => LlmError::Unavailable(other.to_string()),
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
