//! Feature flags from chat and the command line, on both backends: only the owner changes
//! them, a location's flag overrides the shop's, every change is audited.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use tillpilot::domain::LocationId;
use tillpilot::store::flags::FlagState;
use tillpilot::workflows::flags::state;

#[tokio::test]
async fn the_owner_sets_flags_in_chat_and_locations_override_the_shop() {
    for db in common::databases().await {
        let app = common::app(&db).await;
        let riverside = LocationId::new("L-RIVER");
        assert_eq!(state(&app, "reorder", None).await.unwrap(), FlagState::On, "the default");

        let refused = common::ask(&app, "Sam", "flag reorder off").await;
        assert!(refused.reply.text.contains("only for the owner"), "{}", refused.reply.text);
        assert_eq!(state(&app, "reorder", None).await.unwrap(), FlagState::On, "{}: staff changed nothing", db.label);

        let set = common::ask(&app, "Maria", "put reorder in shadow mode at Riverside").await;
        assert_eq!(set.intent.as_deref(), Some("flag"));
        assert!(set.reply.text.starts_with("reorder is now shadow at Riverside"), "{}", set.reply.text);
        assert_eq!(state(&app, "reorder", Some(&riverside)).await.unwrap(), FlagState::Shadow);
        assert_eq!(state(&app, "reorder", Some(&LocationId::new("L-MAIN"))).await.unwrap(), FlagState::On);

        common::ask(&app, "Maria", "flag reorder off").await;
        assert_eq!(state(&app, "reorder", Some(&LocationId::new("L-MAIN"))).await.unwrap(), FlagState::Off);
        assert_eq!(
            state(&app, "reorder", Some(&riverside)).await.unwrap(),
            FlagState::Shadow,
            "the location's own flag wins"
        );

        let listed = common::seen(&common::ask(&app, "Maria", "flags").await);
        assert!(listed.contains("reorder: off (purchase-order drafts); shadow at Riverside"), "{listed}");
        let changes: Vec<_> =
            app.store.audit_since(0).await.unwrap().into_iter().filter(|r| r.kind == "flag.changed").collect();
        assert_eq!(changes.len(), 2);
        assert!(
            changes[1].detail.contains("\"was\":null") || changes[1].detail.contains("\"was\": null"),
            "{}",
            changes[1].detail
        );
    }
}

#[test]
fn flags_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_tillpilot")).current_dir(dir.path()).args(args).output().unwrap()
    };
    let out = run(&["--demo", "flags", "set", "summary", "shadow", "--location", "Main St"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run(&["--demo", "flags"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("summary: on (the nightly sales summary); shadow at Main St"), "{text}");
    let bad = run(&["--demo", "flags", "set", "summary", "maybe"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("use on, off or shadow"));
}
