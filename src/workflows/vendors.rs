//! The vendors reorder orders from: what the POS knows (the mirror) with the configured
//! `[[vendors]]` merged over it. A configured vendor with the name of one the POS knows updates
//! it (contact, lead time, minimum); a configured item replaces the POS's terms for that item,
//! so the owner's word wins where the two disagree. A vendor's lead time is then corrected by
//! how long its deliveries have taken.

use crate::config::VendorConfig;
use crate::domain::{Catalog, Money, Vendor, VendorId, VendorItem};
use chrono::{Datelike, NaiveDate, Weekday};

/// How the id of a vendor known only from the configuration begins (no POS knows it).
pub const CONFIG_PREFIX: &str = "config:";

/// Where `tillpilot import vendors` keeps the vendors it read (the `meta` table, as JSON).
pub const IMPORTED_KEY: &str = "vendors.imported";

/// The lead time used for a vendor nobody has given one for (a Shopify product's vendor, a
/// Lightspeed supplier) until the configuration, an import or a delivery says otherwise.
pub const ASSUMED_LEAD_TIME_DAYS: u32 = 7;
/// How many of a vendor's latest deliveries its lead-time estimate looks at.
const DELIVERIES_REMEMBERED: usize = 10;
/// How many deliveries the vendor's quoted lead time counts as in the estimate.
const QUOTE_WEIGHT: f64 = 2.0;

/// A vendor as the reorder run orders from it: what the POS knows with the shop's own word over
/// it, and the lead time its deliveries have shown.
#[derive(Clone, Debug, PartialEq)]
pub struct Supplier {
    /// The vendor, `lead_time_days` set to the estimate in `lead_time`.
    pub vendor: Vendor,
    pub lead_time: LeadTime,
    /// The weekdays the vendor takes orders; empty when any day will do.
    pub order_days: Vec<Weekday>,
    /// The most one purchase order to this vendor may cost.
    pub budget: Option<Money>,
}

impl Supplier {
    /// Whether the vendor takes orders on `day`.
    pub fn orders_on(&self, day: NaiveDate) -> bool {
        self.order_days.is_empty() || self.order_days.contains(&day.weekday())
    }

    /// The next day after `day` the vendor takes orders: the review period of an order placed
    /// on `day` ends there.
    pub fn next_order_day(&self, day: NaiveDate) -> Option<NaiveDate> {
        (1..=7).map(|n| day + chrono::Duration::days(n)).find(|d| self.order_days.contains(&d.weekday()))
    }

    /// "Mon and Thu".
    pub fn order_days_text(&self) -> String {
        let names: Vec<String> = self.order_days.iter().map(|d| d.to_string()).collect();
        match names.split_last() {
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
            None => "any day".into(),
        }
    }
}

/// A vendor's lead time: what it quotes, what its deliveries took, and the estimate used.
#[derive(Clone, Debug, PartialEq)]
pub struct LeadTime {
    /// Days from sending an order to the goods on the shelf, as the reorder run uses it.
    pub days: u32,
    /// What the vendor or the owner says; `None` when nobody has said.
    pub quoted: Option<u32>,
    /// Days each of the latest deliveries took, newest first.
    pub observed: Vec<f64>,
}

impl LeadTime {
    /// The quote counts as `QUOTE_WEIGHT` deliveries, so one late delivery moves the estimate
    /// a little and a run of them moves it most of the way; with no quote the deliveries alone
    /// decide, and with neither `ASSUMED_LEAD_TIME_DAYS` is used.
    pub fn estimate(quoted: Option<u32>, mut observed: Vec<f64>) -> LeadTime {
        observed.truncate(DELIVERIES_REMEMBERED);
        let seen: f64 = observed.iter().sum();
        let n = observed.len() as f64;
        let days = match quoted {
            Some(q) => (QUOTE_WEIGHT * f64::from(q) + seen) / (QUOTE_WEIGHT + n),
            None if observed.is_empty() => f64::from(ASSUMED_LEAD_TIME_DAYS),
            None => seen / n,
        };
        LeadTime { days: (days.round() as u32).max(1), quoted, observed }
    }

    /// The lead time as a PO line gives it: "lead 2 d", "lead 3 d (quoted 2 d; 4 deliveries
    /// averaged 3.5 d)", "lead 7 d assumed".
    pub fn note(&self) -> String {
        let n = self.observed.len();
        let average = if n == 0 { 0.0 } else { self.observed.iter().sum::<f64>() / n as f64 };
        let deliveries = format!("{n} deliver{} averaged {average:.1} d", if n == 1 { "y" } else { "ies" });
        match self.quoted {
            None if n == 0 => format!("lead {} d assumed, none configured", self.days),
            None => format!("lead {} d ({deliveries})", self.days),
            Some(q) if n == 0 || q == self.days => format!("lead {} d", self.days),
            Some(q) => format!("lead {} d (quoted {q} d; {deliveries})", self.days),
        }
    }
}

