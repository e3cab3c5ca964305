//! Database access through sqlx's `Any` driver: one portable schema over SQLite (the embedded
//! default) and PostgreSQL (production, several processes). Money is integer cents, times are
//! unix milliseconds, quantities are thousandths, JSON is TEXT, placeholders are `$n`.

pub mod anomaly_feedback;
pub mod approvals;
pub mod audit;
pub mod consents;
pub mod conversations;
pub mod flags;
pub mod handoffs;
pub mod inbox;
pub mod inbox_claims;
pub mod inbox_writer;
pub mod json_rows;
pub mod leased;
pub mod llm_calls;
pub mod mirror;
pub mod mirror_read;
pub mod outbox;
pub mod people;
pub mod purchase_orders;
pub mod reviews;
pub mod rules;
pub mod scheduled_runs;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Transaction};
use std::time::Duration;

pub use audit::{AuditEntry, AuditRecord, AuditText, Auditable, ChainBreak};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// From the intake writer's own SQLite connection (`inbox_writer`).
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is not what it should be: {0}")]
    Corrupt(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub type Tx = Transaction<'static, sqlx::Any>;

/// One of the pool's connections, kept by whoever took it until dropped.
pub type Connection = sqlx::pool::PoolConnection<sqlx::Any>;

/// The shop's database.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// The URL the pool connects to, for `Store::dedicated`.
    url: String,
}

impl Store {
    /// Connects to `url` (`sqlite://FILE` or `postgres://...`). A missing SQLite file is created.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        install_default_drivers();
        let (backend, url) = if url.starts_with("sqlite:") {
            (Backend::Sqlite, sqlite_url(url))
        } else {
            (Backend::Postgres, url.to_owned())
        };
        // SQLite has one writer; more connections only add lock contention on this workload.
        let connections = match backend {
            Backend::Sqlite => 4,
            Backend::Postgres => 8,
        };
        let pool = pool_options(backend, connections).connect(&url).await?;
        if backend == Backend::Sqlite {
            sqlx::query("PRAGMA journal_mode = WAL").execute(&pool).await?;
        }
        Ok(Store { pool, backend, url })
    }

    /// The same database through a pool of its own with at most `connections`, connecting
    /// lazily: a connection is opened by whoever first needs it, so on PostgreSQL its socket is
    /// driven by the runtime that uses it. The intake writer runs on a thread of its own with
    /// this. An in-memory SQLite database exists only in its own pool, so it shares this one.
    pub fn dedicated(&self, connections: u32) -> Result<Store, StoreError> {
        if self.url.contains(":memory:") || self.url.contains("mode=memory") {
            return Ok(self.clone());
        }
        let pool = pool_options(self.backend, connections).connect_lazy(&self.url)?;
        Ok(Store { pool, backend: self.backend, url: self.url.clone() })
    }

    /// Applies every pending migration for this backend.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.pool).await?;
        Ok(())
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A connection of the pool to keep (the intake writer's, for `receive_batch`).
    pub async fn connection(&self) -> Result<Connection, StoreError> {
        Ok(self.pool.acquire().await?)
    }

    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(self.pool.begin().await?)
    }

    /// A cheap round trip, for `/readyz`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT value FROM meta WHERE key = $1").bind(key).fetch_optional(&self.pool).await?;
        Ok(row.map(|(v,)| v))
    }

    /// Stores `value` under `key` unless something is already there.
    pub async fn insert_meta_if_absent(&self, key: &str, value: &str) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        self.add_meta(&mut tx, key, value).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `insert_meta_if_absent` inside `tx`.
    pub async fn add_meta(&self, tx: &mut Tx, key: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(value)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub async fn set_meta(&self, tx: &mut Tx, key: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// How many pages SQLite's write-ahead log holds before it is copied into the database file
/// (about 32 MB; SQLite's default is 1,000): by the commit that passes it on the pool's
/// connections, right after that batch is answered on the intake writer's. Every inbox event
/// dirties a page of the event-id index of its own, so the copying is a sixth of the intake
/// writer's work; with a longer log a page written by many commits is copied once, and durable
/// intake answered about a sixth more deliveries under load, for a longer pause at each copy
/// (about 11 ms rather than 6 ms at the 99th percentile).
pub(crate) const WAL_CHECKPOINT_PAGES: u32 = 8_000;

/// Pool settings. On SQLite every connection commits with `synchronous = FULL` (SQLite's
/// default, stated so it cannot drift): in WAL mode that syncs the log at each commit, so an
/// acknowledged webhook survives power loss; `NORMAL` would sync only at checkpoints. Each
/// checkpoints at `WAL_CHECKPOINT_PAGES`, as the intake writer's own connection does.
fn pool_options(backend: Backend, connections: u32) -> AnyPoolOptions {
    let options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10)).max_connections(connections);
    match backend {
        Backend::Sqlite => options.after_connect(|conn, _| {
            Box::pin(async move {
                sqlx::query("PRAGMA synchronous = FULL").execute(&mut *conn).await?;
                sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")))
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            })
        }),
        Backend::Postgres => options,
    }
}

