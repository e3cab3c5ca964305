//! QuickBooks Online (Accounting API v3): approved purchase orders recorded as QuickBooks
//! purchase orders.
//!
//! Contract (see the shared PLATFORMS notes, section 9, and developer.intuit.com):
//! - Calls are `{host}/v3/company/{realmId}/{resource}?minorversion=75` with `Authorization:
//!   Bearer`; the access token lives an hour and is refreshed with the refresh token (HTTP
//!   Basic with the app's client id and secret, `grant_type=refresh_token`). An answer can
//!   carry a new refresh token: the newest is kept in the database (client.rs).
//! - Limits: 500 requests a minute and 10 at once per company; over them, 429 with no stated
//!   wait. Errors are `{"Fault": {"Error": [{"Message", "Detail", "code"}]}}`, sometimes in a 200.
//! - Writes take `?requestid=` (≤ 50 characters): the same id gets the first answer back.
//! - A purchase order needs a `VendorRef`, an `APAccountRef` and item lines whose items have an
//!   expense account ("You must select an account for this transaction" otherwise); its
//!   `DocNumber` holds at most 21 characters.
//!
//! A PO is recorded once: its number is looked up as a `DocNumber` before anything is created
//! (an earlier attempt whose answer was lost may have made it), the vendor is found by display
//! name or created, each line's item is found by SKU or name or created (as a non-inventory item
//! with the configured expense account; a found one without an expense account gets it), and
//! every write carries a request id derived from the PO's number.

pub mod client;
pub mod mapping;

use super::AccountingError;
use crate::config::QuickBooksConfig;
use crate::store::purchase_orders::PurchaseOrder;
use client::QuickBooksClient;
use mapping::{Account, Item, quoted};
use serde_json::{Value, json};

/// DocNumber's limit.
const DOC_NUMBER_MAX: usize = 21;
const NAME_MAX: usize = 100;

pub struct QuickBooks {
    client: QuickBooksClient,
    expense_account: String,
    ap_account: Option<String>,
}

impl QuickBooks {
    pub fn new(client: QuickBooksClient, config: &QuickBooksConfig) -> QuickBooks {
        QuickBooks { client, expense_account: config.expense_account.clone(), ap_account: config.ap_account.clone() }
    }

    pub fn client(&self) -> &QuickBooksClient {
        &self.client
    }

    /// Records `po` as a QuickBooks purchase order (or finds the one an earlier attempt made);
    /// returns its QuickBooks id.
    pub async fn record_purchase_order(&self, po: &PurchaseOrder) -> Result<String, AccountingError> {
        if po.id.is_empty() || po.id.len() > DOC_NUMBER_MAX {
            return Err(AccountingError::Rejected {
                status: 400,
                code: "2050".into(),
                message: format!("the PO number {:?} does not fit QuickBooks' 21-character DocNumber", po.id),
            });
        }
        let request = |step: &str| format!("tillpilot-{}-{step}", po.id);
        let made: Vec<mapping::PurchaseOrder> =
            self.client.query("PurchaseOrder", &format!("DocNumber = {}", quoted(&po.id))).await?;
        if let Some(found) = made.into_iter().next() {
            return Ok(found.id);
        }
        let vendor = self.vendor(po, &request("vendor")).await?;
        let ap = self.ap_account().await?;
        let expense = self.expense_account().await?;
        let mut lines = Vec::new();
        for (n, line) in po.lines.iter().enumerate() {
            let item = self.item(line, &expense, &request(&format!("item{n}"))).await?;
            let amount = line.unit_cost.times_milli(i64::from(line.quantity) * 1000);
            lines.push(json!({
                "DetailType": "ItemBasedExpenseLineDetail",
                "Amount": minor_to_decimal(amount.minor()),
                "Description": line.name,
                "ItemBasedExpenseLineDetail": {
                    "ItemRef": { "value": item },
                    "Qty": line.quantity,
                    "UnitPrice": minor_to_decimal(line.unit_cost.minor()),
                    "BillableStatus": "NotBillable",
                },
            }));
        }
        let mut body = json!({
            "DocNumber": po.id,
            "VendorRef": { "value": vendor },
            "APAccountRef": { "value": ap },
            "Line": lines,
            "PrivateNote": format!("From Tillpilot: {} for {}", po.id, po.location_name),
        });
        if let Some(email) = &po.vendor_email {
            body["POEmail"] = json!({ "Address": email });
        }
        let created: mapping::PurchaseOrder = self.client.write("PurchaseOrder", &body, &request("po")).await?;
        Ok(created.id)
    }

