//! Demand forecasting for reordering. Each item's daily demand (per location) is classified
//! by the Syntetos–Boylan scheme (smooth, erratic, intermittent, lumpy); candidate models for
//! each class, their combination among them, are compared by a rolling-origin backtest pooled
//! over the shop's items of that class and the best is kept; an item with too little history to
//! backtest is ordered for conservatively and its PO line says so; days the item was out of stock are treated as unknown demand, not as zero; and what
//! reorder needs is a quantile of demand over the lead time, not only a mean.
//!
//! Everything here is plain arithmetic on `f64` slices (units per day), so it is fast enough
//! to run for thousands of items on every reorder and easy to check by hand.

pub mod anomaly;
pub mod backtest;
pub mod classify;
pub mod methods;
pub mod policy;
pub mod quantile;
pub mod select;
pub mod series;

pub use classify::{DemandClass, classify};
pub use methods::Method;
pub use select::{Choice, Selection};
pub use series::{DailySeries, build_series, censored_days, impute_censored};
