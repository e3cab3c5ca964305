//! A chat event from any platform, once verified and recorded: who it is from, whether it is an
//! approval decision (a signed button, or `YES <code>` by SMS) or something said, and the reply.
//! Authority is decided here and in the approvals workflow, never by what the button or text
//! claims about its sender.

use super::identity::Sender;
use super::{DispatchError, Inbound};
use crate::channels::{ChannelKind, ChatAction, ChatEvent, Reply};
use crate::domain::Phone;
use crate::store::AuditEntry;
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
    let outcome = super::handle(app, Inbound { channel: event.channel, sender, text }).await?;
    Ok(outcome.reply)
}
