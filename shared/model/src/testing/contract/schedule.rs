//! The due schedule: entries with revisions, occurrence claims that lose races, the sharded due
//! index and the scan window. Outboxes, event claims and maintenance are in [`super::outboxes`].
//! Every check takes a store of its own: the due index and the scan window are global.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::{Tenants, all_pages, at, second_page};
use crate::ids::{ActionId, RecordId, TenantId, WorkflowId};
use crate::schedule::ports::{
    DueItem, DueLane, EntryFailure, Maintenance, MaintenanceKind, Outbox, ScheduleEntry,
    ScheduleStore,
};
use crate::schedule::{ActionJob, due_shard};
use crate::store::ClaimOutcome::{Claimed, LostRace};
use crate::store::{ClaimOutcome, PageRequest, StoreError};
use crate::trigger::{Occurrence, OccurrenceKey};

/// Minutes to the next year's occurrence, and to an instant before it that is after everything
/// else the checks schedule.
pub(super) const NEXT_YEAR: i64 = 525_600;
pub(super) const LATER: i64 = 100_000;

pub(super) fn wf(id: &str) -> WorkflowId {
    WorkflowId::new(id).expect("a valid workflow id")
}

pub(super) fn rid(id: &str) -> RecordId {
    RecordId::new(id).expect("a valid record id")
}

pub(super) fn occurrence(year: i32, minutes: i64) -> Occurrence {
    Occurrence {
        key: OccurrenceKey::Year(year),
        fire_at: at(minutes),
    }
}

/// A new entry (revision 0), armed at `minutes` when given.
pub(super) fn entry(
    tenant: &TenantId,
    workflow: &str,
    record: &str,
    minutes: Option<i64>,
) -> ScheduleEntry {
    ScheduleEntry {
        tenant: tenant.clone(),
        workflow: wf(workflow),
        version: 1,
        record: rid(record),
        next: minutes.map(|m| occurrence(2026, m)),
        last_fired: None,
        revision: 0,
        failure: None,
        lane: DueLane::Instant,
    }
}

pub(super) fn outbox(e: &ScheduleEntry, cause: &str, retry_minutes: i64) -> Outbox {
    let job = |action: &str| ActionJob {
        depth: 0,
        tenant: e.tenant.clone(),
        workflow: e.workflow.clone(),
        version: e.version,
        record: e.record.clone(),
        cause: cause.into(),
        action: ActionId::new(action).expect("a valid action id"),
        due_at: at(0),
        snapshot: json!({"Name": "Nguyễn Văn A"}).as_object().cloned(),
    };
    Outbox {
        tenant: e.tenant.clone(),
        workflow: e.workflow.clone(),
        record: e.record.clone(),
        cause: cause.into(),
        jobs: vec![job("a1"), job("a2")],
        retry_after: at(retry_minutes),
    }
}

pub(super) async fn put(store: &dyn ScheduleStore, e: &ScheduleEntry) -> ClaimOutcome {
    store
        .put(e)
        .await
        .unwrap_or_else(|err| panic!("put {}: {err:?}", e.record))
}

/// Puts a new entry and reads it back as stored.
pub(super) async fn put_new(store: &dyn ScheduleStore, e: &ScheduleEntry) -> ScheduleEntry {
    assert_eq!(
        put(store, e).await,
        Claimed,
        "putting new entry {}",
        e.record
    );
    get(store, e)
        .await
        .unwrap_or_else(|| panic!("entry {} is stored", e.record))
}

pub(super) async fn get(store: &dyn ScheduleStore, e: &ScheduleEntry) -> Option<ScheduleEntry> {
    store
        .get(&e.tenant, &e.workflow, &e.record)
        .await
        .expect("get an entry")
}

/// Claims the stored `e`'s occurrence of 2026, moving it to next year, and leaves the outbox of
/// a stream event for its record, due again at minute 5 (as a failed publish leaves it).
pub(super) async fn claimed_with_outbox(store: &dyn ScheduleStore, e: &ScheduleEntry) -> Outbox {
    let stored = put_new(store, e).await;
    let next = occurrence(2027, NEXT_YEAR);
    let outcome = store.claim(
        &stored,
        Some(&next),
        &OccurrenceKey::Year(2026),
        DueLane::Instant,
    );
    assert_eq!(outcome.await.expect("claim"), Claimed, "claim {}", e.record);
    let event = format!("ev-{}", e.record);
    let out = outbox(&stored, &format!("E{event}"), 5);
    let handled = store.claim_event(&out, &event, at(0)).await;
    assert_eq!(
        handled.expect("claim_event"),
        Claimed,
        "event of {}",
        e.record
    );
    out
}

