//! Inbound message → command or intent → role check → workflow → reply, with every step that
//! matters appended to the audit log. This is the one place authority is enforced: whatever a
//! classifier or LLM thinks, a command runs only for the roles its file lists.

pub mod assistant;
pub mod chat;
pub use crate::{commands, directory as identity};
pub mod understand;

use crate::channels::{ChannelKind, Reply};
use crate::domain::{Person, Role};
use crate::nlu::text::mask_sensitive;
use crate::nlu::{Entities, ProductResolution};
use crate::store::conversations::ConversationState;
use crate::store::{AuditEntry, StoreError};
use crate::workflows;
use crate::workflows::Shop;
use identity::Sender;
use serde::Serialize;
use serde_json::json;
use understand::Understanding;

/// The longest message we read. Longer ones are answered, audited (truncated) and not parsed.
pub const MAX_MESSAGE_CHARS: usize = 4_000;

/// One message from a person on a channel.
#[derive(Clone, Debug)]
pub struct Inbound {
    pub channel: ChannelKind,
    pub sender: Sender,
    pub text: String,
}

/// What we answered, and what we understood, for `ask --json` and the channels.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    #[serde(flatten)]
    pub reply: Reply,
    pub intent: Option<String>,
    pub entities: EntitiesView,
    pub audit_id: i64,
    /// The command line that answered, for a follow-up ("and at Riverside?").
    #[serde(skip)]
    pub ran: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct EntitiesView {
    pub products: Vec<ProductView>,
    pub order_numbers: Vec<String>,
    pub locations: Vec<crate::nlu::LocationMatch>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ProductView {
    pub item_id: String,
    pub variation_id: Option<String>,
    pub name: String,
}

impl EntitiesView {
    fn of(entities: &Entities) -> EntitiesView {
        let mut products = Vec::new();
        let matches = match &entities.products {
            ProductResolution::None => Vec::new(),
            ProductResolution::One(m) => vec![m.clone()],
            ProductResolution::Ambiguous(ms) => ms.clone(),
        };
        for m in matches {
            let one = matches!(entities.products, ProductResolution::One(_));
            if one && (m.narrowed || m.variations.len() == 1) {
                for (id, name) in &m.variations {
                    products.push(ProductView {
                        item_id: m.item_id.to_string(),
                        variation_id: Some(id.to_string()),
                        name: name.clone(),
                    });
                }
            } else {
                products.push(ProductView {
                    item_id: m.item_id.to_string(),
                    variation_id: None,
                    name: m.item_name.clone(),
                });
            }
        }
        EntitiesView { products, order_numbers: entities.order_numbers.clone(), locations: entities.locations.clone() }
    }
}

pub use crate::workflows::DispatchError;

/// Why a message was not read, with the answer the person gets.
fn reject_reason(text: &str) -> Option<(&'static str, String)> {
    if text.contains('\u{0}')
        || text.contains('\u{FFFD}')
        || text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Some(("binary", "I can only read plain text messages. Try a question like \"stock oat milk\".".into()));
    }
    if text.trim().is_empty() {
        return Some(("empty", "Say something like \"stock oat milk\", \"where is order #1042\" or \"help\".".into()));
    }
    let chars = text.chars().count();
    if chars > MAX_MESSAGE_CHARS {
        return Some((
            "too_long",
            format!(
                "That message is {chars} characters long; I read up to 4,000. Ask one question at a time, like \"stock oat milk\"."
            ),
        ));
    }
    None
}

/// Handles one inbound message end to end and returns the reply.
pub async fn handle(app: &Shop, inbound: Inbound) -> Result<Outcome, DispatchError> {
    handle_in_conversation(app, inbound, &ConversationState::default()).await
}

