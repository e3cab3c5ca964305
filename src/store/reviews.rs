//! Checkout reviews as recorded: one row per cart the POS middleware posted, written in
//! batches by the review recorder together with their audit records. The checkout assistant
//! reloads the recent ones at start for its fraud windows; the daily summary counts them; a
//! discount decision finds its callback here. Also the reads the assistant mines and replays:
//! baskets from the mirror, and the POS's gift-card events from the inbox.

use super::json_rows::{self, Kind};
use super::{Backend, Store, StoreError, Tx};

/// One recorded review.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct ReviewRecord {
    pub id: String,
    pub transaction_id: String,
    pub store_id: String,
    pub location_id: Option<String>,
    pub register_id: String,
    pub cashier_id: Option<String>,
    pub loyalty_id: Option<String>,
    pub at_ms: i64,
    pub total_cents: i64,
    /// `on`, or `shadow` (computed and recorded, nothing returned).
    pub mode: String,
    /// The risk score in thousandths.
    pub risk_milli: i64,
    /// 1 when the score reached the flag threshold.
    pub flagged: i64,
    pub gift_cards: i64,
    pub voids: i64,
    pub overrides: i64,
    pub approval_id: Option<String>,
    pub callback_url: Option<String>,
    /// The recommendations and reasons, as JSON.
    pub detail: String,
}

const COLUMNS: &str = "id, transaction_id, store_id, location_id, register_id, cashier_id, loyalty_id, at_ms, \
    total_cents, mode, risk_milli, flagged, gift_cards, voids, overrides, approval_id, callback_url, detail";

/// `COLUMNS` as `insert_reviews` reads them from its rows.
const ROW_COLUMNS: [(&str, Kind); 18] = [
    ("id", Kind::Text),
    ("transaction_id", Kind::Text),
    ("store_id", Kind::Text),
    ("location_id", Kind::Text),
    ("register_id", Kind::Text),
    ("cashier_id", Kind::Text),
    ("loyalty_id", Kind::Text),
    ("at_ms", Kind::Int),
    ("total_cents", Kind::Int),
    ("mode", Kind::Text),
    ("risk_milli", Kind::Int),
    ("flagged", Kind::Int),
    ("gift_cards", Kind::Int),
    ("voids", Kind::Int),
    ("overrides", Kind::Int),
    ("approval_id", Kind::Text),
    ("callback_url", Kind::Text),
    ("detail", Kind::Text),
];

/// A day of reviews, for the summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReviewCounts {
    pub reviews: i64,
    pub flagged: i64,
    pub approvals_asked: i64,
    pub approvals_given: i64,
}

impl Store {
    /// Records `reviews` inside `tx`; a review id seen before is left as it was.
    pub async fn insert_reviews(&self, tx: &mut Tx, reviews: &[&ReviewRecord]) -> Result<(), StoreError> {
        if reviews.is_empty() {
            return Ok(());
        }
        if self.backend() == Backend::Postgres {
            let sql = format!(
                "INSERT INTO reviews ({COLUMNS}) {} ON CONFLICT (id) DO NOTHING",
                json_rows::select(self.backend(), 1, &ROW_COLUMNS, &[])
            );
            for run in self.statement_runs(reviews, |r| 300 + r.detail.len()) {
                sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(json_rows::encode(run)?).execute(&mut **tx).await?;
            }
            return Ok(());
        }
        let values = json_rows::nameless_values(reviews.len(), ROW_COLUMNS.len());
        let query = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO reviews ({COLUMNS}) {values} ON CONFLICT (id) DO NOTHING"
        )));
        let query = reviews.iter().fold(query, |query, r| {
            query
                .bind(r.id.clone())
                .bind(r.transaction_id.clone())
                .bind(r.store_id.clone())
                .bind(r.location_id.clone())
                .bind(r.register_id.clone())
                .bind(r.cashier_id.clone())
                .bind(r.loyalty_id.clone())
                .bind(r.at_ms)
                .bind(r.total_cents)
                .bind(r.mode.clone())
                .bind(r.risk_milli)
                .bind(r.flagged)
                .bind(r.gift_cards)
                .bind(r.voids)
                .bind(r.overrides)
                .bind(r.approval_id.clone())
                .bind(r.callback_url.clone())
                .bind(r.detail.clone())
        });
        query.execute(&mut **tx).await?;
        Ok(())
    }

    /// Reviews at or after `since_ms`, oldest first.
    pub async fn reviews_since(&self, since_ms: i64) -> Result<Vec<ReviewRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM reviews WHERE at_ms >= $1 ORDER BY at_ms");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(since_ms).fetch_all(self.pool()).await?)
    }

    /// The review that asked for approval `approval_id`.
    pub async fn review_for_approval(&self, approval_id: &str) -> Result<Option<ReviewRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM reviews WHERE approval_id = $1");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(approval_id).fetch_optional(self.pool()).await?)
    }

    /// Reviews, flags and discount approvals between `from_ms` (inclusive) and `to_ms`.
    pub async fn review_counts(&self, from_ms: i64, to_ms: i64) -> Result<ReviewCounts, StoreError> {
        let (reviews, flagged): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), CAST(COALESCE(SUM(flagged), 0) AS BIGINT) FROM reviews WHERE at_ms >= $1 AND at_ms < $2",
        )
        .bind(from_ms)
        .bind(to_ms)
        .fetch_one(self.pool())
        .await?;
        let (asked, given): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN state = 'approved' THEN 1 ELSE 0 END), 0) AS BIGINT) FROM approvals \
             WHERE kind = 'discount' AND requested_at_ms >= $1 AND requested_at_ms < $2",
        )
        .bind(from_ms)
        .bind(to_ms)
        .fetch_one(self.pool())
        .await?;
        Ok(ReviewCounts { reviews, flagged, approvals_asked: asked, approvals_given: given })
    }

    /// Every line of every completed sale since `since_ms` as `(order id, variation id)`,
    /// grouped by order: the baskets add-on suggestions are mined from.
    pub async fn basket_lines_since(&self, since_ms: i64) -> Result<Vec<(String, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT l.order_id, l.variation_id FROM order_lines l JOIN orders o ON o.id = l.order_id \
             WHERE l.created_at_ms >= $1 AND l.variation_id IS NOT NULL AND o.state = 'completed' \
             ORDER BY l.order_id, l.line_no",
        )
        .bind(since_ms)
        .fetch_all(self.pool())
        .await?)
    }

    /// The payloads of `source`'s `event_type` events received since `since_ms`, oldest first.
    pub async fn inbox_payloads(
        &self,
        source: &str,
        event_type: &str,
        since_ms: i64,
    ) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT payload FROM inbox WHERE source = $1 AND event_type = $2 AND received_at_ms >= $3 ORDER BY id",
        )
        .bind(source)
        .bind(event_type)
        .bind(since_ms)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|(p,)| p).collect())
    }
}
