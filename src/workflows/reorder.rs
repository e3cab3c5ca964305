//! The reorder run: for every item a vendor supplies, at every location, the forecast and the
//! reorder policy (src/forecast) decide whether to order and how much; lines are grouped into
//! one purchase-order draft per vendor and location, kept within the optional budget, and held
//! when under the vendor's minimum order. Drafts go out for approval (POs above
//! `policy.po_owner_approval_over` need the owner, others a manager); once approved a PO is
//! emailed to the vendor, and it is marked received when stock for its lines rises. The
//! `reorder` flag governs each location: off, shadow (drafts recorded in the audit log only),
//! or on.

use crate::domain::{LocationId, Money, Role, VariationId};
use crate::forecast::Selection;
use crate::forecast::policy::{ItemPosition, Suggestion, suggest, within_budget};
use crate::forecast::series::{build_series, censored_days, impute_censored};
use crate::store::approvals::Approval;
use crate::store::flags::FlagState;
use crate::store::purchase_orders::{PoBudget, PoLine, PurchaseOrder};
use crate::store::{AuditEntry, StoreError, now_ms};
use crate::workflows::Shop;
use crate::workflows::vendors::Supplier;
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};

/// History the forecasts look at.
const LOOKBACK_DAYS: i64 = 182;
/// How long a PO draft waits for a decision.
const APPROVAL_HOURS: i64 = 48;

/// A line before grouping: the policy's suggestion, the PO line, pack size and minimum.
type Candidate = (Suggestion, PoLine, u32, u32);

#[derive(Clone, Debug, Default, Serialize)]
pub struct Plan {
    pub drafts: Vec<PurchaseOrder>,
    /// Drafts not made, and why (under the vendor's minimum order).
    pub held: Vec<String>,
}

