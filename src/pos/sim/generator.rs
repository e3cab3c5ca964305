//! The deterministic generator behind the simulated shop. Demand is modelled per variation and
//! location as Poisson draws around a rate that carries the category's weekly pattern, the
//! item's season, a mild growth trend and the planted events; the day's units are then packed
//! into baskets. Like a real shop's, the history is not tidy: some items are now and then bought
//! in bulk, promotions lift an item for a week (and the week after sags while customers use up
//! what they bought), and items run out for a few days at a time. Those events stay out of the
//! last nine weeks, the window the anomaly alerts judge "usual" by, so an alert still means
//! the planted event. A splitmix64 stream keeps it identical for the same seed on every
//! platform.

use super::catalog_data::{BULK_BUYS, CATEGORIES, Season, VENDORS};
use super::shop::{PlantedAnomaly, SimShop};
use crate::domain::{
    Catalog, Category, CategoryId, Customer, CustomerId, Fulfilment, FulfilmentKind, FulfilmentState, Item, ItemId,
    Location, LocationId, Money, Order, OrderId, OrderLine, OrderState, Phone, Quantity, StockLevel, Variation,
    VariationId, Vendor, VendorId, VendorItem,
};
use chrono::{Datelike, Duration, NaiveDate, TimeZone};
use std::collections::{HashMap, HashSet};
use std::f64::consts::PI;

#[derive(Clone, Debug)]
pub struct SimOptions {
    pub seed: u64,
    /// The shop's "today": history covers the `days` days before it.
    pub today: NaiveDate,
    pub days: u32,
    pub timezone: chrono_tz::Tz,
}

impl SimOptions {
    pub fn new(seed: u64, today: NaiveDate) -> SimOptions {
        SimOptions { seed, today, days: 365, timezone: chrono_tz::America::Chicago }
    }
}

/// splitmix64: tiny, fast, and stable across platforms and crate versions, so the same seed
/// gives the same shop everywhere. Also used by benchmarks that need repeatable data.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Knuth's method for small rates, a rounded normal approximation for large ones.
    pub fn poisson(&mut self, lambda: f64) -> u32 {
        if lambda <= 0.0 {
            return 0;
        }
        if lambda > 40.0 {
            let u1 = self.unit().max(1e-12);
            let u2 = self.unit();
            let z = (-2.0 * u1.ln()).sqrt() * (2.0 * PI * u2).cos();
            return (lambda + z * lambda.sqrt()).round().max(0.0) as u32;
        }
        let limit = (-lambda).exp();
        let mut k = 0;
        let mut p = self.unit();
        while p > limit {
            k += 1;
            p *= self.unit();
        }
        k
    }
}

/// One variation's demand parameters.
struct Demand {
    base: f64,
    season: Season,
    weekend_lift: f64,
    by_weight: bool,
    /// `(first day index at the new price, old price)`.
    price_change: Option<(u32, Money)>,
}

/// The catalog's `daily` figures describe a busy shop; this scales them to a small one (about
/// 150 baskets a day over both locations).
const DEMAND_SCALE: f64 = 0.5;

const LOCATIONS: [(&str, &str, f64); 2] = [("L-MAIN", "Main St", 1.0), ("L-RIVER", "Riverside", 0.55)];

pub fn generate(options: &SimOptions) -> SimShop {
    let mut rng = Rng(options.seed ^ 0x7111_9170);
    let locations: Vec<Location> = LOCATIONS
        .iter()
        .map(|(id, name, _)| Location {
            id: LocationId::new(*id),
            name: (*name).to_owned(),
            timezone: options.timezone.name().to_owned(),
        })
        .collect();
    let (catalog, demand) = build_catalog(options, &mut rng);
    let (vendors, vendor_terms) = build_vendors(&catalog, &mut rng);
    let customers = build_customers();
    let mut history = History::new(options, &catalog, &demand);
    let mut orders = history.run(&mut rng, &customers);
    orders.extend(online_orders(options, &catalog, &customers, &mut rng));
    orders.sort_by_key(|o| o.created_at_ms);
    let stock = build_stock(options, &catalog, &demand, &history, &mut rng);
    let anomaly = history.anomaly.take();
    let stockout = history.stockout.clone();
    SimShop {
        seed: options.seed,
        today: options.today,
        timezone: options.timezone,
        locations,
        catalog,
        vendors,
        vendor_terms,
        customers,
        orders,
        stock,
        anomaly: anomaly.unwrap_or_else(|| PlantedAnomaly {
            variation_id: VariationId::new(""),
            location_id: LocationId::new(""),
            date: options.today,
            expected_units: 0.0,
            actual_units: Quantity::ZERO,
        }),
        stockout,
    }
}

