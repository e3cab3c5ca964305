//! The inbox: verified inbound events, unique on source and provider event id, so a
//! redelivery is recognised and never processed twice.

use super::{AuditEntry, Store, StoreError, Tx};
use crate::pos::webhook::WebhookEvent;
use serde_json::json;

/// One inbox row as stored.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct InboxRow {
    pub id: i64,
    pub source: String,
    pub event_id: String,
    pub event_type: String,
    pub object_id: Option<String>,
    pub payload: String,
    pub state: String,
    pub attempts: i64,
}

impl Store {
    /// Records `events` inside `tx`, auditing each new one; returns how many were new.
    /// Redeliveries (same source and event id) are ignored.
    pub async fn receive_events(&self, tx: &mut Tx, events: &[WebhookEvent], now_ms: i64) -> Result<usize, StoreError> {
        let mut new = 0;
        for event in events {
            let inserted: Option<(i64,)> = sqlx::query_as(
                "INSERT INTO inbox (source, event_id, event_type, object_id, payload, received_at_ms, next_attempt_at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (source, event_id) DO NOTHING RETURNING id",
            )
            .bind(event.source)
            .bind(&event.event_id)
            .bind(&event.event_type)
            .bind(&event.object_id)
            .bind(&event.payload)
            .bind(now_ms)
            .fetch_optional(&mut **tx)
            .await?;
            if let Some((id,)) = inserted {
                new += 1;
                self.audit(
                    tx,
                    &AuditEntry {
                        actor: event.source.to_owned(),
                        channel: "webhook".into(),
                        kind: "webhook.received".into(),
                        subject: event.event_type.clone(),
                        detail: json!({ "inbox_id": id, "event_id": event.event_id, "object_id": event.object_id }),
                    },
                )
                .await?;
            }
        }
        Ok(new)
    }

    /// Inbox rows in arrival order, for inspection and tests.
    pub async fn inbox(&self, source: &str) -> Result<Vec<InboxRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, source, event_id, event_type, object_id, payload, state, attempts FROM inbox WHERE source = $1 ORDER BY id",
        )
        .bind(source)
        .fetch_all(self.pool())
        .await?)
    }
}
