//! Who is talking: a configured person reached through one of their identities, a customer
//! texting from a phone number, or someone we do not know (who gets no data).

use crate::config::PersonConfig;
use crate::domain::{Person, Phone};
use crate::message::ChannelKind;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sender {
    Known(Person),
    /// A chat identity nobody configured. They are told they are not set up, nothing more.
    Unknown {
        channel: ChannelKind,
        external_id: String,
    },
}

impl Sender {
    /// How the audit log names this sender.
    pub fn audit_name(&self) -> String {
        match self {
            Sender::Known(person) => person.name.clone(),
            Sender::Unknown { channel, external_id } => format!("unknown {channel} user {external_id}"),
        }
    }
}

/// The shop's people, from `[[people]]`.
#[derive(Clone, Debug, Default)]
pub struct Directory {
    people: Vec<PersonConfig>,
}

impl Directory {
    pub fn new(people: Vec<PersonConfig>) -> Directory {
        Directory { people }
    }

    pub fn team(&self) -> &[PersonConfig] {
        &self.people
    }

    fn person(config: &PersonConfig) -> Person {
        Person { name: config.name.clone(), role: config.role, phone: config.phone.clone() }
    }

    /// `--as WHO` on the terminal: a configured name (any case), or an E.164 phone number, which
    /// is that person if one of the team has it and a customer otherwise.
    pub fn resolve_terminal(&self, who: &str) -> Sender {
        let who = who.trim();
        if let Some(config) = self.people.iter().find(|p| p.name.eq_ignore_ascii_case(who)) {
            return Sender::Known(Directory::person(config));
        }
        if who.starts_with('+')
            && let Some(phone) = Phone::parse(who)
        {
            return self.resolve_phone(phone);
        }
        Sender::Unknown { channel: ChannelKind::Terminal, external_id: who.to_owned() }
    }

    /// A text message from `phone`: a team member when the number is theirs, else a customer.
    pub fn resolve_phone(&self, phone: Phone) -> Sender {
        match self.people.iter().find(|p| p.phone.as_ref() == Some(&phone)) {
            Some(config) => Sender::Known(Directory::person(config)),
            None => Sender::Known(Person::customer(phone)),
        }
    }

    /// A chat identity (Slack user id, Telegram user id, Discord user id).
    pub fn resolve_chat(&self, channel: ChannelKind, external_id: &str) -> Sender {
        let found = self.people.iter().find(|p| match channel {
            ChannelKind::Slack => p.slack.as_deref() == Some(external_id),
            ChannelKind::Telegram => p.telegram.map(|t| t.to_string()).as_deref() == Some(external_id),
            ChannelKind::Discord => p.discord.as_deref() == Some(external_id),
            _ => false,
        });
        match found {
            Some(config) => Sender::Known(Directory::person(config)),
            None => Sender::Unknown { channel, external_id: external_id.to_owned() },
        }
    }

    /// The first owner, who the demo and `ask` speak as by default.
    pub fn owner(&self) -> Option<&PersonConfig> {
        self.people.iter().find(|p| p.role == crate::domain::Role::Owner)
    }
}
