//! What a scan does with occurrences it finds late: after an outage, or when a record's schedule
//! entry was written after its fire instant had already passed.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::occurrence::Occurrence;
use crate::validation::Problems;

/// What to do with missed occurrences (fire instants before the scan's window).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CatchUpPolicy {
    /// Fire none of them.
    Skip,
    /// Fire only the most recent one.
    #[default]
    LatestOnly,
    /// Fire each one.
    All,
}

/// The catch-up setting of a time trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatchUp {
    #[serde(default)]
    pub policy: CatchUpPolicy,
    /// A missed occurrence older than this never fires, whatever the policy: a birthday
    /// greeting three days late is worse than none.
    #[serde(default = "default_max_lateness")]
    pub max_lateness_minutes: u32,
}

fn default_max_lateness() -> u32 {
    24 * 60
}

const MAX_LATENESS_LIMIT: u32 = 366 * 24 * 60;

impl Default for CatchUp {
    fn default() -> Self {
        Self {
            policy: CatchUpPolicy::default(),
            max_lateness_minutes: default_max_lateness(),
        }
    }
}

/// The fate of one due occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    Fire,
    /// Missed, and the policy does not fire it.
    Skipped,
    /// Missed by more than the maximum lateness.
    TooLate,
}

impl CatchUp {
    pub(super) fn validate(&self, path: &str) -> Problems {
        if self.max_lateness_minutes > MAX_LATENESS_LIMIT {
            Problems::single(
                format!("{path}/max_lateness_minutes"),
                format!("at most {MAX_LATENESS_LIMIT} minutes (a year)"),
            )
        } else {
            Problems::default()
        }
    }

    /// Decides each due occurrence (sorted by fire instant). An occurrence found within
    /// `on_time` of its instant (the scan's normal delay) is on time and fires; a later one was
    /// missed (an outage, or a schedule entry written after the instant) and follows the
    /// policy, within the maximum lateness.
    pub fn dispose(
        &self,
        due: &[Occurrence],
        now: DateTime<Utc>,
        on_time: Duration,
    ) -> Vec<Disposition> {
        let max_lateness = Duration::minutes(i64::from(self.max_lateness_minutes));
        let missed = |o: &Occurrence| now - o.fire_at > on_time;
        let latest_missed = due
            .iter()
            .rposition(|o| missed(o) && now - o.fire_at <= max_lateness);
        due.iter()
            .enumerate()
            .map(|(i, o)| {
                if !missed(o) {
                    Disposition::Fire
                } else if now - o.fire_at > max_lateness {
                    Disposition::TooLate
                } else {
                    match self.policy {
                        CatchUpPolicy::All => Disposition::Fire,
                        CatchUpPolicy::LatestOnly if Some(i) == latest_missed => Disposition::Fire,
                        CatchUpPolicy::LatestOnly | CatchUpPolicy::Skip => Disposition::Skipped,
                    }
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trigger::OccurrenceKey;

    fn occ(year: i32, hours_ago: i64, now: DateTime<Utc>) -> Occurrence {
        Occurrence {
            key: OccurrenceKey::Year(year),
            fire_at: now - Duration::hours(hours_ago),
        }
    }

    fn setup() -> (DateTime<Utc>, Duration, Vec<Occurrence>) {
        let now = DateTime::from_timestamp(2_000_000_000, 0).unwrap();
        let window_start = Duration::minutes(5);
        // Missed 30 h ago (too late for 24 h), 10 h ago, 2 h ago; one inside the window.
        let due = vec![
            occ(2020, 30, now),
            occ(2021, 10, now),
            occ(2022, 2, now),
            Occurrence {
                key: OccurrenceKey::Year(2023),
                fire_at: now - Duration::minutes(1),
            },
        ];
        (now, window_start, due)
    }

    #[test]
    fn on_time_occurrences_always_fire_and_stale_ones_never() {
        let (now, start, due) = setup();
        for policy in [
            CatchUpPolicy::Skip,
            CatchUpPolicy::LatestOnly,
            CatchUpPolicy::All,
        ] {
            let fates = CatchUp {
                policy,
                max_lateness_minutes: 24 * 60,
            }
            .dispose(&due, now, start);
            assert_eq!(fates[0], Disposition::TooLate, "{policy:?}");
            assert_eq!(fates[3], Disposition::Fire, "{policy:?}");
        }
    }

    #[test]
    fn policies_choose_among_missed_occurrences() {
        let (now, start, due) = setup();
        let fates = |policy| {
            CatchUp {
                policy,
                max_lateness_minutes: 24 * 60,
            }
            .dispose(&due, now, start)
        };
        use Disposition::*;
        assert_eq!(fates(CatchUpPolicy::Skip)[1..3], [Skipped, Skipped]);
        assert_eq!(fates(CatchUpPolicy::LatestOnly)[1..3], [Skipped, Fire]);
        assert_eq!(fates(CatchUpPolicy::All)[1..3], [Fire, Fire]);
    }

    #[test]
    fn found_within_the_grace_is_on_time_and_later_is_missed() {
        let now = DateTime::from_timestamp(2_000_000_000, 0).unwrap();
        let grace = Duration::minutes(5);
        let occurrence = |minutes_ago| Occurrence {
            key: OccurrenceKey::Year(2030),
            fire_at: now - Duration::minutes(minutes_ago),
        };
        let skip = CatchUp {
            policy: CatchUpPolicy::Skip,
            max_lateness_minutes: 60,
        };
        assert_eq!(
            skip.dispose(&[occurrence(5)], now, grace),
            [Disposition::Fire]
        );
        assert_eq!(
            skip.dispose(&[occurrence(6)], now, grace),
            [Disposition::Skipped]
        );
    }
}
