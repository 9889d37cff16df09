//! Points in tenths, so that 0.2 + 0.3 + 0.5 adds up exactly.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, Sub};

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// A score in tenths of a point; the seed never goes finer than 0.1.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Points(u32);

impl Points {
    pub const ZERO: Points = Points(0);

    pub fn from_tenths(tenths: u32) -> Self {
        Points(tenths)
    }

    pub fn tenths(self) -> u32 {
        self.0
    }

    pub fn as_f64(self) -> f64 {
        f64::from(self.0) / 10.0
    }

    /// `None` for negative values or values finer than a tenth.
    pub fn from_f64(value: f64) -> Option<Self> {
        let tenths = (value * 10.0).round();
        let exact = (value * 10.0 - tenths).abs() < 1e-6;
        (exact && (0.0..=f64::from(u32::MAX)).contains(&tenths)).then_some(Points(tenths as u32))
    }
}

impl Add for Points {
    type Output = Points;
    fn add(self, other: Points) -> Points {
        Points(self.0 + other.0)
    }
}

/// What is left of `self` after `other`, never below zero.
impl Sub for Points {
    type Output = Points;
    fn sub(self, other: Points) -> Points {
        Points(self.0.saturating_sub(other.0))
    }
}

impl Sum for Points {
    fn sum<I: Iterator<Item = Points>>(iter: I) -> Points {
        iter.fold(Points::ZERO, Add::add)
    }
}

impl fmt::Display for Points {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_multiple_of(10) {
            write!(f, "{}", self.0 / 10)
        } else {
            write!(f, "{}.{}", self.0 / 10, self.0 % 10)
        }
    }
}

impl Serialize for Points {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.as_f64())
    }
}

impl<'de> Deserialize<'de> for Points {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = f64::deserialize(deserializer)?;
        Points::from_f64(value).ok_or_else(|| {
            de::Error::custom(format!(
                "{value} is not a valid score: use a non-negative number with at most one decimal"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenths_add_exactly_and_print_like_the_seed() {
        let sum: Points = [0.2, 0.7, 0.3, 0.3, 0.5].into_iter().map(|p| Points::from_f64(p).unwrap()).sum();
        assert_eq!(sum, Points::from_tenths(20));
        assert_eq!(sum.to_string(), "2");
        assert_eq!(Points::from_tenths(295).to_string(), "29.5");
        assert_eq!(Points::from_f64(0.25), None);
        assert_eq!(Points::from_f64(-1.0), None);
    }
}
