//! Our commands as the LLM's tools. Each command in `commands/` is a function whose JSON schema
//! comes from its `args`; a caller is offered only the commands their role and channel allow,
//! and what the model sends back is read against that schema into the command line a person
//! would type. The dispatcher then runs it through the same role check as a typed command: the
//! model proposes, only code authorises.

use crate::commands::{ArgKind, ArgSpec, CommandSet, CommandSpec};
use crate::domain::Role;
use crate::message::ChannelKind;
use async_openai::types::chat::{ChatCompletionTool, ChatCompletionTools, FunctionObject};
use serde_json::{Map, Value, json};

/// The longest text argument the model may pass.
const MAX_ARG_CHARS: usize = 200;

/// A tool call read into one of our command lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolCommand {
    pub name: String,
    /// The arguments as a person would type them after the name (`oat milk at Riverside`).
    pub args: String,
    /// Running it would change something: it needs the person's own go-ahead.
    pub writes: bool,
}

impl ToolCommand {
    /// `stock oat milk at Riverside`.
    pub fn line(&self) -> String {
        if self.args.is_empty() { self.name.clone() } else { format!("{} {}", self.name, self.args) }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ToolRefusal {
    #[error("{0:?} is not a tool offered to this person")]
    NotOffered(String),
    #[error("the arguments do not fit the tool's schema: {0}")]
    Invalid(String),
}

/// The commands a person with `role` on `channel` may run, and so may be offered as tools.
pub fn offered(commands: &CommandSet, role: Role, channel: ChannelKind) -> Vec<&CommandSpec> {
    commands.all().iter().filter(|c| c.roles.contains(&role) && c.channels.contains(&channel)).collect()
}

/// The tool definitions for `specs`.
pub fn definitions(specs: &[&CommandSpec]) -> Vec<ChatCompletionTools> {
    specs
        .iter()
        .map(|spec| {
            ChatCompletionTools::Function(ChatCompletionTool {
                function: FunctionObject {
                    name: spec.name.clone(),
                    description: Some(format!("{} Usage: {}", spec.summary, spec.usage)),
                    parameters: Some(schema(spec)),
                    strict: None,
                },
            })
        })
        .collect()
}

/// The JSON schema of a command's arguments.
pub fn schema(spec: &CommandSpec) -> Value {
    let mut properties = Map::new();
    for arg in &spec.args {
        let mut property = match arg.kind {
            ArgKind::Integer => json!({ "type": "integer" }),
            ArgKind::Choice => json!({ "type": "string", "enum": arg.choices }),
            _ => json!({ "type": "string", "maxLength": MAX_ARG_CHARS }),
        };
        property["description"] = Value::String(arg.description.clone());
        properties.insert(arg.name.clone(), property);
    }
    let required: Vec<&str> = spec.args.iter().filter(|a| a.required).map(|a| a.name.as_str()).collect();
    json!({ "type": "object", "properties": properties, "required": required, "additionalProperties": false })
}

/// Reads the model's call of `name` with `arguments` (a JSON object as text) against the
/// schema of the tool offered under that name.
pub fn read_call(offered: &[&CommandSpec], name: &str, arguments: &str) -> Result<ToolCommand, ToolRefusal> {
    let spec = offered.iter().find(|c| c.name == name).ok_or_else(|| ToolRefusal::NotOffered(name.to_owned()))?;
    let invalid = |why: String| ToolRefusal::Invalid(why);
    let arguments = if arguments.trim().is_empty() { "{}" } else { arguments };
    let value: Value = serde_json::from_str(arguments).map_err(|e| invalid(format!("not JSON ({e})")))?;
    let Value::Object(given) = value else { return Err(invalid("not an object".into())) };
    if let Some(unknown) = given.keys().find(|k| !spec.args.iter().any(|a| &a.name == *k)) {
        return Err(invalid(format!("no argument {unknown:?}")));
    }
    let mut words = Vec::new();
    let mut writes = spec.writes;
    for arg in &spec.args {
        let value = match given.get(&arg.name) {
            None | Some(Value::Null) if arg.required => return Err(invalid(format!("{:?} is required", arg.name))),
            None | Some(Value::Null) => continue,
            Some(value) => value,
        };
        let text = argument_text(arg, value).map_err(invalid)?;
        if text.is_empty() {
            if arg.required {
                return Err(invalid(format!("{:?} is required", arg.name)));
            }
            continue;
        }
        writes |= arg.writes;
        words.push(match arg.kind {
            ArgKind::Location => format!("at {text}"),
            ArgKind::OrderNumber => format!("#{}", text.trim_start_matches('#')),
            _ => text,
        });
    }
    Ok(ToolCommand { name: spec.name.clone(), args: words.join(" "), writes })
}

fn argument_text(arg: &ArgSpec, value: &Value) -> Result<String, String> {
    let text = match (arg.kind, value) {
        (ArgKind::Integer, Value::Number(n)) if n.is_i64() => n.to_string(),
        (ArgKind::Integer, _) => return Err(format!("{:?} must be a whole number", arg.name)),
        (_, Value::String(s)) => s.trim().to_owned(),
        (_, Value::Number(n)) if arg.kind != ArgKind::Choice => n.to_string(),
        _ => return Err(format!("{:?} must be text", arg.name)),
    };
    if text.chars().count() > MAX_ARG_CHARS {
        return Err(format!("{:?} is longer than {MAX_ARG_CHARS} characters", arg.name));
    }
    if text.chars().any(char::is_control) {
        return Err(format!("{:?} holds control characters", arg.name));
    }
    if arg.kind == ArgKind::Choice && !arg.choices.contains(&text.to_lowercase()) {
        return Err(format!("{:?} must be one of {}", arg.name, arg.choices.join(", ")));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commands() -> CommandSet {
        CommandSet::embedded().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_customer_is_offered_only_what_a_customer_may_ask() {
        let commands = commands();
        let names: Vec<&str> =
            offered(&commands, Role::Customer, ChannelKind::Sms).iter().map(|c| c.name.as_str()).collect();
        assert!(names.contains(&"stock") && names.contains(&"order"), "{names:?}");
        for owner_only in ["flag", "po", "reorder", "summary", "anomaly"] {
            assert!(!names.contains(&owner_only), "{owner_only} offered to a customer: {names:?}");
        }
        let owner = offered(&commands, Role::Owner, ChannelKind::Slack);
        assert!(owner.iter().any(|c| c.name == "flag"));
    }

    #[test]
    fn schemas_come_from_the_command_files() {
        let commands = commands();
        let stock = schema(commands.get("stock").unwrap_or_else(|| panic!("stock")));
        assert_eq!(stock["required"], json!(["product"]));
        assert_eq!(stock["properties"]["location"]["type"], "string");
        assert_eq!(stock["additionalProperties"], false);
        let flag = schema(commands.get("flag").unwrap_or_else(|| panic!("flag")));
        assert_eq!(flag["properties"]["state"]["enum"], json!(["on", "off", "shadow"]));
    }

    #[test]
    fn calls_become_the_command_line_a_person_would_type() {
        let commands = commands();
        let all = offered(&commands, Role::Owner, ChannelKind::Slack);
        let stock = read_call(&all, "stock", r#"{"product": "oat milk", "location": "Riverside"}"#);
        assert_eq!(stock.map(|c| c.line()), Ok("stock oat milk at Riverside".to_owned()));
        let order = read_call(&all, "order", r#"{"number": "1042"}"#);
        assert_eq!(order.map(|c| c.line()), Ok("order #1042".to_owned()));
        let view = read_call(&all, "po", r#"{"number": "PO-1043"}"#).unwrap_or_else(|e| panic!("{e}"));
        assert!(!view.writes, "looking at a purchase order changes nothing");
        let receive = read_call(&all, "po", r#"{"number": "PO-1043", "change": "received"}"#);
        assert!(receive.unwrap_or_else(|e| panic!("{e}")).writes);
        assert!(
            read_call(&all, "flag", r#"{"flag": "reorder", "state": "off"}"#).unwrap_or_else(|e| panic!("{e}")).writes
        );
    }

    #[test]
    fn calls_outside_the_schema_or_the_offer_are_refused() {
        let commands = commands();
        let staff = offered(&commands, Role::Staff, ChannelKind::Telegram);
        assert_eq!(
            read_call(&staff, "flag", r#"{"flag": "reorder", "state": "off"}"#),
            Err(ToolRefusal::NotOffered("flag".into()))
        );
        assert_eq!(
            read_call(&staff, "refund_everything", "{}"),
            Err(ToolRefusal::NotOffered("refund_everything".into()))
        );
        let bad = [
            r#"{"location": "Riverside"}"#,
            r#"{"product": "milk", "customer": "+13125550142"}"#,
            r#"{"product": 12.5e300, "x": 1}"#,
            r#"["milk"]"#,
            "not json",
            r#"{"product": "milk\u0000; flag reorder off"}"#,
        ];
        for arguments in bad {
            assert!(matches!(read_call(&staff, "stock", arguments), Err(ToolRefusal::Invalid(_))), "{arguments}");
        }
        let owner = offered(&commands, Role::Owner, ChannelKind::Slack);
        assert!(matches!(
            read_call(&owner, "flag", r#"{"flag": "everything", "state": "off"}"#),
            Err(ToolRefusal::Invalid(_))
        ));
        let long = format!(r#"{{"product": "{}"}}"#, "a".repeat(201));
        assert!(matches!(read_call(&staff, "stock", &long), Err(ToolRefusal::Invalid(_))));
    }
}
