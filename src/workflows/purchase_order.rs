//! `po pending|approved|sent`: the purchase orders in that state, one line each; and
//! `po <number> [<item> <quantity> | drop <item>]`: one purchase order, shown, or changed
//! before it is approved. A change is made only to a draft whose approval is still open, by
//! someone who may approve it; the draft's lines and total are rewritten, the approval request
//! is restated and every message carrying it re-rendered, and the change is audited. What the
//! vendor's email, its CSV, the POS and QuickBooks get is read from the PO when it goes, so
//! they carry the edited lines.

use super::Shop;
use super::approvals;
use super::reorder::{APPROVAL_KIND, approval_text, asked_by};
use crate::channels::Reply;
use crate::domain::{Money, Person};
use crate::nlu::{Entities, ProductResolution};
use crate::store::purchase_orders::PurchaseOrder;
use crate::store::{AuditEntry, StoreError, now_ms};
use serde_json::json;

/// What the message asks of the PO.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Change {
    Show,
    Set {
        item: String,
        quantity: u32,
    },
    Drop {
        item: String,
    },
    /// The delivery came: everything as ordered, or with one line short (`short`).
    Receive {
        short: Option<(String, u32)>,
    },
}

/// Words that are about the asking, not the item.
const FILLER: &[&str] = &[
    "po",
    "purchase",
    "order",
    "on",
    "the",
    "to",
    "from",
    "of",
    "off",
    "line",
    "make",
    "it",
    "set",
    "change",
    "show",
    "me",
    "what",
    "is",
    "in",
    "a",
    "an",
    "please",
    "units",
    "x",
    "drop",
    "remove",
    "delete",
    "take",
    "cut",
    "received",
    "receive",
    "arrived",
    "came",
    "delivered",
    "but",
    "only",
    "all",
    "everything",
    "got",
    "has",
    "have",
    "was",
    "we",
    "as",
    "ordered",
];

/// The PO number in `text` (`PO-1043`, `po 1043`, `purchase order 1043`) and what is asked.
fn parse(text: &str) -> Option<(String, Change)> {
    let words: Vec<String> = text
        .split(|c: char| c.is_whitespace() || c == ',' || c == '?' || c == '!' || c == ':')
        .filter(|w| !w.is_empty())
        .map(|w| w.trim_matches(|c: char| c == '.' || c == '"' || c == '\'').to_lowercase())
        .collect();
    let mut number = None;
    let mut used = vec![false; words.len()];
    for (i, word) in words.iter().enumerate() {
        if let Some(digits) = word.strip_prefix("po-").or_else(|| word.strip_prefix("po#"))
            && !digits.is_empty()
            && digits.chars().all(|c| c.is_ascii_digit())
        {
            number = Some(digits.to_owned());
            used[i] = true;
            break;
        }
        let digits = word.trim_start_matches('#');
        let after_po = i > 0 && matches!(words[i - 1].as_str(), "po" | "order" | "#");
        if after_po && !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
            number = Some(digits.to_owned());
            used[i] = true;
            break;
        }
    }
    let number = format!("PO-{}", number?);
    let dropping = words.iter().any(|w| matches!(w.as_str(), "drop" | "remove" | "delete" | "take" | "cut"));
    let receiving =
        words.iter().any(|w| matches!(w.as_str(), "received" | "receive" | "arrived" | "came" | "delivered"));
    let quantity = words
        .iter()
        .enumerate()
        .rev()
        .find(|(i, w)| !used[*i] && !w.is_empty() && w.chars().all(|c| c.is_ascii_digit()))
        .map(|(i, w)| (i, w.parse::<u32>().ok()));
    if let Some((i, _)) = quantity {
        used[i] = true;
    }
    let item: Vec<&str> = words
        .iter()
        .enumerate()
        .filter(|(i, w)| !used[*i] && !FILLER.contains(&w.as_str()))
        .map(|(_, w)| w.as_str())
        .collect();
    let item = item.join(" ");
    let change = match (dropping, quantity) {
        _ if receiving => Change::Receive {
            short: match quantity {
                Some((_, Some(quantity))) if !item.is_empty() => Some((item, quantity)),
                _ => None,
            },
        },
        _ if item.is_empty() => Change::Show,
        (true, _) => Change::Drop { item },
        (false, Some((_, Some(quantity)))) => Change::Set { item, quantity },
        (false, _) => Change::Show,
    };
    Some((number, change))
}

