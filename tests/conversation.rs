//! Talking to the bot through the dispatcher, as the demo's people would: stock and order
//! answers, clarifying questions, refusals, and bad input. Runs on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used)]

mod common;

use common::{ask, seen};
use tillpilot::channels::ChannelKind;
use tillpilot::dispatch::commands::CommandSet;
use tillpilot::dispatch::identity::Sender;
use tillpilot::dispatch::{self, Inbound};
use tillpilot::domain::{LocationId, StockState};
use tillpilot::store::conversations::ConversationState;

#[tokio::test]
async fn stock_questions_get_per_location_answers_with_callouts() {
    for db in common::databases().await {
        let app = common::app(&db).await;
        let shop = common::shop();

        let blue = ask(&app, "Maria", "how many blue mugs do we have").await;
        assert_eq!(blue.intent.as_deref(), Some("stock"), "{}", db.label);
        let mug = shop.catalog.items.iter().find(|i| i.name == "Ceramic Mug").unwrap();
        let blue_mug = mug.variations.iter().find(|v| v.name == "Blue").unwrap();
        assert_eq!(blue.entities.products.len(), 1);
        assert_eq!(blue.entities.products[0].variation_id.as_deref(), Some(blue_mug.id.as_str()));
        let levels = app.pos.stock_levels(std::slice::from_ref(&blue_mug.id), None).await.unwrap();
        for level in &levels {
            let location = if level.location_id.as_str() == "L-MAIN" { "Main St" } else { "Riverside" };
            let expected = match StockState::of(level.on_hand, blue_mug.low_stock_at) {
                StockState::Out => format!("out of stock at {location}"),
                StockState::Low => format!("{} at {location} (low)", level.on_hand),
                StockState::InStock => format!("{} at {location}", level.on_hand),
            };
            assert!(blue.reply.text.contains(&expected), "{}: {:?} lacks {expected:?}", db.label, blue.reply.text);
        }

        // Oat milk at Main St is out (the planted anomaly's cause), and some is on order.
        let oat = ask(&app, "Dev", "is oat milk in stock at Main St").await;
        assert_eq!(oat.entities.locations.len(), 1);
        assert_eq!(oat.entities.locations[0].id, LocationId::new("L-MAIN"));
        assert!(oat.reply.text.starts_with("Oat Milk 1L: out of stock at Main St."), "{}", oat.reply.text);
        assert!(!oat.reply.text.contains("Riverside"), "asked about one location: {}", oat.reply.text);
        assert!(oat.reply.text.contains("Last sold"), "{}", oat.reply.text);

        // Size words narrow to the large variations, one field each.
        let large = ask(&app, "Sam", "stock large tshirt").await;
        let names: Vec<&str> = large.reply.fields.iter().map(|f| f.label.as_str()).collect();
        assert_eq!(names, ["Crew T-Shirt (Large, Black)", "Crew T-Shirt (Large, White)", "Crew T-Shirt (Large, Blue)"]);
        assert_eq!(large.entities.products.len(), 3);
    }
}

#[tokio::test]
async fn an_ambiguous_product_gets_a_question_whose_choices_answer_it() {
    let db = common::sqlite_db();
    let app = common::app(&db).await;
    let question = ask(&app, "Sam", "do we have milk").await;
    assert_eq!(question.reply.text, "Which one do you mean?");
    let labels: Vec<&str> = question.reply.actions.iter().map(|a| a.label.as_str()).collect();
    assert!(labels.len() >= 2 && labels.iter().all(|l| l.contains("Milk")), "{labels:?}");
    let pick = question.reply.actions.iter().find(|a| a.label == "Whole Milk 1L").unwrap();
    let answer = ask(&app, "Sam", &pick.action).await;
    assert!(answer.reply.text.starts_with("Whole Milk 1L: "), "{}", answer.reply.text);
    assert!(answer.reply.actions.is_empty());
}

#[tokio::test]
async fn typos_plurals_and_partial_names_still_find_the_product() {
    let db = common::sqlite_db();
    let app = common::app(&db).await;
    for (text, product) in [
        ("do we have any sourdogh", "Sourdough Loaf"),
        ("any croissants left at riverside", "Butter Croissant"),
        ("how many hoodies", "Pullover Hoodie"),
        ("stock xl grey hoodie", "Pullover Hoodie (XL, Grey)"),
        ("is the espreso roast in", "Espresso Roast Beans 1kg"),
        ("milk oat", "Oat Milk 1L"),
    ] {
        let outcome = ask(&app, "Sam", text).await;
        assert_eq!(outcome.intent.as_deref(), Some("stock"), "{text}");
        assert!(seen(&outcome).starts_with(product), "{text}: {}", seen(&outcome));
    }
}

