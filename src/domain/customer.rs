//! Customers as the POS knows them.

use super::ids::CustomerId;
use super::phone::Phone;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub id: CustomerId,
    pub given_name: String,
    pub family_name: String,
    pub phone: Option<Phone>,
    pub email: Option<String>,
}

impl Customer {
    pub fn display_name(&self) -> String {
        format!("{} {}", self.given_name, self.family_name).trim().to_owned()
    }
}