/// Handles one message in a conversation: after `so_far.last`, the command line that answered
/// the person's last message, "and at Riverside?" asks it again there, and the LLM (when
/// configured) sees that command and the last reply's choices as context.
pub async fn handle_in_conversation(
    app: &Shop,
    inbound: Inbound,
    so_far: &ConversationState,
) -> Result<Outcome, DispatchError> {
    let previous = so_far.last.as_deref();
    let channel = inbound.channel;
    let actor = inbound.sender.audit_name();
    let masked = mask_sensitive(&inbound.text);
    let stored: String = masked.chars().take(MAX_MESSAGE_CHARS).collect();
    app.metrics.increment("tillpilot_messages_received_total", &format!("channel=\"{channel}\""));
    let in_seq = app
        .store
        .audit_now(&AuditEntry {
            actor: actor.clone(),
            channel: channel.to_string(),
            kind: "message.in".into(),
            subject: String::new(),
            detail: json!({ "text": stored, "chars": inbound.text.chars().count() }),
        })
        .await?;

    let mut ran = None;
    let (reply, intent, entities, denied) = match (&inbound.sender, reject_reason(&masked)) {
        (_, Some((why, answer))) => (Reply::text(answer), None, EntitiesView::default(), Some(why.to_owned())),
        (Sender::Unknown { .. }, None) => (
            Reply::text("I don't know you yet. Ask the shop's owner to add you to Tillpilot, then try again."),
            None,
            EntitiesView::default(),
            Some("unknown_sender".to_owned()),
        ),
        (Sender::Known(person), None) => {
            let understanding = understand::understand(app, &masked).await;
            let view = EntitiesView::of(understanding.entities());
            let understanding = follow_up(app, understanding, previous);
            let mut budget_note = false;
            if !matches!(understanding, Understanding::Command { .. }) {
                match assistant::assist(app, person, channel, &masked, so_far).await? {
                    assistant::Assisted::Answered { reply, intent, ran: line } => {
                        ran = line;
                        return finish(app, &inbound, in_seq, &actor, reply, intent, view, None, ran).await;
                    }
                    assistant::Assisted::BudgetSpent => budget_note = true,
                    assistant::Assisted::Declined => {}
                }
            }
            if let Understanding::Command { name, args, entities } = &understanding {
                ran = remembered_line(app, name, args, entities);
            }
            let (mut reply, intent, denied) = respond(app, person, channel, understanding).await?;
            if budget_note && intent.is_none() {
                reply.text.push_str(
                    "\n\n(Today's allowance for the language assistant is used up, so I'm answering from the basics until midnight.)",
                );
            }
            if denied.is_some() {
                ran = None;
            }
            (reply, intent, view, denied)
        }
    };
    finish(app, &inbound, in_seq, &actor, reply, intent, entities, denied, ran).await
}

/// "and at Riverside?" after `stock oat milk`: a message that names only a location, when the
/// classifier cannot place it, asks the previous command again at that location.
fn follow_up(app: &Shop, understanding: Understanding, previous: Option<&str>) -> Understanding {
    let (Understanding::Nothing { entities } | Understanding::Unsure { entities, .. }) = &understanding else {
        return understanding;
    };
    let Some(previous) = previous else { return understanding };
    if !assistant::only_a_location(entities) {
        return understanding;
    }
    let (name, args) = previous.split_once(' ').unwrap_or((previous, ""));
    let takes_location =
        app.commands.get(name).is_some_and(|c| c.args.iter().any(|a| a.kind == crate::commands::ArgKind::Location));
    if !takes_location {
        return understanding;
    }
    // The previous line without its place, then this message's place.
    let base = match args.rfind(" at ") {
        Some(at) => &args[..at],
        None if args.starts_with("at ") => "",
        None => args,
    };
    let place = &entities.locations[0].name;
    let args = if base.trim().is_empty() { format!("at {place}") } else { format!("{} at {place}", base.trim()) };
    let view = app.catalog();
    let entities = Entities::extract(&args, &view.index, &view.locations);
    Understanding::Command { name: name.to_owned(), args, entities }
}

/// The command that answered, as a line of our own words (the catalog's product name, the
/// day as a date, the location's name) for a follow-up to ask again elsewhere; only for
/// commands that take a location, and never with the person's own wording.
fn remembered_line(app: &Shop, name: &str, args: &str, entities: &Entities) -> Option<String> {
    use crate::commands::ArgKind;
    let spec = app.commands.get(name)?;
    if spec.writes || !spec.args.iter().any(|a| a.kind == ArgKind::Location) {
        return None;
    }
    let mut words = vec![name.to_owned()];
    for arg in &spec.args {
        match arg.kind {
            ArgKind::Product => match &entities.products {
                ProductResolution::One(m) if m.narrowed && m.variations.len() == 1 => {
                    words.push(m.variations[0].1.clone())
                }
                ProductResolution::One(m) => words.push(m.item_name.clone()),
                ProductResolution::Ambiguous(_) => return None,
                ProductResolution::None if arg.required => return None,
                ProductResolution::None => {}
            },
            ArgKind::OrderNumber => words.extend(entities.order_numbers.iter().map(|n| format!("#{n}"))),
            ArgKind::Date => {
                if let Some(day) = workflows::summary::day_asked(args, app.today()) {
                    words.push(day.format("%Y-%m-%d").to_string());
                }
            }
            ArgKind::Location => {}
            _ if arg.required => return None,
            _ => {}
        }
    }
    if let Some(place) = entities.locations.first() {
        words.push(format!("at {}", place.name));
    }
    Some(words.join(" "))
}

