//! SMS consent: a number that texted STOP (or UNSUBSCRIBE, CANCEL, END, QUIT) gets nothing more
//! until it texts START (or UNSTOP). The outbox checks here before every SMS it sends.

use super::{AuditEntry, Store, StoreError, Tx};
use crate::domain::Phone;
use serde_json::json;

impl Store {
    /// Records an opt-out (`opted_in = false`) or opt-in, and audits it.
    pub async fn set_consent(
        &self,
        tx: &mut Tx,
        phone: &Phone,
        opted_in: bool,
        keyword: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let state = if opted_in { "opted_in" } else { "opted_out" };
        sqlx::query(
            "INSERT INTO consents (phone, state, keyword, updated_at_ms) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (phone) DO UPDATE SET state = excluded.state, keyword = excluded.keyword, \
             updated_at_ms = excluded.updated_at_ms",
        )
        .bind(phone.as_str())
        .bind(state)
        .bind(keyword)
        .bind(now_ms)
        .execute(&mut **tx)
        .await?;
        self.audit(
            tx,
            &AuditEntry {
                actor: phone.to_string(),
                channel: "sms".into(),
                kind: format!("consent.{state}"),
                subject: phone.to_string(),
                detail: json!({ "keyword": keyword }),
            },
        )
        .await
        .map(|_| ())
    }

    /// Whether the number has opted out (and not back in).
    pub async fn opted_out(&self, phone: &str) -> Result<bool, StoreError> {
        let row: Option<(String,)> = sqlx::query_as("SELECT state FROM consents WHERE phone = $1")
            .bind(phone)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.is_some_and(|(state,)| state == "opted_out"))
    }
}
