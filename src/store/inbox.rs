//! The inbox: verified inbound events, unique on source and provider event id, so a
//! redelivery is recognised and never processed twice.

use super::audit::Sealed;
use super::json_rows::{self, Kind};
use super::{AuditText, Backend, Store, StoreError, Tx};
use crate::inbound::WebhookEvent;

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

/// The source the audit head's row carries among the inserted rows `receive_batch` reads back.
const HEAD_MARK: &str = "audit_head";

/// A statement answering `(id, source, event_id)` rows.
type NewRows = sqlx::query::QueryAs<'static, sqlx::Any, (i64, String, String), sqlx::any::AnyArguments>;

/// The insert of `events`, answering `(id, source, event_id)` for each new row. With
/// `take_head`, the same call also takes the audit head, reserving one record when any row is
/// new (on PostgreSQL, or when `$3`, bound by the caller, says earlier statements of the
/// transaction added some), and answers it as one more row `(seq, HEAD_MARK, hash)`. On
/// SQLite, `begin` opens the transaction in the same call.
fn insert(
    backend: Backend,
    events: &[WebhookEvent],
    now_ms: i64,
    take_head: bool,
    begin: bool,
) -> Result<NewRows, StoreError> {
    let rows = match backend {
        Backend::Sqlite => json_rows::nameless_values(events.len(), 7),
        Backend::Postgres => json_rows::select(backend, 1, &INBOX_COLUMNS, &["$2", "$2"]),
    };
    let insert = format!("{INSERT_COLUMNS} {rows} ON CONFLICT (source, event_id) DO NOTHING");
    let begin = if begin && backend == Backend::Sqlite { "BEGIN IMMEDIATE; " } else { "" };
    let sql = match (take_head, backend) {
        (false, _) => format!("{begin}{insert} RETURNING id, source, event_id"),
        // `changes()` counts the rows the INSERT just before it added.
        (true, Backend::Sqlite) => format!(
            "{begin}{insert} RETURNING id, source, event_id; \
             UPDATE audit_head SET seq = seq + (changes() > 0) WHERE id = 1 RETURNING seq, '{HEAD_MARK}', hash"
        ),
        (true, Backend::Postgres) => format!(
            "WITH new AS ({insert} RETURNING id, source, event_id), \
             head AS (UPDATE audit_head SET seq = seq + GREATEST($3, (SELECT (count(*) > 0)::int FROM new)) \
               WHERE id = 1 RETURNING seq, hash) \
             SELECT id, source, event_id FROM new UNION ALL SELECT seq, '{HEAD_MARK}', hash FROM head"
        ),
    };
    let query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
    Ok(match backend {
        Backend::Sqlite => events.iter().fold(query, |query, e| {
            query
                .bind(e.source)
                .bind(e.event_id.clone())
                .bind(e.event_type.clone())
                .bind(e.object_id.clone())
                .bind(e.payload.clone())
                .bind(now_ms)
                .bind(now_ms)
        }),
        Backend::Postgres => query.bind(json_rows::encode(&inbox_rows(events))?).bind(now_ms),
    })
}

/// About what an event adds to a statement, for `Store::statement_runs`.
fn event_bytes(event: &WebhookEvent) -> usize {
    64 + event.event_id.len()
        + event.event_type.len()
        + event.object_id.as_ref().map_or(0, String::len)
        + event.payload.len()
}

/// The events as `INBOX_COLUMNS` rows, for `json_rows`.
fn inbox_rows(events: &[WebhookEvent]) -> Vec<impl serde::Serialize + '_> {
    #[derive(serde::Serialize)]
    struct Row<'a> {
        source: &'a str,
        event_id: &'a str,
        event_type: &'a str,
        object_id: Option<&'a str>,
        payload: &'a str,
    }
    events
        .iter()
        .map(|e| Row {
            source: e.source,
            event_id: &e.event_id,
            event_type: &e.event_type,
            object_id: e.object_id.as_deref(),
            payload: &e.payload,
        })
        .collect()
}

/// The ids of the new events among `events`, given the rows the insert answered, and the audit
/// record that lists them (none when every event was a redelivery).
pub(super) fn received(
    events: &[WebhookEvent],
    mut inserted: Vec<(i64, String, String)>,
) -> (Vec<String>, Option<AuditText>) {
    inserted.sort_unstable();
    let by_id: std::collections::HashMap<(&str, &str), &WebhookEvent> =
        events.iter().map(|e| ((e.source, e.event_id.as_str()), e)).collect();
    // The same event twice in one batch inserts once, and is listed once.
    recorded(inserted.iter().filter_map(|(id, source, event_id)| {
        by_id.get(&(source.as_str(), event_id.as_str())).map(|event| (*id, *event))
    }))
}

