//! `help`, and the answers for messages no command handles.

use crate::channels::{ChannelKind, Reply};
use crate::commands::CommandSpec;
use crate::domain::{Person, Role};
use crate::nlu::IntentScore;
use crate::workflows::Shop;

/// `help` lists what the sender may ask; `help stock` explains one command.
pub fn run(app: &Shop, person: &Person, channel: ChannelKind, args: &str) -> Reply {
    let available = app.commands.available(person.role, channel);
    let wanted = args.split_whitespace().next().map(|w| w.trim_start_matches('/').to_lowercase());
    if let Some(spec) = wanted.as_deref().and_then(|w| available.iter().find(|c| c.name == w)) {
        return explain(spec);
    }
    let intro = if person.role == Role::Customer {
        format!(
            "Hi! I'm the {} assistant. I can tell you where your order is and whether something is in stock.",
            app.config.shop.name
        )
    } else {
        format!("Hi {}! Here's what I can do for you:", person.name)
    };
    let mut reply = Reply::text(intro);
    for spec in available {
        reply = reply.field(&spec.usage, &spec.summary);
    }
    reply
}

fn explain(spec: &CommandSpec) -> Reply {
    let mut reply = Reply::text(format!("{}: {}.", spec.name, spec.summary)).field("Usage", &spec.usage);
    for arg in &spec.args {
        let required = if arg.required { "" } else { " (optional)" };
        reply = reply.field(&arg.name, format!("{}{required}", arg.description));
    }
    let examples: Vec<String> = spec.examples.iter().take(3).map(|e| format!("\"{}\"", fill_example(e))).collect();
    if !examples.is_empty() {
        reply = reply.field("Try", examples.join(", "));
    }
    reply
}

/// An example with its slot words filled in, for showing to people.
fn fill_example(example: &str) -> String {
    example.replace("{product}", "oat milk").replace("{order}", "#1042").replace("{location}", "Main St")
}

/// The answer for a message no command handles: say what we can do instead.
pub fn cannot_do(app: &Shop, person: &Person, channel: ChannelKind) -> Reply {
    let mut reply = Reply::text("Sorry, I can't help with that. Here's what I can do:");
    for spec in app.commands.available(person.role, channel) {
        let example = spec.examples.first().map(|e| fill_example(e)).unwrap_or_else(|| spec.usage.clone());
        reply = reply.field(&spec.name, format!("{}. Try \"{example}\"", spec.summary));
    }
    reply
}

/// Unsure between commands: offer each as a button that re-sends the message to it.
pub fn which_did_you_mean(app: &Shop, options: &[IntentScore], text: &str) -> Reply {
    let mut reply = Reply::text("I'm not sure what you'd like. Did you mean one of these?");
    let text: String = text.chars().take(200).collect();
    for option in options {
        if let Some(spec) = option.intent.as_deref().and_then(|name| app.commands.get(name)) {
            reply = reply.choice(&spec.summary, format!("{} {}", spec.name, text.trim()));
        }
    }
    reply
}
