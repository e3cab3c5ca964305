//! The daily summary's figures against sums computed here from the simulated shop's orders,
//! on both backends, and its chart as a real PNG.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::TimeZone;
use tillpilot::domain::OrderState;
use tillpilot::workflows::summary::{build, reply};

#[tokio::test]
async fn summary_figures_match_independent_sums_and_the_chart_is_a_png() {
    for db in common::databases().await {
        let app = common::app(&db).await;
        let shop = common::shop();
        let date = shop.today - chrono::Duration::days(1);
        let summary = build(&app, date).await.unwrap();

        // The same day's figures, summed here straight from the generated orders.
        let tz = shop.timezone;
        let orders_of = shop.orders.clone();
        let on = |d: chrono::NaiveDate| -> Vec<tillpilot::domain::Order> {
            orders_of
                .iter()
                .filter(|o| {
                    o.state != OrderState::Cancelled
                        && tz.timestamp_millis_opt(o.created_at_ms).unwrap().date_naive() == d
                })
                .cloned()
                .collect()
        };
        let revenue: i64 = on(date).iter().map(|o| o.total.minor() - o.refunded.minor()).sum();
        let orders = on(date).len();
        let units: f64 = on(date).iter().flat_map(|o| o.lines.iter()).map(|l| l.quantity.as_f64()).sum();
        let refunds: i64 = on(date).iter().map(|o| o.refunded.minor()).sum();
        let discounts: i64 = on(date).iter().map(|o| o.discount.minor()).sum();
        assert_eq!(summary.day.revenue, revenue as f64, "{}", db.label);
        assert_eq!(summary.day.orders, orders as f64);
        assert!((summary.day.units - units).abs() < 1e-6);
        assert_eq!((summary.day.refunds, summary.day.discounts), (refunds as f64, discounts as f64));
        let last_week: i64 =
            on(date - chrono::Duration::days(7)).iter().map(|o| o.total.minor() - o.refunded.minor()).sum();
        assert_eq!(summary.same_weekday_last_week.revenue, last_week as f64);
        let same_weekdays: i64 = [7, 14, 21, 28]
            .into_iter()
            .flat_map(|k| on(date - chrono::Duration::days(k)))
            .map(|o: tillpilot::domain::Order| o.total.minor() - o.refunded.minor())
            .sum();
        assert!((summary.same_weekday_average.revenue - same_weekdays as f64 / 4.0).abs() < 1e-6);
        let per_location: f64 = summary.locations.iter().map(|(_, f)| f.revenue).sum();
        assert_eq!(per_location, summary.day.revenue, "locations add up to the day");
        let categories: f64 = summary.categories.iter().map(|(_, r)| r).sum();
        let lines: i64 =
            on(date).iter().flat_map(|o| o.lines.iter()).map(|l| l.gross().minor() - l.discount.minor()).sum();
        assert_eq!(categories, lines as f64, "categories add up to the lines");
        assert_eq!(summary.daily_revenue.len(), 28);
        assert_eq!(summary.daily_revenue.last().unwrap(), &(date, revenue as f64));

        let message = reply(&summary);
        assert!(message.text.starts_with(&format!("Sales for {}", date.format("%a %b %-d"))), "{}", message.text);
        let field = |name: &str| message.fields.iter().find(|f| f.label == name).unwrap().value.clone();
        assert!(field("Revenue").contains(&format!("vs last {}", date.format("%a"))), "{}", field("Revenue"));
        assert!(
            field("Revenue").contains(&format!("vs the average {} of 4 weeks", date.format("%a"))),
            "{}",
            field("Revenue")
        );
        use base64::Engine;
        let png = base64::engine::general_purpose::STANDARD.decode(&message.image.unwrap().png_base64).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let reader = decoder.read_info().unwrap();
        assert_eq!((reader.info().width, reader.info().height), (900, 560));
    }
}
