//! The demo's built-in people: the team who run the shop, and a few customers who text it.

use crate::config::PersonConfig;
use crate::domain::{Phone, Role};

/// One of the demo's people, with a line saying what to try as them.
pub struct DemoPerson {
    pub name: &'static str,
    pub role: Role,
    pub phone: &'static str,
    pub try_saying: &'static str,
}

/// The team first, then customers (whose phone numbers own orders in the simulated shop).
pub fn demo_people() -> Vec<DemoPerson> {
    vec![
        DemoPerson {
            name: "Maria",
            role: Role::Owner,
            phone: "+13125550001",
            try_saying: "how many blue mugs do we have",
        },
        DemoPerson {
            name: "Dev",
            role: Role::Manager,
            phone: "+13125550002",
            try_saying: "is oat milk in stock at Main St",
        },
        DemoPerson { name: "Sam", role: Role::Staff, phone: "+13125550003", try_saying: "stock large tshirt" },
        DemoPerson {
            name: "Alex Kim",
            role: Role::Customer,
            phone: "+13125550142",
            try_saying: "where is my order #1042",
        },
        DemoPerson { name: "Priya Shah", role: Role::Customer, phone: "+13125550143", try_saying: "is my order ready" },
        DemoPerson {
            name: "Jordan Lee",
            role: Role::Customer,
            phone: "+13125550144",
            try_saying: "status of order 1044",
        },
    ]
}

/// The team as `[[people]]` entries, for the demo configuration.
pub fn demo_team() -> Vec<PersonConfig> {
    demo_people()
        .into_iter()
        .filter(|p| p.role.is_team())
        .map(|p| PersonConfig {
            name: p.name.to_owned(),
            role: p.role,
            slack: None,
            telegram: None,
            discord: None,
            phone: Phone::parse(p.phone),
        })
        .collect()
}
