//! The summary's chart, drawn with plotters into a PNG: the last 28 days of revenue with the
//! summarised day highlighted, and that day's revenue by category. Text uses the bundled
//! DejaVu Sans, so the chart looks the same on every machine.

use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};
use std::sync::Once;

const WIDTH: u32 = 900;
const HEIGHT: u32 = 560;
const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

const BAR: RGBColor = RGBColor(160, 174, 192);
const HIGHLIGHT: RGBColor = RGBColor(34, 102, 204);
const CATEGORY: RGBColor = RGBColor(52, 152, 120);

/// `daily` is `(label, revenue in major units)` oldest first, the last being the day
/// summarised; `categories` is `(name, revenue)` largest first.
pub fn render(title: &str, daily: &[(String, f64)], categories: &[(String, f64)]) -> Result<Vec<u8>, String> {
    REGISTER.call_once(|| {
        if register_font("sans-serif", FontStyle::Normal, FONT).is_err() {
            tracing::warn!("the bundled chart font could not be read");
        }
    });
    let mut pixels = vec![255u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let root = root.titled(title, ("sans-serif", 22)).map_err(|e| e.to_string())?;
        let (top, bottom) = root.split_vertically(300);
        draw_days(&top, daily).map_err(|e| e.to_string())?;
        draw_categories(&bottom, categories).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    encode_png(&pixels)
}

fn draw_days<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    daily: &[(String, f64)],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let top = daily.iter().map(|(_, v)| *v).fold(0.0, f64::max).max(1.0) * 1.1;
    let mut chart = ChartBuilder::on(area)
        .caption("Revenue, last 28 days", ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(28)
        .y_label_area_size(64)
        .build_cartesian_2d(0..daily.len(), 0.0..top)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(daily.len().min(8))
        .x_label_formatter(&|i| daily.get(*i).map_or(String::new(), |(label, _)| label.clone()))
        .y_label_formatter(&|v| format!("${v:.0}"))
        .label_style(("sans-serif", 12))
        .draw()?;
    let last = daily.len().saturating_sub(1);
    chart.draw_series(daily.iter().enumerate().map(|(i, (_, v))| {
        let color = if i == last { HIGHLIGHT } else { BAR };
        let mut bar = Rectangle::new([(i, 0.0), (i + 1, *v)], color.filled());
        bar.set_margin(0, 0, 2, 2);
        bar
    }))?;
    Ok(())
}

fn draw_categories<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    categories: &[(String, f64)],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let shown: Vec<&(String, f64)> = categories.iter().take(8).collect();
    let top = shown.iter().map(|(_, v)| *v).fold(0.0, f64::max).max(1.0) * 1.15;
    let mut chart = ChartBuilder::on(area)
        .caption("The day by category", ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(28)
        .y_label_area_size(64)
        .build_cartesian_2d(0..shown.len().max(1), 0.0..top)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(shown.len().max(1))
        .x_label_formatter(&|i| shown.get(*i).map_or(String::new(), |(name, _)| name.chars().take(14).collect()))
        .y_label_formatter(&|v| format!("${v:.0}"))
        .label_style(("sans-serif", 12))
        .draw()?;
    chart.draw_series(shown.iter().enumerate().map(|(i, (_, v))| {
        let mut bar = Rectangle::new([(i, 0.0), (i + 1, *v)], CATEGORY.filled());
        bar.set_margin(0, 0, 12, 12);
        bar
    }))?;
    Ok(())
}

fn encode_png(rgb: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(rgb).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out)
}
