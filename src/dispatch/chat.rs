//! A chat event from any platform, once verified and recorded: who it is from, whether it is an
//! approval decision (a signed button, or `YES <code>` by SMS) or something said, and the reply.
//! Authority is decided here and in the approvals workflow, never by what the button or text
//! claims about its sender.

use super::identity::Sender;
use super::{DispatchError, Inbound};
use crate::channels::{ChannelKind, ChatAction, ChatEvent, Reply};
use crate::domain::Phone;
use crate::store::conversations::ConversationState;
use crate::store::{AuditEntry, now_ms};
use crate::workflows::Shop;
use crate::workflows::approvals;
use serde_json::json;

/// Who sent the event: a configured person by their platform identity, a phone number as a
/// customer unless it belongs to the team, or someone unknown.
pub fn sender(app: &Shop, event: &ChatEvent) -> Sender {
    match event.channel {
        ChannelKind::Sms => match Phone::parse(&event.user) {
            Some(phone) => app.directory.resolve_phone(phone),
            None => Sender::Unknown { channel: ChannelKind::Sms, external_id: event.user.clone() },
        },
        channel => app.directory.resolve_chat(channel, &event.user),
    }
}

/// Handles the event and returns the answer for the person.
pub async fn process(app: &Shop, event: &ChatEvent) -> Result<Reply, DispatchError> {
    let sender = sender(app, event);
    let text = match &event.what {
        ChatAction::Clicked { action, .. } if crate::approval_token::is_token(action) => {
            return match crate::approval_token::verify_token(&app.approval_key, action) {
                Some((id, approve)) => Ok(approvals::decide(app, &id, approve, &sender, event.channel).await?),
                None => {
                    app.store
                        .audit_now(&AuditEntry {
                            actor: sender.audit_name(),
                            channel: event.channel.as_str().into(),
                            kind: "approval.refused".into(),
                            subject: crate::approval_token::code_of(action).unwrap_or_default().to_owned(),
                            detail: json!({ "why": "the button's signature is not ours" }),
                        })
                        .await?;
                    Ok(Reply::text("That button is not valid. Nothing was changed."))
                }
            };
        }
        // A choice button sends its command back as if typed.
        ChatAction::Clicked { action, .. } => action.clone(),
        ChatAction::Said { text } => text.clone(),
    };
    if event.channel == ChannelKind::Sms
        && let Some((id, approve)) = crate::approval_token::sms_decision(&text)
        && matches!(&sender, Sender::Known(p) if p.role.is_team())
    {
        return Ok(approvals::decide(app, &id, approve, &sender, event.channel).await?);
    }
    // A team member answering a customer's request for a person in its thread: the answer
    // goes to the customer, as `reply N ...` would send it.
    let text = match handoff_answered(app, event, &sender).await? {
        Some(id) => format!("reply {id} {text}"),
        None => text,
    };
    let state = app.store.conversation(event.channel.as_str(), &event.user, now_ms()).await?.unwrap_or_default();
    let text = match chosen(&state, &text) {
        Some(command) => command,
        None => text,
    };
    let inbound = Inbound { channel: event.channel, sender, text };
    let outcome = super::handle_in_conversation(app, inbound, &state).await?;
    remember(app, event, &outcome.reply, outcome.ran).await?;
    Ok(outcome.reply)
}

/// The handoff whose post `event` answers in its thread, when a team member sent it.
async fn handoff_answered(app: &Shop, event: &ChatEvent, sender: &Sender) -> Result<Option<i64>, DispatchError> {
    let (Some(thread), Sender::Known(person)) = (&event.thread, sender) else { return Ok(None) };
    if !person.role.is_team() {
        return Ok(None);
    }
    let post =
        crate::channels::MessageRef { channel: event.channel, target: event.conversation.clone(), id: thread.clone() };
    Ok(app.store.handoff_of_message(&post).await?)
}

/// How long a reply's numbered choices (and its command, for a follow-up) are remembered.
const CHOICES_FOR_MS: i64 = 30 * 60_000;

/// The command of the numbered choice `text` picks ("2", "#2", "2."), from the last reply to
/// this person on this channel.
fn chosen(state: &ConversationState, text: &str) -> Option<String> {
    let number = text.trim().trim_start_matches('#').trim_end_matches(['.', ')']);
    let n = number.parse::<usize>().ok()?;
    if !(1..=9).contains(&n) {
        return None;
    }
    state.choices.get(n - 1).cloned()
}

/// Keeps the reply's choices (not approval buttons, which carry their own signed decision) so
/// that the next message can pick one by its number, and the command that answered, for a
/// follow-up; a reply with neither forgets the conversation.
async fn remember(app: &Shop, event: &ChatEvent, reply: &Reply, ran: Option<String>) -> Result<(), DispatchError> {
    let state = ConversationState::after(reply, ran);
    let now = now_ms();
    app.store.remember_conversation(event.channel.as_str(), &event.user, &state, now, now + CHOICES_FOR_MS).await?;
    Ok(())
}
