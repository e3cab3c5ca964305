//! The inbox worker on both backends: events applied to the mirror once, stock never rolled
//! back by a late delivery, failures retried then parked, leases respected, and two workers
//! sharing one inbox without applying anything twice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use tillpilot::app::App;
use tillpilot::domain::VariationId;
use tillpilot::jobs::inbox_worker::{MAX_ATTEMPTS, PassReport, process_due};
use tillpilot::pos::webhook::WebhookEvent;
use tillpilot::store::now_ms;

fn square_event(event_id: &str, event_type: &str, object_id: &str, payload: Value) -> WebhookEvent {
    WebhookEvent {
        source: "square",
        event_id: event_id.into(),
        event_type: event_type.into(),
        object_id: Some(object_id.into()),
        payload: payload.to_string(),
    }
}

fn inventory_event(event_id: &str, variation: &str, quantity: &str, calculated_at: &str) -> WebhookEvent {
    let payload = json!({
        "merchant_id": "M", "type": "inventory.count.updated", "event_id": event_id,
        "data": { "type": "inventory_counts", "id": event_id, "object": { "inventory_counts": [
            { "catalog_object_id": variation, "catalog_object_type": "ITEM_VARIATION", "state": "IN_STOCK",
              "location_id": "L-MAIN", "quantity": quantity, "calculated_at": calculated_at }
        ]}}
    });
    square_event(event_id, "inventory.count.updated", event_id, payload)
}

fn order_event(event_id: &str, order_id: &str) -> WebhookEvent {
    let payload = json!({ "type": "order.updated", "event_id": event_id, "data": { "type": "order_updated", "id": order_id,
        "object": { "order_updated": { "order_id": order_id, "state": "OPEN", "version": 2 } } } });
    square_event(event_id, "order.updated", order_id, payload)
}

async fn receive(app: &App, events: &[WebhookEvent]) {
    let mut tx = app.store.begin().await.unwrap();
    app.store.receive_events(&mut tx, events, now_ms()).await.unwrap();
    tx.commit().await.unwrap();
}

async fn drain(app: &App, worker: &str) -> PassReport {
    let mut total = PassReport::default();
    loop {
        let pass = process_due(app, worker).await.unwrap();
        if pass == PassReport::default() {
            return total;
        }
        total.processed += pass.processed;
        total.retried += pass.retried;
        total.parked += pass.parked;
        total.lost += pass.lost;
    }
}

#[tokio::test]
async fn the_fixture_inventory_event_is_applied_and_a_late_older_count_is_not() {
    for db in common::databases().await {
        let app = common::app(&db).await;
        let fixture: Value = serde_json::from_str(
            &std::fs::read_to_string("tests/fixtures/square/event_inventory_count_updated.json").unwrap(),
        )
        .unwrap();
        let count = &fixture["data"]["object"]["inventory_counts"][0];
        let variation = VariationId::new(count["catalog_object_id"].as_str().unwrap());
        let location = count["location_id"].as_str().unwrap();
        let event = square_event(
            fixture["event_id"].as_str().unwrap(),
            "inventory.count.updated",
            fixture["data"]["id"].as_str().unwrap(),
            fixture.clone(),
        );
        receive(&app, &[event]).await;
        assert_eq!(drain(&app, "w1").await.processed, 1, "{}", db.label);
        let (on_hand, _) = app.store.mirrored_stock(&variation, location).await.unwrap().unwrap();
        assert_eq!(on_hand.to_string(), count["quantity"].as_str().unwrap());

        let v = "VAR-018-1";
        receive(&app, &[inventory_event("inv-new", v, "40", "2030-01-02T10:00:00Z")]).await;
        receive(&app, &[inventory_event("inv-old", v, "3", "2030-01-01T10:00:00Z")]).await;
        assert_eq!(drain(&app, "w1").await.processed, 2);
        let (on_hand, _) = app.store.mirrored_stock(&VariationId::new(v), "L-MAIN").await.unwrap().unwrap();
        assert_eq!(on_hand.to_string(), "40", "{}: the older count arrived later and must not win", db.label);
    }
}

