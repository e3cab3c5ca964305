//! Inbound message → command or intent → role check → workflow → reply, with every step that
//! matters appended to the audit log. This is the one place authority is enforced: whatever a
//! classifier or LLM thinks, a command runs only for the roles its file lists.

pub mod chat;
pub use crate::{commands, directory as identity};
pub mod understand;

use crate::channels::{ChannelKind, Reply};
use crate::domain::{Person, Role};
use crate::nlu::text::mask_sensitive;
use crate::nlu::{Entities, ProductResolution};
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
            let (reply, intent, denied) = respond(app, person, channel, understanding).await?;
            (reply, intent, view, denied)
        }
    };

    let mut tx = app.store.begin().await?;
    if let Some(reason) = &denied {
        app.store
            .audit(
                &mut tx,
                &AuditEntry {
                    actor: actor.clone(),
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
    Ok(Outcome { reply, intent, entities, audit_id })
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
    let who = if roles.contains(&Role::Staff) {
        "the shop's team"
    } else if roles.contains(&Role::Manager) {
        "managers and the owner"
    } else {
        "the owner"
    };
    Reply::text(format!("Sorry, \"{command}\" is only for {who}. Say \"help\" to see what you can ask."))
}
