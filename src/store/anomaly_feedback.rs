//! The owner's verdicts on anomaly alerts (Expected / Investigate).

use super::{Store, StoreError};
use crate::domain::{LocationId, VariationId};
use chrono::NaiveDate;
use std::collections::HashMap;

impl Store {
    pub async fn save_verdict(
        &self,
        variation: &VariationId,
        location: &LocationId,
        day: NaiveDate,
        verdict: &str,
        by: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO anomaly_feedback (variation_id, location_id, day, verdict, decided_by, decided_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (variation_id, location_id, day) DO UPDATE SET \
             verdict = excluded.verdict, decided_by = excluded.decided_by, decided_at_ms = excluded.decided_at_ms",
        )
        .bind(variation.as_str())
        .bind(location.as_str())
        .bind(day.to_string())
        .bind(verdict)
        .bind(by)
        .bind(now_ms)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// How often each item and location was marked expected since `since_ms`.
    pub async fn expected_counts(&self, since_ms: i64) -> Result<HashMap<(VariationId, LocationId), i64>, StoreError> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT variation_id, location_id, COUNT(*) FROM anomaly_feedback WHERE verdict = 'expected' \
             AND decided_at_ms >= $1 GROUP BY variation_id, location_id",
        )
        .bind(since_ms)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|(v, l, n)| ((VariationId::new(v), LocationId::new(l)), n)).collect())
    }
}