/// The vendors and terms to order from: the mirror's (what the POS knows) with the shop's own
/// word merged over them (see `configured`), each vendor's lead time corrected by its
/// deliveries, and the configured SKUs the catalog lacks.
pub async fn to_order_from(
    app: &crate::workflows::Shop,
) -> Result<(Vec<Supplier>, Vec<VendorItem>, UnknownSkus), crate::store::StoreError> {
    let (vendors, terms) = app.store.mirror_vendors().await?;
    let configured = configured(app).await?;
    let deliveries = app.store.delivery_days(DELIVERIES_REMEMBERED).await?;
    let (vendors, terms, unknown) = merge(&configured, &app.catalog().catalog, vendors, terms);
    Ok((suppliers(vendors, &configured, &deliveries), terms, unknown))
}

/// Each vendor with its order days and budget from the configuration and its lead time from
/// the quote and `deliveries` (`(vendor, days)`, newest first).
pub fn suppliers(vendors: Vec<Vendor>, configured: &[VendorConfig], deliveries: &[(VendorId, f64)]) -> Vec<Supplier> {
    vendors
        .into_iter()
        .map(|mut vendor| {
            let config = configured.iter().find(|c| c.name.trim().eq_ignore_ascii_case(&vendor.name));
            let observed = deliveries.iter().filter(|(v, _)| *v == vendor.id).map(|(_, d)| *d).collect();
            // A POS that keeps no lead time reports 0: nobody has quoted one.
            let quoted = Some(vendor.lead_time_days).filter(|d| *d > 0);
            let lead_time = LeadTime::estimate(quoted, observed);
            vendor.lead_time_days = lead_time.days;
            Supplier {
                vendor,
                lead_time,
                order_days: config.map(|c| c.weekdays()).unwrap_or_default(),
                budget: config.and_then(|c| c.budget).map(money),
            }
        })
        .collect()
}

/// The shop's own word on its vendors: `[[vendors]]` from the configuration, then the imported
/// ones it does not name (the configuration wins for a vendor in both).
pub async fn configured(app: &crate::workflows::Shop) -> Result<Vec<VendorConfig>, crate::store::StoreError> {
    let mut vendors = app.config.vendors.clone();
    if let Some(json) = app.store.meta(IMPORTED_KEY).await? {
        let imported: Vec<VendorConfig> = serde_json::from_str(&json)
            .map_err(|e| crate::store::StoreError::Corrupt(format!("{IMPORTED_KEY}: {e}")))?;
        for vendor in imported {
            if !vendors.iter().any(|v| v.name.eq_ignore_ascii_case(&vendor.name)) {
                vendors.push(vendor);
            }
        }
    }
    Ok(vendors)
}

/// Configured SKUs the catalog does not have, as `(vendor, sku)`.
pub type UnknownSkus = Vec<(String, String)>;

pub fn merge(
    configured: &[VendorConfig],
    catalog: &Catalog,
    mut vendors: Vec<Vendor>,
    mut terms: Vec<VendorItem>,
) -> (Vec<Vendor>, Vec<VendorItem>, UnknownSkus) {
    let mut unknown = Vec::new();
    for config in configured {
        let existing = vendors.iter_mut().find(|v| v.name.eq_ignore_ascii_case(config.name.trim()));
        let id = match existing {
            Some(vendor) => {
                vendor.email = config.email.clone().or(vendor.email.take());
                vendor.phone = config.phone.clone().or(vendor.phone.take());
                vendor.lead_time_days = config.lead_time_days;
                vendor.minimum_order = money(config.minimum_order);
                vendor.id.clone()
            }
            None => {
                let id = VendorId::new(format!("{CONFIG_PREFIX}{}", slug(&config.name)));
                vendors.push(Vendor {
                    id: id.clone(),
                    name: config.name.trim().to_owned(),
                    email: config.email.clone(),
                    phone: config.phone.clone(),
                    lead_time_days: config.lead_time_days,
                    minimum_order: money(config.minimum_order),
                });
                id
            }
        };
        for item in &config.items {
            let variations: Vec<_> = catalog
                .items
                .iter()
                .flat_map(|i| i.variations.iter())
                .filter(|v| v.sku.as_deref().is_some_and(|s| s.trim().eq_ignore_ascii_case(item.sku.trim())))
                .map(|v| v.id.clone())
                .collect();
            if variations.is_empty() {
                unknown.push((config.name.clone(), item.sku.clone()));
            }
            for variation_id in variations {
                terms.retain(|t| t.variation_id != variation_id);
                terms.push(VendorItem {
                    vendor_id: id.clone(),
                    variation_id,
                    unit_cost: money(item.unit_cost),
                    pack_size: item.pack_size.max(1),
                    minimum_quantity: item.minimum_quantity,
                    price_tiers: item.tiers.iter().map(|t| (t.from, money(t.unit_cost))).collect(),
                    vendor_sku: item.vendor_sku.clone(),
                });
            }
        }
    }
    (vendors, terms, unknown)
}