/// Computes the drafts from the mirror, as of `today`.
pub async fn plan(app: &Shop, today: NaiveDate) -> Result<Plan, StoreError> {
    let first = today - chrono::Duration::days(LOOKBACK_DAYS);
    let midnight = |d: NaiveDate| crate::domain::clock::midnight_ms(app.timezone, d);
    let sales = app.store.sale_lines(midnight(first), midnight(today)).await?;
    // History starts where the mirror's does (the shop's first sale in the window), not at
    // the lookback: days before the mirror are unknown, not days without sales.
    let covered_from = sales
        .iter()
        .filter_map(|s| chrono::TimeZone::timestamp_millis_opt(&app.timezone, s.at_ms).single())
        .map(|t| t.date_naive())
        .min()
        .map_or(first, |d| d.max(first));
    let series = build_series(sales, app.timezone, covered_from, today - chrono::Duration::days(1));
    // Each item's history from its own first sale, stock-outs corrected: what the models fit.
    let histories: Vec<Vec<f64>> = series
        .iter()
        .map(|s| {
            let sold = &s.demand[s.demand.iter().position(|d| *d > 0.0).unwrap_or(s.demand.len())..];
            impute_censored(sold, &censored_days(sold))
        })
        .collect();
    let selection = Selection::learn(histories.iter().map(Vec::as_slice));
    let view = app.catalog();
    let (vendors, terms, unknown) = super::vendors::to_order_from(app).await?;
    for (vendor, sku) in &unknown {
        tracing::warn!(vendor = %vendor, sku = %sku, "a configured vendor item's SKU is not in the catalog");
    }
    let stock: HashMap<(VariationId, LocationId), f64> = app
        .store
        .mirror_stock(&[], None)
        .await?
        .into_iter()
        .map(|s| ((s.variation_id, s.location_id), s.on_hand.as_f64()))
        .collect();
    let on_order = app.store.on_order_by_location().await?;
    let policy = &app.config.policy;
    let mut groups: BTreeMap<(String, LocationId), Vec<Candidate>> = BTreeMap::new();
    let mut not_today: Vec<&Supplier> = Vec::new();
    for (s, history) in series.iter().zip(&histories) {
        // The cheapest vendor for the item.
        let Some(term) = terms.iter().filter(|t| t.variation_id == s.variation_id).min_by_key(|t| t.unit_cost.minor())
        else {
            continue;
        };
        let Some(supplier) = vendors.iter().find(|v| v.vendor.id == term.vendor_id) else { continue };
        if !supplier.orders_on(today) {
            if !not_today.contains(&supplier) {
                not_today.push(supplier);
            }
            continue;
        }
        // An order placed today covers demand until the vendor's next order day.
        let review_days = match supplier.next_order_day(today) {
            Some(next) => u32::try_from((next - today).num_days()).unwrap_or(policy.review_days),
            None => policy.review_days,
        };
        let vendor = &supplier.vendor;
        let choice = selection.choose(history);
        let daily = choice.daily_forecast(history, 14);
        let key = (s.variation_id.clone(), s.location_id.clone());
        let on_hand = stock.get(&key).copied().unwrap_or(0.0);
        let ordered = on_order.get(&key).map_or(0.0, |q| q.as_f64());
        let tiers: Vec<(u32, Money)> =
            std::iter::once((0, term.unit_cost)).chain(term.price_tiers.iter().copied()).collect();
        let suggestion = suggest(&ItemPosition {
            history,
            choice,
            daily_forecast: daily,
            on_hand,
            on_order: ordered,
            lead_time_days: vendor.lead_time_days,
            review_days,
            service_level: policy.service_level,
            pack_size: term.pack_size,
            minimum_units: term.minimum_quantity,
            price_tiers: &tiers,
        });
        if suggestion.quantity == 0 {
            continue;
        }
        let (name, sku) = view
            .catalog
            .variation(&s.variation_id)
            .map_or_else(|| (s.variation_id.to_string(), None), |(item, v)| (item.display_name(v), v.sku.clone()));
        let history_note = if choice.short_history() {
            format!(", only {} days of history", choice.history_days)
        } else {
            String::new()
        };
        let line = PoLine {
            variation_id: s.variation_id.clone(),
            sku,
            vendor_sku: term.vendor_sku.clone(),
            name,
            quantity: suggestion.quantity,
            unit_cost: suggestion.unit_cost,
            explanation: suggestion.explanation.clone(),
            reason: format!(
                "{daily:.1}/day, {on_hand:.0} on hand{}, {}{history_note}",
                if ordered > 0.0 { format!(" + {ordered:.0} on order") } else { String::new() },
                supplier.lead_time.note()
            ),
            on_hand_at_draft: on_hand,
            received: None,
        };
        groups.entry((vendor.id.to_string(), s.location_id.clone())).or_default().push((
            suggestion,
            line,
            term.pack_size,
            term.minimum_quantity,
        ));
    }
    let mut out = Plan::default();
    for supplier in not_today {
        let next =
            supplier.next_order_day(today).map_or_else(String::new, |d| format!("; next {}", d.format("%a %b %-d")));
        out.held.push(format!(
            "{} takes orders on {}{next}: nothing drafted today",
            supplier.vendor.name,
            supplier.order_days_text()
        ));
    }
    let shop_cap =
        policy.po_budget.map(|b| PoBudget { cap: Money::from_minor((b * 100.0).round() as i64), vendor: None });
    for ((vendor_id, location_id), mut lines) in groups {
        let Some(supplier) = vendors.iter().find(|v| v.vendor.id.as_str() == vendor_id) else { continue };
        let vendor = &supplier.vendor;
        // The tighter of the vendor's budget and the shop's cap on any one PO.
        let vendor_cap = supplier.budget.map(|cap| PoBudget { cap, vendor: Some(vendor.name.clone()) });
        let budget = match (vendor_cap, shop_cap.clone()) {
            (Some(v), Some(shop)) => Some(if shop.cap < v.cap { shop } else { v }),
            (v, shop) => v.or(shop),
        };
        if let Some(budget) = &budget {
            let budget_lines: Vec<(Suggestion, u32, u32)> =
                lines.iter().map(|(s, _, p, m)| (s.clone(), *p, *m)).collect();
            let kept = within_budget(&budget_lines, budget.cap);
            for ((_, line, _, _), quantity) in lines.iter_mut().zip(kept) {
                if quantity < line.quantity {
                    line.explanation.push_str(&format!(
                        "; cut from {} to {quantity} to stay within {}",
                        line.quantity,
                        budget.text()
                    ));
                    line.reason.push_str(&format!(", cut from {} for the budget", line.quantity));
                    line.quantity = quantity;
                }
            }
            lines.retain(|(_, line, _, _)| line.quantity > 0);
        }
        let po_lines: Vec<PoLine> = lines.into_iter().map(|(_, line, _, _)| line).collect();
        if po_lines.is_empty() {
            continue;
        }
        let total: Money = po_lines.iter().map(|l| l.unit_cost.times_milli(i64::from(l.quantity) * 1000)).sum();
        let location_name = view
            .locations
            .iter()
            .find(|l| l.id == location_id)
            .map_or_else(|| location_id.to_string(), |l| l.name.clone());
        if total < vendor.minimum_order {
            out.held.push(format!(
                "{} for {location_name}: {total} is under the vendor's {} minimum; held until the next run",
                vendor.name, vendor.minimum_order
            ));
            continue;
        }
        out.drafts.push(PurchaseOrder {
            id: String::new(),
            draft_key: format!("{}/{}/{}", today.format("%Y-%m-%d"), vendor.id, location_id),
            vendor_id: vendor.id.clone(),
            vendor_name: vendor.name.clone(),
            vendor_email: vendor.email.clone(),
            location_id,
            location_name,
            state: "draft".into(),
            lines: po_lines,
            total,
            created_at_ms: now_ms(),
            pos_order_id: None,
            accounting_id: None,
            budget,
        });
    }
    Ok(out)
}

