//! The checkout assistant: the shop's POS middleware posts a cart before the receipt prints
//! and gets back, from memory and within a millisecond or so, what to tell the cashier:
//! add-ons that sell with what is in the cart (mined from the shop's own baskets, only when in
//! stock at that store), a loyalty discount the customer qualifies for, fraud flags with a
//! combined risk score, and whether a manager must approve the discount on the cart (any
//! discount above `policy.manager_approval_discount_pct`, or a total its items do not
//! explain). The approval request goes to the manager channels through the approvals module
//! (kind `discount`); the middleware polls `GET /api/ai/approvals/{id}` or is called back.
//!
//! The `review` flag is the kill switch: `off` answers an empty list at once, `shadow`
//! computes and records everything but returns nothing and asks no one. Every review is
//! recorded (a `reviews` row and an audit record) by the recorder, off the request path.

pub mod affinity;
pub mod cart;
mod desk;
pub mod fraud;
pub mod loyalty;
mod recorder;

pub use cart::{Answer, Cart, CartError, parse};
pub use desk::ReviewDesk;

use crate::approval_token::{new_code, random_bytes};
use crate::config::ReviewConfig;
use crate::domain::{LocationId, Money, Role};
use crate::message::Reply;
use crate::store::approvals::Approval;
use crate::store::flags::FlagState;
use crate::store::outbox::Outgoing;
use crate::store::reviews::ReviewRecord;
use crate::store::{AuditEntry, AuditText, StoreError, now_ms};
use crate::workflows::Shop;
use crate::workflows::approvals::NewApproval;
use cart::{Action, Recommendation};
use serde_json::json;
use std::sync::Arc;

/// The approvals kind of a discount a cashier asked a manager for.
pub const APPROVAL_KIND: &str = "discount";

/// Starts the keeper and the recorder when `[review]` is configured. Call it inside the
/// runtime that serves.
pub fn start(app: &Arc<Shop>) {
    if app.config.review.is_none() || app.review.recorder.get().is_some() {
        return;
    }
    recorder::start(app);
    tokio::spawn(desk::keep(Arc::clone(app)));
}

/// Waits (at most `within`) until every answered review is recorded: the server's last step.
pub async fn flush(app: &Shop, within: std::time::Duration) -> bool {
    recorder::flush(app, within).await
}

/// Why a review could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// The request asks for something it may not (a callback outside `callback_allow`).
    #[error("{0}")]
    Refused(String),
    #[error("transaction review is not configured")]
    NotConfigured,
    #[error("{0}")]
    Unavailable(String),
}

/// The POS location a middleware `store_id` means: `[review] stores`, a location with that id
/// or name, or the shop's only location.
pub fn location_for(app: &Shop, config: &ReviewConfig, store_id: &str) -> Option<LocationId> {
    if let Some(id) = config.stores.get(store_id) {
        return Some(LocationId::new(id.clone()));
    }
    let view = app.catalog();
    view.locations
        .iter()
        .find(|l| l.id.as_str() == store_id || l.name.eq_ignore_ascii_case(store_id))
        .or(if view.locations.len() == 1 { view.locations.first() } else { None })
        .map(|l| l.id.clone())
}

