//! Feature flags: one per workflow (`summary`, `anomalies`, `reorder`, `review`, …), for the
//! whole shop (location `''`) or one location, each `off`, `shadow` (compute and record, but
//! post and write nothing) or `on`.

use super::{AuditEntry, Store, StoreError};
use serde::Serialize;
use serde_json::json;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagState {
    Off,
    Shadow,
    On,
}

impl FlagState {
    pub fn as_str(self) -> &'static str {
        match self {
            FlagState::Off => "off",
            FlagState::Shadow => "shadow",
            FlagState::On => "on",
        }
    }

    pub fn parse(text: &str) -> Option<FlagState> {
        match text.trim().to_ascii_lowercase().as_str() {
            "off" => Some(FlagState::Off),
            "shadow" => Some(FlagState::Shadow),
            "on" => Some(FlagState::On),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FlagRow {
    pub flag: String,
    /// `""` for the whole shop.
    pub location: String,
    pub state: FlagState,
    pub updated_by: String,
    pub updated_at_ms: i64,
}

impl Store {
    /// Sets a flag and audits the change (with the state it replaced), in one transaction.
    pub async fn set_flag(
        &self,
        flag: &str,
        location: &str,
        state: FlagState,
        by: &str,
        channel: &str,
        now_ms: i64,
    ) -> Result<Option<FlagState>, StoreError> {
        let mut tx = self.begin().await?;
        let before: Option<(String,)> =
            sqlx::query_as("SELECT state FROM feature_flags WHERE flag = $1 AND location = $2")
                .bind(flag)
                .bind(location)
                .fetch_optional(&mut *tx)
                .await?;
        let before = before.and_then(|(s,)| FlagState::parse(&s));
        sqlx::query(
            "INSERT INTO feature_flags (flag, location, state, updated_by, updated_at_ms) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (flag, location) DO UPDATE SET state = excluded.state, updated_by = excluded.updated_by, \
             updated_at_ms = excluded.updated_at_ms",
        )
        .bind(flag)
        .bind(location)
        .bind(state.as_str())
        .bind(by)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        self.audit(
            &mut tx,
            &AuditEntry {
                actor: by.to_owned(),
                channel: channel.to_owned(),
                kind: "flag.changed".into(),
                subject: flag.to_owned(),
                detail: json!({ "location": location, "state": state, "was": before }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(before)
    }

    pub async fn flag_rows(&self) -> Result<Vec<FlagRow>, StoreError> {
        let rows: Vec<(String, String, String, String, i64)> = sqlx::query_as(
            "SELECT flag, location, state, updated_by, updated_at_ms FROM feature_flags ORDER BY flag, location",
        )
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|(flag, location, state, updated_by, updated_at_ms)| {
                let state =
                    FlagState::parse(&state).ok_or_else(|| StoreError::Corrupt(format!("flag {flag}: {state:?}")))?;
                Ok(FlagRow { flag, location, state, updated_by, updated_at_ms })
            })
            .collect()
    }
}
