//! Time triggers and the pure function giving the next fire instant of one.

use super::catch_up::CatchUp;
use super::occurrence::{Occurrence, OccurrenceKey};
use crate::record::{FieldValue, Record};
use crate::schema::{FieldKind, ModuleSchema};
use crate::validation::Problems;
use chrono::{
    DateTime, Datelike, Duration, LocalResult, Months, NaiveDate, NaiveDateTime, NaiveTime,
    TimeZone, Utc,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// Once, or every year on the anniversary (birthday, founding day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recurrence {
    Once,
    Yearly,
}

/// Where a yearly trigger on Feb 29 fires in a year without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feb29Policy {
    #[default]
    Feb28,
    Mar1,
    Skip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OffsetUnit {
    Minutes,
    Hours,
    Days,
    Months,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Before,
    After,
}

/// "N units before/after" the date; zero means on the day itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Offset {
    pub amount: u32,
    pub unit: OffsetUnit,
    pub direction: Direction,
}

impl Offset {
    pub const ON_THE_DAY: Offset = Offset {
        amount: 0,
        unit: OffsetUnit::Days,
        direction: Direction::After,
    };

    /// Largest amount per unit: about two years, which keeps the next-fire search bounded.
    fn max_amount(unit: OffsetUnit) -> u32 {
        match unit {
            OffsetUnit::Minutes => 2 * 366 * 24 * 60,
            OffsetUnit::Hours => 2 * 366 * 24,
            OffsetUnit::Days => 2 * 366,
            OffsetUnit::Months => 24,
        }
    }
}

impl Default for Offset {
    fn default() -> Self {
        Self::ON_THE_DAY
    }
}

/// A care workflow's "when".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeTrigger {
    /// A date or date-time field of the workflow's module.
    pub date_field: String,
    #[serde(default)]
    pub offset: Offset,
    pub recurrence: Recurrence,
    /// Local time of day to fire. Required for date fields; for date-time fields, absent means
    /// the field's own time.
    #[serde(default)]
    pub time_of_day: Option<NaiveTime>,
    /// Absent: the tenant's default policy.
    #[serde(default)]
    pub feb29: Option<Feb29Policy>,
    #[serde(default)]
    pub catch_up: CatchUp,
}

/// The value a time trigger counts from, in the firing time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    Date(NaiveDate),
    DateTime(NaiveDateTime),
}

impl Anchor {
    /// The record's anchor for `field`, seen in `tz`; `None` when the field is empty.
    pub fn of(record: &Record, field: &str, tz: Tz) -> Option<Anchor> {
        match record.get(field)? {
            FieldValue::Date(d) => Some(Anchor::Date(*d)),
            FieldValue::DateTime(dt) => Some(Anchor::DateTime(dt.with_timezone(&tz).naive_local())),
            _ => None,
        }
    }

    fn date(self) -> NaiveDate {
        match self {
            Anchor::Date(d) => d,
            Anchor::DateTime(dt) => dt.date(),
        }
    }
}

impl<'de> Deserialize<'de> for OccurrenceKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl TimeTrigger {
    pub(super) fn validate(&self, schema: &ModuleSchema, path: &str) -> Problems {
        let mut problems = Problems::default();
        match schema.field(&self.date_field).map(|f| &f.kind) {
            Some(FieldKind::Date) => {
                if self.time_of_day.is_none() {
                    problems.push(
                        format!("{path}/time_of_day"),
                        "a trigger on a date field needs a time of day",
                    );
                }
                if matches!(self.offset.unit, OffsetUnit::Minutes | OffsetUnit::Hours)
                    && self.offset.amount > 0
                    && self.time_of_day.is_none()
                {
                    problems.push(
                        format!("{path}/offset/unit"),
                        "minutes and hours count from the time of day",
                    );
                }
            }
            Some(FieldKind::DateTime) => {}
            Some(kind) => problems.push(
                format!("{path}/date_field"),
                format!(
                    "'{}' is a {} field; a time trigger needs a date or date-time field",
                    self.date_field,
                    kind.name()
                ),
            ),
            None => problems.push(
                format!("{path}/date_field"),
                format!("{} has no field '{}'", schema.module(), self.date_field),
            ),
        }
        let max = Offset::max_amount(self.offset.unit);
        if self.offset.amount > max {
            problems.push(
                format!("{path}/offset/amount"),
                format!("at most {max} {:?}", self.offset.unit).to_lowercase(),
            );
        }
        problems.extend(self.catch_up.validate(&format!("{path}/catch_up")));
        problems
    }