/// The line of `po` the message names: the one line whose name has every word of `item`;
/// when the words fit several lines, or none (a typo), the product the message matched picks
/// among them. Never a guess: several lines with nothing to tell them apart is a question.
fn find_line(po: &PurchaseOrder, item: &str, entities: &Entities) -> Result<usize, String> {
    let words: Vec<&str> = item.split_whitespace().collect();
    let by_words: Vec<usize> = (0..po.lines.len())
        .filter(|i| {
            let name = po.lines[*i].name.to_lowercase();
            words.iter().all(|w| name.contains(w) || (w.len() > 3 && name.contains(w.trim_end_matches('s'))))
        })
        .collect();
    if let [one] = by_words.as_slice() {
        return Ok(*one);
    }
    let matched: Vec<usize> = match &entities.products {
        ProductResolution::One(found) => (0..po.lines.len())
            .filter(|i| found.variations.iter().any(|(v, _)| *v == po.lines[*i].variation_id))
            .filter(|i| by_words.is_empty() || by_words.contains(i))
            .collect(),
        _ => Vec::new(),
    };
    if let [one] = matched.as_slice() {
        return Ok(*one);
    }
    match by_words.as_slice() {
        [] => Err(format!("{} has no line for \"{item}\".", po.id)),
        several => Err(format!(
            "\"{item}\" fits several lines of {}: {}. Say which.",
            po.id,
            several.iter().map(|i| po.lines[*i].name.as_str()).collect::<Vec<_>>().join(", ")
        )),
    }
}

/// Which list a message without a PO number asks for: drafts waiting for a decision, approved
/// ones not yet sent, or sent ones not yet booked in.
fn list_asked(text: &str) -> Option<&'static str> {
    let words: Vec<String> =
        text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect();
    let has = |options: &[&str]| words.iter().any(|w| options.contains(&w.as_str()));
    if has(&["pending", "waiting", "draft", "drafts", "undecided", "unapproved"]) {
        Some("draft")
    } else if has(&["sent", "way", "outstanding", "due", "expected", "open"]) {
        Some("sent")
    } else if has(&["approved"]) {
        Some("approved")
    } else {
        None
    }
}

/// The purchase orders in `state`, oldest first, each in a line: number, vendor, location,
/// total, and for a sent one when it was due (late ones say so).
async fn list(app: &Shop, state: &str) -> Result<Reply, StoreError> {
    use chrono::TimeZone;
    let orders = app.store.purchase_orders_in(state).await?;
    let heading = match state {
        "draft" => "waiting for approval",
        "approved" => "approved, not yet sent",
        _ => "sent, not yet booked in",
    };
    if orders.is_empty() {
        return Ok(Reply::text(format!("No purchase orders are {heading}.")));
    }
    let sent_at: std::collections::HashMap<String, i64> = if state == "sent" {
        app.store.sent_pos_not_received().await?.into_iter().collect()
    } else {
        Default::default()
    };
    let (vendors, _, _) = if state == "sent" { super::vendors::to_order_from(app).await? } else { Default::default() };
    let today = app.today();
    let total: Money = orders.iter().map(|po| po.total).sum();
    let mut reply = Reply::text(format!(
        "{} purchase order{} {heading}, {total} in all:",
        orders.len(),
        if orders.len() == 1 { "" } else { "s" }
    ));
    for po in &orders {
        let lines = format!("{} line{}", po.lines.len(), if po.lines.len() == 1 { "" } else { "s" });
        let mut value = format!("{} for {}: {}, {lines}", po.vendor_name, po.location_name, po.total);
        let sent = sent_at.get(&po.id).and_then(|ms| app.timezone.timestamp_millis_opt(*ms).single());
        let lead = vendors.iter().find(|v| v.vendor.id == po.vendor_id).map(|v| v.lead_time.days);
        if let (Some(sent), Some(lead)) = (sent, lead) {
            let due = sent.date_naive() + chrono::Duration::days(i64::from(lead));
            let when = if due < today { "was due" } else { "due" };
            value.push_str(&format!("; sent {}, {when} {}", sent.format("%a %b %-d"), due.format("%a %b %-d")));
        }
        reply = reply.field(po.id.clone(), value);
    }
    // The hints name the first PO listed and one of its lines, so they can be sent as they are.
    let (first, item) = (
        &orders[0].id,
        orders[0]
            .lines
            .first()
            .map_or_else(|| "oat milk".to_owned(), |l| l.name.split(" (").next().unwrap_or(&l.name).to_lowercase()),
    );
    if state == "draft" {
        reply =
            reply.field("To change one", format!("\"{first} {item} 24\" or \"{first} drop {item}\", then approve it"));
    } else if state == "sent" {
        reply =
            reply.field("When one comes", format!("\"{first} received\" (or \"{first} arrived but only 10 {item}\")"));
    }
    Ok(reply)
}

