//! A purchase order emailed to its vendor through the shop's SMTP server (`[smtp]`): a
//! readable body and the lines as a CSV attachment. TLS as configured (STARTTLS, implicit TLS,
//! or none for a server on the same machine).

use crate::config::{SmtpConfig, SmtpTls};
use crate::store::purchase_orders::PurchaseOrder;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// The body a vendor reads.
pub fn body(po: &PurchaseOrder, shop: &str) -> String {
    let mut text = format!("Purchase order {} from {shop}, for delivery to {}.\n\n", po.id, po.location_name);
    for line in &po.lines {
        let sku = match (&line.vendor_sku, &line.sku) {
            (Some(code), _) => format!(" (your code {code})"),
            (None, Some(sku)) => format!(" (SKU {sku})"),
            (None, None) => String::new(),
        };
        let total = line.unit_cost.times_milli(i64::from(line.quantity) * 1000);
        text.push_str(&format!("  {} x {}{sku} at {} = {}\n", line.quantity, line.name, line.unit_cost, total));
    }
    text.push_str(&format!(
        "\nTotal: {}\n\nThe same lines are attached as a CSV file. Please confirm by reply.\n",
        po.total
    ));
    text
}

/// The lines as CSV: sku, the vendor's code, item, quantity, unit cost, line total.
pub fn csv(po: &PurchaseOrder) -> Result<String, String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(["sku", "vendor_sku", "item", "quantity", "unit_cost", "line_total"])
        .map_err(|e| e.to_string())?;
    for line in &po.lines {
        let cents = |m: crate::domain::Money| format!("{}.{:02}", m.minor() / 100, m.minor() % 100);
        let total = line.unit_cost.times_milli(i64::from(line.quantity) * 1000);
        writer
            .write_record([
                line.sku.clone().unwrap_or_default(),
                line.vendor_sku.clone().unwrap_or_default(),
                line.name.clone(),
                line.quantity.to_string(),
                cents(line.unit_cost),
                cents(total),
            ])
            .map_err(|e| e.to_string())?;
    }
    String::from_utf8(writer.into_inner().map_err(|e| e.to_string())?).map_err(|e| e.to_string())
}

/// Why an email did not go: `permanent` when trying again cannot help (an address that is not
/// one, a message the server refuses for good with a 5xx).
#[derive(Debug)]
pub struct EmailError {
    pub message: String,
    pub permanent: bool,
}

/// Sends the PO to `to`.
pub async fn send(config: &SmtpConfig, shop: &str, to: &str, po: &PurchaseOrder) -> Result<(), EmailError> {
    let permanent = |message: String| EmailError { message, permanent: true };
    let message = build(config, shop, to, po).map_err(permanent)?;
    let transport = transport(config).map_err(permanent)?;
    transport
        .send(message)
        .await
        .map(|_| ())
        .map_err(|e| EmailError { permanent: e.is_permanent(), message: e.to_string() })
}

fn build(config: &SmtpConfig, shop: &str, to: &str, po: &PurchaseOrder) -> Result<Message, String> {
    let from: Mailbox = format!("{shop} <{}>", config.from).parse().map_err(|e| format!("smtp.from: {e}"))?;
    let to: Mailbox = to.parse().map_err(|e| format!("the vendor's address {to:?}: {e}"))?;
    let attachment = Attachment::new(format!("{}.csv", po.id))
        .body(csv(po)?, ContentType::parse("text/csv").map_err(|e| e.to_string())?);
    let message = Message::builder()
        .from(from)
        .to(to)
        .subject(format!("Purchase order {} from {shop}", po.id))
        .multipart(MultiPart::mixed().singlepart(SinglePart::plain(body(po, shop))).singlepart(attachment))
        .map_err(|e| e.to_string())?;
    Ok(message)
}

fn transport(config: &SmtpConfig) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let builder = match config.tls {
        SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host),
        SmtpTls::Starttls => {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host).map_err(|e| e.to_string())?
        }
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host).map_err(|e| e.to_string())?,
    };
    let mut builder = builder.port(config.port).timeout(Some(std::time::Duration::from_secs(20)));
    if let (Some(user), Some(password)) = (&config.username, &config.password) {
        builder = builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
    }
    crate::telemetry::install_crypto();
    Ok(builder.build())
}
