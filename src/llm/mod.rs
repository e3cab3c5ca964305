//! The optional LLM: any OpenAI-compatible chat-completions server, through async-openai's
//! client and types. It helps in two places: the assistant (`dispatch/assistant.rs`) offers it
//! our commands as tools when the local classifier is unsure, and the sales summary asks it for
//! a short narrative. It decides nothing: a tool call is read against the command's schema and
//! runs through the dispatcher's role check like a typed command, and a narrative that states a
//! number the summary does not is dropped (`grounded`). Prompts are versioned templates in
//! `prompts/` and carry no secrets and no customer identity; every call is recorded in
//! `llm_calls` and counted in the `tillpilot_llm_*` metrics, and a per-day token budget bounds
//! what it costs.

pub mod grounded;
pub mod prompts;
pub mod tools;

use crate::config::LlmConfig;
use crate::store::Store;
use crate::telemetry::Metrics;
use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::middleware::ReqwestService;
use async_openai::types::chat::{
    ChatCompletionMessageToolCall, ChatCompletionMessageToolCalls, ChatCompletionRequestAssistantMessage,
    ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage, ChatCompletionRequestToolMessage,
    ChatCompletionRequestUserMessage, ChatCompletionTools, CreateChatCompletionRequest, FunctionCall,
};
use prompts::Prompt;
use std::time::{Duration, Instant};

pub struct LlmClient {
    client: Client<OpenAIConfig>,
    model: String,
    daily_tokens: u64,
    /// How long one answer may take, retries included.
    timeout: Duration,
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
    #[error("today's LLM token budget ({budget}) is spent")]
    BudgetSpent { budget: u64 },
}

/// One message of a conversation with the model.
#[derive(Clone, Debug)]
pub enum Message {
    /// Our instructions, from a template in `prompts/`.
    System(String),
    /// What a person said, or context given as data.
    User(String),
    /// The model's earlier turn, sent back with the results of its calls.
    Assistant { content: Option<String>, calls: Vec<ToolCall> },
    /// A tool's result, as data.
    Tool { call_id: String, content: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    /// JSON text as the model wrote it; read with `tools::read_call` before anything runs.
    pub arguments: String,
}

/// The model's answer to one request: text, tool calls, or both.
#[derive(Clone, Debug, Default)]
pub struct Turn {
    pub content: Option<String>,
    pub calls: Vec<ToolCall>,
}

/// Where a call is recorded and counted, the shop's clock reading it is recorded at, and when
/// that day began, for the token budget.
pub struct CallContext<'a> {
    pub store: &'a Store,
    pub metrics: &'a Metrics,
    pub now_ms: i64,
    pub day_start_ms: i64,
}

