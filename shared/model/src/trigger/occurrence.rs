//! Occurrences: one firing of a time trigger for a record, and the key that names it.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Which occurrence of a trigger for a record: the anniversary year for yearly triggers, the
/// anchor value itself for once-only ones (so a moved date is a new occurrence, and an unchanged
/// one never fires twice).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OccurrenceKey {
    Year(i32),
    Once(NaiveDateTime),
}

impl fmt::Display for OccurrenceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OccurrenceKey::Year(y) => write!(f, "Y{y:04}"),
            OccurrenceKey::Once(at) => write!(f, "O{}", at.format("%Y%m%dT%H%M")),
        }
    }
}

impl std::str::FromStr for OccurrenceKey {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("'{s}' is not an occurrence key");
        match s.split_at_checked(1).ok_or_else(bad)? {
            ("Y", year) => year.parse().map(OccurrenceKey::Year).map_err(|_| bad()),
            ("O", at) => NaiveDateTime::parse_from_str(at, "%Y%m%dT%H%M")
                .map(OccurrenceKey::Once)
                .map_err(|_| bad()),
            _ => Err(bad()),
        }
    }
}

impl Serialize for OccurrenceKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One firing of a trigger for a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Occurrence {
    pub key: OccurrenceKey,
    pub fire_at: DateTime<Utc>,
}