/// Everything due at `now`, with its shard, reading every shard page by page.
pub(super) async fn due_all(
    store: &dyn ScheduleStore,
    now: DateTime<Utc>,
    limit: u32,
) -> Vec<(u32, DueItem)> {
    let mut found = Vec::new();
    for shard in 0..store.shards() {
        let mut page = PageRequest::first(limit);
        for round in 0.. {
            assert!(round < 100, "the due listing of shard {shard} does not end");
            let due = store.due(shard, now, &page).await.expect("due");
            assert!(
                due.items.len() <= limit as usize,
                "a due page holds at most its limit"
            );
            assert_eq!(
                due.items_read,
                due.items.len() as u64,
                "items_read counts the page"
            );
            found.extend(due.items.into_iter().map(|item| (shard, item)));
            match due.next {
                Some(next) => page.cursor = Some(next),
                None => break,
            }
        }
    }
    found
}

/// Asserts that nothing at all is due at `now`.
pub(super) async fn nothing_due(store: &dyn ScheduleStore, now: DateTime<Utc>, why: &str) {
    let due = due_all(store, now, 100).await;
    assert!(due.is_empty(), "{why}, found {due:?}");
}

/// `e` as stored at `revision`.
fn at_revision(e: &ScheduleEntry, revision: u64) -> ScheduleEntry {
    ScheduleEntry {
        revision,
        ..e.clone()
    }
}

pub async fn a_new_entry_is_put_at_revision_zero_once(store: &dyn ScheduleStore, t: &Tenants) {
    let new = entry(&t.tenant, "wf-put", "r-1", Some(60));
    let stored = put_new(store, &new).await;
    assert_eq!(stored, at_revision(&new, 1), "stored at revision 1");
    assert_eq!(put(store, &new).await, LostRace, "a second put at 0 loses");
    let moved = ScheduleEntry {
        next: Some(occurrence(2026, 120)),
        ..stored.clone()
    };
    assert_eq!(
        put(store, &moved).await,
        Claimed,
        "a put at the stored revision"
    );
    let expected = at_revision(&moved, 2);
    assert_eq!(
        get(store, &new).await,
        Some(expected.clone()),
        "moved to revision 2"
    );
    assert_eq!(put(store, &moved).await, LostRace, "a stale put loses");
    assert_eq!(
        get(store, &new).await,
        Some(expected),
        "the stale put changed nothing"
    );
    let ghost = ScheduleEntry {
        revision: 3,
        ..entry(&t.tenant, "wf-put", "r-2", None)
    };
    assert_eq!(put(store, &ghost).await, LostRace, "no entry at revision 3");
    assert_eq!(
        get(store, &ghost).await,
        None,
        "the lost put created nothing"
    );
}

pub async fn an_entry_is_read_only_by_its_tenant(store: &dyn ScheduleStore, t: &Tenants) {
    let mine = put_new(store, &entry(&t.tenant, "wf-iso", "r-1", Some(60))).await;
    let theirs = entry(&t.other, "wf-iso", "r-1", None);
    assert_eq!(
        get(store, &theirs).await,
        None,
        "another tenant must not see the entry"
    );
    put_new(store, &theirs).await;
    assert_eq!(
        get(store, &mine).await,
        Some(mine.clone()),
        "each tenant has its own entry"
    );
    let listed = store
        .entries_of(&t.other, &theirs.workflow, &PageRequest::first(10))
        .await;
    let listed = listed.expect("entries_of").items;
    assert_eq!(
        listed,
        vec![at_revision(&theirs, 1)],
        "only its own entries"
    );
}