#[tokio::test]
async fn staff_get_order_details_and_customers_get_their_own() {
    for db in common::databases().await {
        let app = common::app(&db).await;
        let staff = ask(&app, "Sam", "where is order 1042").await;
        assert_eq!(staff.intent.as_deref(), Some("order"));
        assert_eq!(staff.entities.order_numbers, ["1042"]);
        let text = seen(&staff);
        assert!(text.starts_with("Order #1042 shipped with UPS on "), "{text}");
        assert!(text.contains("Tracking: 1Z999AA1") && text.contains("Customer: Alex Kim"), "{text}");

        let alex = ask(&app, "+13125550142", "where is my order #1042").await;
        let text = seen(&alex);
        assert!(text.contains("Tracking: 1Z999AA1"), "{text}");
        assert!(!text.contains("Customer:") && !text.contains("Total:"), "customers see no internal fields: {text}");

        let priya = ask(&app, "+13125550143", "is my order ready").await;
        assert!(seen(&priya).contains("#1043: Order #1043 is ready for pickup"), "{}", seen(&priya));

        let jordan = ask(&app, "+13125550144", "status of order 1044").await;
        assert!(jordan.reply.text.contains("hasn't shipped yet"), "{}", seen(&jordan));

        let missing = ask(&app, "Sam", "order #999999").await;
        assert_eq!(
            missing.reply.text,
            "I couldn't find order #999999. Please check the number on your receipt or confirmation email."
        );

        let by_email = ask(&app, "Dev", "orders for alex.kim@example.com").await;
        assert_eq!(by_email.intent.as_deref(), Some("order"));
        assert!(seen(&by_email).contains("#1042"), "{}", seen(&by_email));
    }
}

#[tokio::test]
async fn unknown_people_get_no_data_and_are_audited() {
    for db in common::databases().await {
        let app = common::app(&db).await;
        let outcome = ask(&app, "Mallory", "where is order 1042").await;
        assert_eq!(
            outcome.reply.text,
            "I don't know you yet. Ask the shop's owner to add you to Tillpilot, then try again."
        );
        assert!(outcome.intent.is_none() && outcome.entities.order_numbers.is_empty());
        let tail = app.store.audit_tail(3).await.unwrap();
        let kinds: Vec<&str> = tail.iter().map(|r| r.kind.as_str()).collect();
        assert_eq!(kinds, ["message.in", "message.rejected", "message.out"], "{}", db.label);
        assert!(tail[1].detail.contains("unknown_sender"));
        assert_eq!(tail[2].seq, outcome.audit_id);

        // An unknown chat identity is treated the same way.
        let sender = app.directory.resolve_chat(ChannelKind::Slack, "U999");
        assert!(matches!(sender, Sender::Unknown { .. }));
    }
}

#[tokio::test]
async fn empty_huge_and_binary_input_get_clear_replies() {
    let db = common::sqlite_db();
    let app = common::app(&db).await;
    let empty = ask(&app, "Sam", "   ").await;
    assert!(empty.reply.text.starts_with("Say something like"), "{}", empty.reply.text);
    let huge = ask(&app, "Sam", &"stock oat milk ".repeat(400)).await;
    assert!(huge.reply.text.contains("I read up to 4,000"), "{}", huge.reply.text);
    let binary = ask(&app, "Sam", "\u{0}\u{1}PK\u{3}\u{4}").await;
    assert!(binary.reply.text.starts_with("I can only read plain text"), "{}", binary.reply.text);
    // The huge message was stored truncated, and the chain still verifies.
    let record = app.store.audit_record(huge.audit_id - 2).await.unwrap().unwrap();
    assert_eq!(record.kind, "message.in");
    assert!(record.detail.len() < 4_200 && record.detail.contains("\"chars\":6000"), "{}", record.detail.len());
    // One record for the sync, then in, rejected and out for each message.
    assert_eq!(app.store.audit_verify().await.unwrap(), Ok(10));
}

#[tokio::test]
async fn card_numbers_typed_into_chat_are_masked_before_storage() {
    let db = common::sqlite_db();
    let app = common::app(&db).await;
    let outcome = ask(&app, "+13125550142", "my card 4111 1111 1111 1111 was charged twice for order 1042").await;
    let mut export = String::new();
    for record in app.store.audit_since(0).await.unwrap() {
        export.push_str(&record.detail);
    }
    assert!(!export.contains("4111 1111 1111 1111") && !export.contains("4111111111111111"));
    assert!(export.contains("[card ••••1111]"));
    assert!(outcome.audit_id > 0);
}