/// The ids of the events just inserted, given each with its inbox id in id order, and the audit
/// record that lists them (none when there are none).
pub(super) fn recorded<'a>(
    inserted: impl Iterator<Item = (i64, &'a WebhookEvent)>,
) -> (Vec<String>, Option<AuditText>) {
    /// One new event as its audit record lists it.
    #[derive(serde::Serialize)]
    struct Listed<'a> {
        inbox_id: i64,
        source: &'a str,
        event_id: &'a str,
        #[serde(rename = "type")]
        event_type: &'a str,
        object_id: Option<&'a str>,
    }
    #[derive(serde::Serialize)]
    struct Detail<'a> {
        events: Vec<Listed<'a>>,
    }
    let mut new = Vec::new();
    let mut listed = Vec::new();
    let mut sources: Vec<&str> = Vec::new();
    for (id, event) in inserted {
        if !sources.contains(&event.source) {
            sources.push(event.source);
        }
        listed.push(Listed {
            inbox_id: id,
            source: event.source,
            event_id: &event.event_id,
            event_type: &event.event_type,
            object_id: event.object_id.as_deref(),
        });
        new.push(event.event_id.clone());
    }
    if new.is_empty() {
        return (new, None);
    }
    let audit = AuditText {
        actor: sources.join(", "),
        channel: "webhook".into(),
        kind: "webhook.received".into(),
        subject: format!("{} events", listed.len()),
        // These types always serialise.
        detail: serde_json::to_string(&Detail { events: listed }).unwrap_or_else(|_| "{}".to_owned()),
    };
    (new, Some(audit))
}

/// PostgreSQL's `receive_batch` for a batch that fits one statement: the rows, the audit
/// record listing the new ones and the head's move in one statement, which is a transaction of
/// its own, so a batch is one round trip. The record is sealed by the server with the chain's
/// own hash (`audit::chain_hash`: SHA-256 over the previous hash, the sequence number and the
/// time as 8-byte big-endian integers, and each field with its 8-byte length), over the head
/// it locks (`FOR UPDATE` reads the newest head even when another process moved it meanwhile).
/// When every event is a redelivery, no record is written and the head stays.
async fn received_at_once(
    conn: &mut sqlx::AnyConnection,
    events: &[WebhookEvent],
    now_ms: i64,
) -> Result<Vec<String>, StoreError> {
    use std::sync::LazyLock;
    static SQL: LazyLock<String> = LazyLock::new(|| {
        let rows = json_rows::select(Backend::Postgres, 1, &INBOX_COLUMNS, &["$2", "$2"]);
        let field = |f: &str| format!("int8send(octet_length(entry.{f})::bigint) || convert_to(entry.{f}, 'UTF8')");
        let fields = ["actor", "channel", "kind", "subject", "detail"].map(field).join(" || ");
        format!(
            "WITH new AS ({INSERT_COLUMNS} {rows} ON CONFLICT (source, event_id) DO NOTHING \
               RETURNING id, source, event_id, event_type, object_id), \
             entry AS (SELECT \
               (SELECT string_agg(source, ', ' ORDER BY first) FROM \
                 (SELECT source, min(id) AS first FROM new GROUP BY source) AS sources) AS actor, \
               'webhook'::text AS channel, 'webhook.received'::text AS kind, count(*) || ' events' AS subject, \
               json_build_object('events', json_agg(json_build_object('inbox_id', id, 'source', source, \
                 'event_id', event_id, 'type', event_type, 'object_id', object_id) ORDER BY id))::text AS detail \
               FROM new HAVING count(*) > 0), \
             locked AS (SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE), \
             head AS (UPDATE audit_head SET seq = locked.seq + 1, hash = encode(sha256(convert_to(locked.hash, 'UTF8') \
                 || int8send(locked.seq + 1) || int8send($2) || {fields}), 'hex') \
               FROM locked, entry WHERE audit_head.id = 1 \
               RETURNING audit_head.seq, locked.hash AS prev_hash, audit_head.hash, \
                 entry.actor, entry.channel, entry.kind, entry.subject, entry.detail), \
             appended AS (INSERT INTO audit_log (seq, at_ms, actor, channel, kind, subject, detail, prev_hash, hash) \
               SELECT seq, $2, actor, channel, kind, subject, detail, prev_hash, hash FROM head RETURNING seq) \
             SELECT id, source, event_id FROM new ORDER BY id"
        )
    });
    let rows: Vec<(i64, String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(SQL.as_str()))
        .bind(json_rows::encode(&inbox_rows(events))?)
        .bind(now_ms)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.into_iter().map(|(_, _, event_id)| event_id).collect())
}

