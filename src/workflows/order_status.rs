//! Order status in plain words. Staff may ask about any order. A customer learns only about
//! orders whose customer record has their phone number; for any other number the answer is
//! word for word the one for an order that does not exist.

use super::{day, live_or_mirror, pos_unreachable};
use crate::channels::Reply;
use crate::domain::{CustomerId, FulfilmentKind, FulfilmentState, Order, OrderState, Person, Role};
use crate::nlu::{CustomerRef, Entities};
use crate::pos::Pos;
use crate::pos::PosError;
use crate::workflows::DispatchError;
use crate::workflows::Shop;
use std::collections::HashSet;

/// Orders listed when someone asks without a number.
const RECENT: usize = 3;

pub async fn run(app: &Shop, person: &Person, entities: &Entities) -> Result<Reply, DispatchError> {
    let answer = |pos: std::sync::Arc<dyn Pos>| -> super::PosRead<'_, Reply> {
        Box::pin(async move {
            if person.role == Role::Customer {
                for_customer(app, pos.as_ref(), person, entities).await
            } else {
                for_team(app, pos.as_ref(), entities).await
            }
        })
    };
    Ok(match live_or_mirror(app, answer).await {
        Ok((reply, None)) => reply,
        Ok((mut reply, Some(stale))) => {
            reply.text.push(' ');
            reply.text.push_str(&stale.note(app));
            reply
        }
        Err(err) => pos_unreachable(&err),
    })
}

fn not_found(number: &str) -> Reply {
    Reply::text(format!(
        "I couldn't find order #{number}. Please check the number on your receipt or confirmation email."
    ))
}

/// The same words whether the order exists or not, so nobody learns which numbers are taken.
fn not_found_for_customer(number: &str) -> Reply {
    Reply::text(format!(
        "I couldn't find order #{number} for this phone number. Please check the number on your receipt or \
         confirmation email. If you ordered with another phone number, send the order number with the email \
         address on the order, like \"#{number} you@example.com\"."
    ))
}

async fn for_customer(app: &Shop, pos: &dyn Pos, person: &Person, entities: &Entities) -> Result<Reply, PosError> {
    let Some(phone) = &person.phone else {
        return Ok(Reply::text("I can only look up orders for the phone number you text from."));
    };
    let mut mine: HashSet<CustomerId> = pos.customers_by_phone(phone).await?.into_iter().map(|c| c.id).collect();
    if let Some(number) = entities.order_numbers.first() {
        // The email on the order proves it is theirs as well as the phone does: someone who
        // ordered with another number (or a landline) sends both.
        for reference in &entities.customers {
            if let CustomerRef::Email(email) = reference {
                mine.extend(pos.customers_by_email(email).await?.into_iter().map(|c| c.id));
            }
        }
        let orders = pos.orders_by_number(number).await?;
        let owned = orders.into_iter().find(|o| o.customer_id.as_ref().is_some_and(|c| mine.contains(c)));
        return Ok(match owned {
            Some(order) => describe(app, pos, &order, false).await?,
            None => not_found_for_customer(number),
        });
    }
    let mut orders = Vec::new();
    for customer in &mine {
        orders.extend(pos.orders_for_customer(customer).await?);
    }
    // Customers track online orders; till receipts are not something to chase.
    orders.retain(|o| o.fulfilment.is_some());
    recent_orders(app, pos, orders, "I couldn't find any orders for this phone number. If you ordered with a different number, text me the order number from your confirmation followed by the email address on the order.", false).await
}

async fn for_team(app: &Shop, pos: &dyn Pos, entities: &Entities) -> Result<Reply, PosError> {
    if !entities.order_numbers.is_empty() {
        let mut replies = Vec::new();
        for number in entities.order_numbers.iter().take(RECENT) {
            let orders = pos.orders_by_number(number).await?;
            replies.push(match orders.first() {
                Some(order) => describe(app, pos, order, true).await?,
                None => not_found(number),
            });
        }
        return Ok(merge(replies));
    }
    // "orders for alex.kim@example.com" or "orders for +13125550142"
    let mut customers = Vec::new();
    for reference in &entities.customers {
        customers.extend(match reference {
            CustomerRef::Email(email) => pos.customers_by_email(email).await?,
            CustomerRef::Phone(phone) => pos.customers_by_phone(phone).await?,
        });
    }
    if customers.is_empty() {
        return Ok(Reply::text(
            "Which order? Send the number from the receipt or confirmation, like \"order #1042\", or a customer's phone or email.",
        ));
    }
    let mut orders = Vec::new();
    for customer in &customers {
        orders.extend(pos.orders_for_customer(&customer.id).await?);
    }
    recent_orders(app, pos, orders, "That customer has no orders.", true).await
}