impl LlmClient {
    /// async-openai's client and types over our reqwest client: `with_http_service` takes out
    /// its built-in retries, which would wait longer than a person should; ours (`create`)
    /// retry within the configured timeout.
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
        Ok(LlmClient {
            client,
            model: config.model.clone(),
            daily_tokens: config.daily_token_budget,
            timeout: Duration::from_secs(config.timeout_secs),
        })
    }

    /// Sends `messages` with `tools` on offer and returns the model's turn. Refuses before
    /// sending once today's tokens are spent. `prompt` is the version recorded with the call.
    pub async fn step(
        &self,
        cx: &CallContext<'_>,
        prompt: &str,
        messages: &[Message],
        tools: Vec<ChatCompletionTools>,
    ) -> Result<Turn, LlmError> {
        let spent = cx.store.llm_tokens_since(cx.day_start_ms).await.unwrap_or(0);
        if u64::try_from(spent).unwrap_or(0) >= self.daily_tokens {
            cx.metrics.increment("tillpilot_llm_calls_total", "outcome=\"budget_spent\"");
            return Err(LlmError::BudgetSpent { budget: self.daily_tokens });
        }
        let sent_chars: usize = messages.iter().map(Message::chars).sum();
        let request = CreateChatCompletionRequest {
            model: self.model.clone(),
            temperature: Some(0.0),
            messages: messages.iter().map(Message::to_request).collect(),
            tools: (!tools.is_empty()).then_some(tools),
            ..Default::default()
        };
        let started = Instant::now();
        let result = self.create(request, started + self.timeout).await;
        let latency = started.elapsed().as_millis() as i64;
        // A server that reports no usage still counts against the budget, by an estimate of
        // four characters a token.
        let estimate = (sent_chars / 4) as i64;
        let (outcome, prompt_tokens, completion_tokens) = match &result {
            Ok(answer) => match &answer.usage {
                Some(u) => ("ok".to_owned(), i64::from(u.prompt_tokens), i64::from(u.completion_tokens)),
                None => ("ok".to_owned(), estimate, 0),
            },
            Err(e) => (e.to_string(), 0, 0),
        };
        // Recording the call is best effort: a full disk must not turn into a wrong answer.
        let call = crate::store::llm_calls::LlmCall {
            at_ms: cx.now_ms,
            model: &self.model,
            prompt_version: prompt,
            prompt_tokens: result.is_ok().then_some(prompt_tokens),
            completion_tokens: result.is_ok().then_some(completion_tokens),
            latency_ms: latency,
            outcome: &outcome,
        };
        let _ = cx.store.record_llm_call(&call).await;
        let label = if result.is_ok() { "ok" } else { "error" };
        cx.metrics.increment("tillpilot_llm_calls_total", &format!("outcome=\"{label}\""));
        cx.metrics.add("tillpilot_llm_tokens_total", "kind=\"prompt\"", u64::try_from(prompt_tokens).unwrap_or(0));
        cx.metrics.add(
            "tillpilot_llm_tokens_total",
            "kind=\"completion\"",
            u64::try_from(completion_tokens).unwrap_or(0),
        );
        cx.metrics.add("tillpilot_llm_latency_ms_total", "", u64::try_from(latency).unwrap_or(0));
        let answer = result?;
        let message = answer
            .choices
            .into_iter()
            .next()
            .map(|c| c.message)
            .ok_or_else(|| LlmError::Unusable("no message in the answer".into()))?;
        let calls = message
            .tool_calls
            .unwrap_or_default()
            .into_iter()
            .filter_map(|call| match call {
                ChatCompletionMessageToolCalls::Function(f) => {
                    Some(ToolCall { id: f.id, name: f.function.name, arguments: f.function.arguments })
                }
                ChatCompletionMessageToolCalls::Custom(_) => None,
            })
            .collect();
        Ok(Turn { content: message.content.filter(|c| !c.trim().is_empty()), calls })
    }

    /// Sends the request, retried on our schedule (`RetryPolicy::HTTP`) when the server is
    /// busy or failing, for as long as `deadline` leaves room: a person waits at most the
    /// configured timeout before the deterministic answer.
    async fn create(
        &self,
        request: CreateChatCompletionRequest,
        deadline: Instant,
    ) -> Result<async_openai::types::chat::CreateChatCompletionResponse, LlmError> {
        let policy = crate::retry::RetryPolicy::HTTP;
        let mut attempt = 1;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let result = match tokio::time::timeout(remaining, self.client.chat().create(request.clone())).await {
                Ok(result) => result.map_err(from_openai),
                Err(_) => Err(LlmError::Unavailable(format!("no answer within {} s", self.timeout.as_secs()))),
            };
            let transient = matches!(&result, Err(LlmError::Status(429 | 500..=599) | LlmError::Unavailable(_)));
            if transient && attempt < policy.max_attempts {
                let wait = policy.delay(attempt, None).unwrap_or(policy.max_delay);
                if Instant::now() + wait < deadline {
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                    continue;
                }
            }
            return result;
        }
    }

    /// A short narrative for the computed `summary`, unchecked: the caller drops it when it
    /// states a number the summary does not (`grounded::invented_numbers`).
    pub async fn narrate(
        &self,
        cx: &CallContext<'_>,
        shop_name: &str,
        rules: &[String],
        summary: &str,
    ) -> Result<String, LlmError> {
        let prompt = Prompt::load("narrative.j2")?;
        let system = prompt.render(minijinja::context! { shop_name, rules => rules.to_vec() })?;
        let messages =
            [Message::System(system), Message::User(format!("The computed summary:\n\"\"\"\n{summary}\n\"\"\""))];
        let turn = self.step(cx, &prompt.label(), &messages, Vec::new()).await?;
        turn.content.map(|c| c.trim().to_owned()).ok_or_else(|| LlmError::Unusable("no narrative in the answer".into()))
    }
}

impl Message {
    fn chars(&self) -> usize {
        match self {
            Message::System(text) | Message::User(text) => text.len(),
            Message::Assistant { content, calls } => {
                content.as_ref().map_or(0, String::len) + calls.iter().map(|c| c.arguments.len()).sum::<usize>()
            }
            Message::Tool { content, .. } => content.len(),
        }
    }

    fn to_request(&self) -> ChatCompletionRequestMessage {
        match self {
            Message::System(text) => ChatCompletionRequestSystemMessage::from(text.as_str()).into(),
            Message::User(text) => ChatCompletionRequestUserMessage::from(text.as_str()).into(),
            Message::Assistant { content, calls } => ChatCompletionRequestAssistantMessage {
                content: content.as_deref().map(Into::into),
                tool_calls: (!calls.is_empty()).then(|| {
                    calls
                        .iter()
                        .map(|c| {
                            ChatCompletionMessageToolCalls::Function(ChatCompletionMessageToolCall {
                                id: c.id.clone(),
                                function: FunctionCall { name: c.name.clone(), arguments: c.arguments.clone() },
                            })
                        })
                        .collect()
                }),
                ..Default::default()
            }
            .into(),
            Message::Tool { call_id, content } => {
                ChatCompletionRequestToolMessage { content: content.as_str().into(), tool_call_id: call_id.clone() }
                    .into()
            }
        }
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
