//! Every LLM call, recorded: model, prompt version, tokens, latency and outcome.

use super::{Store, StoreError};

pub struct LlmCall<'a> {
    pub at_ms: i64,
    pub model: &'a str,
    pub prompt_version: &'a str,
    pub prompt_tokens: Option<i64>,
    pub completion_tokens: Option<i64>,
    pub latency_ms: i64,
    pub outcome: &'a str,
}

impl Store {
    pub async fn record_llm_call(&self, call: &LlmCall<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO llm_calls (at_ms, model, prompt_version, prompt_tokens, completion_tokens, latency_ms, outcome) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(call.at_ms)
        .bind(call.model)
        .bind(call.prompt_version)
        .bind(call.prompt_tokens)
        .bind(call.completion_tokens)
        .bind(call.latency_ms)
        .bind(call.outcome)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Tokens used by the calls since `since_ms` (prompt and completion), for the daily budget.
    pub async fn llm_tokens_since(&self, since_ms: i64) -> Result<i64, StoreError> {
        let (tokens,): (Option<i64>,) = sqlx::query_as(
            "SELECT CAST(SUM(COALESCE(prompt_tokens, 0) + COALESCE(completion_tokens, 0)) AS BIGINT) FROM llm_calls WHERE at_ms >= $1",
        )
        .bind(since_ms)
        .fetch_one(self.pool())
        .await?;
        Ok(tokens.unwrap_or(0))
    }
}
