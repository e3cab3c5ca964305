//! Approvals: requests for a person with enough authority to say yes or no (purchase orders,
//! large discounts, refunds, flag changes). A request moves from `pending` to `approved`,
//! `rejected` or `expired` exactly once: the change is one conditional UPDATE, so a second
//! click, a click after the deadline, or two processes racing cannot decide it twice.

use super::{Store, StoreError, Tx};
use crate::domain::Role;
use crate::message::MessageRef;
use serde::Serialize;

/// Where an approval stands. It leaves `Pending` once, for one of the other three.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalState {
    Pending,
    Approved,
    Rejected,
    Expired,
}

impl ApprovalState {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalState::Pending => "pending",
            ApprovalState::Approved => "approved",
            ApprovalState::Rejected => "rejected",
            ApprovalState::Expired => "expired",
        }
    }

    pub fn parse(text: &str) -> Option<ApprovalState> {
        [ApprovalState::Pending, ApprovalState::Approved, ApprovalState::Rejected, ApprovalState::Expired]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

impl std::fmt::Display for ApprovalState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for ApprovalState {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Approval {
    /// A short code people can type (`YES K7Q2MX` by SMS).
    pub id: String,
    pub kind: String,
    pub subject: String,
    /// What is being approved, as the person will read it.
    pub detail: String,
    pub state: ApprovalState,
    pub required_role: Role,
    pub requested_by: String,
    pub requested_at_ms: i64,
    pub expires_at_ms: i64,
    pub decided_by: Option<String>,
    pub decided_at_ms: Option<i64>,
    /// Every message that carried the request.
    pub messages: Vec<MessageRef>,
}

type ApprovalRow =
    (String, String, String, String, String, String, String, i64, i64, Option<String>, Option<i64>, String);

const COLUMNS: &str = "id, kind, subject, detail, state, required_role, requested_by, requested_at_ms, \
    expires_at_ms, decided_by, decided_at_ms, message_refs";

fn from_row(row: ApprovalRow) -> Result<Approval, StoreError> {
    let (
        id,
        kind,
        subject,
        detail,
        state,
        role,
        requested_by,
        requested_at_ms,
        expires_at_ms,
        decided_by,
        decided_at_ms,
        refs,
    ) = row;
    Ok(Approval {
        state: ApprovalState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("approval {id}: state {state:?}")))?,
        required_role: Role::parse(&role)
            .ok_or_else(|| StoreError::Corrupt(format!("approval {id}: role {role:?}")))?,
        messages: serde_json::from_str(&refs).map_err(|e| StoreError::Corrupt(format!("approval {id}: {e}")))?,
        id,
        kind,
        subject,
        detail,
        requested_by,
        requested_at_ms,
        expires_at_ms,
        decided_by,
        decided_at_ms,
    })
}

/// The outcome of trying to decide.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecideOutcome {
    Decided(Approval),
    /// Someone decided first, or it expired: the approval as it stands.
    AlreadyClosed(Approval),
    Missing,
}

impl Store {
    pub async fn insert_approval(&self, tx: &mut Tx, approval: &Approval) -> Result<(), StoreError> {
        let refs = serde_json::to_string(&approval.messages).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "INSERT INTO approvals (id, kind, subject, detail, state, required_role, requested_by, requested_at_ms, \
             expires_at_ms, message_refs) VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $8, $9)",
        )
        .bind(&approval.id)
        .bind(&approval.kind)
        .bind(&approval.subject)
        .bind(&approval.detail)
        .bind(approval.required_role.as_str())
        .bind(&approval.requested_by)
        .bind(approval.requested_at_ms)
        .bind(approval.expires_at_ms)
        .bind(refs)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub async fn approval(&self, id: &str) -> Result<Option<Approval>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM approvals WHERE id = $1");
        let row: Option<ApprovalRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(self.pool()).await?;
        row.map(from_row).transpose()
    }

    /// Approvals still waiting, oldest first.
    pub async fn pending_approvals(&self) -> Result<Vec<Approval>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM approvals WHERE state = 'pending' ORDER BY requested_at_ms, id");
        let rows: Vec<ApprovalRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(self.pool()).await?;
        rows.into_iter().map(from_row).collect()
    }

    /// Moves a pending, unexpired approval to `state` (approved or rejected) inside `tx`.
    pub async fn decide_approval(
        &self,
        tx: &mut Tx,
        id: &str,
        state: ApprovalState,
        decided_by: &str,
        now_ms: i64,
    ) -> Result<DecideOutcome, StoreError> {
        let updated = sqlx::query(
            "UPDATE approvals SET state = $1, decided_by = $2, decided_at_ms = $3 \
             WHERE id = $4 AND state = 'pending' AND expires_at_ms > $3",
        )
        .bind(state.as_str())
        .bind(decided_by)
        .bind(now_ms)
        .bind(id)
        .execute(&mut **tx)
        .await?;
        let sql = format!("SELECT {COLUMNS} FROM approvals WHERE id = $1");
        let row: Option<ApprovalRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut **tx).await?;
        let Some(approval) = row.map(from_row).transpose()? else { return Ok(DecideOutcome::Missing) };
        Ok(if updated.rows_affected() == 1 {
            DecideOutcome::Decided(approval)
        } else {
            DecideOutcome::AlreadyClosed(approval)
        })
    }

    /// Replaces a pending approval's request text inside `tx`; the approval as it now stands,
    /// or `None` when it is no longer pending.
    pub async fn restate_approval(&self, tx: &mut Tx, id: &str, detail: &str) -> Result<Option<Approval>, StoreError> {
        let updated = sqlx::query("UPDATE approvals SET detail = $1 WHERE id = $2 AND state = 'pending'")
            .bind(detail)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        if updated.rows_affected() == 0 {
            return Ok(None);
        }
        let sql = format!("SELECT {COLUMNS} FROM approvals WHERE id = $1");
        let row: Option<ApprovalRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut **tx).await?;
        row.map(from_row).transpose()
    }

    /// Marks pending approvals past their deadline expired; returns them.
    pub async fn expire_approvals(&self, tx: &mut Tx, now_ms: i64) -> Result<Vec<Approval>, StoreError> {
        let sql = format!(
            "UPDATE approvals SET state = 'expired', decided_at_ms = $1 \
             WHERE state = 'pending' AND expires_at_ms <= $1 RETURNING {COLUMNS}"
        );
        let rows: Vec<ApprovalRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(now_ms).fetch_all(&mut **tx).await?;
        rows.into_iter().map(from_row).collect()
    }

    /// Remembers that `message` carries the request, so the decision can be shown on it.
    pub async fn add_approval_message(&self, tx: &mut Tx, id: &str, message: &MessageRef) -> Result<(), StoreError> {
        // Read-modify-write under the row lock the UPDATE below takes on PostgreSQL; SQLite
        // has one writer.
        let row: Option<(String,)> = sqlx::query_as("SELECT message_refs FROM approvals WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
        let Some((refs,)) = row else { return Ok(()) };
        let mut messages: Vec<MessageRef> =
            serde_json::from_str(&refs).map_err(|e| StoreError::Corrupt(format!("approval {id}: {e}")))?;
        if !messages.contains(message) {
            messages.push(message.clone());
        }
        let refs = serde_json::to_string(&messages).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query("UPDATE approvals SET message_refs = $1 WHERE id = $2")
            .bind(refs)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}
