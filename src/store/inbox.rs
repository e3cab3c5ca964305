//! The inbox: verified inbound events, unique on source and provider event id, so a
//! redelivery is recognised and never processed twice.

use super::{AuditEntry, Store, StoreError, Tx};
use crate::inbound::WebhookEvent;
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
    /// Records `events` inside `tx`; returns the event ids that were new. Redeliveries (same
    /// source and event id) are ignored. Rows go in as multi-row inserts and the new ones are
    /// audited in one record per source listing each event, so a group-committed burst costs
    /// a handful of statements.
    pub async fn receive_events(
        &self,
        tx: &mut Tx,
        events: &[WebhookEvent],
        now_ms: i64,
    ) -> Result<Vec<String>, StoreError> {
        let mut received: Vec<(&'static str, serde_json::Value)> = Vec::new();
        let mut new = Vec::new();
        // Seven columns a row; on PostgreSQL a statement's rows stay within one TCP segment (see
        // `batch_shapes_within`).
        let bytes = |e: &WebhookEvent| {
            64 + e.event_id.len() + e.event_type.len() + e.object_id.as_ref().map_or(0, String::len) + e.payload.len()
        };
        for chunk in self.batch_shapes_within(events, 7, bytes) {
            let sql = format!(
                "INSERT INTO inbox (source, event_id, event_type, object_id, payload, received_at_ms, next_attempt_at_ms) \
                 VALUES {} ON CONFLICT (source, event_id) DO NOTHING RETURNING id, event_id",
                super::values_placeholders(chunk.len(), 7)
            );
            let mut query = sqlx::query_as::<_, (i64, String)>(sqlx::AssertSqlSafe(sql));
            for event in chunk {
                query = query
                    .bind(event.source)
                    .bind(event.event_id.clone())
                    .bind(event.event_type.clone())
                    .bind(event.object_id.clone())
                    .bind(event.payload.clone())
                    .bind(now_ms)
                    .bind(now_ms);
            }
            let mut inserted = query.fetch_all(&mut **tx).await?;
            inserted.sort_unstable();
            for (id, event_id) in inserted {
                // The same id twice in one chunk inserts once; audit it once.
                let Some(event) = chunk.iter().find(|e| e.event_id == event_id) else { continue };
                new.push(event_id.clone());
                received.push((
                    event.source,
                    json!({ "inbox_id": id, "event_id": event.event_id, "type": event.event_type, "object_id": event.object_id }),
                ));
            }
        }
        let mut sources: Vec<&'static str> = received.iter().map(|(source, _)| *source).collect();
        sources.dedup();
        let audits: Vec<AuditEntry> = sources
            .into_iter()
            .map(|source| {
                let events: Vec<&serde_json::Value> =
                    received.iter().filter(|(s, _)| *s == source).map(|(_, e)| e).collect();
                AuditEntry {
                    actor: source.to_owned(),
                    channel: "webhook".into(),
                    kind: "webhook.received".into(),
                    subject: format!("{} events", events.len()),
                    detail: json!({ "events": events }),
                }
            })
            .collect();
        self.audit_many(tx, &audits).await?;
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
