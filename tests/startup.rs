//! Starting: several processes started at the same moment on one database all come up (each
//! writes the people directory from its configuration), on both backends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use tillpilot::app::App;
use tillpilot::pos::sim::SimPos;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn several_processes_start_together() {
    for db in common::databases().await {
        // Migrated once, as `tillpilot migrate` or the first process leaves it.
        common::store(&db).await.close().await;
        let pos = Arc::new(SimPos::new(common::shop()));
        let starts = (0..8).map(|_| {
            let (config, pos) = (common::config(&db), pos.clone());
            tokio::spawn(async move { App::start_with_clock(config, Some(pos), common::clock()).await.map(|_| ()) })
        });
        for started in futures_util::future::join_all(starts).await {
            started.unwrap().unwrap_or_else(|err| panic!("{}: a start failed: {err:#}", db.label));
        }
        let store = common::store(&db).await;
        let app = App::start_with_clock(common::config(&db), Some(pos), common::clock()).await.unwrap();
        assert_eq!(app.directory.owner().map(|p| p.name.clone()).as_deref(), Some("Maria"));
        let people: Vec<(String,)> =
            sqlx::query_as("SELECT name FROM people ORDER BY name").fetch_all(store.pool()).await.unwrap();
        assert_eq!(people.len(), common::config(&db).people.len(), "{}: each person once", db.label);
    }
}
