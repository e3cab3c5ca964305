//! Money in integer minor units (cents). Never a float.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::{Add, AddAssign, Mul, Sub};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Money(pub i64);

impl Money {
    pub const ZERO: Money = Money(0);

    pub const fn from_minor(minor: i64) -> Self {
        Money(minor)
    }

    pub fn minor(self) -> i64 {
        self.0
    }

    /// Parses a major-unit decimal such as `12.5` or `-3.99` into minor units, exactly.
    pub fn parse_major(text: &str) -> Option<Money> {
        super::decimal::parse_fixed(text, 2).map(Money)
    }

    /// Multiplies by a quantity given in thousandths, rounding half away from zero.
    pub fn times_milli(self, milli: i64) -> Money {
        let product = i128::from(self.0) * i128::from(milli);
        let rounded = if product >= 0 { (product + 500) / 1000 } else { (product - 500) / 1000 };
        Money(i64::try_from(rounded).unwrap_or(i64::MAX))
    }
}

impl fmt::Display for Money {
    /// Formats as `$1,234.50` (the shop currency symbol is applied by the caller when it is not
    /// a dollar; most shops we serve price in dollars).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let whole = abs / 100;
        let cents = abs % 100;
        let digits = whole.to_string();
        let mut grouped = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        write!(f, "{sign}${grouped}.{cents:02}")
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        Money(self.0 + rhs.0)
    }
}

impl AddAssign for Money {
    fn add_assign(&mut self, rhs: Money) {
        self.0 += rhs.0;
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, rhs: Money) -> Money {
        Money(self.0 - rhs.0)
    }
}

impl Mul<i64> for Money {
    type Output = Money;
    fn mul(self, rhs: i64) -> Money {
        Money(self.0 * rhs)
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        Money(iter.map(|m| m.0).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_major_units_exactly() {
        assert_eq!(Money::parse_major("12.5"), Some(Money(1250)));
        assert_eq!(Money::parse_major("0.07"), Some(Money(7)));
        assert_eq!(Money::parse_major("-3.99"), Some(Money(-399)));
        assert_eq!(Money::parse_major("4"), Some(Money(400)));
        assert_eq!(Money::parse_major("1.234"), None);
        assert_eq!(Money::parse_major("1.50"), Some(Money(150)));
        assert_eq!(Money::parse_major("abc"), None);
        assert_eq!(Money::parse_major(""), None);
    }

    #[test]
    fn displays_with_grouping() {
        assert_eq!(Money(123_456_789).to_string(), "$1,234,567.89");
        assert_eq!(Money(-5).to_string(), "-$0.05");
        assert_eq!(Money(100).to_string(), "$1.00");
    }

    #[test]
    fn multiplies_by_fractional_quantity() {
        assert_eq!(Money(299).times_milli(1500), Money(449)); // 4.485 rounds half up
        assert_eq!(Money(1000).times_milli(3000), Money(3000));
    }
}
