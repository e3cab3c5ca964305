//! The one leased queue behind the inbox and the outbox. A claim is a lease (`locked_by`,
//! `locked_until_ms`): a worker finishes a row only while it still holds the lease, in the same
//! transaction as the row's effects, so effects commit exactly once even when a worker dies or
//! stalls past its lease and another takes over. Rows of one group (an object's events, a
//! conversation's messages) are claimed in order: a newer one waits while an older one is
//! pending. On PostgreSQL claimers skip rows another is claiming (`FOR UPDATE SKIP LOCKED`);
//! SQLite has a single writer anyway.

use super::{Backend, Store, StoreError, Tx};
use sqlx::any::AnyRow;

/// A table worked as a leased queue. Its rows have `id`, `state` (`pending`, `parked` or the
/// done state), `attempts`, `next_attempt_at_ms`, `locked_by`, `locked_until_ms`, `last_error`.
pub struct Queue {
    pub table: &'static str,
    /// The columns whose values make a group claimed in order.
    pub group: [&'static str; 2],
    /// What a claim returns.
    pub returning: &'static str,
    /// The state and the time column of a finished row.
    pub done_state: &'static str,
    pub done_at: &'static str,
}

pub const INBOX: Queue = Queue {
    table: "inbox",
    group: ["source", "object_id"],
    returning: "id, source, event_id, event_type, object_id, payload, state, attempts",
    done_state: "done",
    done_at: "processed_at_ms",
};

pub const OUTBOX: Queue = Queue {
    table: "outbox",
    group: ["channel", "target"],
    returning: "id, channel, target, payload, attempts",
    done_state: "sent",
    done_at: "sent_at_ms",
};

impl Queue {
    fn claim_sql(&self, backend: Backend) -> String {
        let lock = match backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let (t, [a, b]) = (self.table, self.group);
        format!(
            "UPDATE {t} SET locked_by = $1, locked_until_ms = $2, attempts = attempts + 1 WHERE id IN (\
             SELECT q.id FROM {t} q WHERE q.state = 'pending' AND q.next_attempt_at_ms <= $3 \
             AND (q.locked_until_ms IS NULL OR q.locked_until_ms < $3) \
             AND NOT EXISTS (SELECT 1 FROM {t} o WHERE o.{a} = q.{a} AND o.{b} = q.{b} \
             AND o.state = 'pending' AND o.id < q.id) \
             ORDER BY q.id LIMIT $4 {lock}) RETURNING {}",
            self.returning
        )
    }
}

impl Store {
    /// Leases up to `limit` due rows of `queue` to `worker` until `now_ms + lease_ms`, oldest
    /// first.
    pub async fn claim_leased<R>(
        &self,
        queue: &Queue,
        worker: &str,
        limit: i64,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Vec<(i64, R)>, StoreError>
    where
        R: for<'r> sqlx::FromRow<'r, AnyRow> + Send + Unpin,
    {
        let rows: Vec<AnyRow> = sqlx::query(sqlx::AssertSqlSafe(queue.claim_sql(self.backend())))
            .bind(worker)
            .bind(now_ms + lease_ms)
            .bind(now_ms)
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: i64 = sqlx::Row::try_get(row, "id")?;
            out.push((id, R::from_row(row)?));
        }
        out.sort_by_key(|(id, _)| *id);
        Ok(out)
    }

    /// Marks row `id` done inside `tx` (which carries its effects) if `worker` still holds its
    /// lease. False when the lease was lost: the caller rolls back.
    pub async fn finish_leased(
        &self,
        tx: &mut Tx,
        queue: &Queue,
        id: i64,
        worker: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE {} SET state = '{}', {} = $1, locked_by = NULL, locked_until_ms = NULL \
             WHERE id = $2 AND locked_by = $3 AND state = 'pending'",
            queue.table, queue.done_state, queue.done_at
        );
        let updated =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now_ms).bind(id).bind(worker).execute(&mut **tx).await?;
        Ok(updated.rows_affected() == 1)
    }

    /// Records a failed attempt on row `id` inside `tx`: pending again from `retry_at_ms`, or
    /// parked when that is `None`. False when `worker` no longer held the lease (nothing
    /// changed).
    pub async fn fail_leased(
        &self,
        tx: &mut Tx,
        queue: &Queue,
        id: i64,
        worker: &str,
        error: &str,
        retry_at_ms: Option<i64>,
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE {} SET state = $1, last_error = $2, next_attempt_at_ms = $3, locked_by = NULL, \
             locked_until_ms = NULL WHERE id = $4 AND locked_by = $5 AND state = 'pending'",
            queue.table
        );
        let updated = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(if retry_at_ms.is_some() { "pending" } else { "parked" })
            .bind(error)
            .bind(retry_at_ms.unwrap_or_default())
            .bind(id)
            .bind(worker)
            .execute(&mut **tx)
            .await?;
        Ok(updated.rows_affected() == 1)
    }
}