#[tokio::test]
async fn a_command_outside_the_senders_role_is_refused_and_audited() {
    let db = common::sqlite_db();
    let mut app = common::app(&db).await;
    let mut files: Vec<(String, String)> = ["help", "order", "stock", "whoami"]
        .iter()
        .map(|n| (format!("{n}.toml"), std::fs::read_to_string(format!("commands/{n}.toml")).unwrap()))
        .collect();
    files.push((
        "payroll.toml".into(),
        "name = \"payroll\"\nsummary = \"Wages\"\nusage = \"payroll\"\nroles = [\"owner\"]\nchannels = [\"terminal\"]\nexamples = [\"show payroll\"]\n".into(),
    ));
    app.commands = CommandSet::from_files(files.iter().map(|(f, t)| (f.as_str(), t.as_str()))).unwrap();
    let outcome = ask(&app, "Sam", "/payroll").await;
    assert_eq!(outcome.reply.text, "Sorry, \"payroll\" is only for the owner. Say \"help\" to see what you can ask.");
    let tail = app.store.audit_tail(2).await.unwrap();
    assert_eq!(tail[0].kind, "message.rejected");
    assert!(tail[0].detail.contains("\"role\""));
    // A customer asking for a team command is refused the same way, with no data.
    let sender = app.directory.resolve_terminal("+13125550150");
    let reply = dispatch::handle(&app, Inbound { channel: ChannelKind::Terminal, sender, text: "/payroll".into() })
        .await
        .unwrap();
    assert!(reply.reply.text.contains("only for the owner"));
}

#[tokio::test]
async fn customers_hear_availability_not_counts() {
    let db = common::sqlite_db();
    let app = common::app(&db).await;
    let outcome = ask(&app, "+13125550150", "do you have sourdough").await;
    assert_eq!(outcome.intent.as_deref(), Some("stock"));
    assert!(outcome.reply.text.starts_with("Sourdough Loaf is in stock at"), "{}", outcome.reply.text);
    assert!(!outcome.reply.text.chars().any(|c| c.is_ascii_digit()), "no counts for customers: {}", outcome.reply.text);
    assert!(outcome.reply.fields.is_empty());
}

#[tokio::test]
async fn off_topic_messages_say_what_the_bot_can_do() {
    let db = common::sqlite_db();
    let app = common::app(&db).await;
    let outcome = ask(&app, "Maria", "what's the weather like tomorrow").await;
    assert!(outcome.intent.is_none());
    assert!(outcome.reply.text.starts_with("Sorry, I can't help with that."));
    let names: Vec<&str> = outcome.reply.fields.iter().map(|f| f.label.as_str()).collect();
    assert_eq!(
        names,
        [
            "anomalies",
            "anomaly",
            "flag",
            "flags",
            "help",
            "order",
            "po",
            "reorder",
            "reply",
            "rule",
            "rules",
            "stock",
            "summary",
            "whoami"
        ],
        "the owner's commands"
    );
    let staff = ask(&app, "Sam", "what's the weather like tomorrow").await;
    let names: Vec<&str> = staff.reply.fields.iter().map(|f| f.label.as_str()).collect();
    assert_eq!(names, ["help", "order", "reply", "stock", "whoami"], "staff do not see owner-only commands");
    let whoami = ask(&app, "Maria", "whoami").await;
    assert!(whoami.reply.text.starts_with("You're Maria, the owner"));
    assert!(whoami.reply.fields.iter().any(|f| f.label == "Alex Kim"));
}

#[tokio::test]
async fn the_owner_asks_how_the_shop_did_in_her_own_words() {
    let db = common::sqlite_db();
    let app = common::app(&db).await;
    // Today is Thursday Nov 26 in the tests.
    for (asked, day) in [
        ("how did we do yesterday", "Wed Nov 25"),
        ("revenue yesterday", "Wed Nov 25"),
        ("summary saturday", "Sat Nov 21"),
        ("how did we do today", "Thu Nov 26"),
    ] {
        let outcome = ask(&app, "Maria", asked).await;
        assert_eq!(outcome.intent.as_deref(), Some("summary"), "{asked}: {}", outcome.reply.text);
        let text = &outcome.reply.text;
        assert!(text.starts_with(&format!("Sales for {day}: $")), "{asked}: {text}");
        assert!(outcome.reply.image.is_some(), "{asked}: the chart comes with it");
        let revenue = outcome.reply.fields.iter().find(|f| f.label == "Revenue").map(|f| f.value.clone());
        assert!(revenue.is_some_and(|r| r.contains("of 4 weeks")), "{asked}: compared with the weeks before");
    }
    let today = ask(&app, "Maria", "how did we do today").await;
    assert!(today.reply.text.contains("(today so far)"), "{}", today.reply.text);

    let riverside = ask(&app, "Dev", "sales at Riverside yesterday").await;
    assert_eq!(riverside.intent.as_deref(), Some("summary"), "{}", riverside.reply.text);
    assert!(
        riverside.reply.text.starts_with("Riverside: $"),
        "the location asked about leads: {}",
        riverside.reply.text
    );

    let staff = ask(&app, "Sam", "summary yesterday").await;
    assert!(staff.reply.text.contains("only for managers and the owner"), "{}", staff.reply.text);
    assert!(staff.reply.image.is_none());
}

