//! The shop's rules added from chat, in plain words. Adding and removing one is audited in the
//! same transaction; a removed rule keeps its row.

use super::{AuditEntry, Store, StoreError};
use serde_json::json;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShopRule {
    pub id: i64,
    pub text: String,
    pub added_by: String,
    pub added_at_ms: i64,
}

impl Store {
    /// The rules in force, oldest first.
    pub async fn shop_rules(&self) -> Result<Vec<ShopRule>, StoreError> {
        let rows: Vec<(i64, String, String, i64)> = sqlx::query_as(
            "SELECT id, text, added_by, added_at_ms FROM shop_rules WHERE removed_at_ms IS NULL ORDER BY id",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, text, added_by, added_at_ms)| ShopRule { id, text, added_by, added_at_ms })
            .collect())
    }

    /// Adds a rule and audits it; returns its id.
    pub async fn add_shop_rule(&self, text: &str, by: &str, channel: &str, now_ms: i64) -> Result<i64, StoreError> {
        let mut tx = self.begin().await?;
        let (id,): (i64,) =
            sqlx::query_as("INSERT INTO shop_rules (text, added_by, added_at_ms) VALUES ($1, $2, $3) RETURNING id")
                .bind(text)
                .bind(by)
                .bind(now_ms)
                .fetch_one(&mut *tx)
                .await?;
        let entry = AuditEntry {
            actor: by.to_owned(),
            channel: channel.to_owned(),
            kind: "rule.added".into(),
            subject: format!("rule {id}"),
            detail: json!({ "text": text }),
        };
        self.audit(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Removes the rule in force with `id` and audits it; `None` when there is none.
    pub async fn remove_shop_rule(
        &self,
        id: i64,
        by: &str,
        channel: &str,
        now_ms: i64,
    ) -> Result<Option<String>, StoreError> {
        let mut tx = self.begin().await?;
        let removed: Option<(String,)> = sqlx::query_as(
            "UPDATE shop_rules SET removed_by = $1, removed_at_ms = $2 WHERE id = $3 AND removed_at_ms IS NULL RETURNING text",
        )
        .bind(by)
        .bind(now_ms)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((text,)) = removed else { return Ok(None) };
        let entry = AuditEntry {
            actor: by.to_owned(),
            channel: channel.to_owned(),
            kind: "rule.removed".into(),
            subject: format!("rule {id}"),
            detail: json!({ "text": text }),
        };
        self.audit(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(Some(text))
    }
}
