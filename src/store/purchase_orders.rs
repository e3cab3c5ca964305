//! Purchase orders: drafted by the reorder run, approved in chat, emailed to the vendor, and
//! received when stock for their lines rises. States: draft → approved → sent → received, or
//! rejected / expired.

use super::{AuditEntry, Store, StoreError, Tx};
use crate::domain::{LocationId, Money, Quantity, VariationId, VendorId};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PoLine {
    pub variation_id: VariationId,
    pub sku: Option<String>,
    /// The vendor's own code for the item, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_sku: Option<String>,
    pub name: String,
    pub quantity: u32,
    pub unit_cost: Money,
    pub explanation: String,
    /// The reason in a few words, for the approval message ("9.3/day, 0 on hand, lead 2 d").
    #[serde(default)]
    pub reason: String,
    /// Stock on hand when the PO was drafted, to see it arrive.
    pub on_hand_at_draft: f64,
    /// What the POS booked in against this line, once the order was received there.
    #[serde(default)]
    pub received: Option<Quantity>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PurchaseOrder {
    /// The number people say and vendors see (`PO-1043`), given when the draft is recorded;
    /// empty on a plan not yet recorded.
    pub id: String,
    /// What makes a draft the same draft: the day, the vendor and the location.
    #[serde(default)]
    pub draft_key: String,
    pub vendor_id: VendorId,
    pub vendor_name: String,
    pub vendor_email: Option<String>,
    pub location_id: LocationId,
    pub location_name: String,
    pub state: String,
    pub lines: Vec<PoLine>,
    pub total: Money,
    pub created_at_ms: i64,
    /// The POS's id of this order, once it is placed in the POS's purchase orders.
    #[serde(default)]
    pub pos_order_id: Option<String>,
    /// The accounting platform's id of this order, once it is recorded there (QuickBooks).
    #[serde(default)]
    pub accounting_id: Option<String>,
    /// The cap the draft was kept within, when one applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<PoBudget>,
}

/// The most a purchase order may cost, and whose limit it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoBudget {
    pub cap: Money,
    /// The vendor whose budget it is; `None` for the shop's cap on any one PO
    /// (`policy.po_budget`).
    pub vendor: Option<String>,
}

impl PoBudget {
    /// "Valley Dairy's $500.00 budget", "the $800.00 budget per PO".
    pub fn text(&self) -> String {
        match &self.vendor {
            Some(vendor) => format!("{vendor}'s {} budget", self.cap),
            None => format!("the {} budget per PO", self.cap),
        }
    }
}

/// Which system outside Tillpilot holds a copy of a PO.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeldBy {
    /// The POS's own purchase orders (a Lightspeed supplier order).
    Pos,
    /// The accounting platform (QuickBooks).
    Accounting,
}

impl Store {
    /// Records `po` as already approved by `by` and sent at `at_ms` (the demo's stock on its
    /// way) unless its id exists.
    pub async fn record_sent_po(
        &self,
        tx: &mut Tx,
        po: &PurchaseOrder,
        by: &str,
        at_ms: i64,
    ) -> Result<bool, StoreError> {
        let exists: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM purchase_orders WHERE id = $1")
            .bind(&po.id)
            .fetch_optional(&mut **tx)
            .await?;
        let mut po = po.clone();
        po.state = "sent".into();
        po.draft_key.clear();
        if exists.is_some() || !self.insert_po(tx, &po).await? {
            return Ok(false);
        }
        sqlx::query("UPDATE purchase_orders SET decided_by = $1, decided_at_ms = $2, sent_at_ms = $2 WHERE id = $3")
            .bind(by)
            .bind(at_ms)
            .bind(&po.id)
            .execute(&mut **tx)
            .await?;
        Ok(true)
    }

