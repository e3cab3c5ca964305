//! Telegram long polling: `getUpdates` in a loop, every update recorded in the inbox before
//! the offset moves past it, so an update is processed once even across a restart.

use crate::channels::telegram::client::TelegramClient;
use crate::channels::{ChannelError, inbox_event, record, telegram};
use crate::store::Store;
use std::time::Duration;

/// How long one getUpdates call waits for something to happen.
const POLL_WAIT: Duration = Duration::from_secs(25);

/// Long polling: records every update in the inbox (so it is processed once, even across a
/// restart), then asks for the next ones. Runs until `stop` changes.
pub async fn poll(store: Store, client: TelegramClient, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut offset = 0;
    let mut pause = Duration::from_secs(1);
    loop {
        let batch = tokio::select! {
            batch = client.get_updates(offset, POLL_WAIT) => batch,
            _ = stop.changed() => return,
        };
        match batch {
            Ok(updates) => {
                pause = Duration::from_secs(1);
                let mut events = Vec::new();
                let mut next = offset;
                for update in &updates {
                    match telegram::webhook::parse_update(update) {
                        Ok((id, event)) => {
                            next = next.max(id + 1);
                            events.extend(event.map(|e| inbox_event("telegram", id.to_string(), &e)));
                        }
                        Err(err) => tracing::warn!(error = %err, "an unreadable Telegram update was skipped"),
                    }
                }
                // Telegram forgets updates below the offset we send next, so it moves on only once
                // they are safely recorded.
                match record(&store, &events).await {
                    Ok(()) => offset = next,
                    Err(err) => {
                        tracing::error!(error = %err, "could not record Telegram updates; asking again");
                        tokio::time::sleep(pause).await;
                    }
                }
            }
            Err(ChannelError::RateLimited(wait)) => tokio::time::sleep(wait).await,
            Err(err) => {
                tracing::warn!(error = %err, "Telegram polling failed; trying again");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(60));
            }
        }
        if *stop.borrow() {
            return;
        }
    }
}