fn money(major: f64) -> Money {
    Money::from_minor((major * 100.0).round() as i64)
}

fn slug(name: &str) -> String {
    let words: Vec<String> =
        name.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect();
    words.join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quote_counts_as_two_deliveries_and_deliveries_alone_decide_without_one() {
        let quoted = LeadTime::estimate(Some(2), Vec::new());
        assert_eq!((quoted.days, quoted.note()), (2, "lead 2 d".to_owned()));
        // One late delivery moves the estimate a third of the way: (2 + 2 + 5) / 3 = 3.
        let once = LeadTime::estimate(Some(2), vec![5.0]);
        assert_eq!((once.days, once.note()), (3, "lead 3 d (quoted 2 d; 1 delivery averaged 5.0 d)".to_owned()));
        // Deliveries as quoted leave it alone.
        assert_eq!(LeadTime::estimate(Some(2), vec![2.2, 1.8, 2.0]).note(), "lead 2 d");
        // Only the latest ten count.
        let mut history = vec![1.0; 10];
        history.extend([30.0; 5]);
        assert_eq!(LeadTime::estimate(Some(1), history).days, 1);
        let unknown = LeadTime::estimate(None, Vec::new());
        assert_eq!((unknown.days, unknown.note()), (7, "lead 7 d assumed, none configured".to_owned()));
        assert_eq!(LeadTime::estimate(None, vec![3.5, 4.5]).note(), "lead 4 d (2 deliveries averaged 4.0 d)");
    }

    /// A Shopify product's vendor is only a name: the configured vendor of that name gives it
    /// its email and lead time, and the costs Shopify keeps stay.
    #[test]
    fn a_configured_vendor_completes_a_vendor_the_pos_only_names() {
        let named = Vendor {
            id: VendorId::new("Valley Dairy"),
            name: "Valley Dairy".into(),
            email: None,
            phone: None,
            lead_time_days: 0,
            minimum_order: Money::ZERO,
        };
        let term = VendorItem {
            vendor_id: named.id.clone(),
            variation_id: crate::domain::VariationId::new("oat"),
            unit_cost: Money::from_minor(199),
            pack_size: 1,
            minimum_quantity: 1,
            price_tiers: Vec::new(),
            vendor_sku: None,
        };
        let config: VendorConfig =
            toml::from_str("name = \"valley dairy\"\nemail = \"orders@valley.example\"\nlead_time_days = 3").unwrap();
        let catalog = Catalog { categories: Vec::new(), items: Vec::new() };
        let (vendors, terms, unknown) =
            merge(std::slice::from_ref(&config), &catalog, vec![named.clone()], vec![term.clone()]);
        assert_eq!(terms, [term]);
        assert!(unknown.is_empty());
        let supplier = suppliers(vendors, &[config], &[]).remove(0);
        assert_eq!(
            (supplier.vendor.email.as_deref(), supplier.vendor.lead_time_days, supplier.lead_time.note()),
            (Some("orders@valley.example"), 3, "lead 3 d".to_owned())
        );
        // Not configured, it orders on an assumed lead time and says so.
        let alone = suppliers(vec![named], &[], &[]).remove(0);
        assert_eq!(alone.lead_time.note(), "lead 7 d assumed, none configured");
    }

    #[test]
    fn order_days_set_the_review_period_to_the_next_order_day() {
        let vendor = Vendor {
            id: VendorId::new("v"),
            name: "Valley Dairy".into(),
            email: None,
            phone: None,
            lead_time_days: 2,
            minimum_order: Money::ZERO,
        };
        let config: VendorConfig =
            toml::from_str("name = \"Valley Dairy\"\nlead_time_days = 2\norder_days = [\"Thursday\", \"mon\"]")
                .unwrap();
        let supplier = suppliers(vec![vendor], &[config], &[]).remove(0);
        let thursday = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        assert_eq!(supplier.order_days_text(), "Mon and Thu");
        assert!(supplier.orders_on(thursday));
        assert!(!supplier.orders_on(thursday + chrono::Duration::days(1)));
        assert_eq!(supplier.next_order_day(thursday), NaiveDate::from_ymd_opt(2026, 11, 30));
        assert_eq!(
            supplier.next_order_day(thursday + chrono::Duration::days(4)),
            Some(thursday + chrono::Duration::days(7))
        );
    }
}