pub async fn run(app: &Shop, person: &Person, args: &str, entities: &Entities) -> Result<Reply, StoreError> {
    if parse(args).is_none()
        && let Some(state) = list_asked(args)
    {
        return list(app, state).await;
    }
    let Some((number, change)) = parse(args) else {
        return Ok(Reply::text(
            "Which purchase order? Say its number, like \"po PO-1043\", \"PO-1043 oat milk 24\" or \"PO-1043 drop brie\"; \
             or \"po pending\", \"po approved\" or \"po sent\" for a list.",
        ));
    };
    let Some(mut po) = app.store.purchase_order(&number).await? else {
        return Ok(Reply::text(format!("There is no purchase order {number}.")));
    };
    let approval = app
        .store
        .pending_approvals()
        .await?
        .into_iter()
        .find(|a| a.kind == APPROVAL_KIND && a.subject == po.id && a.expires_at_ms > now_ms());
    if change == Change::Show {
        let mut reply = Reply::text(format!(
            "Purchase order {} to {} for {}: {}, {} line{}, {}.",
            po.id,
            po.vendor_name,
            po.location_name,
            po.total,
            po.lines.len(),
            if po.lines.len() == 1 { "" } else { "s" },
            state_words(&po)
        ));
        for line in &po.lines {
            let total = line.unit_cost.times_milli(i64::from(line.quantity) * 1000);
            let received = line.received.map(|r| format!(", {r} received")).unwrap_or_default();
            reply =
                reply.field(line.name.clone(), format!("{} × {} = {total}{received}", line.quantity, line.unit_cost));
        }
        if let Some(approval) = &approval {
            reply.actions.extend(approvals::decision_buttons(&app.approval_key, &approval.id, &po.id));
        }
        return Ok(reply);
    }
    if let Change::Receive { short } = &change {
        return receive(app, person, &po, short.as_ref(), entities).await;
    }
    let Some(approval) = approval.filter(|_| po.state == "draft") else {
        return Ok(Reply::text(format!(
            "{} is {}, so it can no longer be changed. Nothing was changed.",
            po.id,
            state_words(&po)
        )));
    };
    if !person.role.at_least(approval.required_role) {
        return Ok(Reply::text(format!(
            "Only the owner can change {}: it is over the amount a manager may approve. Nothing was changed.",
            po.id
        )));
    }
    let (item, quantity) = match &change {
        Change::Set { item, quantity } => (item.as_str(), *quantity),
        Change::Drop { item } => (item.as_str(), 0),
        Change::Show | Change::Receive { .. } => unreachable!("answered above"),
    };
    let at = match find_line(&po, item, entities) {
        Ok(at) => at,
        Err(why) => return Ok(Reply::text(format!("{why} Nothing was changed."))),
    };
    let before = po.lines[at].quantity;
    let name = po.lines[at].name.clone();
    if quantity == 0 && po.lines.len() == 1 {
        return Ok(Reply::text(format!(
            "{name} is the only line of {}; reject the order instead. Nothing was changed.",
            po.id
        )));
    }
    if quantity == before {
        return Ok(Reply::text(format!("{} already has {before} × {name}. Nothing was changed.", po.id)));
    }
    if quantity == 0 {
        po.lines.remove(at);
    } else {
        po.lines[at].quantity = quantity;
        po.lines[at].reason = format!("{}; changed from {before} by {}", po.lines[at].reason, person.name);
    }
    let old_total = po.total;
    po.total =
        po.lines.iter().map(|l| l.unit_cost.times_milli(i64::from(l.quantity) * 1000)).fold(Money::ZERO, |a, b| a + b);
    let detail = approval_text(&po, &asked_by(&approval.requested_by));
    let mut tx = app.store.begin().await?;
    if !app.store.replace_po_lines(&mut tx, &po).await? {
        tx.rollback().await?;
        return Ok(Reply::text(format!("{} was decided a moment ago. Nothing was changed.", po.id)));
    }
    approvals::restate(app, &mut tx, &approval.id, &detail).await?;
    let what = if quantity == 0 { "dropped".to_owned() } else { format!("{before} → {quantity}") };
    app.store
        .audit(
            &mut tx,
            &AuditEntry {
                actor: person.name.clone(),
                channel: "tillpilot".into(),
                kind: "po.edited".into(),
                subject: po.id.clone(),
                detail: json!({ "item": name, "from": before, "to": quantity, "total_before": old_total.minor(),
                    "total": po.total.minor(), "approval": approval.id }),
            },
        )
        .await?;
    tx.commit().await?;
    let mut text = format!("{}: {name} {what}. New total {} (was {old_total}).", po.id, po.total);
    if let Some(minimum) = vendor_minimum(app, &po).await?
        && po.total < minimum
    {
        text.push_str(&format!(" That is now under {}'s minimum order of {minimum}.", po.vendor_name));
    }
    let mut reply = Reply::text(format!("{text}\n\n{detail}"));
    reply.actions.extend(approvals::decision_buttons(&app.approval_key, &approval.id, &po.id));
    Ok(reply)
}