/// Audits the reply (and a refusal's reason) and returns the outcome.
#[allow(clippy::too_many_arguments)]
async fn finish(
    app: &Shop,
    inbound: &Inbound,
    in_seq: i64,
    actor: &str,
    reply: Reply,
    intent: Option<String>,
    entities: EntitiesView,
    denied: Option<String>,
    ran: Option<String>,
) -> Result<Outcome, DispatchError> {
    let channel = inbound.channel;

    let mut tx = app.store.begin().await?;
    if let Some(reason) = &denied {
        app.store
            .audit(
                &mut tx,
                &AuditEntry {
                    actor: actor.to_owned(),
                    channel: channel.to_string(),
                    kind: "message.rejected".into(),
                    subject: intent.clone().unwrap_or_default(),
                    detail: json!({ "reason": reason, "in_reply_to": in_seq }),
                },
            )
            .await?;
        app.metrics.increment("tillpilot_messages_rejected_total", &format!("reason=\"{reason}\""));
    }
    let audit_id = app
        .store
        .audit(
            &mut tx,
            &AuditEntry {
                actor: "tillpilot".into(),
                channel: channel.to_string(),
                kind: "message.out".into(),
                subject: intent.clone().unwrap_or_default(),
                detail: json!({
                    "to": actor,
                    "text": reply.text,
                    "fields": reply.fields,
                    "actions": reply.actions.iter().map(|a| &a.label).collect::<Vec<_>>(),
                    "entities": entities,
                    "in_reply_to": in_seq,
                }),
            },
        )
        .await?;
    tx.commit().await.map_err(StoreError::from)?;
    let intent_label = intent.clone().unwrap_or_else(|| "none".into());
    app.metrics.increment("tillpilot_replies_total", &format!("intent=\"{}\"", crate::telemetry::label(&intent_label)));
    Ok(Outcome { reply, intent, entities, audit_id, ran })
}

/// Routes an understood message for a known person. Returns the reply, the intent that
/// handled it, and a reason when the message was refused.
async fn respond(
    app: &Shop,
    person: &Person,
    channel: ChannelKind,
    understanding: Understanding,
) -> Result<(Reply, Option<String>, Option<String>), DispatchError> {
    match understanding {
        Understanding::Nothing { .. } => Ok((workflows::help::cannot_do(app, person, channel), None, None)),
        Understanding::Unsure { options, text, .. } => {
            Ok((workflows::help::which_did_you_mean(app, &options, &text), None, None))
        }
        Understanding::Command { name, args, entities } => {
            let Some(spec) = app.commands.get(&name) else {
                return Ok((workflows::help::cannot_do(app, person, channel), None, None));
            };
            if !spec.roles.contains(&person.role) {
                return Ok((refusal(&spec.roles, &name), Some(name), Some("role".into())));
            }
            if !spec.channels.contains(&channel) {
                return Ok((
                    Reply::text(format!("\"{name}\" isn't available on {channel}.")),
                    Some(name),
                    Some("channel".into()),
                ));
            }
            let reply = workflows::run(app, person, channel, &name, &args, &entities).await?;
            Ok((reply, Some(name), None))
        }
    }
}

/// Says who may use the command, from the roles its file lists.
fn refusal(roles: &[Role], command: &str) -> Reply {
    if roles == [Role::Customer] {
        return Reply::text(format!(
            "\"{command}\" is for customers texting the shop. Say \"help\" to see what you can ask."
        ));
    }
    let who = if roles.contains(&Role::Staff) {
        "the shop's team"
    } else if roles.contains(&Role::Manager) {
        "managers and the owner"
    } else {
        "the owner"
    };
    Reply::text(format!("Sorry, \"{command}\" is only for {who}. Say \"help\" to see what you can ask."))
}