/// `sqlite://tillpilot.db` → `sqlite://tillpilot.db?mode=rwc` so a first start creates the file.
fn sqlite_url(url: &str) -> String {
    if url.contains("mode=") || url.contains(":memory:") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// The most a multi-row statement's rows may carry on PostgreSQL, in bytes of bound values.
/// sqlx 0.9.0 does not set TCP_NODELAY on its sockets (fixed upstream in transact-rs/sqlx#4336,
/// not in a release yet): a statement message the kernel sends in more than one piece leaves
/// a tail that Nagle's algorithm holds until the server's delayed ACK, 40 ms later. Measured
/// on loopback, 32-row inserts of 550-byte deliveries (~21 KiB) stalled on most batches and
/// 8 KiB messages did not. A Unix socket (`postgres:///tillpilot?host=/var/run/postgresql`,
/// the setting to use when PostgreSQL runs on the same machine) has no Nagle at all; across a
/// network, where a segment is ~1.4 KiB, only TCP_NODELAY avoids the stalls.
const POSTGRES_STATEMENT_BYTES: usize = 8 * 1024;

impl Store {
    /// Splits `items` into the runs one `json_rows` statement each should carry: one run on
    /// SQLite and over a Unix socket; over TCP to PostgreSQL, runs whose `bytes` stay within
    /// `POSTGRES_STATEMENT_BYTES` (a single item always makes a run).
    pub fn statement_runs<'a, T>(&self, items: &'a [T], bytes: impl Fn(&T) -> usize) -> Vec<&'a [T]> {
        let budget = (self.backend == Backend::Postgres && !unix_socket(&self.url)).then_some(POSTGRES_STATEMENT_BYTES);
        runs(items, budget, bytes)
    }
}

/// Whether a PostgreSQL URL reaches its server through a Unix socket.
fn unix_socket(url: &str) -> bool {
    let authority = url.split_once("://").map_or("", |(_, rest)| rest);
    url.contains("host=/") || url.contains("host=%2F") || authority.starts_with('/') || authority.starts_with("%2F")
}

/// `Store::statement_runs`: greedy runs within `budget` bytes, or one run without one.
fn runs<T>(items: &[T], budget: Option<usize>, bytes: impl Fn(&T) -> usize) -> Vec<&[T]> {
    let Some(budget) = budget else { return if items.is_empty() { Vec::new() } else { vec![items] } };
    let mut out = Vec::new();
    let mut start = 0;
    let mut size = 0;
    for (i, item) in items.iter().enumerate() {
        let b = bytes(item);
        if i > start && size + b > budget {
            out.push(&items[start..i]);
            start = i;
            size = 0;
        }
        size += b;
    }
    if start < items.len() {
        out.push(&items[start..]);
    }
    out
}

/// `($1, $2), ($3, $4)` for two rows of two columns: the VALUES list of a multi-row insert.
pub fn values_placeholders(rows: usize, columns: usize) -> String {
    let mut out = String::with_capacity(rows * columns * 5);
    for row in 0..rows {
        if row > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for column in 0..columns {
            if column > 0 {
                out.push_str(", ");
            }
            out.push_str(&format!("${}", row * columns + column + 1));
        }
        out.push(')');
    }
    out
}

/// The current time in unix milliseconds.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The migration versions in a folder's embedded set, for the test that keeps both in step.
pub fn migration_versions(backend: Backend) -> Vec<i64> {
    let migrator = match backend {
        Backend::Sqlite => &SQLITE_MIGRATIONS,
        Backend::Postgres => &POSTGRES_MIGRATIONS,
    };
    migrator.iter().map(|m| m.version).collect()
}

#[cfg(test)]
mod tests {
    use super::{POSTGRES_STATEMENT_BYTES, runs, unix_socket, values_placeholders};

    #[test]
    fn runs_stay_within_the_budget_and_a_large_item_goes_alone() {
        let lengths = |items: &[usize], budget| runs(items, budget, |&b| b).iter().map(|r| r.len()).collect::<Vec<_>>();
        assert_eq!(lengths(&[600; 100], None), [100], "one statement without a budget");
        assert_eq!(
            lengths(&[600; 100], Some(POSTGRES_STATEMENT_BYTES)),
            [13; 7].into_iter().chain([9]).collect::<Vec<_>>()
        );
        assert_eq!(lengths(&[POSTGRES_STATEMENT_BYTES * 2, 10, 10], Some(POSTGRES_STATEMENT_BYTES)), [1, 2]);
        assert!(lengths(&[], Some(10)).is_empty() && lengths(&[], None).is_empty());
        assert!(unix_socket("postgres:///tillpilot?host=/var/run/postgresql"));
        assert!(unix_socket("postgres://%2Fvar%2Frun%2Fpostgresql/tillpilot"));
        assert!(!unix_socket("postgres://postgres@127.0.0.1:5432/test"));
    }

    #[test]
    fn placeholders_number_rows_then_columns() {
        assert_eq!(values_placeholders(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(values_placeholders(1, 1), "($1)");
        assert_eq!(values_placeholders(0, 4), "");
    }
}
