//! The outbox: every message the bot sends is a row here first, written in the same
//! transaction as whatever caused it, then sent by the outbox worker, retried with backoff and
//! parked after its last attempt. Claims are leases, as in the inbox; within one conversation
//! messages go out in the order they were queued.

use super::leased::OUTBOX;
use super::{AuditEntry, Store, StoreError, Tx};
use crate::message::{ChannelKind, MessageRef, Reply};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// What to do with a queued message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Outgoing {
    /// A new message; when it carries an approval request, where it lands is remembered so the
    /// decision can be shown on it.
    Post { reply: Reply, approval: Option<String> },
    /// A customer's request for a person, posted to the team; where it lands is remembered so
    /// a reply in its thread reaches the customer.
    Handoff { reply: Reply, handoff: i64 },
    /// Replace a message the bot posted earlier.
    Edit { message: MessageRef, reply: Reply },
    /// Answer through a short-lived reply URL (Slack `response_url`, a Discord interaction).
    Respond { url: String, reply: Reply, replace: bool },
    /// Email an approved purchase order to its vendor (the row's target); once it goes, the PO
    /// is marked sent in the same transaction.
    PurchaseOrderEmail { purchase_order: String },
    /// Place an approved purchase order in the POS's own purchase orders (the row's target
    /// names the POS); once it is there, the POS's id is kept on the PO and the PO is sent.
    PurchaseOrderToPos { purchase_order: String },
    /// Record an approved purchase order in the accounting platform (QuickBooks); once it is
    /// there, the platform's id is kept on the PO.
    PurchaseOrderToAccounting { purchase_order: String },
    /// POST `body` (JSON) to the row's target URL, signed with the review token when sent: a
    /// discount decision for the POS middleware that asked to be called back.
    Callback { body: String },
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub channel: String,
    pub target: String,
    pub payload: String,
    pub attempts: i64,
}

impl OutboxRow {
    pub fn channel(&self) -> Option<ChannelKind> {
        ChannelKind::parse(&self.channel)
    }

    pub fn outgoing(&self) -> Result<Outgoing, serde_json::Error> {
        serde_json::from_str(&self.payload)
    }
}

impl Store {
    /// Queues a message inside `tx`; it goes out once `tx` commits.
    pub async fn enqueue(
        &self,
        tx: &mut Tx,
        channel: ChannelKind,
        target: &str,
        outgoing: &Outgoing,
        now_ms: i64,
    ) -> Result<i64, StoreError> {
        let payload = serde_json::to_string(outgoing).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO outbox (channel, target, payload, next_attempt_at_ms, created_at_ms) \
             VALUES ($1, $2, $3, $4, $4) RETURNING id",
        )
        .bind(channel.as_str())
        .bind(target)
        .bind(payload)
        .bind(now_ms)
        .fetch_one(&mut **tx)
        .await?;
        Ok(id)
    }

    /// Leases up to `limit` due messages to `worker`: the oldest pending one of each
    /// conversation.
    pub async fn claim_outbox(
        &self,
        worker: &str,
        limit: i64,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let rows = self.claim_leased::<OutboxRow>(&OUTBOX, worker, limit, now_ms, lease_ms).await?;
        Ok(rows.into_iter().map(|(_, row)| row).collect())
    }

    /// Marks a message sent inside `tx` if `worker` still holds it; false when the lease was
    /// lost (the caller rolls back).
    pub async fn finish_outbox(
        &self,
        tx: &mut Tx,
        row: &OutboxRow,
        worker: &str,
        external_ref: Option<&str>,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        if !self.finish_leased(tx, &OUTBOX, row.id, worker, now_ms).await? {
            return Ok(false);
        }
        if external_ref.is_some() {
            sqlx::query("UPDATE outbox SET external_ref = $1 WHERE id = $2")
                .bind(external_ref)
                .bind(row.id)
                .execute(&mut **tx)
                .await?;
        }
        Ok(true)
    }

    /// Records a failed attempt: retried at `retry_at_ms`, or parked (now when `permanent`, or
    /// after `max_attempts`) and audited.
    pub async fn fail_outbox(
        &self,
        row: &OutboxRow,
        worker: &str,
        error: &str,
        retry_at_ms: i64,
        permanent: bool,
        max_attempts: i64,
    ) -> Result<bool, StoreError> {
        let parked = permanent || row.attempts >= max_attempts;
        let mut tx = self.begin().await?;
        let updated =
            self.fail_leased(&mut tx, &OUTBOX, row.id, worker, error, (!parked).then_some(retry_at_ms)).await?;
        if updated && parked {
            self.audit(
                &mut tx,
                &AuditEntry {
                    actor: "tillpilot".into(),
                    channel: row.channel.clone(),
                    kind: "outbox.parked".into(),
                    subject: format!("outbox:{}", row.id),
                    detail: json!({ "target": row.target, "attempts": row.attempts, "error": error }),
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(parked)
    }

    /// Outbox rows per channel and state, for `/metrics`.
    pub async fn outbox_states(&self) -> Result<Vec<(String, String, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT channel, state, COUNT(*) FROM outbox GROUP BY channel, state ORDER BY channel, state",
        )
        .fetch_all(self.pool())
        .await?)
    }
}