/// A draft in one line: its number, vendor, location, total and first items.
pub fn describe(po: &PurchaseOrder) -> String {
    let lines: Vec<String> = po.lines.iter().take(6).map(|l| format!("{} × {}", l.quantity, l.name)).collect();
    let more = if po.lines.len() > 6 { format!(" and {} more", po.lines.len() - 6) } else { String::new() };
    let number = if po.id.is_empty() { String::new() } else { format!(" {}", po.id) };
    format!(
        "Purchase order{number} to {} for {}, {}: {}{more}",
        po.vendor_name,
        po.location_name,
        po.total,
        lines.join(", ")
    )
}

/// Lines an approval message shows; the rest are on the CSV the vendor gets.
const APPROVAL_LINES: usize = 12;

/// The approval request an owner decides on: the total against the budget, who asked, and
/// each line with its quantity, unit cost, line total and why.
pub fn approval_text(po: &PurchaseOrder, asked_by: &str) -> String {
    let budget = po.budget.as_ref().map_or_else(String::new, |b| format!(" of {}", b.text()));
    let count = po.lines.len();
    let mut text = format!(
        "Purchase order {} to {} for {}: {}{budget}, {count} line{}, asked for by {asked_by}.",
        po.id,
        po.vendor_name,
        po.location_name,
        po.total,
        if count == 1 { "" } else { "s" }
    );
    for line in po.lines.iter().take(APPROVAL_LINES) {
        let total = line.unit_cost.times_milli(i64::from(line.quantity) * 1000);
        text.push_str(&format!("\n• {} × {} at {} = {total}", line.quantity, line.name, line.unit_cost));
        if !line.reason.is_empty() {
            text.push_str(&format!(" ({})", line.reason));
        }
    }
    if count > APPROVAL_LINES {
        text.push_str(&format!("\n• and {} more lines, on the CSV the vendor gets", count - APPROVAL_LINES));
    }
    text
}

