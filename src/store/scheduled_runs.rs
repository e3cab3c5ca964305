//! Claims on scheduled runs: one row per job and day, so no run happens twice, even with
//! several processes on one PostgreSQL.

use super::{Store, StoreError};
use chrono::NaiveDate;

impl Store {
    /// Claims `job` for `day`; false when it was already claimed (by anyone).
    pub async fn claim_run(&self, job: &str, day: NaiveDate, worker: &str, now_ms: i64) -> Result<bool, StoreError> {
        let claimed: Option<(String,)> = sqlx::query_as(
            "INSERT INTO scheduled_runs (job, run_date, claimed_by, claimed_at_ms) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (job, run_date) DO NOTHING RETURNING job",
        )
        .bind(job)
        .bind(day.to_string())
        .bind(worker)
        .bind(now_ms)
        .fetch_optional(self.pool())
        .await?;
        Ok(claimed.is_some())
    }

    pub async fn finish_run(&self, job: &str, day: NaiveDate, outcome: &str, now_ms: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE scheduled_runs SET finished_at_ms = $1, outcome = $2 WHERE job = $3 AND run_date = $4")
            .bind(now_ms)
            .bind(outcome)
            .bind(job)
            .bind(day.to_string())
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
