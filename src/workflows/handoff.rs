//! "Talk to a person": a customer's request is posted to the team with the conversation so
//! far, and a team member's answer (`reply N ...`, or a reply in the post's thread on Slack or
//! Telegram) goes back to the customer by SMS. Nothing about the customer reaches anyone but the
//! shop's team, and the customer's messages are the masked copies the audit log keeps.

use crate::channels::{ChannelKind, Reply};
use crate::domain::{Person, Role};
use crate::store::outbox::Outgoing;
use crate::store::{AuditEntry, StoreError};
use crate::workflows::Shop;
use serde_json::json;

/// How far back the conversation shown to the team goes.
const CONVERSATION_MS: i64 = 24 * 3_600_000;

/// Messages of it shown at most, the latest.
const CONVERSATION_LINES: usize = 8;

/// The longest answer sent by SMS in one go (Twilio concatenates up to 1,600 characters).
const MAX_ANSWER_CHARS: usize = 1_200;

/// `talk`: the customer asks for a person.
pub async fn start(app: &Shop, person: &Person, channel: ChannelKind) -> Result<Reply, StoreError> {
    let Some(phone) = &person.phone else {
        return Ok(Reply::text("Text us from your phone and I'll pass you to a person who can text you back."));
    };
    let team = team_targets(app);
    if team.is_empty() {
        return Ok(Reply::text(format!(
            "I can't pass you to a person from here right now. Please call or visit {}.",
            app.config.shop.name
        )));
    }
    let name = match app.pos.customers_by_phone(phone).await {
        Ok(customers) => customers.first().map(|c| c.display_name()).filter(|n| !n.is_empty()),
        Err(_) => None,
    };
    let name = name.unwrap_or_else(|| phone.to_string());
    let conversation = conversation(app, &person.name).await?;
    let now = app.clock.now_ms();
    let mut tx = app.store.begin().await?;
    let (id, new) = app.store.open_handoff(&mut tx, &name, ChannelKind::Sms.as_str(), &phone.to_string(), now).await?;
    let mut text = format!("{name} ({phone}) asked to talk to a person (handoff {id}).");
    if conversation.is_empty() {
        text.push_str(" Nothing else was said in the last day.");
    } else {
        text.push_str(&format!("\nTheir conversation with {}:\n{}", app.config.shop.name, conversation.join("\n")));
    }
    text.push_str(&format!(
        "\n\nAnswer them with \"reply {id} <your message>\" (or reply in this thread); it goes to them by SMS."
    ));
    for (kind, target) in &team {
        let post = Outgoing::Handoff { reply: Reply::text(text.clone()), handoff: id };
        app.store.enqueue(&mut tx, *kind, target, &post, now).await?;
    }
    let entry = AuditEntry {
        actor: person.name.clone(),
        channel: channel.to_string(),
        kind: "handoff.opened".into(),
        subject: format!("handoff {id}"),
        detail: json!({ "posted_to": team.len(), "again": !new }),
    };
    app.store.audit(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(Reply::text(format!(
        "I've asked the team at {}; someone will text you back here soon. Reply STOP to opt out.",
        app.config.shop.name
    )))
}

/// `reply N <message>`: a team member answers the customer of handoff N by SMS.
pub async fn answer(app: &Shop, person: &Person, channel: ChannelKind, args: &str) -> Result<Reply, StoreError> {
    let args = args.trim();
    let (number, text) = args.split_once(char::is_whitespace).unwrap_or((args, ""));
    let (Ok(id), text) = (number.trim_start_matches('#').parse::<i64>(), text.trim()) else {
        return Ok(Reply::text("Say which handoff and what to tell them: reply 3 Your order is ready at the counter."));
    };
    if text.is_empty() {
        return Ok(Reply::text(format!("What should I tell them? reply {id} Your order is ready at the counter.")));
    }
    if text.chars().count() > MAX_ANSWER_CHARS {
        return Ok(Reply::text(format!("That is too long for a text; keep it under {MAX_ANSWER_CHARS} characters.")));
    }
    let Some(handoff) = app.store.handoff(id).await? else {
        return Ok(Reply::text(format!("There is no handoff {id}.")));
    };
    if app.config.twilio.is_none() {
        return Ok(Reply::text(format!(
            "SMS isn't set up ([twilio] in the config), so I can't text {}. Call them on {}.",
            handoff.customer_name, handoff.customer_address
        )));
    }
    if app.store.opted_out(&handoff.customer_address).await? {
        return Ok(Reply::text(format!(
            "{} has opted out of texts (STOP), so nothing was sent.",
            handoff.customer_name
        )));
    }
    let message = format!("{}: {text}", app.config.shop.name);
    let now = app.clock.now_ms();
    let mut tx = app.store.begin().await?;
    let post = Outgoing::Post { reply: Reply::text(message), approval: None };
    app.store.enqueue(&mut tx, ChannelKind::Sms, &handoff.customer_address, &post, now).await?;
    let entry = AuditEntry {
        actor: person.name.clone(),
        channel: channel.to_string(),
        kind: "handoff.reply".into(),
        subject: format!("handoff {id}"),
        detail: json!({ "to": handoff.customer_name, "text": text }),
    };
    app.store.audit(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(Reply::text(format!("Sent to {} by SMS.", handoff.customer_name)))
}

/// Where a request for a person goes: the team's chat channels, or by SMS to the managers and
/// the owner when the shop uses no chat platform.
fn team_targets(app: &Shop) -> Vec<(ChannelKind, String)> {
    let all = app.owner_targets(Role::Manager);
    let chat: Vec<_> = all.iter().filter(|(kind, _)| *kind != ChannelKind::Sms).cloned().collect();
    if chat.is_empty() { all } else { chat }
}

/// The customer's last messages and our answers, from the audit log (already masked).
async fn conversation(app: &Shop, actor: &str) -> Result<Vec<String>, StoreError> {
    let rows = app.store.audit_since(app.clock.now_ms() - CONVERSATION_MS).await?;
    let mut lines = Vec::new();
    for row in rows {
        let detail: serde_json::Value = serde_json::from_str(&row.detail).unwrap_or_default();
        let line = match row.kind.as_str() {
            "message.in" if row.actor == actor => detail["text"].as_str().map(|t| format!("› {t}")),
            "message.out" if detail["to"] == actor => detail["text"].as_str().map(|t| format!("‹ {t}")),
            _ => None,
        };
        lines.extend(line.map(|l| l.chars().take(300).collect::<String>()));
    }
    // The request itself is the last thing they said; the team sees it in the heading.
    lines.pop_if(|l| l.starts_with('›'));
    let skip = lines.len().saturating_sub(CONVERSATION_LINES);
    Ok(lines.split_off(skip))
}
