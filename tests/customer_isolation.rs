//! Customer isolation: every customer asks about every online order. They learn about their
//! own and get, word for word, the "no such order" answer for everyone else's.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use tillpilot::domain::CustomerId;

#[tokio::test]
async fn no_customer_learns_about_another_customers_order() {
    let db = common::sqlite_db();
    let app = common::app(&db).await;
    let shop = common::shop();
    let phones: HashMap<&CustomerId, String> =
        shop.customers.iter().filter_map(|c| c.phone.as_ref().map(|p| (&c.id, p.to_string()))).collect();
    let online: Vec<_> = shop.orders.iter().filter(|o| o.fulfilment.is_some()).collect();
    assert!(online.len() >= 40 && phones.len() >= 40);
    let (mut own, mut refused) = (0, 0);
    for customer in &shop.customers {
        let phone = &phones[&customer.id];
        for order in &online {
            let outcome = common::ask(&app, phone, &format!("where is my order #{}", order.number)).await;
            let text = common::seen(&outcome);
            if order.customer_id.as_ref() == Some(&customer.id) {
                own += 1;
                assert!(
                    text.contains(&format!("Order #{}", order.number)),
                    "{phone} about own #{}: {text}",
                    order.number
                );
            } else {
                refused += 1;
                let expected = format!(
                    "I couldn't find order #{0} for this phone number. Please check the number on your receipt or \
                     confirmation email. If you ordered with another phone number, send the order number with the \
                     email address on the order, like \"#{0} you@example.com\".",
                    order.number
                );
                assert_eq!(text, expected, "{phone} learned about #{}", order.number);
                assert!(outcome.reply.actions.is_empty());
            }
        }
    }
    println!("{own} own-order answers, {refused} refusals, 0 leaks");
    assert_eq!(own, online.len());
}

#[tokio::test]
async fn a_customer_without_a_number_sees_only_their_own_online_orders() {
    let db = common::sqlite_db();
    let app = common::app(&db).await;
    let shop = common::shop();
    for customer in shop.customers.iter().take(12) {
        let phone = customer.phone.as_ref().unwrap().to_string();
        let outcome = common::ask(&app, &phone, "where is my order").await;
        let text = common::seen(&outcome);
        let mine: Vec<&str> = shop
            .orders
            .iter()
            .filter(|o| o.fulfilment.is_some() && o.customer_id.as_ref() == Some(&customer.id))
            .map(|o| o.number.as_str())
            .collect();
        for other in
            shop.orders.iter().filter(|o| o.fulfilment.is_some() && o.customer_id.as_ref() != Some(&customer.id))
        {
            assert!(
                !text.contains(&format!("#{} ", other.number)) && !text.contains(&format!("#{}:", other.number)),
                "{phone} saw #{}: {text}",
                other.number
            );
        }
        if mine.is_empty() {
            assert!(text.starts_with("I couldn't find any orders for this phone number"), "{text}");
        } else {
            assert!(mine.iter().any(|n| text.contains(&format!("#{n}"))), "{phone}: {text}");
        }
    }
}

#[tokio::test]
async fn the_email_on_the_order_proves_it_from_another_phone() {
    for db in common::databases().await {
        let app = common::app(&db).await;
        let shop = common::shop();
        let (order, owner) = shop
            .orders
            .iter()
            .filter(|o| o.fulfilment.is_some())
            .find_map(|o| {
                let owner = shop.customers.iter().find(|c| Some(&c.id) == o.customer_id.as_ref())?;
                owner.email.as_ref().map(|_| (o, owner))
            })
            .unwrap();
        let email = owner.email.clone().unwrap();
        let someone_else = shop.customers.iter().find(|c| c.id != owner.id && c.email.is_some()).unwrap();
        let landline = "+13125559876";

        let proved = common::ask(&app, landline, &format!("where is my order #{} {email}", order.number)).await;
        assert!(
            common::seen(&proved).contains(&format!("Order #{}", order.number)),
            "{}: {}",
            db.label,
            common::seen(&proved)
        );
        // Another customer's email, or none, gets the same words as an order that does not exist.
        let wrong = format!("where is my order #{} {}", order.number, someone_else.email.clone().unwrap());
        let refused = common::seen(&common::ask(&app, landline, &wrong).await);
        let missing = common::seen(&common::ask(&app, landline, "where is my order #999999 x@example.com").await);
        assert_eq!(refused, missing.replace("999999", &order.number), "{}", db.label);
        let bare = common::seen(&common::ask(&app, landline, &format!("where is my order #{}", order.number)).await);
        assert_eq!(bare, refused, "{}", db.label);
        assert!(refused.contains("send the order number with the email address on the order"), "{refused}");
    }
}