/// A review id unique across processes: a random prefix drawn once per process, and a count.
fn next_review_id() -> String {
    static PREFIX: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    static COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| hex::encode(random_bytes(6)));
    format!("rv_{prefix}{:08x}", COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

/// Reviews `cart`: the answer for the middleware; the record goes to the recorder.
pub async fn review(app: &Shop, cart: Cart) -> Result<Answer, ReviewError> {
    let config = app.config.review.as_ref().ok_or(ReviewError::NotConfigured)?;
    if let Some(url) = &cart.callback_url
        && !config.callback_allowed(url)
    {
        return Err(ReviewError::Refused(
            "callback_url: not under any of [review] callback_allow; nothing was recorded".into(),
        ));
    }
    app.review.ready().await;
    let review_id = next_review_id();
    let location = location_for(app, config, &cart.store_id);
    let mode = app.review.mode(location.as_ref());
    let label = match mode {
        FlagState::On => "mode=\"on\"",
        FlagState::Shadow => "mode=\"shadow\"",
        FlagState::Off => "mode=\"off\"",
    };
    app.metrics.increment("tillpilot_reviews_total", label);
    if mode == FlagState::Off {
        return Ok(Answer { review_id, risk_score: 0.0, recommendations: Vec::new() });
    }
    let now = app.clock.now_ms();
    let tolerance = Money::from_minor((config.total_tolerance * 100.0).round() as i64);
    let facts = fraud::facts(&cart, &config.fraud, tolerance);
    let (findings, visits) = {
        let mut memory = desk::lock(&app.review.memory);
        let visits = cart.loyalty_id.as_deref().map_or(0, |c| memory.visits(c, now));
        let findings =
            fraud::assess(&cart, &facts, &mut memory, &config.fraud, location.as_ref().map(LocationId::as_str), now);
        memory.remember(&fraud::Trace {
            at_ms: now,
            register: cart.register_id.clone(),
            cashier: cart.cashier_id.clone(),
            loyalty_id: cart.loyalty_id.clone(),
            gift_cards: facts.gift_cards,
            voids: cart.voided_lines,
            overrides: facts.overrides,
        });
        (findings, visits)
    };
    let risk = (fraud::score(&findings) * 1000.0).round() / 1000.0;
    let flagged = risk >= config.fraud.flag_at && !findings.is_empty();
    let (why_approve, code) = approval_reasons(app, &cart, &facts);
    let approval_id = (!why_approve.is_empty() && mode == FlagState::On).then(new_code);
    let mut recommendations = Vec::new();
    if !why_approve.is_empty() {
        let mut rec = Recommendation::new(Action::RequireManagerApproval, why_approve.join(" "), 1.0);
        rec.approval_id = approval_id.clone();
        rec.discount_code = code;
        recommendations.push(rec);
    }
    if flagged {
        recommendations
            .extend(findings.iter().map(|f| Recommendation::new(Action::FlagRisk, f.reason.clone(), f.weight)));
    } else if let Some(offer) = loyalty::offer(&config.loyalty, &app.config.policy, &cart, visits) {
        recommendations.push(offer);
    }
    recommendations.extend(addons(app, config, &cart, location.as_ref()));
    if flagged {
        app.metrics.increment("tillpilot_reviews_flagged_total", "");
    }
    let where_ = location.as_ref().map_or_else(|| cart.store_id.clone(), |l| app.catalog().location_name(l));
    let actor =
        cart.cashier_id.as_ref().map_or_else(|| format!("register {}", cart.register_id), |c| format!("cashier {c}"));
    let recorded = recorder::Recorded {
        record: ReviewRecord {
            id: review_id.clone(),
            transaction_id: cart.transaction_id.clone(),
            store_id: cart.store_id.clone(),
            location_id: location.as_ref().map(|l| l.as_str().to_owned()),
            register_id: cart.register_id.clone(),
            cashier_id: cart.cashier_id.clone(),
            loyalty_id: cart.loyalty_id.clone(),
            at_ms: now,
            total_cents: cart.total.minor(),
            mode: mode.as_str().to_owned(),
            risk_milli: (risk * 1000.0).round() as i64,
            flagged: i64::from(flagged),
            gift_cards: i64::from(facts.gift_cards),
            voids: i64::from(cart.voided_lines),
            overrides: i64::from(facts.overrides),
            approval_id: approval_id.clone(),
            callback_url: cart.callback_url.clone(),
            detail: to_json(&RecordDetail { recommendations: &recommendations }),
        },
        audit: AuditText {
            detail: to_json(&ReviewAudit {
                review_id: &review_id,
                actor: &actor,
                transaction_id: &cart.transaction_id,
                mode: mode.as_str(),
                store_id: &cart.store_id,
                location: &where_,
                register_id: &cart.register_id,
                cashier_id: cart.cashier_id.as_deref(),
                total: cart.total.to_string(),
                lines: cart.lines.len(),
                risk_score: risk,
                flagged,
                rules: findings.iter().map(|f| f.rule).collect(),
                recommendations: recommendations
                    .iter()
                    .map(|r| AuditedRecommendation {
                        action: r.action,
                        discount_code: r.discount_code.as_deref(),
                        sku: r.sku.as_deref(),
                        approval_id: r.approval_id.as_deref(),
                    })
                    .collect(),
            }),
            actor: actor.clone(),
            channel: "http".into(),
            kind: "review".into(),
            subject: cart.transaction_id.clone(),
        },
        approval: approval_id.clone().map(|id| {
            let detail = approval_detail(&cart, &where_, &why_approve, flagged.then_some(&findings[..]));
            let new = NewApproval {
                kind: APPROVAL_KIND.into(),
                subject: cart.transaction_id.clone(),
                detail,
                required_role: Role::Manager,
                ttl_ms: i64::from(config.approval_minutes) * 60_000,
                requested_by: actor,
            };
            (id, new)
        }),
        flag: (flagged && approval_id.is_none() && mode == FlagState::On)
            .then(|| flag_reply(&cart, &where_, risk, &findings)),
    };
    if let Some(id) = &approval_id {
        app.review.issued(id);
    }
    if let Err(err) = recorder::submit(app, recorded).await {
        if let Some(id) = &approval_id {
            app.review.recorded(id);
        }
        return Err(ReviewError::Unavailable(err));
    }
    if mode == FlagState::Shadow {
        return Ok(Answer { review_id, risk_score: 0.0, recommendations: Vec::new() });
    }
    Ok(Answer { review_id, risk_score: risk, recommendations })
}

/// A review row's detail.
#[derive(serde::Serialize)]
struct RecordDetail<'a> {
    recommendations: &'a [Recommendation],
}

