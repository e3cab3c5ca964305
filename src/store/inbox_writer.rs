//! The inbox's writer for a SQLite file: a connection of its own, used on the calling thread.
//!
//! sqlx runs every SQLite connection on a worker thread of its own and hands each statement to
//! it and its answer back, two thread wake-ups a statement. Under load, when the HTTP tasks and
//! the POS's own connections keep both cores busy, each wake-up waits its turn for a core, and
//! a batch of half a dozen statements waited milliseconds for a fraction of that in work. The
//! intake writer already has a thread of its own, so on SQLite it writes on that thread
//! directly: the same rows, the same audit record and the same single transaction as
//! `Store::receive_batch`, with nothing between the writer and the disk but SQLite itself.
//!
//! The connection commits with the pool's `synchronous = FULL`, so a commit syncs the
//! write-ahead log and an acknowledged event survives power loss. It checkpoints at the same
//! size as the pool's connections (`WAL_CHECKPOINT_PAGES`), but not inside the commit that
//! passes it, as SQLite would: the writer answers the batch first and then copies the log
//! (`checkpoint_if_due`), so the batch's senders do not wait for the copy, only what arrives
//! during it; under load the next batch is then the larger for it, and the benchmark answered
//! about a sixth more deliveries than with the copy inside the commit. Both were measured
//! against the alternatives: committing with `NORMAL` and syncing the log from a second
//! thread, so that one batch's sync overlaps the next one's writing, answered 10% fewer
//! deliveries (the next batch's writes wait for the pages the sync is writing back), and
//! checkpoints on a thread of their own a third fewer. It waits for the write lock as long as
//! the pool's connections do when another writer holds it.

use super::audit::seal;
use super::inbox::{INSERT_COLUMNS, recorded};
use super::{Backend, Store, StoreError};
use crate::inbound::WebhookEvent;
use rusqlite::hooks::Wal;
use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};
use std::cell::Cell;
use std::time::Duration;

thread_local! {
    /// The pages in the write-ahead log after this thread's last commit, as SQLite's WAL hook
    /// reports them (a connection is used on one thread: the intake writer's).
    static LOG_PAGES: Cell<i32> = const { Cell::new(0) };
}

/// SQLite's WAL hook: notes the log's size after a commit, where by default SQLite would
/// checkpoint.
fn note_log_size(_: &Wal, pages: std::ffi::c_int) -> rusqlite::Result<()> {
    LOG_PAGES.with(|log| log.set(pages));
    Ok(())
}

/// How long a batch waits for SQLite's write lock, as the pool's connections do (sqlx's
/// default), before it fails and its senders are answered 503.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

static INSERT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!("{INSERT_COLUMNS} VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) ON CONFLICT (source, event_id) DO NOTHING")
});
const TAKE_HEAD: &str = "UPDATE audit_head SET seq = seq + ?1 WHERE id = 1 RETURNING seq, hash";
const APPEND: &str = "INSERT INTO audit_log \
     (seq, at_ms, actor, channel, kind, subject, detail, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
const SET_HEAD: &str = "UPDATE audit_head SET hash = ?1 WHERE id = 1";

/// A SQLite connection that records inbox batches on the thread that owns it.
pub struct SqliteInbox {
    conn: Connection,
}

impl std::fmt::Debug for SqliteInbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteInbox").field("path", &self.conn.path()).finish()
    }
}

impl Store {
    /// For a SQLite file, a connection of its own for the intake writer's thread; `None` on
    /// PostgreSQL and for an in-memory database, which exists only inside the pool.
    pub fn sqlite_inbox(&self) -> Option<Result<SqliteInbox, StoreError>> {
        if self.backend() != Backend::Sqlite {
            return None;
        }
        let path = sqlite_path(&self.url)?;
        Some(SqliteInbox::open(path))
    }
}

impl SqliteInbox {
    fn open(path: &str) -> Result<SqliteInbox, StoreError> {
        // The pool has created the file and migrated it; this connection only writes rows.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // Replaces SQLite's own checkpointing (`wal_autocheckpoint`) on this connection.
        conn.wal_hook(Some(note_log_size));
        Ok(SqliteInbox { conn })
    }

    /// Records `events` in one transaction, as `Store::receive_batch` does: each new one once
    /// (a redelivery, or the same event twice in the batch, is skipped), in arrival order, and
    /// one audit record listing the new ones. Returns the event ids that were new, once
    /// committed and synced. On failure the transaction is rolled back and nothing is recorded.
    pub fn receive_batch(&mut self, events: &[WebhookEvent], now_ms: i64) -> Result<Vec<String>, StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut inserted = Vec::with_capacity(events.len());
        {
            // A redelivery, or an event seen earlier in the batch, changes nothing; a new row's
            // id is the connection's last inserted rowid.
            let mut insert = tx.prepare_cached(&INSERT)?;
            for e in events {
                if insert.execute(params![e.source, e.event_id, e.event_type, e.object_id, e.payload, now_ms])? == 1 {
                    inserted.push((tx.last_insert_rowid(), e));
                }
            }
        }
        let (new, audit) = recorded(inserted.into_iter());
        if let Some(audit) = audit {
            let (seq, prev_hash): (i64, String) =
                tx.prepare_cached(TAKE_HEAD)?.query_row([1], |row| Ok((row.get(0)?, row.get(1)?)))?;
            let records = seal(std::slice::from_ref(&audit), seq, prev_hash, now_ms);
            let mut append = tx.prepare_cached(APPEND)?;
            for r in &records {
                append.execute(params![
                    r.seq,
                    r.at_ms,
                    r.actor,
                    r.channel,
                    r.kind,
                    r.subject,
                    r.detail,
                    r.prev_hash,
                    r.hash
                ])?;
            }
            if let Some(last) = records.last() {
                tx.prepare_cached(SET_HEAD)?.execute([&last.hash])?;
            }
        }
        tx.commit()?;
        Ok(new)
    }

    /// Copies the write-ahead log into the database once it holds `WAL_CHECKPOINT_PAGES` or
    /// more, without waiting for readers (a reader on an older snapshot only leaves the rest
    /// for the next time). Called between batches, after the last one was answered.
    pub fn checkpoint_if_due(&mut self) -> Result<(), StoreError> {
        if LOG_PAGES.with(Cell::get) < super::WAL_CHECKPOINT_PAGES as i32 {
            return Ok(());
        }
        self.conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        LOG_PAGES.with(|log| log.set(0));
        Ok(())
    }
}

/// The file of a `sqlite:` URL (`sqlite://shop.db?mode=rwc` → `shop.db`); `None` for an
/// in-memory database.
fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split_once('?').map_or(rest, |(path, _)| path);
    let memory = path.is_empty() || path == ":memory:" || url.contains("mode=memory");
    (!memory).then_some(path)
}

#[cfg(test)]
mod tests {
    use super::sqlite_path;

    #[test]
    fn the_file_of_a_sqlite_url() {
        assert_eq!(sqlite_path("sqlite://shop.db?mode=rwc"), Some("shop.db"));
        assert_eq!(sqlite_path("sqlite:///var/lib/tillpilot/shop.db"), Some("/var/lib/tillpilot/shop.db"));
        assert_eq!(sqlite_path("sqlite:shop.db"), Some("shop.db"));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("sqlite://shared?mode=memory&cache=shared"), None);
        assert_eq!(sqlite_path("postgres://localhost/shop"), None);
    }
}