/// `PO-1043 received` (all of it as ordered) or `PO-1043 received, oat milk 100` (one line
/// short): the PO is booked in with what arrived.
async fn receive(
    app: &Shop,
    person: &Person,
    po: &PurchaseOrder,
    short: Option<&(String, u32)>,
    entities: &Entities,
) -> Result<Reply, StoreError> {
    if !matches!(po.state.as_str(), "approved" | "sent") {
        return Ok(Reply::text(format!(
            "{} is {}, so there is nothing to receive. Nothing was changed.",
            po.id,
            state_words(po)
        )));
    }
    let mut received: Vec<crate::domain::Quantity> =
        po.lines.iter().map(|l| crate::domain::Quantity::from_milli(i64::from(l.quantity) * 1000)).collect();
    let mut note = format!("{} line{} as ordered", po.lines.len(), if po.lines.len() == 1 { "" } else { "s" });
    if let Some((item, quantity)) = short {
        let at = match find_line(po, item, entities) {
            Ok(at) => at,
            Err(why) => return Ok(Reply::text(format!("{why} Nothing was changed."))),
        };
        received[at] = crate::domain::Quantity::from_milli(i64::from(*quantity) * 1000);
        note = format!("{} of {} × {}, the other lines as ordered", quantity, po.lines[at].quantity, po.lines[at].name);
    }
    if !app.store.receive_po(&po.id, &received, &person.name, now_ms()).await? {
        return Ok(Reply::text(format!("{} was booked in a moment ago. Nothing was changed.", po.id)));
    }
    Ok(Reply::text(format!("{} from {} received: {note}.", po.id, po.vendor_name)))
}

fn state_words(po: &PurchaseOrder) -> String {
    match po.state.as_str() {
        "draft" => "waiting for approval".into(),
        "approved" => "approved, not yet sent".into(),
        other => other.to_owned(),
    }
}

/// The vendor's minimum order, as the reorder run knows it (the POS's, or the configuration's).
async fn vendor_minimum(app: &Shop, po: &PurchaseOrder) -> Result<Option<Money>, StoreError> {
    let (vendors, _, _) = super::vendors::to_order_from(app).await?;
    Ok(vendors
        .into_iter()
        .find(|v| v.vendor.id == po.vendor_id)
        .map(|v| v.vendor.minimum_order)
        .filter(|m| m.minor() > 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_number_and_the_change_are_read_the_ways_people_write_them() {
        let set = |item: &str, quantity| Change::Set { item: item.into(), quantity };
        let drop = |item: &str| Change::Drop { item: item.into() };
        assert_eq!(parse("PO-1043 oat milk 24"), Some(("PO-1043".into(), set("oat milk", 24))));
        assert_eq!(parse("po 1043 drop brie"), Some(("PO-1043".into(), drop("brie"))));
        assert_eq!(parse("drop brie from PO-1043"), Some(("PO-1043".into(), drop("brie"))));
        assert_eq!(parse("change oat milk to 24 on po 1043"), Some(("PO-1043".into(), set("oat milk", 24))));
        assert_eq!(parse("show po 1043"), Some(("PO-1043".into(), Change::Show)));
        assert_eq!(parse("PO-1043"), Some(("PO-1043".into(), Change::Show)));
        assert_eq!(
            parse("remove the whole milk line from purchase order 1043"),
            Some(("PO-1043".into(), drop("whole milk")))
        );
        assert_eq!(parse("oat milk 24"), None, "no number, no guess");
        assert_eq!(parse("PO-1043 received"), Some(("PO-1043".into(), Change::Receive { short: None })));
        assert_eq!(
            parse("po 1043 arrived but only 100 oat milk"),
            Some(("PO-1043".into(), Change::Receive { short: Some(("oat milk".into(), 100)) }))
        );
    }
}
