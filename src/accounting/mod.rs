//! The accounting platform approved purchase orders are recorded in (QuickBooks Online). Like
//! a POS connector, the adapter maps the shop's purchase orders into its vendor's API; unlike
//! one, it only writes, and only what a person approved, through the outbox.

pub mod quickbooks;

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum AccountingError {
    #[error("QuickBooks could not be reached: {0}")]
    Unavailable(String),
    #[error("QuickBooks asked us to slow down")]
    RateLimited(Option<Duration>),
    #[error("QuickBooks rejected our credentials (connect the company again if this persists)")]
    Unauthorized,
    #[error("QuickBooks refused the request ({status}, code {code}): {message}")]
    Rejected { status: u16, code: String, message: String },
    #[error("QuickBooks answered with something we could not read: {0}")]
    Malformed(String),
}

impl AccountingError {
    /// Worth trying again later: the platform was down, slow or busy.
    pub fn is_transient(&self) -> bool {
        matches!(self, AccountingError::Unavailable(_) | AccountingError::RateLimited(_))
    }
}