fn option_weights(options: &[&str]) -> Vec<f64> {
    let raw: Vec<f64> = if options == ["Small", "Medium", "Large", "XL"] {
        vec![0.15, 0.32, 0.33, 0.2]
    } else {
        (0..options.len()).map(|i| 1.0 / (i as f64 + 1.5)).collect()
    };
    let total: f64 = raw.iter().sum();
    raw.iter().map(|w| w / total).collect()
}

fn build_catalog(options: &SimOptions, rng: &mut Rng) -> (Catalog, Vec<Demand>) {
    let mut catalog = Catalog::default();
    let mut demand = Vec::new();
    let mut item_no = 0;
    for (c, category) in CATEGORIES.iter().enumerate() {
        let category_id = CategoryId::new(format!("CAT-{:02}", c + 1));
        catalog.categories.push(Category { id: category_id.clone(), name: category.name.to_owned() });
        for spec in category.items {
            item_no += 1;
            let item_id = ItemId::new(format!("ITEM-{item_no:03}"));
            // Cross product of the option lists, with popularity weights.
            let mut combos: Vec<(Vec<&str>, f64)> = vec![(Vec::new(), 1.0)];
            for list in spec.options {
                let weights = option_weights(list);
                combos = combos
                    .iter()
                    .flat_map(|(names, w)| {
                        list.iter().zip(&weights).map(move |(o, ow)| ([names.as_slice(), &[*o]].concat(), w * ow))
                    })
                    .collect();
            }
            let mut variations = Vec::new();
            for (v, (names, weight)) in combos.iter().enumerate() {
                let base = spec.daily * weight * DEMAND_SCALE;
                let price_change = (spec.name == "Cold Brew Concentrate 1L")
                    .then(|| (options.days.saturating_sub(150), Money::from_minor(spec.price_cents - 200)));
                let low = (base * 3.0).round().max(2.0) as i64;
                variations.push(Variation {
                    id: VariationId::new(format!("VAR-{item_no:03}-{}", v + 1)),
                    item_id: item_id.clone(),
                    name: if names.is_empty() { "Regular".to_owned() } else { names.join(", ") },
                    sku: Some(format!("{:03}{:03}{:02}", c + 1, item_no, v + 1)),
                    price: Money::from_minor(spec.price_cents),
                    low_stock_at: Some(Quantity::from_units(low)),
                });
                demand.push(Demand {
                    base: base * rng.range(0.9, 1.1),
                    season: spec.season,
                    weekend_lift: category.weekend_lift,
                    by_weight: spec.by_weight,
                    price_change,
                });
            }
            catalog.items.push(Item {
                id: item_id,
                name: spec.name.to_owned(),
                category_id: Some(category_id.clone()),
                variations,
            });
        }
    }
    (catalog, demand)
}

fn vendor_id(index: usize) -> VendorId {
    VendorId::new(format!("VEN-{}", index + 1))
}

