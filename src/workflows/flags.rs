//! Feature flags from chat (`flags`, `flag reorder shadow`, `flag summary off at Riverside`)
//! and the command line. Only the owner may change them (the command files say so). A flag for
//! one location overrides the shop-wide one.

use crate::channels::{ChannelKind, Reply};
use crate::domain::{LocationId, Person};
use crate::nlu::Entities;
use crate::store::flags::{FlagRow, FlagState};
use crate::store::{StoreError, now_ms};
use crate::workflows::DispatchError;
use crate::workflows::Shop;

/// Every workflow's flag, its default, and what it switches.
pub const FLAGS: &[(&str, FlagState, &str)] = &[
    ("summary", FlagState::On, "the nightly sales summary"),
    ("anomalies", FlagState::On, "alerts on unusual sales"),
    ("reorder", FlagState::On, "purchase-order drafts"),
    ("review", FlagState::On, "real-time transaction review (when [review] is configured)"),
];

/// The state a workflow runs in at `location` (or shop-wide).
pub async fn state(app: &Shop, flag: &str, location: Option<&LocationId>) -> Result<FlagState, StoreError> {
    Ok(resolve(&app.store.flag_rows().await?, flag, location))
}

/// The state `flag` is in at `location` given the stored `rows`: the location's own row, else
/// the shop-wide one, else the default.
pub fn resolve(rows: &[FlagRow], flag: &str, location: Option<&LocationId>) -> FlagState {
    let at = |loc: &str| rows.iter().find(|r| r.flag == flag && r.location == loc).map(|r| r.state);
    let default = FLAGS.iter().find(|(f, _, _)| *f == flag).map_or(FlagState::Off, |(_, d, _)| *d);
    location.and_then(|l| at(l.as_str())).or_else(|| at("")).unwrap_or(default)
}

fn describe(rows: &[FlagRow], app: &Shop) -> Reply {
    let mut reply =
        Reply::text("Feature flags (owner can change them with \"flag NAME on|off|shadow [at LOCATION]\"):");
    let names = app.catalog();
    for (flag, default, what) in FLAGS {
        let shop = rows.iter().find(|r| r.flag == *flag && r.location.is_empty()).map_or(*default, |r| r.state);
        let mut value = format!("{} ({what})", shop.as_str());
        for row in rows.iter().filter(|r| r.flag == *flag && !r.location.is_empty()) {
            let name = names
                .locations
                .iter()
                .find(|l| l.id.as_str() == row.location)
                .map_or(row.location.as_str(), |l| l.name.as_str());
            value.push_str(&format!("; {} at {name}", row.state.as_str()));
        }
        reply = reply.field(*flag, value);
    }
    reply
}

pub async fn list(app: &Shop) -> Result<Reply, DispatchError> {
    Ok(describe(&app.store.flag_rows().await?, app))
}

/// Reads "reorder shadow", "turn off the summary at Riverside", "enable anomalies".
fn parse(text: &str) -> (Option<&'static str>, Option<FlagState>) {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    let flag = FLAGS.iter().map(|(f, _, _)| *f).find(|f| {
        words.iter().any(|w| {
            *w == *f || (f.ends_with('s') && *w == &f[..f.len() - 1]) || (*f == "anomalies" && *w == "anomaly")
        })
    });
    let state = if words.contains(&"shadow") {
        Some(FlagState::Shadow)
    } else if words.iter().any(|w| matches!(*w, "off" | "disable" | "stop" | "pause")) {
        Some(FlagState::Off)
    } else if words.iter().any(|w| matches!(*w, "on" | "enable" | "start" | "resume")) {
        Some(FlagState::On)
    } else {
        None
    };
    (flag, state)
}

pub async fn set(
    app: &Shop,
    person: &Person,
    channel: ChannelKind,
    args: &str,
    entities: &Entities,
) -> Result<Reply, DispatchError> {
    let (flag, state) = parse(args);
    let (Some(flag), Some(state)) = (flag, state) else {
        let names: Vec<&str> = FLAGS.iter().map(|(f, _, _)| *f).collect();
        return Ok(Reply::text(format!(
            "Say which flag and how: \"flag reorder shadow\", \"flag summary off at Riverside\". Flags: {}.",
            names.join(", ")
        )));
    };
    let location = entities.locations.first();
    let key = location.map_or(String::new(), |l| l.id.to_string());
    let before = app.store.set_flag(flag, &key, state, &person.name, channel.as_str(), now_ms()).await?;
    // The checkout assistant reads flags from memory; this process's copy changes now.
    app.review.reload_flags(&app.store).await?;
    let place = location.map_or_else(|| "for the whole shop".to_owned(), |l| format!("at {}", l.name));
    let was = before.map_or_else(String::new, |b| format!(" (was {})", b.as_str()));
    let meaning = match state {
        FlagState::On => "it runs and posts",
        FlagState::Shadow => "it runs and records what it would do, but posts and writes nothing",
        FlagState::Off => "it does not run",
    };
    Ok(Reply::text(format!("{flag} is now {} {place}{was}: {meaning}.", state.as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_flag_changes_however_they_are_said() {
        assert_eq!(parse("reorder shadow"), (Some("reorder"), Some(FlagState::Shadow)));
        assert_eq!(parse("turn off the summary at Riverside"), (Some("summary"), Some(FlagState::Off)));
        assert_eq!(parse("enable anomaly alerts"), (Some("anomalies"), Some(FlagState::On)));
        assert_eq!(parse("summary"), (Some("summary"), None));
    }
}