#[tokio::test]
async fn a_follow_up_naming_only_a_place_asks_the_last_question_there() {
    for db in common::databases().await {
        let app = common::app(&db).await;
        let ask = |text: &str, previous: Option<String>| {
            let sender = app.directory.resolve_terminal("Dev");
            let inbound = Inbound { channel: ChannelKind::Terminal, sender, text: text.to_owned() };
            let app = &app;
            let so_far = ConversationState { last: previous, ..ConversationState::default() };
            async move { dispatch::handle_in_conversation(app, inbound, &so_far).await.unwrap() }
        };
        let first = ask("is oat milk in stock at Main St", None).await;
        let line = first.ran.clone().unwrap();
        assert!(line.starts_with("stock Oat Milk") && line.ends_with(" at Main St"), "{}: {line}", db.label);
        let follow = ask("and at Riverside?", first.ran.clone()).await;
        assert_eq!(follow.intent.as_deref(), Some("stock"), "{}: {}", db.label, follow.reply.text);
        assert_eq!(follow.ran, Some(line.replace(" at Main St", " at Riverside")));
        let alone = ask("is oat milk in stock at Riverside", None).await;
        assert_eq!(follow.reply.text, alone.reply.text, "{}", db.label);
        assert!(follow.reply.text.contains("Riverside"), "{}", follow.reply.text);
        // Without a previous question the place alone is not understood as one.
        let fresh = ask("and at Riverside?", None).await;
        assert_ne!(fresh.intent.as_deref(), Some("stock"), "{}: {}", db.label, fresh.reply.text);
        // The summary takes a place too.
        let summary = ask("summary yesterday", None).await;
        let there = ask("what about Riverside", summary.ran.clone()).await;
        let yesterday = common::today().pred_opt().unwrap().format("%Y-%m-%d").to_string();
        assert_eq!(there.ran, Some(format!("summary {yesterday} at Riverside")), "{}", db.label);
        assert!(there.reply.text.starts_with("Riverside: "), "{}: {}", db.label, there.reply.text);
    }
}

#[tokio::test]
async fn the_owner_keeps_the_shop_rules_from_chat() {
    for db in common::databases().await {
        let app = common::app(&db).await;
        let empty = ask(&app, "Dev", "rules").await;
        assert!(empty.reply.text.starts_with("The shop has no rules yet."), "{}: {}", db.label, empty.reply.text);

        let added = ask(&app, "Maria", "rule add Don't promise delivery dates.").await;
        assert!(added.reply.text.starts_with("Rule 1 added: Don't promise delivery dates."), "{}", added.reply.text);
        ask(&app, "Maria", "rule add \"Never recommend alcohol discounts.\"").await;
        let listed = ask(&app, "Dev", "show the rules").await;
        assert_eq!(listed.intent.as_deref(), Some("rules"), "{}", db.label);
        assert!(
            listed.reply.text.contains("1. Don't promise delivery dates. (added by Maria"),
            "{}",
            listed.reply.text
        );
        assert!(
            listed.reply.text.contains("2. Never recommend alcohol discounts. (added by Maria"),
            "{}",
            listed.reply.text
        );

        // Only the owner changes them; a manager and staff are refused, and nothing is written.
        for who in ["Dev", "Sam"] {
            let refused = ask(&app, who, "rule add discounts are fine").await;
            assert!(refused.reply.text.contains("only for the owner"), "{}: {who}: {}", db.label, refused.reply.text);
        }
        assert_eq!(app.store.shop_rules().await.unwrap().len(), 2, "{}", db.label);

        let removed = ask(&app, "Maria", "rule remove 1").await;
        assert_eq!(removed.reply.text, "Rule 1 removed: Don't promise delivery dates.");
        let again = ask(&app, "Maria", "rule remove 1").await;
        assert!(again.reply.text.starts_with("There is no rule 1 in force."), "{}", again.reply.text);
        let rules: Vec<String> = app.store.shop_rules().await.unwrap().into_iter().map(|r| r.text).collect();
        assert_eq!(rules, vec!["Never recommend alcohol discounts."]);
        let audited: Vec<String> = app
            .store
            .audit_since(0)
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.kind.starts_with("rule."))
            .map(|r| format!("{} {} {}", r.kind, r.subject, r.actor))
            .collect();
        assert_eq!(audited, vec!["rule.added rule 1 Maria", "rule.added rule 2 Maria", "rule.removed rule 1 Maria"]);
    }
}
