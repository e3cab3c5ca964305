//! Approvals, the one mechanism behind every "someone with authority must say yes" (purchase
//! orders, large discounts, refunds, flag changes). A request is posted with Approve and Reject
//! buttons to the owner and manager channels (and as `YES <code>` / `NO <code>` texts to
//! authorised phones). A button carries a short signed token naming the approval and the
//! decision; when pressed, the presser's role is checked here, in code, and the state changes
//! exactly once. Every message that carried the request is then edited to show the outcome and
//! who decided. Everything is audited.

use crate::approval_token::{new_code, random_bytes, token};
use crate::channels::{Button, ButtonStyle, ChannelKind, Reply};
use crate::directory::Sender;
use crate::domain::Role;
use crate::store::approvals::{Approval, ApprovalState, DecideOutcome};
use crate::store::outbox::Outgoing;
use crate::store::{AuditEntry, Store, StoreError, Tx, now_ms};
use crate::workflows::Shop;
use serde_json::json;

const KEY_META: &str = "approval.signing_key";
/// The key button tokens are signed with: made once per shop, kept in the database so every
/// process (and every restart) accepts the buttons already posted.
pub async fn signing_key(store: &Store) -> Result<Vec<u8>, StoreError> {
    if let Some(hex_key) = store.meta(KEY_META).await? {
        return hex::decode(hex_key).map_err(|e| StoreError::Corrupt(format!("{KEY_META}: {e}")));
    }
    let fresh = hex::encode(random_bytes(32));
    store.insert_meta_if_absent(KEY_META, &fresh).await?;
    // Another process may have won the race: use whatever is stored.
    let stored = store.meta(KEY_META).await?.unwrap_or(fresh);
    hex::decode(stored).map_err(|e| StoreError::Corrupt(format!("{KEY_META}: {e}")))
}

/// What needs approving.
#[derive(Clone, Debug)]
pub struct NewApproval {
    /// `purchase_order`, `discount`, `refund`, `flag`, ….
    pub kind: String,
    /// What it is about (a PO id, an order number).
    pub subject: String,
    /// The request as the approver reads it.
    pub detail: String,
    pub required_role: Role,
    pub ttl_ms: i64,
    pub requested_by: String,
}

fn request_reply(key: &[u8], approval: &Approval) -> Reply {
    let who = match approval.required_role {
        Role::Owner => "an owner",
        _ => "a manager or owner",
    };
    let mut reply = Reply::text(format!("Approval needed ({who}): {}", approval.detail));
    reply = reply.field("Code", approval.id.clone()).field("Requested by", approval.requested_by.clone());
    reply.actions.push(Button {
        label: "Approve".into(),
        style: ButtonStyle::Primary,
        action: token(key, &approval.id, true),
    });
    reply.actions.push(Button {
        label: "Reject".into(),
        style: ButtonStyle::Danger,
        action: token(key, &approval.id, false),
    });
    reply
}

/// Approve and Reject buttons for approval `id`, labelled with what they decide ("Approve
/// PO-0042"), for a reply that lists several requests.
pub fn decision_buttons(key: &[u8], id: &str, what: &str) -> Vec<Button> {
    vec![
        Button { label: format!("Approve {what}"), style: ButtonStyle::Primary, action: token(key, id, true) },
        Button { label: format!("Reject {what}"), style: ButtonStyle::Danger, action: token(key, id, false) },
    ]
}

/// The edit every carrying message gets once the request is closed.
fn outcome_reply(app: &Shop, approval: &Approval) -> Reply {
    let at = approval.decided_at_ms.map(|ms| crate::workflows::clock_time(app, ms)).unwrap_or_default();
    let text = match (approval.state, &approval.decided_by) {
        (ApprovalState::Approved, Some(by)) => format!("Approved by {by} at {at}: {}", approval.detail),
        (ApprovalState::Rejected, Some(by)) => format!("Rejected by {by} at {at}: {}", approval.detail),
        _ => format!("Expired at {at} without a decision: {}", approval.detail),
    };
    Reply::text(text)
}

/// Records the request and queues it to every reviewer, in one transaction.
pub async fn request(app: &Shop, new: NewApproval) -> Result<Approval, StoreError> {
    let mut tx = app.store.begin().await?;
    let approval = request_in(app, &mut tx, new_code(), new, now_ms()).await?;
    tx.commit().await?;
    Ok(approval)
}

/// `request` inside `tx`, under an id chosen beforehand (the checkout assistant answers the
/// POS with the id before the request is written).
pub async fn request_in(
    app: &Shop,
    tx: &mut Tx,
    id: String,
    new: NewApproval,
    now: i64,
) -> Result<Approval, StoreError> {
    let approval = Approval {
        id,
        kind: new.kind,
        subject: new.subject,
        detail: new.detail,
        state: ApprovalState::Pending,
        required_role: new.required_role,
        requested_by: new.requested_by,
        requested_at_ms: now,
        expires_at_ms: now + new.ttl_ms,
        decided_by: None,
        decided_at_ms: None,
        messages: Vec::new(),
    };
    let reply = request_reply(&app.approval_key, &approval);
    app.store.insert_approval(tx, &approval).await?;
    let targets = app.owner_targets(approval.required_role);
    for (channel, target) in &targets {
        let post = Outgoing::Post { reply: reply.clone(), approval: Some(approval.id.clone()) };
        app.store.enqueue(tx, *channel, target, &post, now).await?;
    }
    app.store
        .audit(
            tx,
            &AuditEntry {
                actor: approval.requested_by.clone(),
                channel: "tillpilot".into(),
                kind: "approval.requested".into(),
                subject: approval.id.clone(),
                detail: json!({ "kind": approval.kind, "subject": approval.subject, "detail": approval.detail,
                "required_role": approval.required_role, "expires_at_ms": approval.expires_at_ms,
                "posted_to": targets.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>() }),
            },
        )
        .await?;
    Ok(approval)
}