    async fn vendor(&self, po: &PurchaseOrder, request_id: &str) -> Result<String, AccountingError> {
        let display = mapping::name(&po.vendor_name, 500);
        let found: Vec<mapping::Vendor> =
            self.client.query("Vendor", &format!("DisplayName = {}", quoted(&display))).await?;
        if let Some(vendor) = found.into_iter().next() {
            return Ok(vendor.id);
        }
        let mut body = json!({ "DisplayName": display, "CompanyName": display });
        if let Some(email) = &po.vendor_email {
            body["PrimaryEmailAddr"] = json!({ "Address": email });
        }
        let created: mapping::Vendor = self.client.write("Vendor", &body, request_id).await?;
        Ok(created.id)
    }

    /// The accounts-payable account: the configured one by name, else the company's first.
    async fn ap_account(&self) -> Result<String, AccountingError> {
        let condition = match &self.ap_account {
            Some(name) => format!("Name = {}", quoted(name)),
            None => "AccountType = 'Accounts Payable'".to_owned(),
        };
        let found: Vec<Account> = self.client.query("Account", &condition).await?;
        found.into_iter().next().map(|a| a.id).ok_or_else(|| AccountingError::Rejected {
            status: 400,
            code: "610".into(),
            message: format!(
                "no accounts-payable account{} in QuickBooks",
                self.ap_account.as_ref().map(|n| format!(" named {n:?}")).unwrap_or_default()
            ),
        })
    }

    async fn expense_account(&self) -> Result<String, AccountingError> {
        let found: Vec<Account> =
            self.client.query("Account", &format!("Name = {}", quoted(&self.expense_account))).await?;
        found.into_iter().next().map(|a| a.id).ok_or_else(|| AccountingError::Rejected {
            status: 400,
            code: "610".into(),
            message: format!(
                "no account named {:?} in QuickBooks: set [quickbooks] expense_account to the account purchases are booked to",
                self.expense_account
            ),
        })
    }

    /// The line's item, by SKU or else by name; created when QuickBooks has neither, and given
    /// the expense account when it has none (a PO line needs one).
    async fn item(
        &self,
        line: &crate::store::purchase_orders::PoLine,
        expense: &str,
        request_id: &str,
    ) -> Result<String, AccountingError> {
        let name = mapping::name(&line.name, NAME_MAX);
        let mut found: Vec<Item> = Vec::new();
        if let Some(sku) = line.sku.as_deref().filter(|s| !s.is_empty()) {
            found = self.client.query("Item", &format!("Sku = {}", quoted(sku))).await?;
        }
        if found.is_empty() {
            found = self.client.query("Item", &format!("Name = {}", quoted(&name))).await?;
        }
        if let Some(item) = found.into_iter().next() {
            if item.expense_account_ref.is_none() {
                let body = json!({ "Id": item.id, "SyncToken": item.sync_token, "sparse": true,
                    "ExpenseAccountRef": { "value": expense } });
                let _: Value = self.client.write("Item", &body, &format!("{request_id}-acct")).await?;
            }
            return Ok(item.id);
        }
        let mut body = json!({
            "Name": name,
            "Type": "NonInventory",
            "PurchaseCost": minor_to_decimal(line.unit_cost.minor()),
            "ExpenseAccountRef": { "value": expense },
        });
        if let Some(sku) = &line.sku {
            body["Sku"] = json!(sku);
        }
        let created: Item = self.client.write("Item", &body, request_id).await?;
        Ok(created.id)
    }
}

/// Cents as the decimal number QuickBooks takes (`599.2`).
fn minor_to_decimal(minor: i64) -> Value {
    let text = format!("{}.{:02}", minor / 100, (minor % 100).abs());
    text.parse::<serde_json::Number>().map(Value::Number).unwrap_or(Value::Null)
}
