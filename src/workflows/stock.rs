//! Stock answers: on hand per variation and location, low and out-of-stock called out, with
//! "last sold" and "on order" when the store knows them. Customers hear whether something is
//! available, never counts.

use super::{live_or_mirror, pos_unreachable};
use crate::channels::Reply;
use crate::domain::{ItemId, LocationId, Person, Quantity, StockState, VariationId};
use crate::nlu::{Entities, ProductResolution};
use crate::workflows::DispatchError;
use crate::workflows::Shop;
use std::collections::HashMap;

/// Variations shown in one answer; more invites the person to narrow it down.
const MAX_VARIATIONS: usize = 8;

/// Explicit references sent back by choice buttons: `id:ITEM-001`, `at:L-MAIN`.
fn explicit_refs(args: &str) -> (Option<ItemId>, Option<LocationId>) {
    let mut item = None;
    let mut location = None;
    for word in args.split_whitespace() {
        if let Some(id) = word.strip_prefix("id:") {
            item = Some(ItemId::new(id));
        } else if let Some(id) = word.strip_prefix("at:") {
            location = Some(LocationId::new(id));
        }
    }
    (item, location)
}

pub async fn run(app: &Shop, person: &Person, args: &str, entities: &Entities) -> Result<Reply, DispatchError> {
    let view = app.catalog();
    let (explicit_item, explicit_location) = explicit_refs(args);
    let location = explicit_location
        .filter(|id| view.locations.iter().any(|l| &l.id == id))
        .or_else(|| entities.locations.first().map(|l| l.id.clone()));
    let at_suffix = location.as_ref().map(|l| format!(" at:{l}")).unwrap_or_default();

    let (item_id, variations): (ItemId, Vec<(VariationId, String)>) = match (explicit_item, &entities.products) {
        (Some(id), _) => match view.catalog.item(&id) {
            Some(item) => (id, item.variations.iter().map(|v| (v.id.clone(), item.display_name(v))).collect()),
            None => {
                return Ok(Reply::text(
                    "I couldn't find that product any more; it may have been removed from the catalog.",
                ));
            }
        },
        (None, ProductResolution::One(m)) => (m.item_id.clone(), m.variations.clone()),
        (None, ProductResolution::Ambiguous(options)) => {
            let mut reply = Reply::text("Which one do you mean?");
            for option in options.iter().take(4) {
                reply = reply.choice(&option.item_name, format!("stock id:{}{at_suffix}", option.item_id));
            }
            return Ok(reply);
        }
        (None, ProductResolution::None) => {
            return Ok(Reply::text(
                "Which product? Try something like \"stock oat milk\" or \"stock large blue tshirt\".",
            ));
        }
    };
    let item_name = view.catalog.item(&item_id).map(|i| i.name.clone()).unwrap_or_default();
    let ids: Vec<VariationId> = variations.iter().map(|(id, _)| id.clone()).collect();
    let (levels, stale) = match live_or_mirror(app, |pos| {
        let (ids, location) = (&ids, location.as_ref());
        Box::pin(async move { pos.stock_levels(ids, location).await })
    })
    .await
    {
        Ok(found) => found,
        Err(err) => return Ok(pos_unreachable(&err)),
    };
    let low_at: HashMap<&VariationId, Option<Quantity>> = view
        .catalog
        .item(&item_id)
        .map(|i| i.variations.iter().map(|v| (&v.id, v.low_stock_at)).collect())
        .unwrap_or_default();
    let rows: Vec<VariationStock> = variations
        .iter()
        .map(|(id, name)| VariationStock {
            name: name.clone(),
            levels: levels
                .iter()
                .filter(|l| &l.variation_id == id)
                .map(|l| {
                    (
                        view.location_name(&l.location_id),
                        l.on_hand,
                        StockState::of(l.on_hand, low_at.get(id).copied().flatten()),
                    )
                })
                .collect(),
        })
        .collect();
    let mut reply = if person.role.is_team() {
        let last_sold = app.store.last_sold(&ids).await?.into_values().max();
        let on_order: Quantity = app.store.on_order(&ids).await?.into_values().sum();
        team_answer(app, &item_name, &rows, last_sold, on_order)
    } else {
        customer_answer(&item_name, &rows)
    };
    if let Some(stale) = stale {
        reply.text.push(' ');
        reply.text.push_str(&stale.note(app));
    }
    Ok(reply)
}

