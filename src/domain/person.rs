//! The people who run the shop and what each may do.

use super::phone::Phone;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Roles, most powerful first. A customer is anyone not configured who texts the shop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Manager,
    Staff,
    Customer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Manager => "manager",
            Role::Staff => "staff",
            Role::Customer => "customer",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "owner" => Some(Role::Owner),
            "manager" => Some(Role::Manager),
            "staff" => Some(Role::Staff),
            "customer" => Some(Role::Customer),
            _ => None,
        }
    }

    /// Owner 3, manager 2, staff 1, customer 0: authority only ever compares these.
    fn rank(self) -> u8 {
        match self {
            Role::Owner => 3,
            Role::Manager => 2,
            Role::Staff => 1,
            Role::Customer => 0,
        }
    }

    /// Whether someone with this role may do what `required` may (an owner may do what a
    /// manager may).
    pub fn at_least(self, required: Role) -> bool {
        self.rank() >= required.rank()
    }

    /// Staff, managers and owners: anyone who works at the shop.
    pub fn is_team(self) -> bool {
        self != Role::Customer
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Someone the bot is talking to, after their channel identity has been resolved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    /// The configured name, or the phone number for a customer.
    pub name: String,
    pub role: Role,
    pub phone: Option<Phone>,
}

impl Person {
    pub fn customer(phone: Phone) -> Person {
        Person { name: phone.to_string(), role: Role::Customer, phone: Some(phone) }
    }
}
