//! Claiming inbox events for processing, on the leased queue (`leased.rs`): an event's effects
//! commit exactly once, and within one object (an order, an item) events are claimed in
//! arrival order.

use super::inbox::InboxRow;
use super::leased::INBOX;
use super::{AuditEntry, Store, StoreError, Tx};
use serde_json::json;

/// How a failed event is treated: retried later, or parked for a person to look at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureOutcome {
    Retry,
    Parked,
}

impl Store {
    /// Leases up to `limit` due events to `worker` for `lease_ms`.
    pub async fn claim_inbox(
        &self,
        worker: &str,
        limit: i64,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Vec<InboxRow>, StoreError> {
        let rows = self.claim_leased::<InboxRow>(&INBOX, worker, limit, now_ms, lease_ms).await?;
        Ok(rows.into_iter().map(|(_, row)| row).collect())
    }

    /// Marks `row` done inside `tx` (which carries its effects) if `worker` still holds it.
    /// Returns false when the lease was lost: the caller must roll back.
    pub async fn finish_inbox(
        &self,
        tx: &mut Tx,
        row: &InboxRow,
        worker: &str,
        now_ms: i64,
        note: &str,
    ) -> Result<bool, StoreError> {
        if !self.finish_leased(tx, &INBOX, row.id, worker, now_ms).await? {
            return Ok(false);
        }
        self.audit(tx, &AuditEntry {
            actor: "tillpilot".into(),
            channel: "webhook".into(),
            kind: "inbox.processed".into(),
            subject: format!("{}:{}", row.source, row.event_type),
            detail: json!({ "inbox_id": row.id, "event_id": row.event_id, "object_id": row.object_id, "result": note }),
        })
        .await?;
        Ok(true)
    }

    /// Records a failed attempt: retried at `retry_at_ms`, or parked after `max_attempts`.
    pub async fn fail_inbox(
        &self,
        row: &InboxRow,
        worker: &str,
        error: &str,
        retry_at_ms: i64,
        max_attempts: i64,
    ) -> Result<FailureOutcome, StoreError> {
        let outcome = if row.attempts >= max_attempts { FailureOutcome::Parked } else { FailureOutcome::Retry };
        let mut tx = self.begin().await?;
        let parked = outcome == FailureOutcome::Parked;
        let updated =
            self.fail_leased(&mut tx, &INBOX, row.id, worker, error, (!parked).then_some(retry_at_ms)).await?;
        if updated && parked {
            self.audit(&mut tx, &AuditEntry {
                actor: "tillpilot".into(),
                channel: "webhook".into(),
                kind: "inbox.parked".into(),
                subject: format!("{}:{}", row.source, row.event_type),
                detail: json!({ "inbox_id": row.id, "event_id": row.event_id, "attempts": row.attempts, "error": error }),
            })
            .await?;
        }
        tx.commit().await?;
        Ok(outcome)
    }

    /// Inbox rows per state, for `/metrics`.
    pub async fn inbox_states(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(sqlx::query_as("SELECT state, COUNT(*) FROM inbox GROUP BY state ORDER BY state")
            .fetch_all(self.pool())
            .await?)
    }
}