/// A review's audit detail. It names its actor and transaction itself, so that a batch's
/// record can list the reviews' details as they are.
#[derive(serde::Serialize)]
struct ReviewAudit<'a> {
    review_id: &'a str,
    actor: &'a str,
    transaction_id: &'a str,
    mode: &'a str,
    store_id: &'a str,
    location: &'a str,
    register_id: &'a str,
    cashier_id: Option<&'a str>,
    total: String,
    lines: usize,
    risk_score: f64,
    flagged: bool,
    rules: Vec<&'static str>,
    recommendations: Vec<AuditedRecommendation<'a>>,
}

#[derive(serde::Serialize)]
struct AuditedRecommendation<'a> {
    action: Action,
    discount_code: Option<&'a str>,
    sku: Option<&'a str>,
    approval_id: Option<&'a str>,
}

/// `value` as JSON text; these types always serialise.
fn to_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned())
}

/// Why the cart needs a manager, and the code of the discount that does it.
fn approval_reasons(app: &Shop, cart: &Cart, facts: &fraud::CartFacts) -> (Vec<String>, Option<String>) {
    let policy = &app.config.policy;
    let limit = i64::from(policy.manager_approval_discount_pct) * 100;
    let mut reasons = Vec::new();
    let mut code = None;
    for discount in &cart.discounts {
        let share = cart.discount_share(discount);
        if share > limit {
            reasons.push(format!(
                "{} takes {} off, over the {}% a cashier may give.",
                discount.code,
                percent(share),
                policy.manager_approval_discount_pct
            ));
            code.get_or_insert_with(|| discount.code.clone());
        }
        if let Some(banned) = policy
            .never_discount_categories
            .iter()
            .find(|c| cart.lines.iter().any(|l| discount.covers(l) && l.category.eq_ignore_ascii_case(c)))
        {
            reasons.push(format!("{} discounts {banned}, which the shop never discounts.", discount.code));
            code.get_or_insert_with(|| discount.code.clone());
        }
    }
    let items = cart.items_total().minor().max(1);
    let unexplained = facts.unexplained.minor() * 10_000 / items;
    if unexplained > limit {
        reasons.push(format!(
            "The total {} is {} below its items ({}) with no discount to explain it.",
            cart.total,
            percent(unexplained),
            cart.items_total() - cart.declared_off()
        ));
    } else if reasons.is_empty() {
        let effective = (cart.items_total() - cart.total).minor() * 10_000 / items;
        if effective > limit {
            reasons.push(format!(
                "Discounts on this cart come to {} of its items, over the {}% a cashier may give.",
                percent(effective),
                policy.manager_approval_discount_pct
            ));
        }
    }
    (reasons, code)
}

/// Hundredths of a percent as people write it: "44%", "12.5%".
fn percent(hundredths: i64) -> String {
    if hundredths % 100 == 0 || hundredths >= 1_000 {
        format!("{}%", (hundredths + 50) / 100)
    } else {
        format!("{:.1}%", hundredths as f64 / 100.0)
    }
}