pub async fn a_claim_needs_the_entrys_revision(store: &dyn ScheduleStore, t: &Tenants) {
    let stored = put_new(store, &entry(&t.tenant, "wf-claim", "r-1", Some(0))).await;
    let next = occurrence(2027, NEXT_YEAR);
    let fired = OccurrenceKey::Year(2026);
    let outcome = store
        .claim(&stored, Some(&next), &fired, DueLane::Instant)
        .await
        .expect("claim");
    assert_eq!(outcome, Claimed, "a claim at the stored revision wins");
    let claimed = ScheduleEntry {
        next: Some(next.clone()),
        last_fired: Some(fired.clone()),
        revision: 2,
        ..stored.clone()
    };
    assert_eq!(
        get(store, &stored).await,
        Some(claimed.clone()),
        "moved on and marked fired"
    );
    let outcome = store
        .claim(&stored, Some(&next), &fired, DueLane::Instant)
        .await;
    assert_eq!(outcome.expect("claim"), LostRace, "a stale claim loses");
    assert_eq!(
        get(store, &stored).await,
        Some(claimed),
        "the lost claim changed nothing"
    );
    nothing_due(store, at(LATER), "only next year's occurrence is armed").await;
    let ghost = ScheduleEntry {
        revision: 1,
        ..entry(&t.tenant, "wf-claim", "r-2", Some(0))
    };
    let outcome = store
        .claim(&ghost, Some(&next), &fired, DueLane::Instant)
        .await
        .expect("claim");
    assert_eq!(outcome, LostRace, "claiming a missing entry loses");
    assert_eq!(get(store, &ghost).await, None, "and creates nothing");
}

pub async fn a_claim_without_next_disarms_the_entry(store: &dyn ScheduleStore, t: &Tenants) {
    let stored = put_new(store, &entry(&t.tenant, "wf-disarm", "r-1", Some(0))).await;
    assert_eq!(
        due_all(store, at(0), 100).await.len(),
        1,
        "the armed entry is due"
    );
    let fired = OccurrenceKey::Year(2026);
    let outcome = store
        .claim(&stored, None, &fired, DueLane::Instant)
        .await
        .expect("claim");
    assert_eq!(outcome, Claimed);
    let disarmed = ScheduleEntry {
        next: None,
        last_fired: Some(fired),
        revision: 2,
        ..stored.clone()
    };
    assert_eq!(
        get(store, &stored).await,
        Some(disarmed),
        "no next occurrence"
    );
    nothing_due(store, at(LATER), "a disarmed entry is never due").await;
}

pub async fn entries_of_pages_through_a_workflows_entries(store: &dyn ScheduleStore, t: &Tenants) {
    let mut expected = Vec::new();
    for i in 0..5 {
        let armed = (i % 2 == 0).then_some(i * 10);
        let e = entry(&t.tenant, "wf-list", &format!("r-{i}"), armed);
        put(store, &e).await;
        expected.push(e);
    }
    put(store, &entry(&t.tenant, "wf-list-2", "r-9", Some(0))).await;
    // Outboxes, event marks, run times and maintenance share the workflow's items.
    claimed_with_outbox(store, &entry(&t.tenant, "wf-list", "r-5", Some(0))).await;
    let event = outbox(&expected[1], "ev-1", 5);
    store
        .claim_event(&event, "ev-1", at(0))
        .await
        .expect("claim an event");
    let request = Maintenance {
        tenant: t.tenant.clone(),
        workflow: wf("wf-list"),
        version: 1,
        kind: MaintenanceKind::Backfill,
        cursor: None,
    };
    store
        .request_maintenance(&request, at(0))
        .await
        .expect("request maintenance");
    expected.push(
        get(store, &entry(&t.tenant, "wf-list", "r-5", None))
            .await
            .expect("stored"),
    );
    let mut stored = Vec::new();
    for e in &expected {
        stored.push(get(store, e).await.expect("stored"));
    }
    let workflow = wf("wf-list");
    let workflow = &workflow;
    let listed = all_pages("entries", 2, |page| async move {
        store.entries_of(&t.tenant, workflow, &page).await
    })
    .await;
    assert_eq!(
        listed, stored,
        "every entry of the workflow, in record order, nothing else"
    );
    let page = second_page("entries", 2, |p| async move {
        store.entries_of(&t.tenant, workflow, &p).await
    })
    .await;
    let result = store.entries_of(&t.other, workflow, &page).await;
    refused!(result, StoreError::BadCursor, "another tenant's cursor");
}

