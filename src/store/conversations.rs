//! What a conversation remembers between messages, per channel and person: the choices of the
//! last reply, in the order shown, so that "2" answers "Which one do you mean?" on SMS (where
//! choices are numbered keywords, not buttons) and anywhere else a person types the number,
//! also after a restart, and the command that answered last, for follow-ups. It expires: a
//! number sent long after the question is a new message. Only our own command lines are kept
//! here, never what the person typed.

use super::{Store, StoreError};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationState {
    /// The commands the last reply's choices send, 1 first.
    pub choices: Vec<String>,
    /// The command line that answered the last message, so a follow-up ("and at Riverside?")
    /// can ask it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<String>,
    /// The choices' labels as shown (our own words: a product's catalog name), for "the other
    /// one" through the LLM.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
}

impl ConversationState {
    /// What to remember after `reply`, answered by the command line `ran`: its choices (not
    /// approval buttons, which carry their own signed decision) and that command.
    pub fn after(reply: &crate::message::Reply, ran: Option<String>) -> ConversationState {
        let approval = reply.actions.iter().any(|b| crate::approval_token::is_token(&b.action));
        let kept: Vec<&crate::message::Button> = if approval { Vec::new() } else { reply.actions.iter().collect() };
        ConversationState {
            choices: kept.iter().map(|b| b.action.clone()).collect(),
            last: ran,
            labels: kept.iter().map(|b| b.label.clone()).collect(),
        }
    }
}

impl Store {
    /// Keeps `state` for the person on the channel until `expires_at_ms`; an empty state
    /// forgets the conversation.
    pub async fn remember_conversation(
        &self,
        channel: &str,
        person: &str,
        state: &ConversationState,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> Result<(), StoreError> {
        if state.choices.is_empty() && state.last.is_none() {
            sqlx::query("DELETE FROM conversations WHERE channel = $1 AND person = $2")
                .bind(channel)
                .bind(person)
                .execute(self.pool())
                .await?;
            return Ok(());
        }
        let json = serde_json::to_string(state).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "INSERT INTO conversations (channel, person, state, updated_at_ms, expires_at_ms) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (channel, person) DO UPDATE SET state = excluded.state, \
             updated_at_ms = excluded.updated_at_ms, expires_at_ms = excluded.expires_at_ms",
        )
        .bind(channel)
        .bind(person)
        .bind(json)
        .bind(now_ms)
        .bind(expires_at_ms)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The person's conversation on the channel, unless it has expired.
    pub async fn conversation(
        &self,
        channel: &str,
        person: &str,
        now_ms: i64,
    ) -> Result<Option<ConversationState>, StoreError> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT state FROM conversations WHERE channel = $1 AND person = $2 AND expires_at_ms > $3")
                .bind(channel)
                .bind(person)
                .bind(now_ms)
                .fetch_optional(self.pool())
                .await?;
        row.map(|(json,)| serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("conversation: {e}"))))
            .transpose()
    }
}
