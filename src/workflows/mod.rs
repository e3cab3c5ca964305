//! What the bot does for people. Each workflow takes the sender, the parsed entities and the
//! app, reads through the POS and the store, and returns a reply. None of them trusts anything
//! but the sender's resolved role and identity.

pub mod anomalies;
pub mod approvals;
pub mod flags;
pub mod handoff;
pub mod help;
pub mod order_status;
pub mod purchase_email;
pub mod purchase_order;
pub mod reorder;
pub mod review;
pub mod rules;
pub mod shop;
pub mod stock;
pub mod summary;
pub mod summary_chart;
pub mod vendors;
pub mod whoami;

use crate::channels::{ChannelKind, Reply};
use crate::domain::Person;
use crate::nlu::Entities;
use crate::pos::mirror::MirrorPos;
use crate::pos::{Pos, PosError};
use chrono::TimeZone;
pub use shop::Shop;

/// Runs the workflow behind command `name`.
pub async fn run(
    app: &Shop,
    person: &Person,
    channel: ChannelKind,
    name: &str,
    args: &str,
    entities: &Entities,
) -> Result<Reply, DispatchError> {
    match name {
        "help" => Ok(help::run(app, person, channel, args)),
        "whoami" => Ok(whoami::run(app, person, channel)),
        "stock" => stock::run(app, person, args, entities).await,
        "order" => order_status::run(app, person, entities).await,
        "flags" => flags::list(app).await,
        "anomaly" => Ok(anomalies::record_verdict(app, person, args).await?),
        "summary" => Ok(summary::on_demand(app, args, entities).await?),
        "reorder" => Ok(reorder::on_demand(app, person, args, entities).await?),
        "po" => Ok(purchase_order::run(app, person, args, entities).await?),
        "anomalies" => Ok(anomalies::on_demand(app, args).await?),
        "flag" => flags::set(app, person, channel, args, entities).await,
        "rules" => Ok(rules::list(app).await?),
        "talk" => Ok(handoff::start(app, person, channel).await?),
        "reply" => Ok(handoff::answer(app, person, channel, args).await?),
        "rule" => Ok(rules::change(app, person, channel, args).await?),
        _ => Ok(help::cannot_do(app, person, channel)),
    }
}

/// "today at 10:42", "yesterday at 16:05", "Tue Nov 17" in the shop's time zone.
pub fn when(app: &Shop, at_ms: i64) -> String {
    let Some(at) = app.timezone.timestamp_millis_opt(at_ms).single() else { return "at an unknown time".into() };
    let today = app.today();
    let date = at.date_naive();
    if date == today {
        format!("today at {}", at.format("%H:%M"))
    } else if Some(date) == today.pred_opt() {
        format!("yesterday at {}", at.format("%H:%M"))
    } else {
        at.format("%a %b %-d").to_string()
    }
}

/// The time of day in the shop's time zone: "14:02".
pub fn clock_time(app: &Shop, at_ms: i64) -> String {
    app.timezone.timestamp_millis_opt(at_ms).single().map_or_else(String::new, |at| at.format("%H:%M").to_string())
}

/// A calendar day in the shop's time zone: "Tue Nov 17".
pub fn day(app: &Shop, at_ms: i64) -> String {
    app.timezone
        .timestamp_millis_opt(at_ms)
        .single()
        .map_or_else(|| "an unknown day".into(), |at| at.format("%a %b %-d").to_string())
}

/// Whether an error means "the POS is not answering now" (as opposed to a wrong request).
pub fn unreachable(err: &PosError) -> bool {
    matches!(err, PosError::Unavailable(_) | PosError::RateLimited(_))
}

/// A read against a POS, as `live_or_mirror` runs it (boxed so it can run on any worker).
pub type PosRead<'a, T> = std::pin::Pin<Box<dyn Future<Output = Result<T, PosError>> + Send + 'a>>;

/// Runs `read` against the live POS and, when it is not answering, against the local mirror.
/// The second value is when the mirror was last brought up to date, for a mirror answer.
pub async fn live_or_mirror<'a, T>(
    app: &Shop,
    read: impl Fn(std::sync::Arc<dyn Pos>) -> PosRead<'a, T>,
) -> Result<(T, Option<Staleness>), PosError> {
    match read(app.pos.clone()).await {
        Ok(value) => Ok((value, None)),
        Err(err) if unreachable(&err) && app.pos.provider() != "mirror" => {
            tracing::warn!(error = %err, "POS not answering; using the local mirror");
            let mirror: std::sync::Arc<dyn Pos> = std::sync::Arc::new(MirrorPos::new(app.store.clone()));
            let value = read(mirror).await?;
            let synced = app.store.meta("sync.completed_at").await.ok().flatten().and_then(|v| v.parse().ok());
            Ok((value, Some(Staleness { synced_at_ms: synced })))
        }
        Err(err) => Err(err),
    }
}

/// An answer from the mirror, not the POS.
#[derive(Clone, Copy, Debug)]
pub struct Staleness {
    pub synced_at_ms: Option<i64>,
}

impl Staleness {
    /// The sentence added to a mirror answer.
    pub fn note(self, app: &Shop) -> String {
        match self.synced_at_ms {
            Some(at) => format!(
                "(The till system isn't answering right now; these figures are from the last sync, {}.)",
                when(app, at)
            ),
            None => "(The till system isn't answering right now; these figures are from Tillpilot's last copy.)".into(),
        }
    }
}

/// The answer when the POS cannot be reached.
pub fn pos_unreachable(err: &crate::pos::PosError) -> Reply {
    tracing::warn!(error = %err, "POS call failed");
    Reply::text("I can't reach the till system right now, so I can't answer that. Please try again in a minute.")
}

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}