#[tokio::test]
async fn id_only_order_events_fetch_the_order_from_the_pos() {
    for db in common::databases().await {
        let app = common::app(&db).await;
        sqlx::query("DELETE FROM order_lines WHERE order_id = 'ORD-W-1042'").execute(app.store.pool()).await.unwrap();
        sqlx::query("DELETE FROM orders WHERE id = 'ORD-W-1042'").execute(app.store.pool()).await.unwrap();
        receive(&app, &[order_event("ord-1", "ORD-W-1042"), order_event("ord-2", "NO-SUCH-ORDER")]).await;
        assert_eq!(drain(&app, "w1").await.processed, 2, "{}", db.label);
        let (number,): (String,) = sqlx::query_as("SELECT number FROM orders WHERE id = 'ORD-W-1042'")
            .fetch_one(app.store.pool())
            .await
            .unwrap();
        assert_eq!(number, "1042");
        let notes: Vec<String> = app
            .store
            .audit_since(0)
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.kind == "inbox.processed")
            .map(|r| r.detail)
            .collect();
        assert!(notes.iter().any(|d| d.contains("order refreshed from the POS")));
        assert!(notes.iter().any(|d| d.contains("order not found at the POS")));
    }
}

#[tokio::test]
async fn a_failing_event_is_retried_then_parked_and_reported() {
    for db in common::databases().await {
        let app = common::app(&db).await;
        let broken = square_event("bad-1", "inventory.count.updated", "bad-1", json!({ "data": { "object": {} } }));
        receive(&app, &[broken]).await;
        let mut retried = 0;
        let mut parked = 0;
        for _ in 0..MAX_ATTEMPTS + 2 {
            let pass = drain(&app, "w1").await;
            retried += pass.retried;
            parked += pass.parked;
            // Let the backoff elapse.
            sqlx::query("UPDATE inbox SET next_attempt_at_ms = 0 WHERE state = 'pending'")
                .execute(app.store.pool())
                .await
                .unwrap();
        }
        assert_eq!((retried as i64, parked), (MAX_ATTEMPTS - 1, 1), "{}", db.label);
        let rows = app.store.inbox("square").await.unwrap();
        assert_eq!(rows[0].state, "parked");
        assert_eq!(rows[0].attempts, MAX_ATTEMPTS);
        assert!(
            app.store
                .audit_since(0)
                .await
                .unwrap()
                .iter()
                .any(|r| r.kind == "inbox.parked" && r.detail.contains("bad-1"))
        );
        assert_eq!(app.metrics.get("tillpilot_inbox_parked_total", "source=\"square\""), 1);
    }
}

#[tokio::test]
async fn a_worker_that_lost_its_lease_writes_nothing() {
    for db in common::databases().await {
        let app = common::app(&db).await;
        receive(&app, &[order_event("lease-1", "ORD-W-1043")]).await;
        let slow = app.store.claim_inbox("slow", 10, now_ms(), -1).await.unwrap();
        assert_eq!(slow.len(), 1);
        // The lease has run out: another worker takes the event over and applies it.
        assert_eq!(drain(&app, "fast").await.processed, 1, "{}", db.label);
        let mut tx = app.store.begin().await.unwrap();
        assert!(!app.store.finish_inbox(&mut tx, &slow[0], "slow", now_ms(), "late").await.unwrap());
        tx.rollback().await.unwrap();
        let processed =
            app.store.audit_since(0).await.unwrap().into_iter().filter(|r| r.kind == "inbox.processed").count();
        assert_eq!(processed, 1);
    }
}

