//! What the bot does for people. Each workflow takes the sender, the parsed entities and the
//! app, reads through the POS and the store, and returns a reply. None of them trusts anything
//! but the sender's resolved role and identity.

pub mod help;
pub mod order_status;
pub mod stock;
pub mod whoami;

use crate::app::App;
use crate::channels::{ChannelKind, Reply};
use crate::dispatch::DispatchError;
use crate::domain::Person;
use crate::nlu::Entities;
use chrono::TimeZone;

/// Runs the workflow behind command `name`.
pub async fn run(
    app: &App,
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
        _ => Ok(help::cannot_do(app, person, channel)),
    }
}

/// "today at 10:42", "yesterday at 16:05", "Tue Nov 17" in the shop's time zone.
pub fn when(app: &App, at_ms: i64) -> String {
    let Some(at) = app.timezone.timestamp_millis_opt(at_ms).single() else { return "at an unknown time".into() };
    let today = chrono::Utc::now().with_timezone(&app.timezone).date_naive();
    let date = at.date_naive();
    if date == today {
        format!("today at {}", at.format("%H:%M"))
    } else if Some(date) == today.pred_opt() {
        format!("yesterday at {}", at.format("%H:%M"))
    } else {
        at.format("%a %b %-d").to_string()
    }
}

/// A calendar day in the shop's time zone: "Tue Nov 17".
pub fn day(app: &App, at_ms: i64) -> String {
    app.timezone
        .timestamp_millis_opt(at_ms)
        .single()
        .map_or_else(|| "an unknown day".into(), |at| at.format("%a %b %-d").to_string())
}

/// The answer when the POS cannot be reached.
pub fn pos_unreachable(err: &crate::pos::PosError) -> Reply {
    tracing::warn!(error = %err, "POS call failed");
    Reply::text("I can't reach the till system right now, so I can't answer that. Please try again in a minute.")
}