fn build_vendors(catalog: &Catalog, rng: &mut Rng) -> (Vec<Vendor>, Vec<VendorItem>) {
    let vendors = VENDORS
        .iter()
        .enumerate()
        .map(|(i, v)| Vendor {
            id: vendor_id(i),
            name: v.name.to_owned(),
            email: Some(v.email.to_owned()),
            phone: Some(format!("+1312555{:04}", 200 + i)),
            lead_time_days: v.lead_time_days,
            minimum_order: Money::from_minor(v.minimum_order_cents),
        })
        .collect();
    let mut terms = Vec::new();
    for (c, category) in CATEGORIES.iter().enumerate() {
        let category_id = CategoryId::new(format!("CAT-{:02}", c + 1));
        for item in catalog.items.iter().filter(|i| i.category_id.as_ref() == Some(&category_id)) {
            for variation in &item.variations {
                let cost = (variation.price.minor() as f64 * rng.range(0.42, 0.6)).round() as i64;
                terms.push(VendorItem {
                    vendor_id: vendor_id(category.vendor),
                    variation_id: variation.id.clone(),
                    unit_cost: Money::from_minor(cost),
                    pack_size: category.pack_size,
                    minimum_quantity: category.pack_size,
                    price_tiers: Vec::new(),
                    vendor_sku: None,
                });
            }
        }
    }
    (vendors, terms)
}

const GIVEN: &[&str] = &[
    "Alex", "Priya", "Jordan", "Maya", "Luis", "Hannah", "Omar", "Grace", "Ethan", "Sofia", "Noah", "Aisha", "Liam",
    "Chloe", "Mateo", "Zoe", "Ben", "Fatima", "Leo", "Ivy",
];
const FAMILY: &[&str] = &[
    "Kim", "Shah", "Lee", "Garcia", "Nguyen", "Okafor", "Rossi", "Cohen", "Murphy", "Silva", "Patel", "Novak", "Brown",
    "Dubois", "Tanaka", "Haddad", "Walsh", "Mendes", "Jensen", "Ali",
];

fn build_customers() -> Vec<Customer> {
    (0..40)
        .map(|i| {
            let given = GIVEN[i % GIVEN.len()];
            let family = FAMILY[(i + i / GIVEN.len() * 7) % FAMILY.len()];
            Customer {
                id: CustomerId::new(format!("CUST-{:03}", i + 1)),
                given_name: given.to_owned(),
                family_name: family.to_owned(),
                phone: Phone::parse(&format!("+1312555{:04}", 142 + i)),
                email: Some(format!("{}.{}@example.com", given.to_lowercase(), family.to_lowercase())),
            }
        })
        .collect()
}

/// Multiplier for a day of the week (Monday = 0) given the category's weekend lift.
fn weekly(weekday: u32, weekend_lift: f64) -> f64 {
    [0.85, 0.9, 0.95, 1.0, 1.12, weekend_lift, weekend_lift * 0.9][weekday as usize % 7]
}

fn seasonal(season: Season, date: NaiveDate) -> f64 {
    let doy = f64::from(date.ordinal());
    match season {
        Season::Flat => 1.0,
        Season::Winter => 1.0 + 0.45 * (2.0 * PI * (doy - 15.0) / 365.0).cos(),
        Season::Summer => 1.0 + 0.45 * (2.0 * PI * (doy - 196.0) / 365.0).cos(),
        Season::Holiday => {
            let christmas = NaiveDate::from_ymd_opt(date.year(), 12, 24).unwrap_or(date);
            let distance = (christmas - date).num_days() as f64;
            if (0.0..=30.0).contains(&distance) { 0.8 + 2.5 * (-(distance / 10.0).powi(2)).exp() } else { 0.8 }
        }
    }
}

/// Walks the history day by day.
struct History<'a> {
    options: &'a SimOptions,
    variations: Vec<(&'a Item, &'a Variation)>,
    demand: &'a [Demand],
    anomaly: Option<PlantedAnomaly>,
    stockout: (VariationId, LocationId, NaiveDate, NaiveDate),
    receipt: u64,
    events: Events,
}

/// Promotions at this share off...
const PROMOTION_DISCOUNT: f64 = 0.2;
/// ...sell this many times the usual units for their week, and the week after sells this share.
const PROMOTION_LIFT: f64 = 1.8;
const AFTER_PROMOTION: f64 = 0.8;
/// Promotions a year, each a week long.
const PROMOTIONS: usize = 8;
/// Stock-out spells per variation and location a year, on average, each one to six days.
const SPELLS_PER_YEAR: f64 = 0.5;
/// The latest days, kept free of promotions and stock-out spells: the anomaly alerts' baseline
/// (eight weeks) and the day they judge.
const QUIET_DAYS: u32 = 63;

