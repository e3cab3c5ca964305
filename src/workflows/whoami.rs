//! `whoami`: who the bot thinks you are, what you may ask, and (for the team's leads) who else
//! is set up.

use crate::channels::{ChannelKind, Reply};
use crate::domain::{Person, Role};
use crate::pos::sim::demo_people;
use crate::workflows::Shop;

pub fn run(app: &Shop, person: &Person, channel: ChannelKind) -> Reply {
    let commands: Vec<&str> = app.commands.available(person.role, channel).iter().map(|c| c.name.as_str()).collect();
    let text = match (person.role, &person.phone) {
        (Role::Customer, Some(phone)) => {
            format!("You're texting from {}, as a customer of {}.", phone.masked(), app.config.shop.name)
        }
        (role, _) => format!("You're {}, {} at {}.", person.name, article(role), app.config.shop.name),
    };
    let mut reply = Reply::text(text).field("You can use", commands.join(", "));
    if matches!(person.role, Role::Owner | Role::Manager) {
        for member in app.directory.team() {
            reply = reply.field(&member.name, member.role.as_str());
        }
        if app.pos.provider() == "sim" {
            for customer in demo_people().into_iter().filter(|p| p.role == Role::Customer) {
                reply = reply.field(customer.name, format!("customer, texts from {}", customer.phone));
            }
        }
    }
    reply
}

fn article(role: Role) -> &'static str {
    match role {
        Role::Owner => "the owner",
        Role::Manager => "a manager",
        Role::Staff => "on the staff",
        Role::Customer => "a customer",
    }
}