pub async fn due_returns_only_what_is_due_in_its_shard_oldest_first(
    store: &dyn ScheduleStore,
    t: &Tenants,
) {
    let workflow = wf("wf-due");
    let shards = store.shards();
    let shard_of = |record: &str| due_shard(&t.tenant, &workflow, &rid(record), shards);
    let shard = shard_of("r-0");
    let same: Vec<String> = (1..)
        .map(|i| format!("r-{i}"))
        .filter(|r| shard_of(r) == shard)
        .take(4)
        .collect();
    let elsewhere: Vec<String> = (1..)
        .map(|i| format!("r-{i}"))
        .filter(|r| shard_of(r) != shard)
        .take(2)
        .collect();
    let disarmed = "r-0".to_owned();
    let plan = [
        (&same[0], Some(30)),
        (&same[1], Some(10)),
        (&same[2], Some(20)),
        (&same[3], Some(50)),
        (&disarmed, None),
        (&elsewhere[0], Some(5)),
        (&elsewhere[1], Some(40)),
    ];
    for (record, minutes) in plan {
        put(store, &entry(&t.tenant, "wf-due", record, minutes)).await;
    }
    let mut expected = Vec::new();
    for record in [&same[1], &same[2], &same[0], &elsewhere[0]] {
        let e = entry(&t.tenant, "wf-due", record, None);
        let stored = get(store, &e).await.expect("stored");
        expected.push((shard_of(record), DueItem::Entry(stored)));
    }
    let mut due = due_all(store, at(30), 1).await;
    due.sort_by_key(|(s, _)| *s != shard);
    assert_eq!(
        due, expected,
        "due at or before now, in its shard, oldest first"
    );
}

pub async fn deleting_an_entry_removes_it_from_the_index(store: &dyn ScheduleStore, t: &Tenants) {
    let e = entry(&t.tenant, "wf-del", "r-1", Some(0));
    put_new(store, &e).await;
    store
        .delete(&e.tenant, &e.workflow, &e.record)
        .await
        .expect("delete");
    assert_eq!(get(store, &e).await, None, "the entry is gone");
    nothing_due(store, at(LATER), "a deleted entry is never due").await;
    store
        .delete(&e.tenant, &e.workflow, &e.record)
        .await
        .expect("deleting twice is fine");
    assert_eq!(
        put(store, &e).await,
        Claimed,
        "a new entry may take its place"
    );
}

pub async fn the_scan_end_never_moves_backwards(store: &dyn ScheduleStore, _: &Tenants) {
    let end = |scope| store.last_scan_end(scope);
    assert_eq!(
        end("").await.expect("last_scan_end"),
        None,
        "no window was ever completed"
    );
    for (save, expected) in [(10, 10), (5, 10), (10, 10), (20, 20)] {
        store
            .save_scan_end("", at(save))
            .await
            .expect("save_scan_end");
        let now = end("").await.expect("last_scan_end");
        assert_eq!(now, Some(at(expected)), "after saving minute {save}");
    }
    store
        .save_scan_end("G1of4", at(7))
        .await
        .expect("save_scan_end of a group");
    assert_eq!(
        (
            end("G1of4").await.expect("group"),
            end("G2of4").await.expect("group")
        ),
        (Some(at(7)), None),
        "each shard group has a window of its own"
    );
    assert_eq!(
        end("").await.expect("all"),
        Some(at(20)),
        "and the whole scan's stays"
    );
}

pub async fn a_held_entry_waits_for_its_retry_and_a_parked_one_leaves_the_index(
    store: &dyn ScheduleStore,
    t: &Tenants,
) {
    let stored = put_new(store, &entry(&t.tenant, "wf-held", "r-1", Some(0))).await;
    let held = ScheduleEntry {
        failure: Some(EntryFailure {
            attempts: 1,
            reason: "the record cannot be read".into(),
            retry_at: Some(at(10)),
        }),
        ..stored.clone()
    };
    assert_eq!(put(store, &held).await, Claimed, "held at its revision");
    let stored = get(store, &held).await.expect("stored");
    assert_eq!(stored.failure, held.failure, "the failure is kept");
    nothing_due(store, at(9), "a held entry waits for its retry instant").await;
    let due = due_all(store, at(10), 100).await;
    assert_eq!(
        due.iter().map(|(_, item)| item.clone()).collect::<Vec<_>>(),
        vec![DueItem::Entry(stored.clone())],
        "then it is due, failure and all"
    );
    let parked = ScheduleEntry {
        failure: Some(EntryFailure {
            attempts: 5,
            reason: "the bus refused job 'a1'".into(),
            retry_at: None,
        }),
        ..stored.clone()
    };
    assert_eq!(put(store, &parked).await, Claimed);
    nothing_due(store, at(LATER), "a parked entry is never due").await;
    let parked = get(store, &parked).await.expect("stored");
    assert_eq!(parked.failure.as_ref().map(|f| f.attempts), Some(5));
    assert!(parked.next.is_some(), "it keeps its occurrence");
    let next = occurrence(2027, NEXT_YEAR);
    let outcome = store.claim(
        &parked,
        Some(&next),
        &OccurrenceKey::Year(2026),
        DueLane::Instant,
    );
    assert_eq!(outcome.await.expect("claim"), Claimed);
    let claimed = get(store, &parked).await.expect("stored");
    assert_eq!(claimed.failure, None, "a claim clears the failure");
    assert_eq!(
        due_all(store, at(NEXT_YEAR), 100).await.len(),
        1,
        "armed again"
    );
}

