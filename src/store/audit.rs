//! The audit log: append-only and hash-chained. Each record's hash is SHA-256 over the previous
//! record's hash and a length-prefixed encoding of the record, so editing, deleting, inserting
//! or reordering any row breaks the chain from that row on. The one-row `audit_head` table is
//! updated in the same transaction as each append: it serialises writers (its row lock on
//! PostgreSQL, the write lock on SQLite) and makes a truncated tail detectable.

use super::json_rows::{self, Kind};
use super::{Backend, Store, StoreError, Tx, now_ms};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// A query over the columns of a record, in `AuditRecord` order.
macro_rules! select_records {
    ($rest:literal) => {
        concat!("SELECT seq, at_ms, actor, channel, kind, subject, detail, prev_hash, hash FROM audit_log ", $rest)
    };
}

/// An `audit_log` row's own columns, as `audit_many` writes them (`at_ms` is shared).
const RECORD_COLUMNS: [(&str, Kind); 8] = [
    ("seq", Kind::Int),
    ("actor", Kind::Text),
    ("channel", Kind::Text),
    ("kind", Kind::Text),
    ("subject", Kind::Text),
    ("detail", Kind::Text),
    ("prev_hash", Kind::Text),
    ("hash", Kind::Text),
];

pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened, before it is sealed into the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// Who did it: a person's name, a customer's phone, or `tillpilot` for the bot itself.
    pub actor: String,
    /// Where: `terminal`, `cli`, `slack`, `sms`, `http`, ...
    pub channel: String,
    /// What: `message.in`, `message.out`, `access.denied`, `approval.decided`, `pos.write`, ...
    pub kind: String,
    /// What it was about: an intent, an order number, an approval id.
    pub subject: String,
    /// Everything else, as JSON.
    pub detail: serde_json::Value,
}

/// An entry whose detail is already JSON text, for records written at a rate where building a
/// `serde_json::Value` first would cost more than the rest of the record (a batch of checkout
/// reviews). The text must be one JSON value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditText {
    pub actor: String,
    pub channel: String,
    pub kind: String,
    pub subject: String,
    pub detail: String,
}

/// What can be sealed into the chain: an `AuditEntry` or an `AuditText`.
pub trait Auditable {
    /// actor, channel, kind, subject
    fn fields(&self) -> [&str; 4];
    /// The detail as the JSON text stored and hashed.
    fn detail_text(&self) -> std::borrow::Cow<'_, str>;
}

impl Auditable for AuditEntry {
    fn fields(&self) -> [&str; 4] {
        [&self.actor, &self.channel, &self.kind, &self.subject]
    }

    fn detail_text(&self) -> std::borrow::Cow<'_, str> {
        self.detail.to_string().into()
    }
}

impl Auditable for AuditText {
    fn fields(&self) -> [&str; 4] {
        [&self.actor, &self.channel, &self.kind, &self.subject]
    }

    fn detail_text(&self) -> std::borrow::Cow<'_, str> {
        self.detail.as_str().into()
    }
}

/// A sealed record as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct AuditRecord {
    pub seq: i64,
    pub at_ms: i64,
    pub actor: String,
    pub channel: String,
    pub kind: String,
    pub subject: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

/// Records chained onto a head already taken (its sequence numbers reserved), ready to write.
pub(super) struct Sealed {
    records: Vec<AuditRecord>,
    /// The last record's hash: the head's new hash.
    head: String,
}

impl Sealed {
    /// Seals `entries` as the records from `first` on, chained to `prev_hash`.
    pub(super) fn new<T: Auditable>(entries: &[T], first: i64, prev_hash: String, at_ms: i64) -> Sealed {
        let records = seal(entries, first, prev_hash.clone(), at_ms);
        let head = records.last().map_or(prev_hash, |r| r.hash.clone());
        Sealed { records, head }
    }

