//! Anomalies on the simulated shop: the planted one (oat milk ran out at Main St yesterday) is
//! found with its cause, and ordinary noise raises no alerts on other days; the owner's
//! "expected" verdicts raise the bar for later alerts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use tillpilot::workflows::anomalies::find;

#[tokio::test]
async fn the_planted_anomaly_is_found_and_noise_is_not() {
    for db in common::databases().await {
        let app = common::app(&db).await;
        let shop = common::shop();
        let planted = &shop.anomaly;
        let found = find(&app, planted.date).await.unwrap();
        let sentences: Vec<String> = found.iter().map(|a| a.sentence()).collect();
        assert_eq!(found.len(), 1, "{}: only the planted one: {sentences:?}", db.label);
        let a = &found[0];
        assert_eq!((&a.variation_id, &a.location_id), (&planted.variation_id, &planted.location_id));
        assert_eq!(a.cause.as_deref(), Some("went out of stock"));
        assert!(a.sentence().starts_with("Oat Milk 1L at Main St: "), "{}", a.sentence());
        assert!(a.change < -0.35);

        // The days before carry ordinary noise only.
        let mut noisy = Vec::new();
        for k in 2..=6 {
            noisy.extend(
                find(&app, planted.date - chrono::Duration::days(k)).await.unwrap().into_iter().map(|a| a.sentence()),
            );
        }
        assert!(noisy.len() <= 1, "{}: noise raised alerts: {noisy:?}", db.label);
    }
}

#[tokio::test]
async fn expected_verdicts_raise_the_bar() {
    let db = common::sqlite_db();
    let app = common::app(&db).await;
    let shop = common::shop();
    let planted = &shop.anomaly;
    let alert = tillpilot::workflows::anomalies::alert(&find(&app, planted.date).await.unwrap()[0]);
    assert_eq!(alert.actions.iter().map(|b| b.label.as_str()).collect::<Vec<_>>(), ["Expected", "Investigate"]);
    // Pressing Expected sends the button's command back as Maria.
    let answer = common::ask(&app, "Maria", &alert.actions[0].action).await;
    assert!(answer.reply.text.starts_with("Noted as expected"), "{}", answer.reply.text);
    let refused = common::ask(&app, "Sam", &alert.actions[0].action).await;
    assert!(refused.reply.text.contains("only for"), "{}", refused.reply.text);
    // A second "expected" on another day for the same item and location.
    let other_day = alert.actions[0]
        .action
        .replace(&planted.date.to_string(), &(planted.date - chrono::Duration::days(14)).to_string());
    common::ask(&app, "Maria", &other_day).await;
    let after = find(&app, planted.date).await.unwrap();
    assert!(after.iter().all(|a| a.variation_id != planted.variation_id), "a 58% drop no longer alerts here");
    assert!(
        after.iter().all(|a| a.change.abs() >= 0.6),
        "the bar is now 60%: {:?}",
        after.iter().map(|a| a.sentence()).collect::<Vec<_>>()
    );
    assert!(app.store.audit_since(0).await.unwrap().iter().any(|r| r.kind == "anomaly.feedback"));
}
