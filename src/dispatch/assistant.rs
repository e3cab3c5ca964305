//! The assistant: when the local classifier is unsure and an LLM is configured, the model gets
//! the person's message with our commands as tools, only the ones their role and channel allow.
//! Its calls are read against each command's schema and run in order through the same role
//! check as a typed command; a command that changes something is never run on the model's say:
//! the person gets a button that sends it as if they typed it. Each call is audited, results go
//! back to the model as data, for at most `MAX_ROUNDS` rounds. The person sees what the
//! commands answered, opened by the model's own sentence only when it states figures, every one
//! of them from those answers, and every call it made ran. Anything that goes wrong leaves the
//! deterministic answer in place.

use super::{DispatchError, respond, understand::Understanding};
use crate::channels::{Button, ButtonStyle, ChannelKind, Reply};
use crate::domain::Person;
use crate::domain::clock::midnight_ms;
use crate::llm::prompts::Prompt;
use crate::llm::tools::{self, ToolCommand, ToolRefusal};
use crate::llm::{CallContext, LlmError, Message, ToolCall, grounded};
use crate::nlu::text::mask_sensitive;
use crate::nlu::{Entities, ProductResolution};
use crate::store::AuditEntry;
use crate::store::conversations::ConversationState;
use crate::workflows::Shop;
use serde_json::json;

/// Requests to the model for one message at most: it can call, read the results, and call
/// again once before it has to answer.
pub const MAX_ROUNDS: usize = 3;

/// Tool calls run from one turn at most; the rest are answered "not run".
pub const MAX_CALLS_PER_TURN: usize = 4;

/// The longest sentence of the model's own that reaches the person.
const MAX_OWN_WORDS_CHARS: usize = 400;

pub enum Assisted {
    /// What the commands the model called answered, with buttons for the ones that change
    /// something.
    Answered { reply: Reply, intent: Option<String>, ran: Option<String> },
    /// Nothing came of it (no call, a failure): the deterministic answer stands.
    Declined,
    /// Today's token budget is spent.
    BudgetSpent,
}

/// What one message's calls produced.
#[derive(Default)]
struct Answers {
    replies: Vec<Reply>,
    proposals: Vec<ToolCommand>,
    intent: Option<String>,
    ran: Option<String>,
    /// Every result sent back to the model, for checking the model's own sentence.
    results: Vec<String>,
    /// Calls refused (not offered, outside the schema, or refused by the role check).
    refused: usize,
}

pub async fn assist(
    app: &Shop,
    person: &Person,
    channel: ChannelKind,
    text: &str,
    so_far: &ConversationState,
) -> Result<Assisted, DispatchError> {
    let Some(llm) = &app.llm else { return Ok(Assisted::Declined) };
    let prompt = match Prompt::load("assistant.j2") {
        Ok(prompt) => prompt,
        Err(err) => {
            tracing::error!(error = %err, "the assistant's prompt is unusable");
            return Ok(Assisted::Declined);
        }
    };
    let offered = tools::offered(&app.commands, person.role, channel);
    let today = app.today();
    let rules = crate::workflows::rules::in_force(app).await;
    let system = prompt.render(minijinja::context! {
        shop_name => &app.config.shop.name,
        today => today.format("%A %B %-d, %Y").to_string(),
        role => person.role.as_str(),
        channel => channel.as_str(),
        rules => rules,
    });
    let system = match system {
        Ok(system) => system,
        Err(err) => {
            tracing::error!(error = %err, "the assistant's prompt does not render");
            return Ok(Assisted::Declined);
        }
    };
    let mut messages = vec![Message::System(system)];
    if let Some(context) = context_of(so_far) {
        messages.push(Message::User(context));
    }
    messages.push(Message::User(text.to_owned()));
    let cx = CallContext {
        store: &app.store,
        metrics: &app.metrics,
        now_ms: app.clock.now_ms(),
        day_start_ms: midnight_ms(app.timezone, today),
    };
    let mut answers = Answers::default();
    let mut closing = None;
    for _ in 0..MAX_ROUNDS {
        let turn = match llm.step(&cx, &prompt.label(), &messages, tools::definitions(&offered)).await {
            Ok(turn) => turn,
            Err(LlmError::BudgetSpent { .. }) if answers.replies.is_empty() && answers.proposals.is_empty() => {
                return Ok(Assisted::BudgetSpent);
            }
            Err(err) => {
                tracing::warn!(error = %err, "LLM unavailable; answering on the deterministic path");
                break;
            }
        };
        if turn.calls.is_empty() {
            closing = turn.content;
            break;
        }
        messages.push(Message::Assistant { content: turn.content.clone(), calls: turn.calls.clone() });
        for (n, call) in turn.calls.iter().enumerate() {
            let result = if n < MAX_CALLS_PER_TURN {
                run_call(app, person, channel, &offered, call, &mut answers).await?
            } else {
                json!({ "not_run": format!("at most {MAX_CALLS_PER_TURN} calls are run at a time") }).to_string()
            };
            answers.results.push(result.clone());
            messages.push(Message::Tool { call_id: call.id.clone(), content: result });
        }
    }
    Ok(compose(app, closing, answers))
}

/// What the conversation so far tells the model, as data: the command that answered last and
/// the choices that answer offered ("the other one").
fn context_of(so_far: &ConversationState) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(previous) = &so_far.last {
        parts.push(format!("this person's previous request ran the command \"{previous}\""));
    }
    if !so_far.choices.is_empty() {
        let offered: Vec<String> = so_far
            .choices
            .iter()
            .enumerate()
            .map(|(n, command)| {
                let label = so_far.labels.get(n).map_or("", String::as_str);
                format!("{}) {label} (the command \"{command}\")", n + 1)
            })
            .collect();
        parts.push(format!("the last answer offered these choices: {}", offered.join("; ")));
    }
    (!parts.is_empty()).then(|| format!("Context, as data: {}.", parts.join("; ")))
}