    /// The statement that writes the records and the head's new hash. SQLite takes the records
    /// as bound values (a batch's record can be a few hundred kilobytes of detail, which
    /// SQLite would otherwise parse out of JSON) and, with `commit`, commits in the same call;
    /// PostgreSQL takes them as one JSON value and runs one statement a call, so there the
    /// caller commits.
    pub(super) fn append(
        self,
        backend: Backend,
        commit: bool,
    ) -> Result<sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments>, StoreError> {
        let columns = "INSERT INTO audit_log (seq, actor, channel, kind, subject, detail, prev_hash, hash, at_ms)";
        if backend == Backend::Sqlite {
            let then = if commit { "; COMMIT" } else { "" };
            let values = json_rows::nameless_values(self.records.len(), RECORD_COLUMNS.len() + 1);
            let sql = format!("{columns} {values}; UPDATE audit_head SET hash = ? WHERE id = 1{then}");
            let query = self.records.into_iter().fold(sqlx::query(sqlx::AssertSqlSafe(sql)), |query, r| {
                query
                    .bind(r.seq)
                    .bind(r.actor)
                    .bind(r.channel)
                    .bind(r.kind)
                    .bind(r.subject)
                    .bind(r.detail)
                    .bind(r.prev_hash)
                    .bind(r.hash)
                    .bind(r.at_ms)
            });
            return Ok(query.bind(self.head));
        }
        let at_ms = self.records.first().map_or(0, |r| r.at_ms);
        let sql = format!(
            "WITH appended AS ({columns} {} RETURNING seq) UPDATE audit_head SET hash = $3 WHERE id = 1",
            json_rows::select(backend, 1, &RECORD_COLUMNS, &["$2"])
        );
        Ok(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(json_rows::encode(&self.records)?).bind(at_ms).bind(self.head))
    }
}

/// `entries` as the records from `first` on, chained to `prev_hash`, all stamped `at_ms`.
pub(super) fn seal<T: Auditable>(entries: &[T], first: i64, mut prev_hash: String, at_ms: i64) -> Vec<AuditRecord> {
    let mut records = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let seq = first + i as i64;
        let detail = entry.detail_text().into_owned();
        let [actor, channel, kind, subject] = entry.fields();
        let hash = chain_hash(&prev_hash, seq, at_ms, [actor, channel, kind, subject, &detail]);
        records.push(AuditRecord {
            seq,
            at_ms,
            actor: actor.to_owned(),
            channel: channel.to_owned(),
            kind: kind.to_owned(),
            subject: subject.to_owned(),
            detail,
            prev_hash: std::mem::replace(&mut prev_hash, hash.clone()),
            hash,
        });
    }
    records
}

/// Where and how the chain is broken.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("audit log broken at sequence {seq}: {reason}")]
pub struct ChainBreak {
    pub seq: i64,
    pub reason: String,
}

/// The hash of one record, chained to `prev_hash`.
pub fn chain_hash(prev_hash: &str, seq: i64, at_ms: i64, fields: [&str; 5]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    for number in [seq, at_ms] {
        hasher.update(number.to_be_bytes());
    }
    // actor, channel, kind, subject, detail
    for field in fields {
        hasher.update((field.len() as u64).to_be_bytes());
        hasher.update(field.as_bytes());
    }
    hex::encode(hasher.finalize())
}

impl AuditRecord {
    fn expected_hash(&self) -> String {
        chain_hash(
            &self.prev_hash,
            self.seq,
            self.at_ms,
            [&self.actor, &self.channel, &self.kind, &self.subject, &self.detail],
        )
    }
}