async fn recent_orders(
    app: &Shop,
    pos: &dyn Pos,
    mut orders: Vec<Order>,
    none: &str,
    team: bool,
) -> Result<Reply, PosError> {
    // Open orders first, then newest.
    orders.sort_by_key(|o| (o.state != OrderState::Open, -o.created_at_ms));
    orders.dedup_by(|a, b| a.id == b.id);
    Ok(match orders.as_slice() {
        [] => Reply::text(none),
        [order] => describe(app, pos, order, team).await?,
        _ => {
            let mut reply = Reply::text(format!("Here are the {} most recent orders:", orders.len().min(RECENT)));
            for order in orders.iter().take(RECENT) {
                reply = reply.field(format!("#{}", order.number), headline(app, order));
                reply = reply.choice(format!("Order #{}", order.number), format!("order #{}", order.number));
            }
            reply
        }
    })
}

fn merge(replies: Vec<Reply>) -> Reply {
    let mut iter = replies.into_iter();
    let mut first = iter.next().unwrap_or_default();
    for next in iter {
        first.text.push_str("\n\n");
        first.text.push_str(&next.text);
        first.fields.extend(next.fields);
    }
    first
}

/// One sentence on where the order is.
fn headline(app: &Shop, order: &Order) -> String {
    let n = &order.number;
    let Some(f) = &order.fulfilment else {
        return match order.state {
            OrderState::Cancelled => format!("Order #{n} was cancelled."),
            _ => format!("Order #{n} was a purchase in the shop on {}.", day(app, order.created_at_ms)),
        };
    };
    let since = day(app, f.updated_at_ms);
    match (f.state, f.kind) {
        (FulfilmentState::Unfulfilled, FulfilmentKind::Shipment) => {
            format!("Order #{n} is being packed and hasn't shipped yet.")
        }
        (FulfilmentState::Unfulfilled, FulfilmentKind::Pickup) => {
            format!("Order #{n} is being prepared; it isn't ready for pickup yet.")
        }
        (FulfilmentState::Shipped, _) => {
            let carrier = f.carrier.as_deref().map(|c| format!(" with {c}")).unwrap_or_default();
            format!("Order #{n} shipped{carrier} on {since}.")
        }
        (FulfilmentState::ReadyForPickup, _) => format!("Order #{n} is ready for pickup (since {since})."),
        (FulfilmentState::Delivered, FulfilmentKind::Shipment) => format!("Order #{n} was delivered on {since}."),
        (FulfilmentState::Delivered, FulfilmentKind::Pickup) => format!("Order #{n} was picked up on {since}."),
        (FulfilmentState::Unfulfilled, FulfilmentKind::Layby) => match f.balance_due.filter(|due| due.minor() > 0) {
            Some(due) => format!("Order #{n} is on layby: it is held for you, with {due} left to pay."),
            None => format!("Order #{n} is on layby and paid off: it is ready to collect."),
        },
        (FulfilmentState::Unfulfilled, FulfilmentKind::OnAccount) => {
            match f.balance_due.filter(|due| due.minor() > 0) {
                Some(due) => format!("Order #{n} is on account, with {due} still to pay."),
                None => format!("Order #{n} is on account and paid in full."),
            }
        }
        (FulfilmentState::Delivered, FulfilmentKind::Layby) => {
            format!("Order #{n} was paid off and collected on {since}.")
        }
        (FulfilmentState::Delivered, FulfilmentKind::OnAccount) => {
            format!("Order #{n} on account was paid in full on {since}.")
        }
        (FulfilmentState::Cancelled, _) => format!("Order #{n} was cancelled on {since}."),
    }
}

async fn describe(app: &Shop, pos: &dyn Pos, order: &Order, team: bool) -> Result<Reply, PosError> {
    let view = app.catalog();
    let items: Vec<String> = order.lines.iter().map(|l| format!("{} × {}", l.quantity, l.name)).collect();
    let mut text = headline(app, order);
    if let Some(f) = &order.fulfilment {
        let at = view.location_name(&order.location_id);
        match (f.kind, f.state) {
            (_, FulfilmentState::ReadyForPickup) => text.push_str(&format!(" Pick it up at {at}.")),
            (FulfilmentKind::Layby, FulfilmentState::Unfulfilled) if f.balance_due.is_some_and(|d| d.minor() > 0) => {
                text.push_str(&format!(" Pay the rest and collect it at {at}."));
            }
            (FulfilmentKind::Layby, FulfilmentState::Unfulfilled) => text.push_str(&format!(" Collect it at {at}.")),
            _ => {}
        }
    }
    let mut reply = Reply::text(text).field("Placed", day(app, order.created_at_ms)).field("Items", items.join(", "));
    if let Some(f) = &order.fulfilment
        && let Some(number) = &f.tracking_number
    {
        let tracking = match &f.tracking_url {
            Some(url) => format!("{number} ({url})"),
            None => number.clone(),
        };
        reply = reply.field("Tracking", tracking);
    }
    if team {
        reply = reply.field("Total", order.total.to_string()).field("Status", order.state.as_str());
        if let Some(id) = &order.customer_id {
            let customer = pos.customer(id).await?;
            let name = customer.map_or_else(|| id.to_string(), |c| c.display_name());
            reply = reply.field("Customer", name);
        }
        reply = reply.field("Location", view.location_name(&order.location_id));
    }
    Ok(reply)
}