/// The untidy part of the history, drawn from a stream of its own so the ordinary sales stay
/// as they were: stock-out spells per `(variation, location)`, promotions, and bulk buys.
struct Events {
    rng: Rng,
    /// `[variation * locations + location]` → `(first day, last day)` index pairs.
    spells: Vec<Vec<(u32, u32)>>,
    /// `(variation, first day, last day)`.
    promotions: Vec<(usize, u32, u32)>,
    /// Per variation: `(chance a day, fewest, most)`.
    bulk: Vec<Option<(f64, u32, u32)>>,
    /// Days before this index may have events.
    eventful: u32,
}

impl Events {
    fn draw(seed: u64, days: u32, variations: &[(&Item, &Variation)], demand: &[Demand]) -> Events {
        let mut rng = Rng(seed ^ 0x0E7E_27A1_5EED);
        let eventful = days.saturating_sub(QUIET_DAYS);
        let mut spells = vec![Vec::new(); variations.len() * LOCATIONS.len()];
        let mut promotions = Vec::new();
        if eventful > 60 {
            let year = f64::from(days) / 365.0;
            for spell in &mut spells {
                for _ in 0..rng.poisson(SPELLS_PER_YEAR * year) {
                    let start = 14 + rng.below((eventful - 20) as usize) as u32;
                    spell.push((start, start + rng.below(6) as u32));
                }
            }
            let candidates: Vec<usize> = (0..variations.len())
                .filter(|v| demand[*v].base >= 0.5 && !demand[*v].by_weight)
                .filter(|v| !BULK_BUYS.iter().any(|(name, ..)| *name == variations[*v].0.name))
                .collect();
            for _ in 0..((PROMOTIONS as f64 * year).round() as usize) {
                let v = candidates[rng.below(candidates.len())];
                let start = 21 + rng.below((eventful - 35) as usize) as u32;
                promotions.push((v, start, start + 6));
            }
        }
        let bulk = variations
            .iter()
            .map(|(item, _)| {
                BULK_BUYS.iter().find(|(name, ..)| *name == item.name).map(|(_, p, lo, hi)| (*p, *lo, *hi))
            })
            .collect();
        Events { rng, spells, promotions, bulk, eventful }
    }

    fn out_of_stock(&self, v: usize, location: usize, day: u32) -> bool {
        self.spells[v * LOCATIONS.len() + location].iter().any(|(from, to)| (*from..=*to).contains(&day))
    }

    /// How promotions move the variation's demand on `day`, and whether it is on promotion.
    fn promotion(&self, v: usize, day: u32) -> (f64, bool) {
        for (p, from, to) in &self.promotions {
            if *p != v {
                continue;
            }
            if (*from..=*to).contains(&day) {
                return (PROMOTION_LIFT, true);
            }
            if (to + 1..=to + 7).contains(&day) {
                return (AFTER_PROMOTION, false);
            }
        }
        (1.0, false)
    }

    /// Units of a bulk buy of the variation on `day`, if one happens.
    fn bulk_buy(&mut self, v: usize, day: u32) -> u32 {
        match self.bulk[v] {
            Some((chance, lo, hi)) if day < self.eventful && self.rng.chance(chance) => {
                lo + self.rng.below((hi - lo + 1) as usize) as u32
            }
            _ => 0,
        }
    }
}

