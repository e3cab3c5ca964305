//! Stock and sale quantities: fixed-point with three decimals, because some POS systems sell
//! by weight (0.25 kg of coffee beans) while most count whole units.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::ops::{Add, AddAssign, Neg, Sub};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity {
    milli: i64,
}

impl Quantity {
    pub const ZERO: Quantity = Quantity { milli: 0 };

    pub fn from_units(units: i64) -> Self {
        Quantity { milli: units * 1000 }
    }

    pub fn from_milli(milli: i64) -> Self {
        Quantity { milli }
    }

    pub fn milli(self) -> i64 {
        self.milli
    }

    pub fn as_f64(self) -> f64 {
        self.milli as f64 / 1000.0
    }

    pub fn is_whole(self) -> bool {
        self.milli % 1000 == 0
    }

    /// Parses decimals like `"3"`, `"0.25"`, `"-1.5"` (the form Square and Shopify send).
    pub fn parse(text: &str) -> Option<Quantity> {
        super::decimal::parse_fixed(text, 3).map(|milli| Quantity { milli })
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.milli < 0 { "-" } else { "" };
        let abs = self.milli.unsigned_abs();
        let whole = abs / 1000;
        let frac = abs % 1000;
        if frac == 0 {
            write!(f, "{sign}{whole}")
        } else {
            let frac = format!("{frac:03}");
            write!(f, "{sign}{whole}.{}", frac.trim_end_matches('0'))
        }
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Quantity::parse(&text).ok_or_else(|| serde::de::Error::custom(format!("not a quantity: {text:?}")))
    }
}

impl Add for Quantity {
    type Output = Quantity;
    fn add(self, rhs: Quantity) -> Quantity {
        Quantity { milli: self.milli + rhs.milli }
    }
}

impl AddAssign for Quantity {
    fn add_assign(&mut self, rhs: Quantity) {
        self.milli += rhs.milli;
    }
}

impl Sub for Quantity {
    type Output = Quantity;
    fn sub(self, rhs: Quantity) -> Quantity {
        Quantity { milli: self.milli - rhs.milli }
    }
}

impl Neg for Quantity {
    type Output = Quantity;
    fn neg(self) -> Quantity {
        Quantity { milli: -self.milli }
    }
}

impl std::iter::Sum for Quantity {
    fn sum<I: Iterator<Item = Quantity>>(iter: I) -> Quantity {
        Quantity { milli: iter.map(|q| q.milli).sum() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_decimals() {
        for text in ["3", "0.25", "-1.5", "12.125"] {
            let parsed = Quantity::parse(text);
            assert_eq!(parsed.map(|q| q.to_string()).as_deref(), Some(text));
        }
        assert_eq!(Quantity::parse("2.500"), Some(Quantity::from_milli(2500)));
        assert_eq!(Quantity::parse("1.0001"), None);
        assert_eq!(Quantity::parse("x"), None);
        assert_eq!(Quantity::parse(".5"), None);
    }
}