/// Checks a whole chain in sequence order against the stored head `(seq, hash)`.
pub fn verify_chain(records: &[AuditRecord], head: (i64, &str)) -> Result<u64, ChainBreak> {
    let mut prev_hash = GENESIS_HASH.to_owned();
    let mut expected_seq = 1;
    for record in records {
        if record.seq != expected_seq {
            let reason = if record.seq > expected_seq {
                format!("record {expected_seq} is missing (next is {})", record.seq)
            } else {
                format!("record {} appears out of order", record.seq)
            };
            return Err(ChainBreak { seq: expected_seq, reason });
        }
        if record.prev_hash != prev_hash {
            return Err(ChainBreak { seq: record.seq, reason: "does not link to the record before it".into() });
        }
        if record.expected_hash() != record.hash {
            return Err(ChainBreak { seq: record.seq, reason: "contents do not match the hash".into() });
        }
        prev_hash = record.hash.clone();
        expected_seq += 1;
    }
    let last = expected_seq - 1;
    if head.0 != last || head.1 != prev_hash {
        let reason = format!(
            "the log ends at {last} but the head records {} (records were removed or added at the end)",
            head.0
        );
        return Err(ChainBreak { seq: last.min(head.0) + 1, reason });
    }
    Ok(u64::try_from(last).unwrap_or(0))
}

impl Store {
    /// Appends `entry` inside `tx`, so it commits or rolls back with the change it records.
    /// Returns the record's sequence number.
    pub async fn audit(&self, tx: &mut Tx, entry: &impl Auditable) -> Result<i64, StoreError> {
        let seqs = self.audit_many(tx, std::slice::from_ref(entry)).await?;
        seqs.first().copied().ok_or_else(|| StoreError::Corrupt("no sequence number for an audit record".into()))
    }

    /// Appends `entries` in order inside `tx` in two statements whatever their number: one
    /// takes the head (and with it the write lock) and reserves their sequence numbers, the
    /// other writes the records and the head's new hash. Returns their sequence numbers.
    pub async fn audit_many<T: Auditable>(&self, tx: &mut Tx, entries: &[T]) -> Result<Vec<i64>, StoreError> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let count = entries.len() as i64;
        let (last, prev_hash): (i64, String) =
            sqlx::query_as("UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, hash")
                .bind(count)
                .fetch_one(&mut **tx)
                .await?;
        let first = last - count + 1;
        Sealed::new(entries, first, prev_hash, now_ms()).append(self.backend(), false)?.execute(&mut **tx).await?;
        Ok((first..=last).collect())
    }

    /// Appends one entry in a transaction of its own.
    pub async fn audit_now(&self, entry: &AuditEntry) -> Result<i64, StoreError> {
        let mut tx = self.begin().await?;
        let seq = self.audit(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(seq)
    }

    /// The newest `n` records, oldest first.
    pub async fn audit_tail(&self, n: i64) -> Result<Vec<AuditRecord>, StoreError> {
        let mut records: Vec<AuditRecord> =
            sqlx::query_as(select_records!("ORDER BY seq DESC LIMIT $1")).bind(n).fetch_all(self.pool()).await?;
        records.reverse();
        Ok(records)
    }

    /// Every record at or after `since_ms`, oldest first.
    pub async fn audit_since(&self, since_ms: i64) -> Result<Vec<AuditRecord>, StoreError> {
        Ok(sqlx::query_as(select_records!("WHERE at_ms >= $1 ORDER BY seq"))
            .bind(since_ms)
            .fetch_all(self.pool())
            .await?)
    }

    pub async fn audit_record(&self, seq: i64) -> Result<Option<AuditRecord>, StoreError> {
        Ok(sqlx::query_as(select_records!("WHERE seq = $1")).bind(seq).fetch_optional(self.pool()).await?)
    }

    /// Recomputes the whole chain. `Ok(n)` is the number of records checked.
    pub async fn audit_verify(&self) -> Result<Result<u64, ChainBreak>, StoreError> {
        let mut tx = self.begin().await?;
        let head: (i64, String) =
            sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1").fetch_one(&mut *tx).await?;
        let records: Vec<AuditRecord> = sqlx::query_as(select_records!("ORDER BY seq")).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        Ok(verify_chain(&records, (head.0, &head.1)))
    }
}