    /// The next PO number, 1001 first; numbers are never reused, even when the draft that took
    /// one is rolled back.
    pub async fn next_po_number(&self, tx: &mut Tx) -> Result<i64, StoreError> {
        let (value,): (String,) = sqlx::query_as(
            "INSERT INTO meta (key, value) VALUES ('po.last_number', '1001') ON CONFLICT (key) \
             DO UPDATE SET value = CAST(CAST(meta.value AS BIGINT) + 1 AS TEXT) RETURNING value",
        )
        .fetch_one(&mut **tx)
        .await?;
        value.parse().map_err(|_| StoreError::Corrupt(format!("PO number {value:?}")))
    }

    /// The PO drafted under `draft_key`, if any.
    pub async fn po_by_draft_key(&self, draft_key: &str) -> Result<Option<PurchaseOrder>, StoreError> {
        let id: Option<(String,)> = sqlx::query_as("SELECT id FROM purchase_orders WHERE draft_key = $1")
            .bind(draft_key)
            .fetch_optional(self.pool())
            .await?;
        match id {
            Some((id,)) => self.purchase_order(&id).await,
            None => Ok(None),
        }
    }

    /// Writes `po`'s lines, numbered in order, inside `tx`.
    async fn insert_po_lines(tx: &mut Tx, po: &PurchaseOrder) -> Result<(), StoreError> {
        for (n, line) in po.lines.iter().enumerate() {
            sqlx::query(
                "INSERT INTO purchase_order_lines (po_id, line_no, variation_id, quantity_milli, unit_cost_cents, explanation) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&po.id)
            .bind(n as i64)
            .bind(line.variation_id.as_str())
            .bind(i64::from(line.quantity) * 1000)
            .bind(line.unit_cost.minor())
            .bind(&line.explanation)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// Records a draft; false (and nothing written) when its draft key is already recorded.
    pub async fn insert_po(&self, tx: &mut Tx, po: &PurchaseOrder) -> Result<bool, StoreError> {
        let detail = serde_json::to_string(po).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let inserted = sqlx::query(
            "INSERT INTO purchase_orders (id, vendor_id, location_id, state, total_cents, created_at_ms, detail, draft_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (draft_key) DO NOTHING",
        )
        .bind(&po.id)
        .bind(po.vendor_id.as_str())
        .bind(po.location_id.as_str())
        .bind(&po.state)
        .bind(po.total.minor())
        .bind(po.created_at_ms)
        .bind(detail)
        .bind((!po.draft_key.is_empty()).then_some(po.draft_key.as_str()))
        .execute(&mut **tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Ok(false);
        }
        Self::insert_po_lines(tx, po).await?;
        Ok(true)
    }

    pub async fn purchase_order(&self, id: &str) -> Result<Option<PurchaseOrder>, StoreError> {
        let row: Option<(String, String, Option<String>, Option<String>)> =
            sqlx::query_as("SELECT state, detail, pos_order_id, accounting_id FROM purchase_orders WHERE id = $1")
                .bind(id)
                .fetch_optional(self.pool())
                .await?;
        row.map(|(state, detail, pos_order_id, accounting_id)| {
            let mut po: PurchaseOrder =
                serde_json::from_str(&detail).map_err(|e| StoreError::Corrupt(format!("PO {id}: {e}")))?;
            po.state = state;
            po.pos_order_id = pos_order_id;
            po.accounting_id = accounting_id;
            Ok(po)
        })
        .transpose()
    }

    /// The PO placed in the POS as `pos_order_id`.
    pub async fn po_by_pos_order(&self, pos_order_id: &str) -> Result<Option<PurchaseOrder>, StoreError> {
        let id: Option<(String,)> = sqlx::query_as("SELECT id FROM purchase_orders WHERE pos_order_id = $1")
            .bind(pos_order_id)
            .fetch_optional(self.pool())
            .await?;
        match id {
            Some((id,)) => self.purchase_order(&id).await,
            None => Ok(None),
        }
    }

    /// Remembers the id another system gave a PO (`system` names it: `lightspeed`,
    /// `quickbooks`), and audits it.
    pub async fn set_po_external_id(
        &self,
        tx: &mut Tx,
        id: &str,
        held_by: HeldBy,
        system: &str,
        external_id: &str,
    ) -> Result<(), StoreError> {
        let (sql, kind) = match held_by {
            HeldBy::Pos => ("UPDATE purchase_orders SET pos_order_id = $1 WHERE id = $2", "po.placed_in_pos"),
            HeldBy::Accounting => {
                ("UPDATE purchase_orders SET accounting_id = $1 WHERE id = $2", "po.recorded_in_accounting")
            }
        };
        sqlx::query(sql).bind(external_id).bind(id).execute(&mut **tx).await?;
        let entry = AuditEntry {
            actor: "tillpilot".into(),
            channel: system.to_owned(),
            kind: kind.into(),
            subject: id.to_owned(),
            detail: json!({ "system": system, "id": external_id }),
        };
        self.audit(tx, &entry).await?;
        Ok(())
    }

    /// Rewrites a draft's lines and total (an edit before approval) inside `tx`; false, and
    /// nothing written, when it is no longer a draft.
    pub async fn replace_po_lines(&self, tx: &mut Tx, po: &PurchaseOrder) -> Result<bool, StoreError> {
        let detail = serde_json::to_string(po).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let updated =
            sqlx::query("UPDATE purchase_orders SET detail = $1, total_cents = $2 WHERE id = $3 AND state = 'draft'")
                .bind(detail)
                .bind(po.total.minor())
                .bind(&po.id)
                .execute(&mut **tx)
                .await?;
        if updated.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM purchase_order_lines WHERE po_id = $1").bind(&po.id).execute(&mut **tx).await?;
        Self::insert_po_lines(tx, po).await?;
        Ok(true)
    }

    /// How long each delivery took, in days from sending the PO to booking it in, as
    /// `(vendor, days)`, newest first; at most `per_vendor` for each vendor.
    pub async fn delivery_days(&self, per_vendor: usize) -> Result<Vec<(VendorId, f64)>, StoreError> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT vendor_id, sent_at_ms, received_at_ms FROM purchase_orders WHERE state = 'received' \
             AND sent_at_ms IS NOT NULL AND received_at_ms IS NOT NULL AND received_at_ms >= sent_at_ms \
             ORDER BY received_at_ms DESC, id",
        )
        .fetch_all(self.pool())
        .await?;
        let mut counted: HashMap<String, usize> = HashMap::new();
        Ok(rows
            .into_iter()
            .filter(|(vendor, _, _)| {
                let seen = counted.entry(vendor.clone()).or_default();
                *seen += 1;
                *seen <= per_vendor
            })
            .map(|(vendor, sent, received)| (VendorId::new(vendor), (received - sent) as f64 / 86_400_000.0))
            .collect())
    }

    /// Sent POs not yet received, with when each was sent.
    pub async fn sent_pos_not_received(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, sent_at_ms FROM purchase_orders WHERE state = 'sent' AND sent_at_ms IS NOT NULL ORDER BY sent_at_ms, id",
        )
        .fetch_all(self.pool())
        .await?)
    }

    /// Sent POs not yet received nor reported late, with when each was sent, oldest first.
    pub async fn sent_pos_not_reported_late(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, sent_at_ms FROM purchase_orders WHERE state = 'sent' AND sent_at_ms IS NOT NULL \
             AND late_alerted_at_ms IS NULL ORDER BY sent_at_ms, id",
        )
        .fetch_all(self.pool())
        .await?)
    }

    /// Marks a PO reported late inside `tx`; false when it already was.
    pub async fn mark_po_late(&self, tx: &mut Tx, id: &str, now_ms: i64) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE purchase_orders SET late_alerted_at_ms = $1 WHERE id = $2 AND late_alerted_at_ms IS NULL",
        )
        .bind(now_ms)
        .bind(id)
        .execute(&mut **tx)
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    /// Records what was booked in against each line (by line position) of a sent PO and marks
    /// it received; false, and nothing written, when it was not waiting to be received.
    pub async fn receive_po(&self, id: &str, received: &[Quantity], by: &str, now_ms: i64) -> Result<bool, StoreError> {
        let Some(mut po) = self.purchase_order(id).await? else { return Ok(false) };
        let mut tx = self.begin().await?;
        if !self.move_po_in(&mut tx, id, &["approved", "sent"], "received", by, now_ms).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        for (n, (line, quantity)) in po.lines.iter_mut().zip(received).enumerate() {
            line.received = Some(*quantity);
            sqlx::query("UPDATE purchase_order_lines SET received_milli = $1 WHERE po_id = $2 AND line_no = $3")
                .bind(quantity.milli())
                .bind(id)
                .bind(n as i64)
                .execute(&mut *tx)
                .await?;
        }
        po.state = "received".into();
        let detail = serde_json::to_string(&po).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query("UPDATE purchase_orders SET detail = $1 WHERE id = $2")
            .bind(detail)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let lines: Vec<serde_json::Value> = po
            .lines
            .iter()
            .map(|l| json!({ "item": l.name, "ordered": l.quantity, "received": l.received.map(|q| q.to_string()) }))
            .collect();
        let entry = AuditEntry {
            actor: by.to_owned(),
            channel: "tillpilot".into(),
            kind: "po.receipt".into(),
            subject: id.to_owned(),
            detail: json!({ "lines": lines }),
        };
        self.audit(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn purchase_orders_in(&self, state: &str) -> Result<Vec<PurchaseOrder>, StoreError> {
        let ids: Vec<(String,)> =
            sqlx::query_as("SELECT id FROM purchase_orders WHERE state = $1 ORDER BY created_at_ms, id")
                .bind(state)
                .fetch_all(self.pool())
                .await?;
        let mut out = Vec::new();
        for (id,) in ids {
            out.extend(self.purchase_order(&id).await?);
        }
        Ok(out)
    }

    /// Moves a PO from one of `from` to `to` and audits it; false when it was not in `from`.
    pub async fn move_po(&self, id: &str, from: &[&str], to: &str, by: &str, now_ms: i64) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let moved = self.move_po_in(&mut tx, id, from, to, by, now_ms).await?;
        tx.commit().await?;
        Ok(moved)
    }

    /// `move_po` inside `tx`, with the effect that caused it.
    pub async fn move_po_in(
        &self,
        tx: &mut Tx,
        id: &str,
        from: &[&str],
        to: &str,
        by: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        // $1 state, $2 id, $3 who, $4 when, then the states it may move from.
        let column = match to {
            "approved" | "rejected" | "expired" => "decided_by = $3, decided_at_ms = $4",
            "sent" => "sent_at_ms = $4, decided_by = COALESCE(decided_by, $3)",
            _ => "received_at_ms = $4, decided_by = COALESCE(decided_by, $3)",
        };
        let placeholders: Vec<String> = (0..from.len()).map(|i| format!("${}", i + 5)).collect();
        let sql = format!(
            "UPDATE purchase_orders SET state = $1, {column} WHERE id = $2 AND state IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(to).bind(id).bind(by).bind(now_ms);
        for state in from {
            query = query.bind(*state);
        }
        let moved = query.execute(&mut **tx).await?.rows_affected() == 1;
        if moved {
            self.audit(
                tx,
                &AuditEntry {
                    actor: by.to_owned(),
                    channel: "tillpilot".into(),
                    kind: format!("po.{to}"),
                    subject: id.to_owned(),
                    detail: json!({ "from": from }),
                },
            )
            .await?;
        }
        Ok(moved)
    }

    /// Units on approved or sent (not yet received) POs, per variation and location.
    pub async fn on_order_by_location(&self) -> Result<HashMap<(VariationId, LocationId), Quantity>, StoreError> {
        let rows: Vec<(String, String, Option<i64>)> = sqlx::query_as(
            "SELECT l.variation_id, p.location_id, CAST(SUM(l.quantity_milli) AS BIGINT) FROM purchase_order_lines l \
             JOIN purchase_orders p ON p.id = l.po_id WHERE p.state IN ('approved', 'sent') GROUP BY l.variation_id, p.location_id",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(v, l, milli)| Some(((VariationId::new(v), LocationId::new(l)), Quantity::from_milli(milli?))))
            .collect())
    }
}
