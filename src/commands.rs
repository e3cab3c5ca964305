//! Chat commands, one TOML file each in `commands/` (ARCHITECTURE.md section 6), embedded in the
//! binary and validated at start. The files are the single source for parsing, `help`, the role
//! check, platform registrations and the classifier's training examples.

use crate::domain::Role;
use crate::message::ChannelKind;
use serde::Deserialize;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

pub use embedded::PROMPT_FILES;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandSpec {
    pub name: String,
    pub summary: String,
    pub usage: String,
    pub roles: Vec<Role>,
    pub channels: Vec<ChannelKind>,
    #[serde(default)]
    pub args: Vec<ArgSpec>,
    #[serde(default)]
    pub examples: Vec<String>,
    /// The command needs a person's approval before it acts.
    #[serde(default)]
    pub confirm: bool,
    /// The command changes something (a flag, a purchase order, a verdict). When the LLM asks
    /// for it, it is offered to the person as a button instead of run.
    #[serde(default)]
    pub writes: bool,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArgSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ArgKind,
    #[serde(default)]
    pub required: bool,
    pub description: String,
    /// The values a `choice` argument takes.
    #[serde(default)]
    pub choices: Vec<String>,
    /// Giving this argument makes the command change something (`po PO-1043 receive`).
    #[serde(default)]
    pub writes: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArgKind {
    Text,
    Product,
    OrderNumber,
    Location,
    Integer,
    Date,
    Choice,
}

#[derive(Debug, thiserror::Error)]
#[error("commands/{file}: {message}")]
pub struct CommandFileError {
    pub file: String,
    pub message: String,
}

/// Every command the bot knows.
#[derive(Clone, Debug)]
pub struct CommandSet {
    commands: Vec<CommandSpec>,
}

impl CommandSet {
    /// The commands embedded at build time.
    pub fn embedded() -> Result<CommandSet, CommandFileError> {
        CommandSet::from_files(embedded::COMMAND_FILES.iter().map(|(f, t)| (*f, *t)))
    }

    /// Parses and validates command files given as `(file name, contents)`.
    pub fn from_files<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<CommandSet, CommandFileError> {
        let mut commands: Vec<CommandSpec> = Vec::new();
        for (file, text) in files {
            if !file.ends_with(".toml") {
                continue;
            }
            let fail = |message: String| CommandFileError { file: file.to_owned(), message };
            let spec: CommandSpec = toml::from_str(text).map_err(|e| fail(e.to_string()))?;
            let stem = file.trim_end_matches(".toml");
            if spec.name != stem {
                return Err(fail(format!("name {:?} must match the file name {stem:?}", spec.name)));
            }
            if spec.name.is_empty() || !spec.name.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                return Err(fail("name must be lower-case letters and underscores".into()));
            }
            if !spec.usage.starts_with(&spec.name) {
                return Err(fail(format!("usage must start with the command name {:?}", spec.name)));
            }
            if spec.roles.is_empty() || spec.channels.is_empty() {
                return Err(fail("roles and channels must each name at least one".into()));
            }
            if spec.summary.trim().is_empty() || spec.summary.len() > 100 {
                return Err(fail("summary must be 1 to 100 characters (Slack and Discord show it)".into()));
            }
            if let Some(arg) = spec.args.iter().find(|a| a.name.is_empty() || a.description.trim().is_empty()) {
                return Err(fail(format!("argument {:?} needs a name and a description", arg.name)));
            }
            if let Some(arg) = spec.args.iter().find(|a| (a.kind == ArgKind::Choice) == a.choices.is_empty()) {
                return Err(fail(format!(
                    "argument {:?}: a choice lists its choices, and only a choice does",
                    arg.name
                )));
            }
            if commands.iter().any(|c| c.name == spec.name) {
                return Err(fail(format!("command {:?} is defined twice", spec.name)));
            }
            commands.push(spec);
        }
        if commands.is_empty() {
            return Err(CommandFileError { file: "*.toml".into(), message: "no commands found".into() });
        }
        commands.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(CommandSet { commands })
    }

    pub fn get(&self, name: &str) -> Option<&CommandSpec> {
        self.commands.iter().find(|c| c.name == name)
    }

    pub fn all(&self) -> &[CommandSpec] {
        &self.commands
    }

    /// Commands this role may use on this channel.
    pub fn available(&self, role: Role, channel: ChannelKind) -> Vec<&CommandSpec> {
        self.commands.iter().filter(|c| c.roles.contains(&role) && c.channels.contains(&channel)).collect()
    }

    /// `(command, example)` pairs for the intent classifier.
    pub fn training_examples(&self) -> Vec<(String, String)> {
        self.commands.iter().flat_map(|c| c.examples.iter().map(move |e| (c.name.clone(), e.clone()))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_commands_load() {
        let set = CommandSet::embedded().unwrap();
        for name in ["help", "order", "stock", "whoami"] {
            assert!(set.get(name).is_some(), "{name}");
        }
    }

    #[test]
    fn a_broken_file_is_an_error_naming_it() {
        let err = CommandSet::from_files([("stock.toml", "name = \"stock\"\nsummary = 3")]).unwrap_err();
        assert!(err.to_string().starts_with("commands/stock.toml:"), "{err}");
        let err = CommandSet::from_files([(
            "stock.toml",
            "name = \"stok\"\nsummary = \"s\"\nusage = \"stok\"\nroles = [\"owner\"]\nchannels = [\"sms\"]",
        )])
        .unwrap_err();
        assert!(err.to_string().contains("must match the file name"), "{err}");
        let err = CommandSet::from_files([(
            "x.toml",
            "name = \"x\"\nsummary = \"s\"\nusage = \"x\"\nroles = [\"king\"]\nchannels = [\"sms\"]",
        )])
        .unwrap_err();
        assert!(err.to_string().contains("commands/x.toml"), "{err}");
    }
}
