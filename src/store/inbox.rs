//! The inbox: verified inbound events, unique on source and provider event id, so a
//! redelivery is recognised and never processed twice.

use super::json_rows::{self, Kind};
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

const INBOX_COLUMNS: [(&str, Kind); 5] = [
    ("source", Kind::Text),
    ("event_id", Kind::Text),
    ("event_type", Kind::Text),
    ("object_id", Kind::Text),
    ("payload", Kind::Text),
];

impl Store {
    /// Records `events` inside `tx`; returns the event ids that were new. Redeliveries (same
    /// source and event id) are ignored. The rows go in as one statement (`json_rows`) and the
    /// new ones are audited in one record per source listing each event, so a group-committed
    /// burst of any size costs three statements.
    pub async fn receive_events(
        &self,
        tx: &mut Tx,
        events: &[WebhookEvent],
        now_ms: i64,
    ) -> Result<Vec<String>, StoreError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        #[derive(serde::Serialize)]
        struct Row<'a> {
            source: &'a str,
            event_id: &'a str,
            event_type: &'a str,
            object_id: Option<&'a str>,
            payload: &'a str,
        }
        let rows: Vec<Row> = events
            .iter()
            .map(|e| Row {
                source: e.source,
                event_id: &e.event_id,
                event_type: &e.event_type,
                object_id: e.object_id.as_deref(),
                payload: &e.payload,
            })
            .collect();
        let sql = format!(
            "INSERT INTO inbox (source, event_id, event_type, object_id, payload, received_at_ms, next_attempt_at_ms) \
             {} ON CONFLICT (source, event_id) DO NOTHING RETURNING id, source, event_id",
            json_rows::select(self.backend(), 1, &INBOX_COLUMNS, &["$2", "$2"])
        );
        let mut inserted: Vec<(i64, String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(json_rows::encode(&rows)?)
            .bind(now_ms)
            .fetch_all(&mut **tx)
            .await?;
        inserted.sort_unstable();
        let mut received: Vec<(&'static str, serde_json::Value)> = Vec::with_capacity(inserted.len());
        let mut new = Vec::with_capacity(inserted.len());
        let by_id: std::collections::HashMap<(&str, &str), &WebhookEvent> =
            events.iter().map(|e| ((e.source, e.event_id.as_str()), e)).collect();
        for (id, source, event_id) in inserted {
            // The same event twice in one batch inserts once, and is audited once.
            let Some(event) = by_id.get(&(source.as_str(), event_id.as_str())) else { continue };
            received.push((
                event.source,
                json!({ "inbox_id": id, "event_id": event.event_id, "type": event.event_type, "object_id": event.object_id }),
            ));
            new.push(event_id);
        }
        let mut sources: Vec<&'static str> = Vec::new();
        for (source, _) in &received {
            if !sources.contains(source) {
                sources.push(source);
            }
        }
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