/// A press of an approval button (or `YES`/`NO <code>` by SMS). Returns what to tell the person
/// who pressed it; the state changes only for the right role, once, before the deadline.
pub async fn decide(
    app: &Shop,
    id: &str,
    approve: bool,
    sender: &Sender,
    channel: ChannelKind,
) -> Result<Reply, StoreError> {
    let audit = |kind: &str, detail: serde_json::Value| AuditEntry {
        actor: sender.audit_name(),
        channel: channel.as_str().into(),
        kind: kind.into(),
        subject: id.to_owned(),
        detail,
    };
    let Some(approval) = app.store.approval(id).await? else {
        app.store.audit_now(&audit("approval.refused", json!({ "why": "no such approval" }))).await?;
        return Ok(Reply::text(format!("There is no approval {id}.")));
    };
    let person = match sender {
        Sender::Known(person) if person.role.at_least(approval.required_role) => person,
        _ => {
            let why = format!("needs {}", approval.required_role);
            app.store.audit_now(&audit("approval.refused", json!({ "why": why, "approve": approve }))).await?;
            let who = if approval.required_role == Role::Owner { "an owner" } else { "a manager or an owner" };
            return Ok(Reply::text(format!("Only {who} can decide this ({id}). Nothing was changed.")));
        }
    };
    let now = now_ms();
    let state = if approve { ApprovalState::Approved } else { ApprovalState::Rejected };
    let mut tx = app.store.begin().await?;
    let outcome = app.store.decide_approval(&mut tx, id, state, &person.name, now).await?;
    let mut closed = None;
    let reply = match outcome {
        DecideOutcome::Decided(decided) => {
            let edit = outcome_reply(app, &decided);
            for message in &decided.messages {
                let op = Outgoing::Edit { message: message.clone(), reply: edit.clone() };
                app.store.enqueue(&mut tx, message.channel, &message.target, &op, now).await?;
            }
            app.store
                .audit(
                    &mut tx,
                    &audit(
                        "approval.decided",
                        json!({ "state": state, "kind": decided.kind,
                    "subject": decided.subject, "messages_edited": decided.messages.len() }),
                    ),
                )
                .await?;
            let text = format!("{} {}: {}", if approve { "Approved" } else { "Rejected" }, id, decided.detail);
            closed = Some(decided);
            Reply::text(text)
        }
        DecideOutcome::AlreadyClosed(closed) => {
            app.store
                .audit(&mut tx, &audit("approval.refused", json!({ "why": format!("already {}", closed.state) })))
                .await?;
            let text = match (&closed.decided_by, closed.state) {
                (_, ApprovalState::Pending) => format!("{id} has expired; nothing was changed."),
                (Some(by), state) => format!("{id} was already {state} by {by}; nothing was changed."),
                (None, state) => format!("{id} is already {state}; nothing was changed."),
            };
            Reply::text(text)
        }
        DecideOutcome::Missing => Reply::text(format!("There is no approval {id}.")),
    };
    tx.commit().await?;
    // What the decision sets in motion (a purchase order emailed, say) runs once it is recorded.
    if let Some(decided) = closed {
        act_on(app, &decided).await?;
    }
    Ok(reply)
}

/// The request of a pending approval changed (a purchase order edited before it is decided):
/// the new text is recorded and every message carrying the request re-rendered, inside `tx`.
/// False when it is no longer pending.
pub async fn restate(app: &Shop, tx: &mut Tx, id: &str, detail: &str) -> Result<bool, StoreError> {
    let Some(approval) = app.store.restate_approval(tx, id, detail).await? else { return Ok(false) };
    let reply = request_reply(&app.approval_key, &approval);
    for message in &approval.messages {
        let op = Outgoing::Edit { message: message.clone(), reply: reply.clone() };
        app.store.enqueue(tx, message.channel, &message.target, &op, now_ms()).await?;
    }
    Ok(true)
}

/// What a closed approval sets in motion, chosen by its kind: each kind that needs approving
/// has one handler here (a discount, a return or a campaign adds its arm the same way).
async fn act_on(app: &Shop, approval: &Approval) -> Result<(), StoreError> {
    match approval.kind.as_str() {
        super::reorder::APPROVAL_KIND => super::reorder::on_decision(app, approval).await,
        super::review::APPROVAL_KIND => super::review::on_decision(app, approval).await,
        other => {
            tracing::warn!(kind = other, id = %approval.id, "an approval of a kind nothing acts on");
            Ok(())
        }
    }
}

/// Closes requests past their deadline and shows it on their messages; returns how many.
pub async fn expire_due(app: &Shop) -> Result<usize, StoreError> {
    let now = now_ms();
    let mut tx = app.store.begin().await?;
    let expired = app.store.expire_approvals(&mut tx, now).await?;
    for approval in &expired {
        let edit = outcome_reply(app, approval);
        for message in &approval.messages {
            let op = Outgoing::Edit { message: message.clone(), reply: edit.clone() };
            app.store.enqueue(&mut tx, message.channel, &message.target, &op, now).await?;
        }
        app.store
            .audit(
                &mut tx,
                &AuditEntry {
                    actor: "tillpilot".into(),
                    channel: "tillpilot".into(),
                    kind: "approval.expired".into(),
                    subject: approval.id.clone(),
                    detail: json!({ "kind": approval.kind, "subject": approval.subject }),
                },
            )
            .await?;
    }
    tx.commit().await?;
    for approval in &expired {
        act_on(app, approval).await?;
    }
    Ok(expired.len())
}
