//! Claiming inbox events for processing. A claim is a lease (`locked_by`, `locked_until_ms`):
//! a worker finishes an event only while it still holds the lease, in the same transaction as
//! the event's effects, so an event's effects commit exactly once even when a worker dies or
//! stalls past its lease and another takes over. Within one object (an order, an item) events
//! are claimed in arrival order: a newer one waits while an older one is pending.

use super::inbox::InboxRow;
use super::{AuditEntry, Backend, Store, StoreError, Tx};
use serde_json::json;

/// The claim statement, with the row-locking clause each backend needs on its subquery.
/// Due events, oldest first, skipping any whose object has an older event still pending.
macro_rules! claim_sql {
    ($lock:literal) => {
        concat!(
            "UPDATE inbox SET locked_by = $1, locked_until_ms = $2, attempts = attempts + 1 WHERE id IN (",
            "SELECT i.id FROM inbox i WHERE i.state = 'pending' AND i.next_attempt_at_ms <= $3 ",
            "AND (i.locked_until_ms IS NULL OR i.locked_until_ms < $3) ",
            "AND NOT EXISTS (SELECT 1 FROM inbox o WHERE o.source = i.source AND o.object_id = i.object_id ",
            "AND o.state = 'pending' AND o.id < i.id) ",
            "ORDER BY i.id LIMIT $4 ",
            $lock,
            ") RETURNING id, source, event_id, event_type, object_id, payload, state, attempts"
        )
    };
}

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
        // PostgreSQL skips rows another worker is claiming; SQLite has a single writer anyway.
        let sql = match self.backend() {
            Backend::Postgres => claim_sql!("FOR UPDATE SKIP LOCKED"),
            Backend::Sqlite => claim_sql!(""),
        };
        let mut rows: Vec<InboxRow> = sqlx::query_as(sql)
            .bind(worker)
            .bind(now_ms + lease_ms)
            .bind(now_ms)
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        rows.sort_by_key(|r| r.id);
        Ok(rows)
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
        let updated = sqlx::query(
            "UPDATE inbox SET state = 'done', processed_at_ms = $1, locked_by = NULL, locked_until_ms = NULL \
             WHERE id = $2 AND locked_by = $3 AND state = 'pending'",
        )
        .bind(now_ms)
        .bind(row.id)
        .bind(worker)
        .execute(&mut **tx)
        .await?;
        if updated.rows_affected() != 1 {
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
        let state = if outcome == FailureOutcome::Parked { "parked" } else { "pending" };
        let mut tx = self.begin().await?;
        let updated = sqlx::query(
            "UPDATE inbox SET state = $1, last_error = $2, next_attempt_at_ms = $3, locked_by = NULL, locked_until_ms = NULL \
             WHERE id = $4 AND locked_by = $5 AND state = 'pending'",
        )
        .bind(state)
        .bind(error)
        .bind(retry_at_ms)
        .bind(row.id)
        .bind(worker)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 1 && outcome == FailureOutcome::Parked {
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