/// An instant given in full, for the calendar checks that cross years.
fn utc(text: &str) -> DateTime<Utc> {
    text.parse().expect("a valid instant")
}

/// Everything on the calendar of every shard between `from` and `to`, page by page.
async fn on_calendar(
    store: &dyn ScheduleStore,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<ScheduleEntry> {
    let mut found = Vec::new();
    for shard in 0..store.shards() {
        let mut page = PageRequest::first(1);
        for round in 0.. {
            assert!(round < 100, "the calendar of shard {shard} does not end");
            let due = store
                .due_on_calendar(shard, from, to, &page)
                .await
                .expect("due_on_calendar");
            assert_eq!(
                due.items_read,
                due.items.len() as u64,
                "items_read counts the page"
            );
            found.extend(due.items.into_iter().map(|item| match item {
                DueItem::Entry(entry) => entry,
                other => panic!("only entries are on the calendar: {other:?}"),
            }));
            match due.next {
                Some(next) => page.cursor = Some(next),
                None => break,
            }
        }
    }
    found
}

fn yearly(year: i32, at: &str) -> Occurrence {
    Occurrence {
        key: OccurrenceKey::Year(year),
        fire_at: utc(at),
    }
}

pub async fn a_yearly_entry_on_the_calendar_is_read_by_its_time_of_year_and_keeps_its_place(
    store: &dyn ScheduleStore,
    t: &Tenants,
) {
    let armed = ScheduleEntry {
        next: Some(yearly(2027, "2027-05-17T01:00:00Z")),
        lane: DueLane::Calendar,
        ..entry(&t.tenant, "wf-cal", "r-1", None)
    };
    let stored = put_new(store, &armed).await;
    assert_eq!(stored.lane, DueLane::Calendar, "its lane is kept");
    nothing_due(
        store,
        utc("2030-01-01T00:00:00Z"),
        "not in the instant lane",
    )
    .await;
    let before = on_calendar(
        store,
        utc("2027-05-17T00:00:00Z"),
        utc("2027-05-17T00:59:59Z"),
    )
    .await;
    assert!(before.is_empty(), "not before its time of year: {before:?}");
    let seen = on_calendar(
        store,
        utc("2027-05-17T00:59:59Z"),
        utc("2027-05-17T01:00:00Z"),
    )
    .await;
    let expected = ScheduleEntry {
        revision: 0,
        last_fired: None,
        ..stored.clone()
    };
    assert_eq!(
        seen,
        vec![expected.clone()],
        "read with what stays, revision unknown"
    );

    let next = yearly(2028, "2028-05-17T01:00:00Z");
    let fired = OccurrenceKey::Year(2027);
    let outcome = store.claim(&seen[0], Some(&next), &fired, DueLane::Calendar);
    assert_eq!(
        outcome.await.expect("claim"),
        Claimed,
        "claimed from the calendar"
    );
    let claimed = get(store, &armed).await.expect("stored");
    assert_eq!(
        (
            claimed.revision,
            claimed.last_fired.clone(),
            claimed.next.clone(),
            claimed.lane
        ),
        (
            2,
            Some(fired.clone()),
            Some(next.clone()),
            DueLane::Calendar
        ),
        "next year's occurrence, at the same place"
    );
    let again = store.claim(&seen[0], Some(&next), &fired, DueLane::Calendar);
    assert_eq!(
        again.await.expect("claim"),
        LostRace,
        "an occurrence is claimed once"
    );
    let next_year = on_calendar(
        store,
        utc("2028-05-17T00:59:59Z"),
        utc("2028-05-17T01:00:00Z"),
    )
    .await;
    assert_eq!(
        next_year.iter().map(|e| e.next.clone()).collect::<Vec<_>>(),
        vec![Some(next.clone())],
        "due again a year later"
    );

    // A time of year that moves (a birthday corrected, a change of daylight saving time).
    let moved = yearly(2029, "2029-05-17T02:00:00Z");
    let outcome = store.claim(
        &next_year[0],
        Some(&moved),
        &OccurrenceKey::Year(2028),
        DueLane::Calendar,
    );
    assert_eq!(outcome.await.expect("claim"), Claimed);
    let at_one = on_calendar(
        store,
        utc("2029-05-17T00:59:59Z"),
        utc("2029-05-17T01:00:00Z"),
    )
    .await;
    assert!(at_one.is_empty(), "no longer at 01:00: {at_one:?}");
    let at_two = on_calendar(
        store,
        utc("2029-05-17T01:59:59Z"),
        utc("2029-05-17T02:00:00Z"),
    )
    .await;
    assert_eq!(at_two.len(), 1, "at 02:00 instead");

    // Armed into the instant lane, it leaves the calendar.
    let soon = yearly(2030, "2030-05-17T02:00:00Z");
    let outcome = store.claim(
        &at_two[0],
        Some(&soon),
        &OccurrenceKey::Year(2029),
        DueLane::Instant,
    );
    assert_eq!(outcome.await.expect("claim"), Claimed);
    let anywhere = on_calendar(
        store,
        utc("2030-01-01T00:00:00Z"),
        utc("2030-12-31T23:59:59Z"),
    )
    .await;
    assert!(anywhere.is_empty(), "off the calendar: {anywhere:?}");
    assert_eq!(
        due_all(store, utc("2030-05-17T02:00:00Z"), 100).await.len(),
        1,
        "due by instant"
    );
}

pub async fn the_calendar_is_read_across_a_years_end_and_a_held_entry_leaves_it(
    store: &dyn ScheduleStore,
    t: &Tenants,
) {
    // 07:30 on Jan 1 in Hồ Chí Minh City is 00:30 UTC; an offset of a day before puts the
    // occurrence of 2028 on Dec 31 2027.
    let new_year = ScheduleEntry {
        next: Some(yearly(2027, "2027-01-01T00:30:00Z")),
        lane: DueLane::Calendar,
        ..entry(&t.tenant, "wf-cal-end", "r-1", None)
    };
    let eve = ScheduleEntry {
        next: Some(yearly(2027, "2026-12-31T23:30:00Z")),
        lane: DueLane::Calendar,
        ..entry(&t.tenant, "wf-cal-end", "r-2", None)
    };
    put_new(store, &new_year).await;
    let eve = put_new(store, &eve).await;
    let last_year = on_calendar(
        store,
        utc("2026-12-31T23:00:00Z"),
        utc("2026-12-31T23:59:59Z"),
    )
    .await;
    assert_eq!(
        last_year.iter().map(|e| e.next.clone()).collect::<Vec<_>>(),
        vec![Some(yearly(2027, "2026-12-31T23:30:00Z"))],
        "the eve, its key a year after its instant"
    );
    let this_year = on_calendar(
        store,
        utc("2026-12-31T23:59:59Z"),
        utc("2027-01-01T01:00:00Z"),
    )
    .await;
    assert_eq!(
        this_year.iter().map(|e| e.next.clone()).collect::<Vec<_>>(),
        vec![Some(yearly(2027, "2027-01-01T00:30:00Z"))],
        "from the start of the year"
    );
    let held = ScheduleEntry {
        failure: Some(EntryFailure {
            attempts: 1,
            reason: "the record cannot be read".into(),
            retry_at: Some(utc("2026-12-31T23:35:00Z")),
        }),
        ..eve.clone()
    };
    assert_eq!(put(store, &held).await, Claimed);
    let still = on_calendar(
        store,
        utc("2026-12-31T23:00:00Z"),
        utc("2026-12-31T23:59:59Z"),
    )
    .await;
    assert!(
        still.is_empty(),
        "a held entry waits in the instant lane: {still:?}"
    );
    assert_eq!(
        due_all(store, utc("2026-12-31T23:35:00Z"), 100).await.len(),
        1
    );
}