#[tokio::test]
async fn two_workers_share_one_inbox_and_apply_each_event_once() {
    for db in common::databases().await {
        let app = Arc::new(common::app(&db).await);
        let shop = common::shop();
        let online: Vec<_> = shop.orders.iter().filter(|o| o.fulfilment.is_some()).collect();
        let mut events = Vec::new();
        for i in 0..300 {
            let order = online[i % online.len()];
            events.push(order_event(&format!("evt-{i}"), order.id.as_str()));
        }
        receive(&app, &events).await;
        let workers: Vec<_> = ["a", "b"]
            .into_iter()
            .map(|name| {
                let app = app.clone();
                tokio::spawn(async move { drain(&app, name).await })
            })
            .collect();
        let mut processed = 0;
        for worker in workers {
            processed += worker.await.unwrap().processed;
        }
        assert_eq!(processed, 300, "{}", db.label);
        let rows = app.store.inbox("square").await.unwrap();
        assert!(rows.iter().all(|r| r.state == "done"));
        let mut per_event: HashMap<String, usize> = HashMap::new();
        for record in app.store.audit_since(0).await.unwrap().into_iter().filter(|r| r.kind == "inbox.processed") {
            let detail: Value = serde_json::from_str(&record.detail).unwrap();
            *per_event.entry(detail["event_id"].as_str().unwrap().to_owned()).or_default() += 1;
        }
        assert_eq!(per_event.len(), 300);
        assert!(per_event.values().all(|n| *n == 1));
        assert!(app.store.audit_verify().await.unwrap().is_ok());
    }
}

/// The two ways the intake writer records a batch: through a pooled connection (PostgreSQL,
/// in-memory SQLite) and on its own thread with a connection of its own (a SQLite file).
enum Writer {
    Pool(tillpilot::store::Connection),
    Own(tillpilot::store::inbox_writer::SqliteInbox),
}

impl Writer {
    async fn write(&mut self, app: &App, events: &[WebhookEvent]) -> Vec<String> {
        match self {
            Writer::Pool(conn) => app.store.receive_batch(conn, events, now_ms()).await.unwrap(),
            Writer::Own(inbox) => inbox.receive_batch(events, now_ms()).unwrap(),
        }
    }
}