/// The inbox insert's head, for the rows `json_rows` or VALUES give it.
pub(super) const INSERT_COLUMNS: &str =
    "INSERT INTO inbox (source, event_id, event_type, object_id, payload, received_at_ms, next_attempt_at_ms)";

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
    /// new ones are audited in one record listing each, so a burst of any size costs three
    /// statements.
    pub async fn receive_events(
        &self,
        tx: &mut Tx,
        events: &[WebhookEvent],
        now_ms: i64,
    ) -> Result<Vec<String>, StoreError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let mut inserted = Vec::new();
        for run in self.statement_runs(events, event_bytes) {
            inserted.extend(insert(self.backend(), run, now_ms, false, false)?.fetch_all(&mut **tx).await?);
        }
        let (new, audit) = received(events, inserted);
        if let Some(audit) = audit {
            self.audit(tx, &audit).await?;
        }
        Ok(new)
    }

    /// `receive_events` in a transaction of its own on `conn`, for the intake writer (which
    /// owns `conn`), in as few calls whatever the batch as the backend allows: BEGIN; the
    /// rows' insert, which also takes the audit head (`changes()` on SQLite, a data-modifying
    /// `WITH` on PostgreSQL); the audit record chained to it; COMMIT. SQLite runs several
    /// statements a call, so there it is two calls (BEGIN with the insert, the record with
    /// COMMIT); PostgreSQL runs one, so four, and over TCP one more for every further 8 KiB of
    /// events (`Store::statement_runs`). On failure the transaction is rolled back and nothing
    /// is recorded.
    pub async fn receive_batch(
        &self,
        conn: &mut sqlx::AnyConnection,
        events: &[WebhookEvent],
        now_ms: i64,
    ) -> Result<Vec<String>, StoreError> {
        let outcome = self.receive_batch_or_stop(conn, events, now_ms).await;
        if outcome.is_err() {
            // Whatever was left open; an error here only says nothing was.
            let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
        }
        outcome
    }

    async fn receive_batch_or_stop(
        &self,
        conn: &mut sqlx::AnyConnection,
        events: &[WebhookEvent],
        now_ms: i64,
    ) -> Result<Vec<String>, StoreError> {
        let backend = self.backend();
        let runs = self.statement_runs(events, event_bytes);
        let Some((last, earlier)) = runs.split_last() else { return Ok(Vec::new()) };
        if backend == Backend::Postgres && earlier.is_empty() {
            return received_at_once(conn, last, now_ms).await;
        }
        let mut rows = Vec::new();
        if backend == Backend::Postgres {
            sqlx::query("BEGIN").execute(&mut *conn).await?;
            for run in earlier {
                rows.extend(insert(backend, run, now_ms, false, false)?.fetch_all(&mut *conn).await?);
            }
        }
        let query = insert(backend, last, now_ms, true, true)?;
        let query = if backend == Backend::Postgres { query.bind(i64::from(!rows.is_empty())) } else { query };
        rows.extend(query.fetch_all(&mut *conn).await?);
        let head = rows.iter().position(|(_, source, _)| source == HEAD_MARK).map(|i| rows.remove(i));
        let (new, audit) = received(events, rows);
        match (audit, head) {
            (Some(audit), Some((seq, _, hash))) => {
                let sealed = Sealed::new(std::slice::from_ref(&audit), seq, hash, now_ms);
                sealed.append(backend, backend == Backend::Sqlite)?.execute(&mut *conn).await?;
            }
            (None, _) => {
                sqlx::query("COMMIT").execute(&mut *conn).await?;
                return Ok(new);
            }
            (Some(_), None) => return Err(StoreError::Corrupt("the audit head was not taken".into())),
        }
        if backend == Backend::Postgres {
            sqlx::query("COMMIT").execute(&mut *conn).await?;
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