/// Who asked for a run, as the approver reads it.
pub fn asked_by(actor: &str) -> String {
    match actor {
        "scheduler" => "the nightly reorder run".into(),
        "cli" => "the command line (tillpilot reorder --post)".into(),
        name => name.to_owned(),
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RunReport {
    pub drafted: Vec<String>,
    pub shadow: Vec<String>,
    pub already_drafted: Vec<String>,
    /// The approval asked for each drafted PO: `(PO id, approval id)`.
    pub approvals: Vec<(String, String)>,
}

/// Records the drafts and asks for approval, as each location's `reorder` flag allows. Each
/// recorded draft gets its number (a draft recorded before under the same key keeps its own).
pub async fn run(app: &Shop, plan: &mut Plan, actor: &str) -> Result<RunReport, StoreError> {
    let mut report =
        RunReport { drafted: Vec::new(), shadow: Vec::new(), already_drafted: Vec::new(), approvals: Vec::new() };
    let owner_over = Money::from_minor((app.config.policy.po_owner_approval_over * 100.0).round() as i64);
    for po in &mut plan.drafts {
        match super::flags::state(app, "reorder", Some(&po.location_id)).await? {
            FlagState::Off => continue,
            FlagState::Shadow => {
                app.store
                    .audit_now(&AuditEntry {
                        actor: actor.to_owned(),
                        channel: "tillpilot".into(),
                        kind: "po.shadow".into(),
                        subject: po.draft_key.clone(),
                        detail: json!({ "po": po }),
                    })
                    .await?;
                report.shadow.push(po.draft_key.clone());
            }
            FlagState::On => {
                if let Some(existing) = app.store.po_by_draft_key(&po.draft_key).await? {
                    po.id = existing.id;
                    report.already_drafted.push(po.id.clone());
                    continue;
                }
                let mut tx = app.store.begin().await?;
                po.id = format!("PO-{}", app.store.next_po_number(&mut tx).await?);
                if !app.store.insert_po(&mut tx, po).await? {
                    // Another process drafted it a moment ago.
                    drop(tx);
                    if let Some(existing) = app.store.po_by_draft_key(&po.draft_key).await? {
                        po.id = existing.id;
                    }
                    report.already_drafted.push(po.id.clone());
                    continue;
                }
                app.store
                    .audit(
                        &mut tx,
                        &AuditEntry {
                            actor: actor.to_owned(),
                            channel: "tillpilot".into(),
                            kind: "po.drafted".into(),
                            subject: po.id.clone(),
                            detail: json!({ "po": po }),
                        },
                    )
                    .await?;
                tx.commit().await?;
                let approval = super::approvals::request(
                    app,
                    super::approvals::NewApproval {
                        kind: APPROVAL_KIND.into(),
                        subject: po.id.clone(),
                        detail: approval_text(po, &asked_by(actor)),
                        required_role: if po.total > owner_over { Role::Owner } else { Role::Manager },
                        ttl_ms: APPROVAL_HOURS * 3_600_000,
                        requested_by: actor.to_owned(),
                    },
                )
                .await?;
                report.approvals.push((po.id.clone(), approval.id));
                report.drafted.push(po.id.clone());
            }
        }
    }
    Ok(report)
}

/// `reorder [VENDOR] [at LOCATION]` in chat: today's drafts now, each with Approve and Reject
/// (the owner alone above `policy.po_owner_approval_over`, as when the scheduler drafts them).
/// A vendor is picked by a word of its name ("reorder dairy"); drafts already waiting for a
/// decision are listed, not drafted twice.
pub async fn on_demand(
    app: &Shop,
    person: &crate::domain::Person,
    args: &str,
    entities: &crate::nlu::Entities,
) -> Result<crate::channels::Reply, StoreError> {
    use crate::channels::Reply;
    let mut plan = plan(app, app.today()).await?;
    let asked: Vec<String> = args.to_lowercase().split(|c: char| !c.is_alphanumeric()).map(str::to_owned).collect();
    let names_vendor = |name: &str| {
        name.to_lowercase().split(|c: char| !c.is_alphanumeric()).any(|w| w.len() >= 4 && asked.iter().any(|a| a == w))
    };
    let vendor_named = plan.drafts.iter().any(|po| names_vendor(&po.vendor_name));
    plan.drafts.retain(|po| {
        (!vendor_named || names_vendor(&po.vendor_name))
            && entities.locations.first().is_none_or(|l| l.id == po.location_id)
    });
    if plan.drafts.is_empty() {
        // Held: under a vendor's minimum order, or a vendor that does not take orders today.
        let text = if plan.held.is_empty() {
            "Nothing needs reordering right now: every item is above its reorder point.".to_owned()
        } else {
            format!("No drafts right now. {}.", plan.held.join("; "))
        };
        return Ok(Reply::text(text));
    }
    let report = run(app, &mut plan, &person.name).await?;
    let mut reply = Reply::text(format!(
        "{} purchase-order draft{} for approval:",
        report.drafted.len(),
        if report.drafted.len() == 1 { "" } else { "s" }
    ));
    for po in &plan.drafts {
        let status = if report.shadow.contains(&po.draft_key) {
            " (reorder is in shadow mode here: recorded only)"
        } else if report.already_drafted.contains(&po.id) {
            " (already waiting for a decision)"
        } else {
            ""
        };
        let label = if po.id.is_empty() { "Shadow draft".to_owned() } else { po.id.clone() };
        reply = reply.field(label, format!("{}{status}", describe(po)));
    }
    for (po, approval) in &report.approvals {
        reply.actions.extend(super::approvals::decision_buttons(&app.approval_key, approval, po));
    }
    Ok(reply)
}

/// The approval kind of a purchase order.
pub const APPROVAL_KIND: &str = "purchase_order";

/// What happens to a PO when its approval is decided or expires.
pub async fn on_decision(app: &Shop, approval: &Approval) -> Result<(), StoreError> {
    use crate::store::approvals::ApprovalState;
    let by = approval.decided_by.clone().unwrap_or_else(|| "tillpilot".into());
    let now = now_ms();
    match approval.state {
        ApprovalState::Approved if app.store.move_po(&approval.subject, &["draft"], "approved", &by, now).await? => {
            send(app, &approval.subject).await?;
        }
        ApprovalState::Rejected => {
            app.store.move_po(&approval.subject, &["draft"], "rejected", &by, now).await?;
        }
        ApprovalState::Expired => {
            app.store.move_po(&approval.subject, &["draft"], "expired", &by, now).await?;
        }
        _ => {}
    }
    Ok(())
}

/// Queues an approved PO for its vendor through the outbox (retried, paced, and reported to
/// the owner if it parks): into the POS's own purchase orders when the POS keeps them
/// (Lightspeed), and by email when `[smtp]` is configured and the vendor has an address. The
/// PO is marked sent when the first of them goes. A PO that can go nowhere stays approved, and
/// that is audited. Returns whether anything was queued.
pub async fn send(app: &Shop, id: &str) -> Result<bool, StoreError> {
    let Some(po) = app.store.purchase_order(id).await? else { return Ok(false) };
    let to = match (&app.config.smtp, &po.vendor_email) {
        (None, _) => Err("no [smtp] section is configured".to_owned()),
        (_, None) => Err(format!("{} has no email address", po.vendor_name)),
        (Some(_), Some(to)) => Ok(to.clone()),
    };
    let in_pos = app.pos.keeps_purchase_orders();
    let mut tx = app.store.begin().await?;
    let mut audits = Vec::new();
    if in_pos {
        let provider = app.pos.provider();
        let order = crate::store::outbox::Outgoing::PurchaseOrderToPos { purchase_order: id.to_owned() };
        app.store.enqueue(&mut tx, crate::message::ChannelKind::Http, provider, &order, now_ms()).await?;
        audits.push(("po.pos_queued", provider.to_owned(), json!({ "pos": provider })));
    }
    if app.accounting.is_some() {
        let record = crate::store::outbox::Outgoing::PurchaseOrderToAccounting { purchase_order: id.to_owned() };
        app.store.enqueue(&mut tx, crate::message::ChannelKind::Http, ACCOUNTING, &record, now_ms()).await?;
        audits.push(("po.accounting_queued", ACCOUNTING.to_owned(), json!({ "platform": ACCOUNTING })));
    }
    match &to {
        Ok(to) => {
            let email = crate::store::outbox::Outgoing::PurchaseOrderEmail { purchase_order: id.to_owned() };
            app.store.enqueue(&mut tx, crate::message::ChannelKind::Email, to, &email, now_ms()).await?;
            audits.push(("po.email_queued", "email".to_owned(), json!({ "to": to })));
        }
        Err(why) if !in_pos => {
            tracing::warn!(po = id, error = %why, "a purchase order cannot be emailed");
            audits.push(("po.send_failed", "email".to_owned(), json!({ "error": why })));
        }
        Err(_) => {}
    }
    for (kind, channel, detail) in audits {
        let entry =
            AuditEntry { actor: "tillpilot".into(), channel, kind: kind.into(), subject: id.to_owned(), detail };
        app.store.audit(&mut tx, &entry).await?;
    }
    let queued = to.is_ok() || in_pos || app.accounting.is_some();
    tx.commit().await?;
    Ok(queued)
}

/// The accounting platform approved POs are recorded in (the outbox target).
pub const ACCOUNTING: &str = "quickbooks";

/// How an approved PO was on its way, for the owner's message when it parks.
pub enum Route<'a> {
    Email { to: &'a str },
    Pos { provider: &'a str },
    Accounting { platform: &'a str },
}

/// A PO's email or its placing in the POS gave up: the owner channels hear that it is approved
/// but not sent there, and why.
pub async fn send_parked(app: &Shop, id: &str, route: Route<'_>, error: &str) -> Result<(), StoreError> {
    let Some(po) = app.store.purchase_order(id).await? else { return Ok(()) };
    let (doing, advice, kind, channel, detail) = match route {
        Route::Email { to } => (
            format!("emailing {to}"),
            "Send it yourself, or fix the mail settings and approve a new draft.",
            "po.email_parked",
            "email".to_owned(),
            json!({ "to": to, "error": error }),
        ),
        Route::Pos { provider } => (
            format!("placing it in {}", provider_name(provider)),
            "Enter it in the POS yourself, or fix the connection and approve a new draft.",
            "po.pos_parked",
            provider.to_owned(),
            json!({ "pos": provider, "error": error }),
        ),
        Route::Accounting { platform } => (
            "recording it in QuickBooks".to_owned(),
            "Enter it in QuickBooks yourself, or fix the connection.",
            "po.accounting_parked",
            platform.to_owned(),
            json!({ "platform": platform, "error": error }),
        ),
    };
    let status =
        if matches!(route, Route::Accounting { .. }) { "is not in QuickBooks" } else { "is approved, not sent" };
    let text = format!(
        "Purchase order {id} to {} ({}) {status}: {doing} kept failing ({error}). {advice}",
        po.vendor_name, po.total
    );
    let mut tx = app.store.begin().await?;
    for (channel, target) in app.owner_targets(Role::Owner) {
        let post = crate::store::outbox::Outgoing::Post { reply: crate::message::Reply::text(&text), approval: None };
        app.store.enqueue(&mut tx, channel, &target, &post, now_ms()).await?;
    }
    let entry = AuditEntry { actor: "tillpilot".into(), channel, kind: kind.into(), subject: id.to_owned(), detail };
    app.store.audit(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(())
}

fn provider_name(provider: &str) -> &str {
    match provider {
        "lightspeed" => "Lightspeed",
        "square" => "Square",
        "clover" => "Clover",
        "shopify" => "Shopify",
        other => other,
    }
}

/// The PO as the POS's purchase orders take it. A vendor known only from the configuration
/// has no id at the POS.
pub fn supplier_order(po: &PurchaseOrder) -> crate::domain::SupplierOrder {
    use crate::domain::{Quantity, SupplierOrder, SupplierOrderLine};
    SupplierOrder {
        number: po.id.clone(),
        vendor_id: (!po.vendor_id.as_str().starts_with(super::vendors::CONFIG_PREFIX)).then(|| po.vendor_id.clone()),
        location_id: po.location_id.clone(),
        lines: po
            .lines
            .iter()
            .map(|l| SupplierOrderLine {
                variation_id: l.variation_id.clone(),
                quantity: Quantity::from_milli(i64::from(l.quantity) * 1000),
                unit_cost: l.unit_cost,
            })
            .collect(),
    }
}

/// Books in what the POS says arrived against a PO it holds: the PO is received, with each
/// line's received count (a partial receipt included). Returns the PO's id when it moved.
pub async fn record_receipt(app: &Shop, receipt: &crate::domain::Receipt) -> Result<Option<String>, StoreError> {
    let Some(po) = app.store.po_by_pos_order(&receipt.pos_order_id).await? else { return Ok(None) };
    let received: Vec<crate::domain::Quantity> = po.lines.iter().map(|l| receipt.received(&l.variation_id)).collect();
    let moved = app.store.receive_po(&po.id, &received, app.pos.provider(), now_ms()).await?;
    Ok(moved.then_some(po.id))
}

/// Tells the owner channels, once per PO, of a sent PO whose vendor's lead time has passed by
/// a whole day with nothing booked in. Returns the ids reported.
pub async fn alert_late(app: &Shop) -> Result<Vec<String>, StoreError> {
    use chrono::TimeZone;
    let due = app.store.sent_pos_not_reported_late().await?;
    if due.is_empty() {
        return Ok(Vec::new());
    }
    let (vendors, _, _) = super::vendors::to_order_from(app).await?;
    let today = app.today();
    let mut reported = Vec::new();
    for (id, sent_at_ms) in due {
        let Some(po) = app.store.purchase_order(&id).await? else { continue };
        let Some(vendor) = vendors.iter().find(|v| v.vendor.id == po.vendor_id).map(|s| &s.vendor) else { continue };
        let Some(sent) = app.timezone.timestamp_millis_opt(sent_at_ms).single().map(|t| t.date_naive()) else {
            continue;
        };
        let due_day = sent + chrono::Duration::days(i64::from(vendor.lead_time_days));
        if today <= due_day {
            continue;
        }
        let text = format!(
            "{id} to {} ({}), sent {} with a {}-day lead time, was due {} and has not been booked in. \
             When it comes, reply \"{id} received\" (or \"{id} arrived but only 10 oat milk\" when a line is short).",
            po.vendor_name,
            po.total,
            sent.format("%a %b %-d"),
            vendor.lead_time_days,
            due_day.format("%a %b %-d"),
        );
        let mut tx = app.store.begin().await?;
        if !app.store.mark_po_late(&mut tx, &id, now_ms()).await? {
            tx.rollback().await?;
            continue;
        }
        for (channel, target) in app.owner_targets(Role::Manager) {
            let post =
                crate::store::outbox::Outgoing::Post { reply: crate::message::Reply::text(&text), approval: None };
            app.store.enqueue(&mut tx, channel, &target, &post, now_ms()).await?;
        }
        let entry = AuditEntry {
            actor: "tillpilot".into(),
            channel: "tillpilot".into(),
            kind: "po.late".into(),
            subject: id.clone(),
            detail: json!({ "vendor": po.vendor_name, "sent": sent.to_string(), "due": due_day.to_string() }),
        };
        app.store.audit(&mut tx, &entry).await?;
        tx.commit().await?;
        reported.push(id);
    }
    Ok(reported)
}

/// Marks sent POs received: one the POS holds once the POS has booked it in, any other once
/// stock for every line has risen by at least half of what was ordered. Returns the ids
/// received.
pub async fn check_received(app: &Shop) -> Result<Vec<String>, StoreError> {
    let stock: HashMap<(VariationId, LocationId), f64> = app
        .store
        .mirror_stock(&[], None)
        .await?
        .into_iter()
        .map(|s| ((s.variation_id, s.location_id), s.on_hand.as_f64()))
        .collect();
    let mut received = Vec::new();
    for po in app.store.purchase_orders_in("sent").await? {
        // A PO the POS holds is received when the POS books it in (this pull catches a receipt
        // whose webhook never came).
        if let Some(pos_id) = &po.pos_order_id {
            match app.pos.purchase_order_receipt(pos_id).await {
                Ok(Some(receipt)) => received.extend(record_receipt(app, &receipt).await?),
                Ok(None) => {}
                Err(err) => tracing::warn!(po = %po.id, error = %err, "could not read a purchase order's receipt"),
            }
            continue;
        }
        let arrived = po.lines.iter().all(|l| {
            let now = stock.get(&(l.variation_id.clone(), po.location_id.clone())).copied().unwrap_or(0.0);
            now >= l.on_hand_at_draft + f64::from(l.quantity) / 2.0
        });
        if arrived && app.store.move_po(&po.id, &["sent"], "received", "tillpilot", now_ms()).await? {
            received.push(po.id.clone());
        }
    }
    Ok(received)
}