    /// The first occurrence that fires strictly after `after`, or `None` when there is none
    /// (a once-only trigger already past).
    pub fn next_after(
        &self,
        anchor: Anchor,
        tz: Tz,
        feb29: Feb29Policy,
        after: DateTime<Utc>,
    ) -> Option<Occurrence> {
        match self.recurrence {
            Recurrence::Once => {
                let occurrence = self.occurrence_for(anchor, anchor.date(), tz)?;
                (occurrence.fire_at > after).then_some(occurrence)
            }
            Recurrence::Yearly => {
                // Offsets are at most two years, so the anniversary whose fire instant follows
                // `after` lies within a few years of it; Feb 29 with the skip policy can need
                // eight more (2096 → 2104).
                // Anniversaries start with the anchor's own year.
                let from = (after.with_timezone(&tz).year() - 3).max(anchor.date().year());
                (from..=from + 16).find_map(|year| {
                    let day = anniversary(anchor.date(), year, feb29)?;
                    let occurrence = self.occurrence_for(anchor, day, tz)?;
                    (occurrence.fire_at > after).then_some(occurrence)
                })
            }
        }
    }

    /// Every occurrence with `from < fire_at <= to`, in order.
    pub fn occurrences_between(
        &self,
        anchor: Anchor,
        tz: Tz,
        feb29: Feb29Policy,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Iterator<Item = Occurrence> + '_ {
        let mut cursor = from;
        std::iter::from_fn(move || {
            let next = self.next_after(anchor, tz, feb29, cursor)?;
            if next.fire_at > to {
                return None;
            }
            cursor = next.fire_at;
            Some(next)
        })
    }

    /// The occurrence counted from the anchor moved to `day`.
    fn occurrence_for(&self, anchor: Anchor, day: NaiveDate, tz: Tz) -> Option<Occurrence> {
        let time = match anchor {
            Anchor::Date(_) => self.time_of_day.unwrap_or(NaiveTime::MIN),
            Anchor::DateTime(dt) => self.time_of_day.unwrap_or(dt.time()),
        };
        let base = day.and_time(time);
        let key = match self.recurrence {
            Recurrence::Yearly => OccurrenceKey::Year(day.year()),
            Recurrence::Once => OccurrenceKey::Once(base),
        };
        let Offset {
            amount,
            unit,
            direction,
        } = self.offset;
        let sign = if direction == Direction::Before {
            -1
        } else {
            1
        };
        // Days and months are calendar steps in local time (08:00 stays 08:00 across a DST
        // change); minutes and hours are elapsed time.
        let fire_at = match unit {
            OffsetUnit::Days => {
                let local = base.checked_add_signed(Duration::days(sign * i64::from(amount)))?;
                localize(tz, local)?
            }
            OffsetUnit::Months => {
                let months = Months::new(amount);
                let local = if sign < 0 {
                    base.checked_sub_months(months)?
                } else {
                    base.checked_add_months(months)?
                };
                localize(tz, local)?
            }
            OffsetUnit::Hours | OffsetUnit::Minutes => {
                let minutes = i64::from(amount) * if unit == OffsetUnit::Hours { 60 } else { 1 };
                localize(tz, base)?.checked_add_signed(Duration::minutes(sign * minutes))?
            }
        };
        Some(Occurrence { key, fire_at })
    }
}

/// The anniversary of `date` in `year`, following the Feb 29 policy.
pub(crate) fn anniversary(date: NaiveDate, year: i32, feb29: Feb29Policy) -> Option<NaiveDate> {
    if let Some(day) = date.with_year(year) {
        return Some(day);
    }
    // Only Feb 29 has no anniversary in some years.
    match feb29 {
        Feb29Policy::Feb28 => NaiveDate::from_ymd_opt(year, 2, 28),
        Feb29Policy::Mar1 => NaiveDate::from_ymd_opt(year, 3, 1),
        Feb29Policy::Skip => None,
    }
}

/// The instant a local wall-clock time names in `tz`. In a DST gap the clock has jumped, so the
/// first valid instant after the gap is taken; when the time occurs twice, the first.
fn localize(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(at) => Some(at.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
        LocalResult::None => (1..=4 * 6)
            .map(|quarters| local + Duration::minutes(15 * quarters))
            .find_map(|later| tz.from_local_datetime(&later).earliest())
            .map(|at| at.with_timezone(&Utc)),
    }
}

#[cfg(test)]
#[path = "time_tests.rs"]
mod tests;