/// Reads, checks and runs (or proposes) one call; returns the result for the model.
async fn run_call(
    app: &Shop,
    person: &Person,
    channel: ChannelKind,
    offered: &[&crate::commands::CommandSpec],
    call: &ToolCall,
    answers: &mut Answers,
) -> Result<String, DispatchError> {
    let audit = |kind: &str, detail: serde_json::Value| AuditEntry {
        actor: person.name.clone(),
        channel: channel.to_string(),
        kind: kind.into(),
        subject: call.name.chars().take(64).collect(),
        detail,
    };
    let command = match tools::read_call(offered, &call.name, &call.arguments) {
        Ok(command) => command,
        Err(refusal) => {
            let why = match &refusal {
                ToolRefusal::NotOffered(_) => "not offered to this person's role and channel".to_owned(),
                ToolRefusal::Invalid(why) => why.clone(),
            };
            app.metrics.increment("tillpilot_llm_tool_calls_total", "outcome=\"refused\"");
            answers.refused += 1;
            let arguments: String = mask_sensitive(&call.arguments).chars().take(500).collect();
            app.store.audit_now(&audit("llm.tool_refused", json!({ "why": why, "arguments": arguments }))).await?;
            return Ok(json!({ "refused": refusal.to_string() }).to_string());
        }
    };
    let line = mask_sensitive(&command.line());
    if command.writes {
        app.metrics.increment("tillpilot_llm_tool_calls_total", "outcome=\"proposed\"");
        app.store.audit_now(&audit("llm.tool_proposed", json!({ "command": line }))).await?;
        let result = json!({ "not_run": "it changes something, so the person was shown a button to do it themselves" });
        answers.proposals.push(command);
        return Ok(result.to_string());
    }
    let view = app.catalog();
    let entities = Entities::extract(&command.args, &view.index, &view.locations);
    let remembered = super::remembered_line(app, &command.name, &command.args, &entities);
    let understanding = Understanding::Command { name: command.name.clone(), args: command.args.clone(), entities };
    let (reply, intent, denied) = respond(app, person, channel, understanding).await?;
    let outcome = if denied.is_some() { "refused" } else { "ran" };
    app.metrics.increment("tillpilot_llm_tool_calls_total", &format!("outcome=\"{outcome}\""));
    app.store.audit_now(&audit("llm.tool_call", json!({ "command": line, "refused": denied }))).await?;
    if denied.is_some() {
        answers.refused += 1;
        return Ok(json!({ "refused": reply.text }).to_string());
    }
    let fields: Vec<String> = reply.fields.iter().map(|f| format!("{}: {}", f.label, f.value)).collect();
    let result = json!({ "answer": reply.text, "details": fields });
    answers.intent.get_or_insert_with(|| intent.unwrap_or_else(|| command.name.clone()));
    answers.ran = remembered.or(answers.ran.take());
    answers.replies.push(reply);
    Ok(result.to_string())
}

/// The person's reply: the model's own sentence when it invents nothing, what the commands
/// answered, and a button for each change the model proposed.
fn compose(app: &Shop, closing: Option<String>, answers: Answers) -> Assisted {
    if answers.replies.is_empty() && answers.proposals.is_empty() {
        return Assisted::Declined;
    }
    let mut parts = Vec::new();
    // The model's sentence could claim what did not happen (a change it only proposed, a call
    // that was refused): unless every call it made ran, it is left out.
    let closing = closing.filter(|_| answers.proposals.is_empty() && answers.refused == 0);
    if let Some(own) = closing.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()) {
        let sources: Vec<&str> = answers.results.iter().map(String::as_str).collect();
        let invented = grounded::invented_numbers(&own, &sources);
        if own.chars().count() > MAX_OWN_WORDS_CHARS {
            app.metrics.increment("tillpilot_llm_text_dropped_total", "why=\"too_long\"");
        } else if grounded::numbers_in(&own) == 0 {
            // Only figures can be checked against the answers; a sentence with none ("Reorder
            // is off now.") could claim anything, so it is not shown.
            app.metrics.increment("tillpilot_llm_text_dropped_total", "why=\"nothing_to_check\"");
        } else if !invented.is_empty() {
            tracing::info!(?invented, "the model's sentence states numbers no command gave; dropped");
            app.metrics.increment("tillpilot_llm_text_dropped_total", "why=\"invented_number\"");
        } else {
            parts.push(own);
        }
    }
    let mut reply = Reply::text("");
    for answer in answers.replies {
        parts.push(answer.text);
        reply.fields.extend(answer.fields);
        reply.image = reply.image.or(answer.image);
        reply.actions.extend(answer.actions);
    }
    for proposal in &answers.proposals {
        let line = proposal.line();
        parts.push(format!(
            "Shall I run \"{line}\"? It changes something, so it waits for you: press the button or send it yourself."
        ));
        reply.actions.push(Button { label: format!("Run: {line}"), style: ButtonStyle::Primary, action: line });
    }
    reply.text = parts.join("\n\n");
    let intent = answers.intent.or_else(|| answers.proposals.first().map(|p| p.name.clone()));
    Assisted::Answered { reply, intent, ran: answers.ran }
}

/// Whether entities name nothing but a place: "and at Riverside?", "what about Downtown".
pub fn only_a_location(entities: &Entities) -> bool {
    !entities.locations.is_empty()
        && entities.order_numbers.is_empty()
        && entities.customers.is_empty()
        && matches!(entities.products, ProductResolution::None)
}