/// The intake writer's own transaction: a batch that mixes new events, a redelivery of an
/// earlier one and the same event twice records each new one once, in arrival order, answers
/// which were new, and audits them in one record that keeps the chain whole. On every backend,
/// and on SQLite with both writers.
#[tokio::test]
async fn a_batch_with_redeliveries_records_and_audits_each_new_event_once() {
    let mut cases = Vec::new();
    for db in common::databases().await {
        let app = common::app(&db).await;
        let writer = Writer::Pool(app.store.connection().await.unwrap());
        cases.push((format!("{} through the pool", db.label), db, app, writer));
    }
    let db = common::sqlite_db();
    let app = common::app(&db).await;
    let writer = Writer::Own(app.store.sqlite_inbox().expect("a SQLite file has its own writer").unwrap());
    cases.push(("sqlite on the writer's thread".to_owned(), db, app, writer));
    for (label, _db, app, mut conn) in cases {
        let first = conn.write(&app, &[order_event("ev-1", "O-1")]).await;
        assert_eq!(first, vec!["ev-1".to_owned()], "{label}");
        let batch = [
            order_event("ev-2", "O-2"),
            order_event("ev-1", "O-1"),
            order_event("ev-3", "O-3"),
            order_event("ev-2", "O-2"),
        ];
        let new = conn.write(&app, &batch).await;
        assert_eq!(new, vec!["ev-2".to_owned(), "ev-3".to_owned()], "{label}");
        let again = conn.write(&app, &batch).await;
        assert!(again.is_empty(), "{label}: a batch of redeliveries is nothing new");
        // Larger than one statement carries over TCP to PostgreSQL: written in several, still
        // one transaction and one audit record.
        let padding = "x".repeat(600);
        let mut big: Vec<WebhookEvent> = (10..40)
            .map(|i| {
                let mut event = order_event(&format!("ev-{i}"), &format!("O-{i}"));
                event.payload = json!({ "event_id": format!("ev-{i}"), "note": padding }).to_string();
                event
            })
            .collect();
        big.push(order_event("ev-3", "O-3"));
        let new = conn.write(&app, &big).await;
        assert_eq!(new.len(), 30, "{label}");
        // One more batch, and an audit record of another kind in between, to chain onto.
        let between = tillpilot::store::AuditEntry {
            actor: "tillpilot".into(),
            channel: "test".into(),
            kind: "test.between".into(),
            subject: "between batches".into(),
            detail: json!({}),
        };
        app.store.audit_now(&between).await.unwrap();
        let new = conn.write(&app, &[order_event("ev-50", "O-50"), order_event("ev-1", "O-1")]).await;
        assert_eq!(new, vec!["ev-50".to_owned()], "{label}");
        drop(conn);
        let rows = app.store.inbox("square").await.unwrap();
        let ids: Vec<&str> = rows.iter().map(|r| r.event_id.as_str()).collect();
        let expected: Vec<String> = ["ev-1", "ev-2", "ev-3"]
            .map(String::from)
            .into_iter()
            .chain((10..40).map(|i| format!("ev-{i}")))
            .chain(["ev-50".to_owned()])
            .collect();
        assert_eq!(ids, expected, "{label}: each once, in arrival order");
        let received: Vec<_> =
            app.store.audit_tail(50).await.unwrap().into_iter().filter(|r| r.kind == "webhook.received").collect();
        assert_eq!(received.len(), 4, "{label}: one record per batch with something new");
        assert_eq!(received[2].subject, "30 events", "{label}");
        let listed: Value = serde_json::from_str(&received[1].detail).unwrap();
        let listed: Vec<&str> =
            listed["events"].as_array().unwrap().iter().map(|e| e["event_id"].as_str().unwrap()).collect();
        assert_eq!(listed, ["ev-2", "ev-3"], "{label}");
        assert_eq!(received[1].actor, "square", "{label}");
        let inbox_id = rows.iter().find(|r| r.event_id == "ev-50").unwrap().id;
        let last: Value = serde_json::from_str(&received[3].detail).unwrap();
        assert_eq!(last["events"][0]["inbox_id"], json!(inbox_id), "{label}: the record names the inbox row");
        assert_eq!(last["events"][0]["object_id"], json!("O-50"), "{label}");
        assert!(app.store.audit_verify().await.unwrap().is_ok(), "{label}: the chain is whole");
    }
}

/// The intake writer checkpoints the write-ahead log itself, between batches: after more events
/// than one log holds (at `store::WAL_CHECKPOINT_PAGES`, about 32 MB), their pages have been
/// copied into the database file, and the log was restarted rather than left to grow with
/// every event. Every event is still there once.
#[tokio::test]
async fn the_sqlite_writer_keeps_its_write_ahead_log_bounded() {
    let db = common::sqlite_db();
    let app = common::app(&db).await;
    let mut inbox = app.store.sqlite_inbox().expect("a SQLite file has its own writer").unwrap();
    let file = db.url.strip_prefix("sqlite://").unwrap().to_owned();
    let size = |path: &str| std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let before = size(&file);
    let padding = "x".repeat(2_000);
    let batches = 200;
    for batch in 0..batches {
        let events: Vec<WebhookEvent> = (0..50)
            .map(|i| {
                let mut event = order_event(&format!("ev-{batch}-{i}"), &format!("O-{batch}-{i}"));
                event.payload = json!({ "note": padding }).to_string();
                event
            })
            .collect();
        assert_eq!(inbox.receive_batch(&events, now_ms()).unwrap().len(), 50);
        inbox.checkpoint_if_due().unwrap();
    }
    let written = size(&file) - before;
    let log = size(&format!("{file}-wal"));
    // 10,000 events of ~2 KB: about 20 MB of rows alone, more than half a log's worth with
    // their index pages, most of it now in the database file.
    assert!(written > 16 << 20, "the database file grew by only {written} bytes: the log was not copied into it");
    assert!(log < 40 << 20, "the write-ahead log is {log} bytes: it was never restarted");
    drop(inbox);
    assert_eq!(app.store.inbox("square").await.unwrap().len(), batches * 50);
}
