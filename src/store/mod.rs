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

pub use audit::{AuditEntry, AuditRecord, ChainBreak};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
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

/// Pool settings. On SQLite every connection commits with `synchronous = FULL` (SQLite's
/// default, stated so it cannot drift): in WAL mode that syncs the log at each commit, so an
/// acknowledged webhook survives power loss; `NORMAL` would sync only at checkpoints.
fn pool_options(backend: Backend, connections: u32) -> AnyPoolOptions {
    let options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10)).max_connections(connections);
    match backend {
        Backend::Sqlite => options.after_connect(|conn, _| {
            Box::pin(async move {
                sqlx::query("PRAGMA synchronous = FULL").execute(&mut *conn).await?;
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
    /// Splits `items` (rows of `columns` values) into runs for multi-row statements: on
    /// PostgreSQL a few fixed sizes, largest first (each connection prepares each shape once
    /// and reuses it; powers of two keep a batch of any size to a handful of statements); on
    /// SQLite runs of about `SQLITE_PARAMETERS_PER_STATEMENT` values.
    pub fn batch_shapes<'a, T>(&self, items: &'a [T], columns: usize) -> Vec<&'a [T]> {
        self.batch_shapes_within(items, columns, |_| 0)
    }

    /// `batch_shapes`, keeping each run's `bytes` within what one statement message should carry
    /// on PostgreSQL (see `POSTGRES_STATEMENT_BYTES`). A single item always makes a run.
    pub fn batch_shapes_within<'a, T>(
        &self,
        items: &'a [T],
        columns: usize,
        bytes: impl Fn(&T) -> usize,
    ) -> Vec<&'a [T]> {
        runs(self.backend, items, columns, bytes)
    }
}

/// Bound values in one SQLite statement, about. Binding costs more than linear time in a
/// statement's parameter count (sqlx looks up each parameter's name, and SQLite finds a name by
/// walking the statement's list of them), so 256 rows of 18 values took 10 ms to bind where 14
/// statements of 18 rows take well under one; every statement is also a round trip to the
/// connection's worker thread, so runs stay in the low hundreds of values rather than a few.
const SQLITE_PARAMETERS_PER_STATEMENT: usize = 192;

/// `Store::batch_shapes_within` for `backend`.
fn runs<T>(backend: Backend, items: &[T], columns: usize, bytes: impl Fn(&T) -> usize) -> Vec<&[T]> {
    let (sizes, budget): (&[usize], usize) = match backend {
        // SQLite prepares in-process, in microseconds, while every statement is a round trip to
        // the connection's worker thread: statements of the exact size beat cached ones.
        Backend::Sqlite => return items.chunks((SQLITE_PARAMETERS_PER_STATEMENT / columns.max(1)).max(1)).collect(),
        Backend::Postgres => (&[16, 8, 4, 2, 1], POSTGRES_STATEMENT_BYTES),
    };
    let mut out = Vec::new();
    let mut rest = items;
    while !rest.is_empty() {
        let fits =
            |size: usize| size <= rest.len() && (size == 1 || rest[..size].iter().map(&bytes).sum::<usize>() <= budget);
        let take = sizes.iter().copied().find(|&size| fits(size)).unwrap_or(1);
        let (head, tail) = rest.split_at(take);
        out.push(head);
        rest = tail;
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
    use super::{Backend, POSTGRES_STATEMENT_BYTES, runs, values_placeholders};

    #[test]
    fn runs_fit_each_backend() {
        let items: Vec<usize> = vec![600; 100];
        let lengths = |backend, bytes: &dyn Fn(&usize) -> usize| -> Vec<usize> {
            runs(backend, &items, 4, bytes).iter().map(|r| r.len()).collect()
        };
        assert_eq!(lengths(Backend::Sqlite, &|_| 0), [48, 48, 4], "about 192 values a statement on SQLite");
        let nine = runs(Backend::Sqlite, &[0; 600], 9, |_| 0).iter().map(|r| r.len()).collect::<Vec<_>>();
        assert!(nine.iter().all(|&n| n == 21 || n == 600 % 21), "{nine:?}");
        assert_eq!(runs(Backend::Sqlite, &[0; 3], 500, |_| 0).len(), 3, "a row wider than the budget goes alone");
        assert_eq!(lengths(Backend::Postgres, &|&b| b), [8; 12].into_iter().chain([4]).collect::<Vec<_>>());
        // Large rows: fewer to a statement, and one that is too large alone still goes.
        let big = |&b: &usize| b * 5;
        assert!(runs(Backend::Postgres, &items, 4, big).iter().all(|r| r.len() * 3_000 <= POSTGRES_STATEMENT_BYTES));
        let huge = [POSTGRES_STATEMENT_BYTES * 2, 10];
        assert_eq!(runs(Backend::Postgres, &huge, 4, |&b| b).iter().map(|r| r.len()).collect::<Vec<_>>(), [1, 1]);
        assert_eq!(runs(Backend::Postgres, &items[..0], 4, |&b| b).len(), 0);
    }

    #[test]
    fn placeholders_number_rows_then_columns() {
        assert_eq!(values_placeholders(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(values_placeholders(1, 1), "($1)");
        assert_eq!(values_placeholders(0, 4), "");
    }
}
