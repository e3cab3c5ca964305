//! The store on both backends: migrations, the audit chain and its tamper detection, the
//! mirror, and concurrent appends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use serde_json::json;
use tillpilot::domain::{Quantity, VariationId};
use tillpilot::pos::Pos;
use tillpilot::pos::sim::SimPos;
use tillpilot::store::mirror::MirrorTable;
use tillpilot::store::{AuditEntry, Backend, Store, migration_versions};

fn entry(n: usize) -> AuditEntry {
    AuditEntry {
        actor: format!("person {n}"),
        channel: "terminal".into(),
        kind: "message.in".into(),
        subject: "stock".into(),
        detail: json!({ "text": format!("message number {n}") }),
    }
}

async fn with_records(store: &Store, n: usize) {
    for i in 0..n {
        store.audit_now(&entry(i)).await.unwrap();
    }
}

async fn broken_at(store: &Store) -> Option<i64> {
    store.audit_verify().await.unwrap().err().map(|b| b.seq)
}

#[test]
fn both_backends_have_the_same_migration_versions() {
    let sqlite = migration_versions(Backend::Sqlite);
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, migration_versions(Backend::Postgres));
    let names = |dir: &str| {
        let mut v: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    };
    assert_eq!(names("migrations/sqlite"), names("migrations/postgres"));
}

#[tokio::test]
async fn every_table_of_the_design_exists() {
    for db in common::databases().await {
        let store = common::store(&db).await;
        for table in [
            "people",
            "identities",
            "inbox",
            "outbox",
            "audit_log",
            "approvals",
            "feature_flags",
            "purchase_orders",
            "purchase_order_lines",
            "catalog_items",
            "stock_levels",
            "orders",
            "order_lines",
            "customers",
            "vendors",
            "vendor_items",
            "consents",
            "llm_calls",
            "conversations",
        ] {
            let sql = format!("SELECT COUNT(*) FROM {table}");
            let count: (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .fetch_one(store.pool())
                .await
                .unwrap_or_else(|e| panic!("{}: {table}: {e}", db.label));
            assert!(count.0 >= 0);
        }
        // Migrating twice is a no-op.
        store.migrate().await.unwrap();
    }
}

#[tokio::test]
async fn an_intact_chain_verifies() {
    for db in common::databases().await {
        let store = common::store(&db).await;
        assert_eq!(store.audit_verify().await.unwrap(), Ok(0), "{}", db.label);
        with_records(&store, 12).await;
        assert_eq!(store.audit_verify().await.unwrap(), Ok(12), "{}", db.label);
        let tail = store.audit_tail(3).await.unwrap();
        assert_eq!(tail.iter().map(|r| r.seq).collect::<Vec<_>>(), [10, 11, 12]);
        assert_eq!(tail[0].prev_hash, store.audit_record(9).await.unwrap().unwrap().hash);
    }
}

#[tokio::test]
async fn any_edit_delete_insert_or_reorder_is_caught_at_its_sequence() {
    // (what, statements, first bad sequence)
    let tampering: Vec<(&str, Vec<String>, i64)> = vec![
        ("edit a detail", vec!["UPDATE audit_log SET detail = '{\"text\":\"refund approved\"}' WHERE seq = 4".into()], 4),
        ("edit an actor", vec!["UPDATE audit_log SET actor = 'Maria' WHERE seq = 7".into()], 7),
        ("delete a row", vec!["DELETE FROM audit_log WHERE seq = 5".into()], 5),
        (
            "insert a forged row in the middle, correctly hashed",
            vec![
                "UPDATE audit_log SET seq = seq + 1000 WHERE seq >= 6".into(),
                "UPDATE audit_log SET seq = seq - 999 WHERE seq >= 1000".into(),
                format!(
                    "INSERT INTO audit_log (seq, at_ms, actor, channel, kind, subject, detail, prev_hash, hash) \
                     SELECT 6, at_ms, 'Maria', 'terminal', 'approval.decided', 'PO-9', '{{}}', hash, '{{forged}}' FROM audit_log WHERE seq = 5"
                ),
                "FORGE".into(),
            ],
            7,
        ),
        (
            "swap two rows",
            vec![
                "UPDATE audit_log SET seq = -3 WHERE seq = 3".into(),
                "UPDATE audit_log SET seq = 3 WHERE seq = 8".into(),
                "UPDATE audit_log SET seq = 8 WHERE seq = -3".into(),
            ],
            3,
        ),
        ("append a row without the head", vec!["INSERT INTO audit_log (seq, at_ms, actor, channel, kind, subject, detail, prev_hash, hash) SELECT 11, at_ms, actor, channel, kind, subject, detail, hash, hash FROM audit_log WHERE seq = 10".into()], 11),
        ("truncate the tail", vec!["DELETE FROM audit_log WHERE seq > 8".into()], 9),
    ];
    for db in common::databases().await {
        for (what, sql, expected) in &tampering {
            let fresh = if db.label == "sqlite" { common::sqlite_db() } else { common::postgres_db().await.unwrap() };
            let store = common::store(&fresh).await;
            with_records(&store, 10).await;
            for sql in sql {
                if sql == "FORGE" {
                    forge_hash(&store, 6).await;
                } else {
                    sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).execute(store.pool()).await.unwrap();
                }
            }
            assert_eq!(broken_at(&store).await, Some(*expected), "{}: {what}", db.label);
        }
    }
}

/// Gives the record at `seq` the hash the chain function computes for it, as an attacker who
/// knows the scheme would.
async fn forge_hash(store: &Store, seq: i64) {
    let r = store.audit_record(seq).await.unwrap().unwrap();
    let hash = tillpilot::store::audit::chain_hash(
        &r.prev_hash,
        r.seq,
        r.at_ms,
        [&r.actor, &r.channel, &r.kind, &r.subject, &r.detail],
    );
    sqlx::query("UPDATE audit_log SET hash = $1 WHERE seq = $2")
        .bind(hash)
        .bind(seq)
        .execute(store.pool())
        .await
        .unwrap();
}