impl<'a> History<'a> {
    fn new(options: &'a SimOptions, catalog: &'a Catalog, demand: &'a [Demand]) -> History<'a> {
        let variations: Vec<(&Item, &Variation)> =
            catalog.items.iter().flat_map(|i| i.variations.iter().map(move |v| (i, v))).collect();
        let croissant = variations.iter().find(|(i, _)| i.name == "Butter Croissant").map(|(_, v)| v.id.clone());
        let start = options.today - Duration::days(60);
        let events = Events::draw(options.seed, options.days, &variations, demand);
        History {
            options,
            events,
            variations,
            demand,
            anomaly: None,
            stockout: (
                croissant.unwrap_or_else(|| VariationId::new("")),
                LocationId::new("L-RIVER"),
                start,
                start + Duration::days(3),
            ),
            receipt: 20_000,
        }
    }

    /// The model's expected units for one variation at one location on one day.
    fn rate(&self, v: usize, location_factor: f64, day: u32, date: NaiveDate) -> f64 {
        let d = &self.demand[v];
        let trend = 1.0 + 0.1 * f64::from(day) / f64::from(self.options.days);
        let price_effect = match d.price_change {
            Some((from, _)) if day >= from => 0.9,
            _ => 1.0,
        };
        d.base
            * location_factor
            * weekly(date.weekday().num_days_from_monday(), d.weekend_lift)
            * seasonal(d.season, date)
            * trend
            * price_effect
    }

    fn run(&mut self, rng: &mut Rng, customers: &[Customer]) -> Vec<Order> {
        let mut orders = Vec::new();
        for day in 0..self.options.days {
            let date = self.options.today - Duration::days(i64::from(self.options.days - day));
            for (location, (location_id, _, factor)) in LOCATIONS.iter().enumerate() {
                let lines = self.day_lines(rng, day, date, location, *factor);
                orders.extend(self.baskets(rng, lines, date, location_id, customers));
            }
        }
        orders
    }

    fn day_lines(&mut self, rng: &mut Rng, day: u32, date: NaiveDate, location: usize, factor: f64) -> Vec<OrderLine> {
        let location_id = LOCATIONS[location].0;
        let mut lines = Vec::new();
        let yesterday = day + 1 == self.options.days;
        for v in 0..self.variations.len() {
            let (item, variation) = self.variations[v];
            let lambda = self.rate(v, factor, day, date);
            let (lift, on_promotion) = self.events.promotion(v, day);
            let mut units = rng.poisson(lambda * lift) + self.events.bulk_buy(v, day);
            if self.events.out_of_stock(v, location, day) {
                units = 0;
            }
            if variation.id == self.stockout.0
                && location_id == self.stockout.1.as_str()
                && (self.stockout.2..=self.stockout.3).contains(&date)
            {
                units = 0;
            }
            if yesterday && location_id == "L-MAIN" && item.name == "Oat Milk 1L" {
                // The planted anomaly: oat milk ran out at Main St at about half past nine
                // in the morning, a fifth of the way through the day.
                units = (lambda * 0.2).round() as u32;
                self.anomaly = Some(PlantedAnomaly {
                    variation_id: variation.id.clone(),
                    location_id: LocationId::new(location_id),
                    date,
                    expected_units: lambda,
                    actual_units: Quantity::from_units(i64::from(units)),
                });
            }
            let price = match self.demand[v].price_change {
                Some((from, old)) if day < from => old,
                _ => variation.price,
            };
            for _ in 0..units {
                let quantity = if self.demand[v].by_weight {
                    Quantity::from_milli((rng.range(0.3, 1.5) * 200.0).round() as i64 * 5)
                } else {
                    Quantity::from_units(1)
                };
                let discount = if on_promotion {
                    Money::from_minor(
                        (price.times_milli(quantity.milli()).minor() as f64 * PROMOTION_DISCOUNT).round() as i64
                    )
                } else {
                    Money::ZERO
                };
                lines.push(OrderLine {
                    variation_id: Some(variation.id.clone()),
                    name: item.display_name(variation),
                    quantity,
                    unit_price: price,
                    discount,
                });
            }
        }
        lines
    }

    /// Packs a day's units into baskets of one to a handful of lines.
    fn baskets(
        &mut self,
        rng: &mut Rng,
        mut lines: Vec<OrderLine>,
        date: NaiveDate,
        location_id: &str,
        customers: &[Customer],
    ) -> Vec<Order> {
        for i in (1..lines.len()).rev() {
            let j = rng.below(i + 1);
            lines.swap(i, j);
        }
        let lines = pair_companions(lines);
        let mut orders = Vec::new();
        let mut rest = lines.as_slice();
        while !rest.is_empty() {
            let size = (1 + rng.poisson(1.4) as usize).min(rest.len());
            let (basket, tail) = rest.split_at(size);
            rest = tail;
            let mut merged: Vec<OrderLine> = Vec::new();
            for line in basket {
                match merged.iter_mut().find(|m| m.variation_id == line.variation_id && m.unit_price == line.unit_price)
                {
                    Some(m) => {
                        m.quantity += line.quantity;
                        m.discount += line.discount;
                    }
                    None => merged.push(line.clone()),
                }
            }
            self.receipt += 1;
            let minute = rng.below(12 * 60) as u32;
            let local = date.and_hms_opt(7 + minute / 60, minute % 60, rng.below(60) as u32).unwrap_or_default();
            let created_at_ms =
                self.options.timezone.from_local_datetime(&local).earliest().map_or(0, |t| t.timestamp_millis());
            let gross: Money = merged.iter().map(OrderLine::gross).sum();
            let discounted = rng.chance(0.06);
            if discounted {
                for line in &mut merged {
                    line.discount = line.discount.max(Money::from_minor(line.gross().minor() / 10));
                }
            }
            let discount: Money = merged.iter().map(|l| l.discount).sum();
            let total = gross - discount;
            let refunded = if rng.chance(0.005) { total } else { Money::ZERO };
            let customer_id = rng.chance(0.12).then(|| customers[rng.below(customers.len())].id.clone());
            orders.push(Order {
                id: OrderId::new(format!("ORD-S-{}", self.receipt)),
                number: self.receipt.to_string(),
                location_id: LocationId::new(location_id),
                customer_id,
                created_at_ms,
                state: OrderState::Completed,
                lines: merged,
                total,
                discount,
                refunded,
                fulfilment: None,
            });
        }
        orders
    }
}

/// Moves a share of each companion's lines next to a line of the item it goes with, so the
/// basket split usually keeps them together. The day's lines stay the same; only which basket
/// they land in changes.
fn pair_companions(lines: Vec<OrderLine>) -> Vec<OrderLine> {
    let mut lines = lines;
    for (first, second, share) in super::catalog_data::COMPANIONS {
        let of =
            |name: &str| lines.iter().enumerate().filter(|(_, l)| l.name == name).map(|(i, _)| i).collect::<Vec<_>>();
        let (firsts, seconds) = (of(first), of(second));
        let moved = firsts.len().min((seconds.len() as f64 * share).round() as usize);
        if moved == 0 {
            continue;
        }
        let follows: HashMap<usize, usize> =
            firsts.iter().take(moved).copied().zip(seconds.iter().take(moved).copied()).collect();
        let taken: HashSet<usize> = follows.values().copied().collect();
        let mut paired = Vec::with_capacity(lines.len());
        for (i, line) in lines.iter().enumerate() {
            if taken.contains(&i) {
                continue;
            }
            paired.push(line.clone());
            if let Some(j) = follows.get(&i) {
                paired.push(lines[*j].clone());
            }
        }
        lines = paired;
    }
    lines
}

/// Online orders #1001–#1048 over the last three weeks, in every fulfilment state. A few are
/// fixed so the demo tour and the tests can rely on them: #1042 shipped to Alex Kim, #1043
/// ready for pickup for Priya Shah, #1044 unfulfilled for Jordan Lee, #1045 delivered to Alex,
/// #1046 cancelled for Priya.
fn online_orders(options: &SimOptions, catalog: &Catalog, customers: &[Customer], rng: &mut Rng) -> Vec<Order> {
    let giftable: Vec<(&Item, &Variation)> = catalog
        .items
        .iter()
        .filter(|i| {
            matches!(
                i.category_id.as_ref().map(CategoryId::as_str),
                Some("CAT-01" | "CAT-07" | "CAT-12" | "CAT-13" | "CAT-14")
            )
        })
        .flat_map(|i| i.variations.iter().map(move |v| (i, v)))
        .collect();
    let now_ms = options
        .timezone
        .from_local_datetime(&options.today.and_hms_opt(9, 0, 0).unwrap_or_default())
        .earliest()
        .map_or(0, |t| t.timestamp_millis());
    let day_ms = 86_400_000;
    let mut orders = Vec::new();
    for n in 1001..=1048u32 {
        let age_days = i64::from(1048 - n) * 21 / 48 + 1;
        let created_at_ms = now_ms - age_days * day_ms - rng.below(8 * 3_600_000) as i64;
        let (customer, kind, state) = match n {
            1042 => (0, FulfilmentKind::Shipment, FulfilmentState::Shipped),
            1043 => (1, FulfilmentKind::Pickup, FulfilmentState::ReadyForPickup),
            1044 => (2, FulfilmentKind::Shipment, FulfilmentState::Unfulfilled),
            1045 => (0, FulfilmentKind::Shipment, FulfilmentState::Delivered),
            1046 => (1, FulfilmentKind::Pickup, FulfilmentState::Cancelled),
            _ => {
                let kind = if rng.chance(0.3) { FulfilmentKind::Pickup } else { FulfilmentKind::Shipment };
                let state = if n % 9 == 0 {
                    FulfilmentState::Cancelled
                } else if age_days > 10 {
                    FulfilmentState::Delivered
                } else if age_days > 4 && kind == FulfilmentKind::Shipment {
                    FulfilmentState::Shipped
                } else if kind == FulfilmentKind::Pickup {
                    FulfilmentState::ReadyForPickup
                } else {
                    FulfilmentState::Unfulfilled
                };
                (3 + rng.below(customers.len() - 3), kind, state)
            }
        };
        let lines: Vec<OrderLine> = (0..1 + rng.below(3))
            .map(|_| {
                let (item, variation) = giftable[rng.below(giftable.len())];
                OrderLine {
                    variation_id: Some(variation.id.clone()),
                    name: item.display_name(variation),
                    quantity: Quantity::from_units(1 + rng.below(2) as i64),
                    unit_price: variation.price,
                    discount: Money::ZERO,
                }
            })
            .collect();
        let shipped =
            matches!(state, FulfilmentState::Shipped | FulfilmentState::Delivered) && kind == FulfilmentKind::Shipment;
        let tracking = shipped.then(|| format!("1Z999AA1{:010}", u64::from(n) * 7_919 % 10_000_000_000));
        let order_state = match state {
            FulfilmentState::Cancelled => OrderState::Cancelled,
            FulfilmentState::Delivered => OrderState::Completed,
            _ => OrderState::Open,
        };
        let total = lines.iter().map(OrderLine::gross).sum();
        orders.push(Order {
            id: OrderId::new(format!("ORD-W-{n}")),
            number: n.to_string(),
            location_id: LocationId::new("L-MAIN"),
            customer_id: Some(customers[customer].id.clone()),
            created_at_ms,
            state: order_state,
            lines,
            total,
            discount: Money::ZERO,
            refunded: Money::ZERO,
            fulfilment: Some(Fulfilment {
                kind,
                state,
                carrier: shipped.then(|| "UPS".to_owned()),
                tracking_url: tracking.as_ref().map(|t| format!("https://www.ups.com/track?tracknum={t}")),
                tracking_number: tracking,
                updated_at_ms: created_at_ms + (age_days.min(3)) * day_ms / 2,
                balance_due: None,
            }),
        });
    }
    orders
}

fn build_stock(
    options: &SimOptions,
    catalog: &Catalog,
    demand: &[Demand],
    history: &History<'_>,
    rng: &mut Rng,
) -> Vec<StockLevel> {
    let counted_at = options
        .timezone
        .from_local_datetime(&options.today.and_hms_opt(6, 30, 0).unwrap_or_default())
        .earliest()
        .map_or(0, |t| t.timestamp_millis());
    let mut stock = Vec::new();
    let variations = catalog.items.iter().flat_map(|i| i.variations.iter().map(move |v| (i, v)));
    for (v, (item, variation)) in variations.enumerate() {
        for (location_id, _, factor) in LOCATIONS {
            let daily = history.rate(v, factor, options.days, options.today);
            let days_of_cover = if rng.chance(0.07) { 0.0 } else { rng.range(1.0, 14.0) };
            let mut on_hand = if demand[v].by_weight {
                Quantity::from_milli((daily * days_of_cover * 1000.0).round() as i64)
            } else {
                Quantity::from_units(
                    (daily * days_of_cover).round() as i64 + i64::from(daily < 0.5 && days_of_cover > 0.0) * 2,
                )
            };
            if item.name == "Oat Milk 1L" && location_id == "L-MAIN" {
                on_hand = Quantity::ZERO;
            }
            stock.push(StockLevel {
                variation_id: variation.id.clone(),
                location_id: LocationId::new(location_id),
                on_hand,
                counted_at_ms: counted_at,
            });
        }
    }
    stock
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(seed: u64) -> SimShop {
        let today = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        generate(&SimOptions { days: 60, ..SimOptions::new(seed, today) })
    }

    #[test]
    fn same_seed_same_shop() {
        let (a, b) = (small(7), small(7));
        assert_eq!(a.orders, b.orders);
        assert_eq!(a.stock, b.stock);
        assert_ne!(small(8).orders, a.orders);
    }

    #[test]
    fn every_fulfilment_state_is_present() {
        let shop = small(1);
        for state in [
            FulfilmentState::Unfulfilled,
            FulfilmentState::Shipped,
            FulfilmentState::ReadyForPickup,
            FulfilmentState::Delivered,
            FulfilmentState::Cancelled,
        ] {
            assert!(shop.orders.iter().any(|o| o.fulfilment.as_ref().is_some_and(|f| f.state == state)), "{state:?}");
        }
    }

    #[test]
    fn anomaly_is_planted_yesterday_well_below_expectation() {
        let shop = small(3);
        assert_eq!(shop.anomaly.date, shop.today - Duration::days(1));
        assert!(shop.anomaly.actual_units.as_f64() < shop.anomaly.expected_units * 0.6);
    }

    /// A year of the shop is as untidy as a real one: every demand class is there, steady
    /// sellers run out for days at a time, promotions sell at 20% off, and bulk buys make some
    /// items lumpy; the last nine weeks are free of all of it.
    #[test]
    fn a_year_has_stock_outs_promotions_and_lumpy_demand() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        let shop = generate(&SimOptions::new(42, today));
        let first = today - Duration::days(365);
        let quiet_from = today - Duration::days(i64::from(QUIET_DAYS));
        let mut daily: HashMap<(VariationId, LocationId), Vec<f64>> = HashMap::new();
        let mut promoted_days: HashSet<(VariationId, NaiveDate)> = HashSet::new();
        for order in &shop.orders {
            let Some(at) = shop.timezone.timestamp_millis_opt(order.created_at_ms).single() else { continue };
            let date = at.date_naive();
            let Ok(day) = usize::try_from((date - first).num_days()) else { continue };
            for line in &order.lines {
                let Some(variation) = &line.variation_id else { continue };
                let series =
                    daily.entry((variation.clone(), order.location_id.clone())).or_insert_with(|| vec![0.0; 365]);
                if let Some(units) = series.get_mut(day) {
                    *units += line.quantity.as_f64();
                }
                // A promotion's 20% is above the 10% a discounted basket gets.
                if line.discount.minor() * 100 >= line.gross().minor() * 19 && line.gross().minor() > 0 {
                    promoted_days.insert((variation.clone(), date));
                }
            }
        }
        let classes: HashSet<crate::forecast::DemandClass> =
            daily.values().map(|d| crate::forecast::classify(d)).collect();
        assert_eq!(classes.len(), 4, "smooth, erratic, intermittent and lumpy: {classes:?}");
        assert!(promoted_days.len() >= 40, "eight week-long promotions: {} item-days", promoted_days.len());
        assert!(promoted_days.iter().all(|(_, d)| *d < quiet_from), "none in the last nine weeks");
        // Steady sellers (five a day or more) with a run of three days or more without a sale.
        let runs = daily
            .values()
            .filter(|d| d.iter().sum::<f64>() / 365.0 >= 5.0)
            .filter(|d| d.windows(3).any(|w| w.iter().all(|u| *u == 0.0)))
            .count();
        assert!(runs >= 5, "steady sellers out of stock for days: {runs}");
    }
}
