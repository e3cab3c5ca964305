//! Database access through sqlx's `Any` driver: one portable schema over SQLite (the embedded
//! default) and PostgreSQL (production, several processes). Money is integer cents, times are
//! unix milliseconds, quantities are thousandths, JSON is TEXT, placeholders are `$n`.

pub mod anomaly_feedback;
pub mod approvals;
pub mod audit;
pub mod consents;
pub mod flags;
pub mod inbox;
pub mod inbox_claims;
pub mod leased;
pub mod llm_calls;
pub mod mirror;
pub mod mirror_read;
pub mod outbox;
pub mod people;
pub mod purchase_orders;
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
        let options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        // SQLite has one writer; more connections only add lock contention on this workload.
        let options = match backend {
            Backend::Sqlite => options.max_connections(4),
            Backend::Postgres => options.max_connections(8),
        };
        let pool = options.connect(&url).await?;
        if backend == Backend::Sqlite {
            sqlx::query("PRAGMA journal_mode = WAL").execute(&pool).await?;
        }
        Ok(Store { pool, backend })
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

impl Store {
    /// Splits `items` into runs of a few fixed sizes, largest first, for multi-row statements.
    /// Fixed shapes mean each connection prepares each statement once and reuses it. On
    /// PostgreSQL the runs stay small: sqlx 0.9.0 no longer sets TCP_NODELAY, and a statement
    /// message too large for one write stalls 40 ms on Nagle's algorithm and delayed ACKs.
    pub fn batch_shapes<'a, T>(&self, items: &'a [T]) -> Vec<&'a [T]> {
        let sizes: &[usize] = match self.backend {
            Backend::Sqlite => &[100, 32, 8, 1],
            Backend::Postgres => &[4, 1],
        };
        let mut out = Vec::new();
        let mut rest = items;
        for &size in sizes {
            while rest.len() >= size {
                let (head, tail) = rest.split_at(size);
                out.push(head);
                rest = tail;
            }
        }
        out
    }
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
    use super::values_placeholders;

    #[test]
    fn placeholders_number_rows_then_columns() {
        assert_eq!(values_placeholders(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(values_placeholders(1, 1), "($1)");
        assert_eq!(values_placeholders(0, 4), "");
    }
}