#[tokio::test]
async fn an_audit_record_rolls_back_with_its_transaction() {
    for db in common::databases().await {
        let store = common::store(&db).await;
        with_records(&store, 2).await;
        let mut tx = store.begin().await.unwrap();
        store.audit(&mut tx, &entry(99)).await.unwrap();
        tx.rollback().await.unwrap();
        with_records(&store, 1).await;
        assert_eq!(store.audit_verify().await.unwrap(), Ok(3), "{}", db.label);
    }
}

#[tokio::test]
async fn concurrent_appends_keep_one_chain() {
    for db in common::databases().await {
        let store = common::store(&db).await;
        let tasks: Vec<_> = (0..8)
            .map(|t| {
                let store = store.clone();
                tokio::spawn(async move {
                    for i in 0..10 {
                        store.audit_now(&entry(t * 100 + i)).await.unwrap();
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(store.audit_verify().await.unwrap(), Ok(80), "{}", db.label);
    }
}

#[tokio::test]
async fn the_mirror_holds_what_the_pos_has_and_syncs_idempotently() {
    let pos = SimPos::new(common::shop());
    for db in common::databases().await {
        let store = common::store(&db).await;
        let first = tillpilot::jobs::sync::pull(&pos, &store, common::now_ms(), 10, |_, _| {}).await.unwrap();
        let second = tillpilot::jobs::sync::pull(&pos, &store, common::now_ms(), 10, |_, _| {}).await.unwrap();
        assert_eq!(first, second, "{}", db.label);
        let catalog = pos.catalog().await.unwrap();
        assert_eq!(store.count_rows(MirrorTable::Items).await.unwrap() as usize, catalog.items.len());
        assert_eq!(store.count_rows(MirrorTable::Orders).await.unwrap() as usize, first.orders);
        let variations: usize = catalog.items.iter().map(|i| i.variations.len()).sum();
        assert_eq!(store.count_rows(MirrorTable::StockLevels).await.unwrap() as usize, variations * 2);

        // Last sold is the newest line for the variation, as an independent scan finds it.
        let now = tillpilot::store::now_ms();
        let orders = pos.orders_between(now - 10 * 86_400_000, now + 86_400_000, None).await.unwrap();
        let croissant = catalog.items.iter().find(|i| i.name == "Butter Croissant").unwrap().variations[0].id.clone();
        let expected = orders
            .iter()
            .filter(|o| o.lines.iter().any(|l| l.variation_id.as_ref() == Some(&croissant)))
            .map(|o| o.created_at_ms)
            .max();
        let found = store.last_sold(std::slice::from_ref(&croissant)).await.unwrap();
        assert_eq!(found.get(&croissant).copied(), expected, "{}", db.label);

        // On order counts only approved or sent purchase orders.
        let v = VariationId::new("VAR-X");
        for (id, state, qty) in
            [("PO-1", "sent", 12), ("PO-2", "approved", 6), ("PO-3", "draft", 100), ("PO-4", "received", 50)]
        {
            sqlx::query("INSERT INTO purchase_orders (id, vendor_id, location_id, state, total_cents, created_at_ms) VALUES ($1, 'V', 'L', $2, 0, 0)")
                .bind(id)
                .bind(state)
                .execute(store.pool())
                .await
                .unwrap();
            sqlx::query("INSERT INTO purchase_order_lines (po_id, line_no, variation_id, quantity_milli, unit_cost_cents) VALUES ($1, 0, 'VAR-X', $2, 100)")
                .bind(id)
                .bind(Quantity::from_units(qty).milli())
                .execute(store.pool())
                .await
                .unwrap();
        }
        assert_eq!(store.on_order(std::slice::from_ref(&v)).await.unwrap().get(&v), Some(&Quantity::from_units(18)));
    }
}

/// A conversation's choices are kept per channel and person until they expire, and read back
/// by a store opened afresh on the same database (a restart); an empty state forgets them.
#[tokio::test]
async fn a_conversation_remembers_its_choices_until_they_expire() {
    use tillpilot::store::conversations::ConversationState;
    for db in common::databases().await {
        let label = db.label;
        let store = common::store(&db).await;
        let state = ConversationState {
            choices: vec!["stock id:ITEM-001".into(), "stock id:ITEM-002".into()],
            ..ConversationState::default()
        };
        store.remember_conversation("sms", "+13125550142", &state, 1_000, 61_000).await.unwrap();
        let reopened = Store::connect(&db.url).await.unwrap();
        assert_eq!(reopened.conversation("sms", "+13125550142", 2_000).await.unwrap(), Some(state.clone()), "{label}");
        assert_eq!(reopened.conversation("slack", "+13125550142", 2_000).await.unwrap(), None, "{label}: per channel");
        assert_eq!(reopened.conversation("sms", "+13125550142", 61_000).await.unwrap(), None, "{label}: expired");
        let newer = ConversationState { choices: vec!["stock id:ITEM-009".into()], ..ConversationState::default() };
        reopened.remember_conversation("sms", "+13125550142", &newer, 3_000, 63_000).await.unwrap();
        assert_eq!(store.conversation("sms", "+13125550142", 4_000).await.unwrap(), Some(newer), "{label}: replaced");
        store.remember_conversation("sms", "+13125550142", &ConversationState::default(), 5_000, 65_000).await.unwrap();
        assert_eq!(store.conversation("sms", "+13125550142", 6_000).await.unwrap(), None, "{label}: forgotten");
    }
}
