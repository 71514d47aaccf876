//! The windows of the calendar lane a shard reads: from its last completed scan to now, split at
//! a year's end.

use chrono::{DateTime, Duration, Utc};

/// The windows of the calendar lane between two instants, one per UTC year they touch (at most
/// two: a window never spans more than a year).
pub(super) fn calendar_windows(
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    use chrono::Datelike;
    let since = since.max(now - Duration::days(364));
    if since >= now {
        return Vec::new();
    }
    if since.year() == now.year() {
        return vec![(since, now)];
    }
    let year_end =
        crate::schedule::ports::at_time_of_year(since.year(), "12-31T23:59:59").unwrap_or(since);
    // A window that ended on the year's last second has nothing left of that year.
    let mut windows = Vec::new();
    if since < year_end {
        windows.push((since, year_end));
    }
    windows.push((year_end, now));
    windows
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn calendar_windows_split_at_a_years_end_and_are_never_empty() {
        let windows = calendar_windows(utc("2026-12-31T23:55:00Z"), utc("2027-01-01T00:05:00Z"));
        assert_eq!(
            windows,
            [
                (utc("2026-12-31T23:55:00Z"), utc("2026-12-31T23:59:59Z")),
                (utc("2026-12-31T23:59:59Z"), utc("2027-01-01T00:05:00Z"))
            ]
        );
        let from_last_second =
            calendar_windows(utc("2026-12-31T23:59:59Z"), utc("2027-01-01T00:05:00Z"));
        assert_eq!(
            from_last_second,
            [(utc("2026-12-31T23:59:59Z"), utc("2027-01-01T00:05:00Z"))]
        );
        assert!(
            calendar_windows(utc("2027-01-01T00:05:00Z"), utc("2027-01-01T00:05:00Z")).is_empty()
        );
    }

    #[test]
    fn calendar_bounds_are_empty_for_an_empty_window_and_start_a_new_year_at_its_start() {
        use crate::schedule::ports::calendar_bounds;
        assert_eq!(
            calendar_bounds(utc("2027-05-17T00:55:00Z"), utc("2027-05-17T01:00:00Z")),
            Some(("05-17T00:55:01".to_owned(), "05-17T01:00:00#~".to_owned()))
        );
        assert_eq!(
            calendar_bounds(utc("2026-12-31T23:59:59Z"), utc("2027-01-01T00:05:00Z")),
            Some(("00".to_owned(), "01-01T00:05:00#~".to_owned()))
        );
        let same = utc("2026-12-31T23:59:59Z");
        assert_eq!(calendar_bounds(same, same), None);
        let within_a_second = utc("2026-12-31T23:59:59.900Z");
        assert_eq!(
            calendar_bounds(utc("2026-12-31T23:59:59.100Z"), within_a_second),
            None
        );
    }
}
