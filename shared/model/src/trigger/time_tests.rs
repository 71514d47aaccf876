use super::*;
use crate::trigger::CatchUp;
use chrono_tz::{America, Asia, Europe};
use proptest::prelude::*;

const HCM: Tz = Asia::Ho_Chi_Minh;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn at(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn yearly(offset: Offset, time: Option<NaiveTime>) -> TimeTrigger {
    TimeTrigger {
        date_field: "Birthday".into(),
        offset,
        recurrence: Recurrence::Yearly,
        time_of_day: time,
        feb29: None,
        catch_up: CatchUp::default(),
    }
}

fn days(amount: u32, direction: Direction) -> Offset {
    Offset {
        amount,
        unit: OffsetUnit::Days,
        direction,
    }
}

#[test]
fn birthday_fires_at_eight_local_on_the_day() {
    let trigger = yearly(Offset::ON_THE_DAY, Some(at(8, 0)));
    let next = trigger
        .next_after(
            Anchor::Date(date(1990, 5, 17)),
            HCM,
            Feb29Policy::Feb28,
            utc("2026-11-22T00:00:00Z"),
        )
        .unwrap();
    assert_eq!(next.key, OccurrenceKey::Year(2027));
    // 08:00 in Ho Chi Minh City (UTC+7) is 01:00 UTC.
    assert_eq!(next.fire_at, utc("2027-05-17T01:00:00Z"));
}

#[test]
fn the_instant_itself_is_not_after_it() {
    let trigger = yearly(Offset::ON_THE_DAY, Some(at(8, 0)));
    let anchor = Anchor::Date(date(1990, 5, 17));
    let fire = utc("2026-05-17T01:00:00Z");
    let just_before = fire - Duration::seconds(1);
    let hit = trigger
        .next_after(anchor, HCM, Feb29Policy::Feb28, just_before)
        .unwrap();
    assert_eq!((hit.key, hit.fire_at), (OccurrenceKey::Year(2026), fire));
    let next = trigger
        .next_after(anchor, HCM, Feb29Policy::Feb28, fire)
        .unwrap();
    assert_eq!(next.key, OccurrenceKey::Year(2027));
}

#[test]
fn days_before_crosses_the_year_boundary_and_keeps_the_anniversary_year() {
    let trigger = yearly(days(5, Direction::Before), Some(at(9, 30)));
    let next = trigger
        .next_after(
            Anchor::Date(date(1985, 1, 3)),
            HCM,
            Feb29Policy::Feb28,
            utc("2026-12-01T00:00:00Z"),
        )
        .unwrap();
    assert_eq!(next.key, OccurrenceKey::Year(2027));
    assert_eq!(next.fire_at, utc("2026-12-29T02:30:00Z"));
}

#[test]
fn feb29_policies() {
    let anchor = Anchor::Date(date(2000, 2, 29));
    let trigger = yearly(Offset::ON_THE_DAY, Some(at(8, 0)));
    let after = utc("2027-01-01T00:00:00Z");
    let feb28 = trigger
        .next_after(anchor, HCM, Feb29Policy::Feb28, after)
        .unwrap();
    assert_eq!(feb28.fire_at, utc("2027-02-28T01:00:00Z"));
    let mar1 = trigger
        .next_after(anchor, HCM, Feb29Policy::Mar1, after)
        .unwrap();
    assert_eq!(mar1.fire_at, utc("2027-03-01T01:00:00Z"));
    let skip = trigger
        .next_after(anchor, HCM, Feb29Policy::Skip, after)
        .unwrap();
    assert_eq!(
        (skip.key, skip.fire_at),
        (OccurrenceKey::Year(2028), utc("2028-02-29T01:00:00Z"))
    );
    // 2100 is not a leap year: skip jumps eight years.
    let century = trigger
        .next_after(anchor, HCM, Feb29Policy::Skip, utc("2097-01-01T00:00:00Z"))
        .unwrap();
    assert_eq!(century.key, OccurrenceKey::Year(2104));
}

#[test]
fn leap_day_policy_does_not_touch_other_dates() {
    let trigger = yearly(Offset::ON_THE_DAY, Some(at(8, 0)));
    let anchor = Anchor::Date(date(2001, 2, 28));
    for policy in [Feb29Policy::Feb28, Feb29Policy::Mar1, Feb29Policy::Skip] {
        let next = trigger
            .next_after(anchor, HCM, policy, utc("2027-06-01T00:00:00Z"))
            .unwrap();
        assert_eq!(next.fire_at, utc("2028-02-28T01:00:00Z"));
    }
}

#[test]
fn dst_days_offset_keeps_wall_clock_time() {
    // New York switches to daylight time on 2027-03-14: 08:00 is UTC-5 before, UTC-4 after.
    let trigger = yearly(days(1, Direction::After), Some(at(8, 0)));
    let ny = America::New_York;
    let before = trigger
        .next_after(
            Anchor::Date(date(1990, 3, 12)),
            ny,
            Feb29Policy::Feb28,
            utc("2027-01-01T00:00:00Z"),
        )
        .unwrap();
    assert_eq!(before.fire_at, utc("2027-03-13T13:00:00Z"));
    let after = trigger
        .next_after(
            Anchor::Date(date(1990, 3, 13)),
            ny,
            Feb29Policy::Feb28,
            utc("2027-01-01T00:00:00Z"),
        )
        .unwrap();
    assert_eq!(after.fire_at, utc("2027-03-14T12:00:00Z"));
}

#[test]
fn dst_gap_fires_at_the_first_valid_instant_and_overlap_at_the_first() {
    let berlin = Europe::Berlin;
    // 2027-03-28 02:30 does not exist in Berlin (02:00 → 03:00 CEST).
    let gap = yearly(Offset::ON_THE_DAY, Some(at(2, 30)));
    let hit = gap
        .next_after(
            Anchor::Date(date(1990, 3, 28)),
            berlin,
            Feb29Policy::Feb28,
            utc("2027-01-01T00:00:00Z"),
        )
        .unwrap();
    assert_eq!(hit.fire_at, utc("2027-03-28T01:00:00Z")); // 03:00 CEST
    // 2027-10-31 02:30 happens twice; the first is 02:30 CEST = 00:30 UTC.
    let overlap = gap
        .next_after(
            Anchor::Date(date(1990, 10, 31)),
            berlin,
            Feb29Policy::Feb28,
            utc("2027-01-01T00:00:00Z"),
        )
        .unwrap();
    assert_eq!(overlap.fire_at, utc("2027-10-31T00:30:00Z"));
}

#[test]
fn hours_before_a_datetime_is_elapsed_time() {
    let trigger = TimeTrigger {
        date_field: "DueAt".into(),
        offset: Offset {
            amount: 2,
            unit: OffsetUnit::Hours,
            direction: Direction::Before,
        },
        recurrence: Recurrence::Once,
        time_of_day: None,
        feb29: None,
        catch_up: CatchUp::default(),
    };
    let due = utc("2027-03-14T15:00:00Z");
    let anchor = Anchor::DateTime(due.with_timezone(&America::New_York).naive_local());
    let hit = trigger
        .next_after(
            anchor,
            America::New_York,
            Feb29Policy::Feb28,
            utc("2027-03-01T00:00:00Z"),
        )
        .unwrap();
    assert_eq!(hit.fire_at, due - Duration::hours(2));
    assert!(
        trigger
            .next_after(anchor, America::New_York, Feb29Policy::Feb28, hit.fire_at)
            .is_none()
    );
}

#[test]
fn once_only_is_keyed_by_the_anchor_so_a_moved_date_is_a_new_occurrence() {
    let trigger = TimeTrigger {
        recurrence: Recurrence::Once,
        ..yearly(days(30, Direction::Before), Some(at(8, 0)))
    };
    let now = utc("2026-01-01T00:00:00Z");
    let a = trigger
        .next_after(
            Anchor::Date(date(2026, 6, 30)),
            HCM,
            Feb29Policy::Feb28,
            now,
        )
        .unwrap();
    let b = trigger
        .next_after(
            Anchor::Date(date(2027, 6, 30)),
            HCM,
            Feb29Policy::Feb28,
            now,
        )
        .unwrap();
    assert_ne!(a.key, b.key);
    assert_eq!(a.fire_at, utc("2026-05-31T01:00:00Z"));
    assert_eq!(a.key.to_string(), "O20260630T0800");
    assert_eq!("O20260630T0800".parse::<OccurrenceKey>().unwrap(), a.key);
}

#[test]
fn months_after_clamps_to_the_end_of_month() {
    let trigger = TimeTrigger {
        recurrence: Recurrence::Once,
        ..yearly(
            Offset {
                amount: 1,
                unit: OffsetUnit::Months,
                direction: Direction::After,
            },
            Some(at(8, 0)),
        )
    };
    let hit = trigger
        .next_after(
            Anchor::Date(date(2027, 1, 31)),
            HCM,
            Feb29Policy::Feb28,
            utc("2027-01-01T00:00:00Z"),
        )
        .unwrap();
    assert_eq!(hit.fire_at, utc("2027-02-28T01:00:00Z"));
}

#[test]
fn yearly_never_fires_before_the_anchor_year() {
    let trigger = yearly(Offset::ON_THE_DAY, Some(at(8, 0)));
    let hit = trigger
        .next_after(
            Anchor::Date(date(2030, 7, 1)),
            HCM,
            Feb29Policy::Feb28,
            utc("2026-01-01T00:00:00Z"),
        )
        .unwrap();
    assert_eq!(hit.key, OccurrenceKey::Year(2030));
}

#[test]
fn occurrences_between_lists_each_year_in_order() {
    let trigger = yearly(Offset::ON_THE_DAY, Some(at(8, 0)));
    let anchor = Anchor::Date(date(1990, 5, 17));
    let keys: Vec<_> = trigger
        .occurrences_between(
            anchor,
            HCM,
            Feb29Policy::Feb28,
            utc("2023-06-01T00:00:00Z"),
            utc("2026-05-17T01:00:00Z"),
        )
        .map(|o| o.key)
        .collect();
    assert_eq!(
        keys,
        [
            OccurrenceKey::Year(2024),
            OccurrenceKey::Year(2025),
            OccurrenceKey::Year(2026)
        ]
    );
}

fn any_offset() -> impl Strategy<Value = Offset> {
    (
        0u32..=400,
        prop_oneof![
            Just(OffsetUnit::Minutes),
            Just(OffsetUnit::Hours),
            Just(OffsetUnit::Days),
            Just(OffsetUnit::Months)
        ],
        prop_oneof![Just(Direction::Before), Just(Direction::After)],
    )
        .prop_map(|(amount, unit, direction)| Offset {
            amount: amount.min(Offset::max_amount(unit)),
            unit,
            direction,
        })
}

fn any_tz() -> impl Strategy<Value = Tz> {
    prop_oneof![
        Just(Asia::Ho_Chi_Minh),
        Just(America::New_York),
        Just(Europe::Berlin),
        Just(chrono_tz::Australia::Lord_Howe),
        Just(chrono_tz::Pacific::Chatham),
        Just(chrono_tz::UTC),
    ]
}

fn any_policy() -> impl Strategy<Value = Feb29Policy> {
    prop_oneof![
        Just(Feb29Policy::Feb28),
        Just(Feb29Policy::Mar1),
        Just(Feb29Policy::Skip)
    ]
}

proptest! {
    #[test]
    fn yearly_next_is_strictly_after_and_each_year_fires_once(
        days_since in 0i64..40_000, hour in 0u32..24, minute in 0u32..60,
        offset in any_offset(), tz in any_tz(), policy in any_policy(),
        after_secs in 1_700_000_000i64..2_400_000_000,
    ) {
        let anchor_date = date(1950, 1, 1) + Duration::days(days_since);
        let trigger = yearly(offset, Some(at(hour, minute)));
        let after = DateTime::from_timestamp(after_secs, 0).unwrap();
        let anchor = Anchor::Date(anchor_date);
        let first = trigger.next_after(anchor, tz, policy, after).unwrap();
        prop_assert!(first.fire_at > after);
        let second = trigger.next_after(anchor, tz, policy, first.fire_at).unwrap();
        prop_assert!(second.fire_at > first.fire_at);
        let (OccurrenceKey::Year(y1), OccurrenceKey::Year(y2)) = (&first.key, &second.key) else {
            panic!("yearly keys are years");
        };
        prop_assert!(y2 > y1);
        // Nothing fires between `after` and the first occurrence: looking from just before it
        // finds the same occurrence.
        let again = trigger.next_after(anchor, tz, policy, first.fire_at - Duration::seconds(1)).unwrap();
        prop_assert_eq!(again, first);
    }

    #[test]
    fn on_the_day_fires_at_the_local_time_of_day_outside_dst_gaps(
        days_since in 0i64..30_000, hour in 0u32..24, tz in any_tz(),
        after_secs in 1_700_000_000i64..2_000_000_000,
    ) {
        let trigger = yearly(Offset::ON_THE_DAY, Some(at(hour, 0)));
        let anchor_date = date(1950, 1, 1) + Duration::days(days_since);
        let after = DateTime::from_timestamp(after_secs, 0).unwrap();
        let hit = trigger.next_after(Anchor::Date(anchor_date), tz, Feb29Policy::Feb28, after).unwrap();
        let local = hit.fire_at.with_timezone(&tz);
        let wanted = anniversary(anchor_date, local.year(), Feb29Policy::Feb28).unwrap().and_time(at(hour, 0));
        if tz.from_local_datetime(&wanted).single().is_some() {
            prop_assert_eq!(local.naive_local(), wanted);
        } else {
            // In a gap or an overlap: within the transition's span of the wanted wall time.
            let drift = (local.naive_local() - wanted).num_minutes().abs();
            prop_assert!(drift <= 120, "drift {} min", drift);
        }
    }

    #[test]
    fn occurrence_keys_round_trip(year in -9999i32..9999, secs in 0i64..4_000_000_000) {
        let key = OccurrenceKey::Year(year);
        prop_assert_eq!(key.to_string().parse::<OccurrenceKey>().unwrap(), key);
        let at = DateTime::from_timestamp(secs - secs % 60, 0).unwrap().naive_utc();
        let once = OccurrenceKey::Once(at);
        prop_assert_eq!(once.to_string().parse::<OccurrenceKey>().unwrap(), once);
    }
}