/// Add-ons that sell with the cart's items and are in stock where the cart is.
fn addons(app: &Shop, config: &ReviewConfig, cart: &Cart, location: Option<&LocationId>) -> Vec<Recommendation> {
    let desk = &app.review;
    let in_cart: Vec<String> =
        cart.lines.iter().filter_map(|l| desk.product_by_sku(&l.sku)).map(|p| p.variation_id).collect();
    if in_cart.is_empty() {
        return Vec::new();
    }
    let keys: Vec<&str> = in_cart.iter().map(String::as_str).collect();
    let rules = desk.rules();
    let found = rules.suggest(&keys, config.max_addons, |v| desk.on_hand(v, location).is_some_and(|q| q > 0));
    found
        .into_iter()
        .filter_map(|(from, rule)| {
            let to = desk.product(&rule.then)?;
            let from = desk.product(from)?;
            let mut rec = Recommendation::new(
                Action::SuggestAddon,
                format!(
                    "{} goes with {}: {:.0}% of the baskets with {} have it, {:.0} times its share of all baskets.",
                    to.name,
                    from.name,
                    rule.confidence * 100.0,
                    from.name,
                    rule.lift
                ),
                rule.confidence,
            );
            rec.sku = Some(to.sku.unwrap_or(to.variation_id));
            Some(rec)
        })
        .collect()
}

fn cart_lines(cart: &Cart) -> String {
    let mut lines: Vec<String> = cart
        .lines
        .iter()
        .take(10)
        .map(|l| {
            let name = if l.name.is_empty() { l.sku.as_str() } else { l.name.as_str() };
            format!("{name} x{} {}", l.quantity, l.amount())
        })
        .collect();
    if cart.lines.len() > 10 {
        lines.push(format!("and {} more lines", cart.lines.len() - 10));
    }
    lines.join("; ")
}

fn approval_detail(cart: &Cart, at: &str, why: &[String], flags: Option<&[fraud::Finding]>) -> String {
    let cashier = cart.cashier_id.as_deref().map(|c| format!(", cashier {c}")).unwrap_or_default();
    let mut text = format!(
        "discount at checkout, {} at {at}, register {}{cashier}: total {} for items of {}. {} Cart: {}.",
        cart.transaction_id,
        cart.register_id,
        cart.total,
        cart.items_total(),
        why.join(" "),
        cart_lines(cart)
    );
    if let Some(flags) = flags {
        let reasons: Vec<&str> = flags.iter().map(|f| f.reason.as_str()).collect();
        text.push_str(&format!(" Also flagged: {}", reasons.join(" ")));
    }
    text
}

fn flag_reply(cart: &Cart, at: &str, risk: f64, findings: &[fraud::Finding]) -> Reply {
    let cashier = cart.cashier_id.as_deref().map(|c| format!(", cashier {c}")).unwrap_or_default();
    let reasons: Vec<String> = findings.iter().map(|f| format!("- {}", f.reason)).collect();
    Reply::text(format!(
        "Checkout flagged at {at}, register {}{cashier} (transaction {}), risk {risk:.2}:\n{}",
        cart.register_id,
        cart.transaction_id,
        reasons.join("\n")
    ))
    .field("Cart", cart_lines(cart))
    .field("Total", cart.total.to_string())
}

/// A discount approval was decided (or expired): when the review asked for a callback, the
/// decision is queued to it, signed, through the outbox.
pub async fn on_decision(app: &Shop, approval: &Approval) -> Result<(), StoreError> {
    let Some(review) = app.store.review_for_approval(&approval.id).await? else { return Ok(()) };
    let Some(url) = review.callback_url.clone() else { return Ok(()) };
    let allowed = app.config.review.as_ref().is_some_and(|c| c.callback_allowed(&url));
    let now = now_ms();
    let mut tx = app.store.begin().await?;
    let audit = |kind: &str, detail| AuditEntry {
        actor: "tillpilot".into(),
        channel: "http".into(),
        kind: kind.into(),
        subject: approval.id.clone(),
        detail,
    };
    if allowed {
        let body = decision_body(approval, &review).to_string();
        app.store.enqueue(&mut tx, recorder::CALLBACK_CHANNEL, &url, &Outgoing::Callback { body }, now).await?;
        app.store
            .audit(&mut tx, &audit("review.callback_queued", json!({ "url": url, "state": approval.state })))
            .await?;
    } else {
        app.store
            .audit(
                &mut tx,
                &audit("review.callback_refused", json!({ "url": url, "why": "not under [review] callback_allow" })),
            )
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// What the middleware reads about an approval, polled or called back.
pub fn decision_body(approval: &Approval, review: &ReviewRecord) -> serde_json::Value {
    json!({
        "approval_id": approval.id,
        "review_id": review.id,
        "transaction_id": review.transaction_id,
        "state": approval.state,
        "decided_by": approval.decided_by,
        "decided_at": approval.decided_at_ms.and_then(chrono::DateTime::from_timestamp_millis).map(|t| t.to_rfc3339()),
        "expires_at": chrono::DateTime::from_timestamp_millis(approval.expires_at_ms).map(|t| t.to_rfc3339()),
    })
}