struct VariationStock {
    name: String,
    levels: Vec<(String, Quantity, StockState)>,
}

fn mark(state: StockState) -> &'static str {
    match state {
        StockState::InStock => "",
        StockState::Low => " (low)",
        StockState::Out => " (out)",
    }
}

fn team_answer(
    app: &Shop,
    item_name: &str,
    rows: &[VariationStock],
    last_sold: Option<i64>,
    on_order: Quantity,
) -> Reply {
    let all: Vec<&(String, Quantity, StockState)> = rows.iter().flat_map(|r| r.levels.iter()).collect();
    if all.is_empty() {
        return Reply::text(format!("{item_name}: the till system has no stock count for it."));
    }
    let mut sentences = Vec::new();
    if let [row] = rows {
        let parts: Vec<String> = row
            .levels
            .iter()
            .map(|(loc, qty, state)| match state {
                StockState::Out => format!("out of stock at {loc}"),
                StockState::Low => format!("{qty} at {loc} (low)"),
                StockState::InStock => format!("{qty} at {loc}"),
            })
            .collect();
        sentences.push(format!("{}: {}.", row.name, parts.join(", ")));
    } else {
        let total: Quantity = all.iter().map(|(_, q, _)| *q).filter(|q| *q > Quantity::ZERO).sum();
        sentences.push(format!("{item_name}: {total} on hand across {} variations.", rows.len()));
        let callout = |state: StockState| -> Vec<String> {
            rows.iter()
                .flat_map(|r| {
                    r.levels.iter().filter(move |l| l.2 == state).map(move |l| format!("{} at {}", r.name, l.0))
                })
                .collect()
        };
        // Name up to three; past that a count reads better, and the fields carry the detail.
        let summarise = |label: &str, places: Vec<String>| match places.len() {
            0 => None,
            1..=3 => Some(format!("{label}: {}.", places.join("; "))),
            n => Some(format!("{label} in {n} places.")),
        };
        sentences.extend(summarise("Out of stock", callout(StockState::Out)));
        sentences.extend(summarise("Running low", callout(StockState::Low)));
    }
    if let Some(at) = last_sold {
        sentences.push(format!("Last sold {}.", super::when(app, at)));
    }
    if on_order > Quantity::ZERO {
        sentences.push(format!("{on_order} on order."));
    }
    let mut reply = Reply::text(sentences.join(" "));
    if rows.len() > 1 {
        for row in rows.iter().take(MAX_VARIATIONS) {
            let value: Vec<String> =
                row.levels.iter().map(|(loc, qty, state)| format!("{loc} {qty}{}", mark(*state))).collect();
            reply = reply.field(&row.name, value.join(" · "));
        }
        if rows.len() > MAX_VARIATIONS {
            reply = reply.field(
                "More",
                format!("{} more variations; add a size or colour to narrow it down", rows.len() - MAX_VARIATIONS),
            );
        }
    }
    reply
}

fn customer_answer(item_name: &str, rows: &[VariationStock]) -> Reply {
    let lines: Vec<String> = rows
        .iter()
        .take(MAX_VARIATIONS)
        .map(|row| {
            let available: Vec<&str> =
                row.levels.iter().filter(|l| l.2 != StockState::Out).map(|l| l.0.as_str()).collect();
            if available.is_empty() {
                format!("{} is out of stock right now.", row.name)
            } else {
                format!("{} is in stock at {}.", row.name, available.join(" and "))
            }
        })
        .collect();
    if lines.is_empty() {
        return Reply::text(format!(
            "Sorry, I can't tell whether we have {item_name} right now. Please ask in the shop."
        ));
    }
    Reply::text(lines.join(" "))
}
