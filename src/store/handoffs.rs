//! Customers who asked for a person, and the team's posts of each request, so that a team
//! member's answer (`reply N ...`, or a reply in the post's thread) reaches the customer.

use super::{Store, StoreError, Tx};
use crate::message::MessageRef;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handoff {
    pub id: i64,
    pub customer_name: String,
    /// Where the customer is answered: `sms` and their phone number.
    pub customer_channel: String,
    pub customer_address: String,
    pub opened_at_ms: i64,
    pub closed_at_ms: Option<i64>,
}

type HandoffRow = (i64, String, String, String, i64, Option<i64>);

impl Store {
    /// Opens a handoff inside `tx`; the customer's open one is reused when there is one.
    pub async fn open_handoff(
        &self,
        tx: &mut Tx,
        customer_name: &str,
        channel: &str,
        address: &str,
        now_ms: i64,
    ) -> Result<(i64, bool), StoreError> {
        let open: Option<(i64,)> = sqlx::query_as(
            "SELECT id FROM handoffs WHERE customer_channel = $1 AND customer_address = $2 AND closed_at_ms IS NULL \
             ORDER BY id DESC LIMIT 1",
        )
        .bind(channel)
        .bind(address)
        .fetch_optional(&mut **tx)
        .await?;
        if let Some((id,)) = open {
            return Ok((id, false));
        }
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO handoffs (customer_name, customer_channel, customer_address, opened_at_ms) \
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(customer_name)
        .bind(channel)
        .bind(address)
        .bind(now_ms)
        .fetch_one(&mut **tx)
        .await?;
        Ok((id, true))
    }

    pub async fn handoff(&self, id: i64) -> Result<Option<Handoff>, StoreError> {
        let row: Option<HandoffRow> = sqlx::query_as(
            "SELECT id, customer_name, customer_channel, customer_address, opened_at_ms, closed_at_ms \
             FROM handoffs WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|(id, customer_name, customer_channel, customer_address, opened_at_ms, closed_at_ms)| Handoff {
            id,
            customer_name,
            customer_channel,
            customer_address,
            opened_at_ms,
            closed_at_ms,
        }))
    }

    /// Remembers where a post of the handoff landed, inside `tx`.
    pub async fn add_handoff_message(&self, tx: &mut Tx, id: i64, message: &MessageRef) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO handoff_messages (channel, target, message_id, handoff_id) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (channel, target, message_id) DO NOTHING",
        )
        .bind(message.channel.as_str())
        .bind(&message.target)
        .bind(&message.id)
        .bind(id)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// The handoff whose post is `message`, for a reply in its thread.
    pub async fn handoff_of_message(&self, message: &MessageRef) -> Result<Option<i64>, StoreError> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT handoff_id FROM handoff_messages WHERE channel = $1 AND target = $2 AND message_id = $3",
        )
        .bind(message.channel.as_str())
        .bind(&message.target)
        .bind(&message.id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|(id,)| id))
    }

    /// Closes an open handoff; false when it was not open.
    pub async fn close_handoff(&self, tx: &mut Tx, id: i64, by: &str, now_ms: i64) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE handoffs SET closed_at_ms = $1, closed_by = $2 WHERE id = $3 AND closed_at_ms IS NULL")
                .bind(now_ms)
                .bind(by)
                .bind(id)
                .execute(&mut **tx)
                .await?;
        Ok(done.rows_affected() == 1)
    }
}
