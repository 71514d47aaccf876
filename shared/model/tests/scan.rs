//! The trigger scan over the in-memory stores: backfill on activation, exactly one claim per
//! occurrence (jobs published again only under the same keys), recovery from a scan that died
//! before claiming, re-scheduling after an edit, deactivation, catch-up after an outage, and one
//! record due in several workflows at once.

mod support;

use crm_model::ids::{RecordId, WorkflowId};
use crm_model::ports::{
    FixedClock, JobPublisher, RecordStore, ScheduleEntries, SettingsStore, StoredRecord,
    WorkflowStore,
};
use crm_model::schedule::scan::{ScanError, ScanReport};
use crm_model::schedule::{ActionJob, due_shard};
use crm_model::testing::memory::PublishFault;
use serde_json::json;
use support::{World, at};

impl World {
    async fn scan_with(
        &self,
        now: &str,
        publisher: &dyn JobPublisher,
    ) -> Result<ScanReport, ScanError> {
        let clock = FixedClock(at(now));
        crm_model_scan(self, &clock, publisher).run().await
    }

    async fn scan(&self, now: &str) -> ScanReport {
        self.scan_with(now, &self.publisher).await.unwrap()
    }

    fn published_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .publisher
            .jobs()
            .iter()
            .map(ActionJob::idempotency_key)
            .collect();
        keys.sort();
        keys
    }
}

fn crm_model_scan<'a>(
    w: &'a World,
    clock: &'a FixedClock,
    publisher: &'a dyn JobPublisher,
) -> crm_model::schedule::scan::Scanner<'a> {
    crm_model::schedule::scan::Scanner {
        publisher,
        ..support::scanning::scanner(w, clock)
    }
}

#[tokio::test]
async fn a_birthday_fires_once_at_eight_for_matching_records_only() {
    let w = World::new().await;
    w.customer(
        "c-today",
        json!({"Name": "An", "Phone": "0912345678", "Birthday": "1990-05-17"}),
    )
    .await;
    w.customer(
        "c-tomorrow",
        json!({"Name": "Bình", "Phone": "0912345679", "Birthday": "1991-05-18"}),
    )
    .await;
    w.customer(
        "c-no-phone",
        json!({"Name": "Chi", "Birthday": "1992-05-17"}),
    )
    .await;
    w.customer(
        "c-no-birthday",
        json!({"Name": "Dũng", "Phone": "0912345670"}),
    )
    .await;
    // Activated the evening before; its backfill runs with the next scan.
    w.active_workflow("wf-birthday", "2027-05-16T12:00:00Z")
        .await;
    let backfill = w.scan("2027-05-16T12:05:00Z").await;
    assert_eq!(
        (backfill.entries_armed, backfill.maintenance_finished),
        (3, 1),
        "{backfill:?}"
    );
    assert_eq!(backfill.occurrences_fired, 0);

    // 07:59 local (00:59 UTC): nothing yet.
    assert_eq!(w.scan("2027-05-17T00:59:00Z").await.due_pairs, 0);
    // 08:00 local: An fires; Chi is due but has no phone.
    let eight = w.scan("2027-05-17T01:00:00Z").await;
    assert_eq!(
        (
            eight.due_pairs,
            eight.occurrences_fired,
            eight.condition_not_met
        ),
        (2, 1, 1),
        "{eight:?}"
    );
    assert_eq!((eight.jobs_published, eight.bus_calls), (2, 1));
    assert_eq!((eight.index_items_read, eight.records_read), (2, 2));
    // Scanning again (overlap, retry) fires nothing more.
    let again = w.scan("2027-05-17T01:05:00Z").await;
    assert_eq!((again.due_pairs, again.occurrences_fired), (0, 0));
    let t = &w.tenant;
    assert_eq!(
        w.published_keys(),
        [
            format!("{t}/wf-birthday/c-today/Y2027/sms"),
            format!("{t}/wf-birthday/c-today/Y2027/tell")
        ]
    );

    // The next day Bình's turn comes; An is armed for 2028.
    assert_eq!(w.scan("2027-05-18T01:00:00Z").await.occurrences_fired, 1);
    let workflow = WorkflowId::new("wf-birthday").unwrap();
    let an = w
        .stores
        .schedule
        .get(t, &workflow, &RecordId::new("c-today").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(an.next.unwrap().key.to_string(), "Y2028");
}

#[tokio::test]
async fn one_record_due_in_two_workflows_is_read_once_and_fires_in_both() {
    let w = World::new().await;
    w.customer(
        "c1",
        json!({"Name": "An", "Phone": "0912345678", "Birthday": "1990-05-17"}),
    )
    .await;
    // Two workflows whose entries for c1 share a shard, so one due page holds both.
    let record = RecordId::new("c1").unwrap();
    let shard = |name: &str| due_shard(&w.tenant, &WorkflowId::new(name).unwrap(), &record, 16);
    let second = (0..)
        .map(|i| format!("wf-note-{i}"))
        .find(|name| shard(name) == shard("wf-sms"))
        .unwrap();
    w.active_workflow("wf-sms", "2027-05-16T12:00:00Z").await;
    w.active_workflow(&second, "2027-05-16T12:00:00Z").await;
    w.scan("2027-05-16T12:05:00Z").await;
    let eight = w.scan("2027-05-17T01:00:00Z").await;
    assert_eq!(
        (eight.due_pairs, eight.occurrences_fired, eight.records_read),
        (2, 2, 1),
        "{eight:?}"
    );
    assert_eq!(eight.bus_calls, 1, "one page, one PutEvents call");
    assert_eq!(w.publisher.jobs().len(), 4);
}

/// A world with twenty customers c00…c19, each with a phone and a birthday on May 17.
async fn twenty_birthdays_on_may_17() -> World {
    let w = World::new().await;
    for i in 0..20 {
        w.customer(
            &format!("c{i:02}"),
            json!({"Name": format!("Khách {i}"), "Phone": "0912345678", "Birthday": "1990-05-17"}),
        )
        .await;
    }
    w
}

#[tokio::test]
async fn overlapping_scans_claim_each_occurrence_once_and_publish_only_its_keys() {
    let w = twenty_birthdays_on_may_17().await;
    w.active_workflow("wf-race", "2027-05-16T12:00:00Z").await;
    w.scan("2027-05-16T12:05:00Z").await;
    let (a, b, c) = tokio::join!(
        w.scan("2027-05-17T01:00:00Z"),
        w.scan("2027-05-17T01:00:05Z"),
        w.scan("2027-05-17T01:00:10Z")
    );
    assert_eq!(
        a.occurrences_fired + b.occurrences_fired + c.occurrences_fired,
        20,
        "each occurrence claimed once\n{a:?}\n{b:?}\n{c:?}"
    );
    // Publish first, claim after: a scan that loses a claim has published that occurrence's
    // jobs too, under the same idempotency keys, which the executor's ledger runs once.
    let mut keys = w.published_keys();
    let published = keys.len();
    keys.dedup();
    assert_eq!(keys.len(), 40, "two jobs per occurrence, no other key");
    let lost = a.lost_races + b.lost_races + c.lost_races;
    assert_eq!(
        published - keys.len(),
        2 * lost as usize,
        "repeats only from lost races"
    );
    let later = w.scan("2027-05-17T01:05:00Z").await;
    assert_eq!((later.due_pairs, later.jobs_published), (0, 0));
}

#[tokio::test]
async fn a_scan_that_dies_before_claiming_loses_nothing_and_the_next_one_fires_once() {
    let w = World::new().await;
    w.customer(
        "c1",
        json!({"Name": "An", "Phone": "0912345678", "Birthday": "1990-05-17"}),
    )
    .await;
    w.active_workflow("wf-crash", "2027-05-16T12:00:00Z").await;
    w.scan("2027-05-16T12:05:00Z").await;
    // The bus takes the first job, then stops answering: nothing is claimed.
    w.publisher
        .fail_next(1, PublishFault::Unavailable { published: 1 });
    assert!(
        w.scan_with("2027-05-17T01:00:00Z", &w.publisher)
            .await
            .is_err()
    );
    assert_eq!(w.publisher.jobs().len(), 1);
    let recovery = w.scan("2027-05-17T01:05:00Z").await;
    assert_eq!(
        (recovery.occurrences_fired, recovery.jobs_published),
        (1, 2),
        "{recovery:?}"
    );
    let mut keys = w.published_keys();
    keys.dedup();
    assert_eq!(keys.len(), 2, "the job published twice has one key");
    let later = w.scan("2027-05-17T01:10:00Z").await;
    assert_eq!((later.due_pairs, later.jobs_published), (0, 0));
}

#[tokio::test]
async fn a_store_outage_mid_scan_keeps_the_window_and_the_next_scan_fires_once() {
    let w = World::new().await;
    w.customer(
        "c1",
        json!({"Name": "An", "Phone": "0912345678", "Birthday": "1990-05-17"}),
    )
    .await;
    w.active_workflow("wf-outage", "2027-05-16T12:00:00Z").await;
    w.scan("2027-05-16T12:05:00Z").await;
    w.stores.records.fail_next_reads(1);
    assert!(
        w.scan_with("2027-05-17T01:00:00Z", &w.publisher)
            .await
            .is_err()
    );
    let next = w.scan("2027-05-17T01:05:00Z").await;
    assert_eq!(
        next.window_start,
        Some(at("2027-05-16T12:05:00Z")),
        "a failed scan does not move the window"
    );
    assert_eq!(
        (next.occurrences_fired, next.jobs_published),
        (1, 2),
        "{next:?}"
    );
    assert_eq!(w.publisher.jobs().len(), 2);
}

#[tokio::test]
async fn a_birthday_corrected_after_it_fired_waits_for_next_year() {
    let w = World::new().await;
    let id = w
        .customer(
            "c1",
            json!({"Name": "An", "Phone": "0912345678", "Birthday": "1990-05-17"}),
        )
        .await;
    let workflow = w.active_workflow("wf-edit", "2027-05-16T12:00:00Z").await;
    w.scan("2027-05-16T12:05:00Z").await;
    assert_eq!(w.scan("2027-05-17T01:00:00Z").await.occurrences_fired, 1);

    // The birthday was wrong: it is May 20. Upkeep (the records stream) re-plans the entry.
    let stored = w.stores.records.get(&w.tenant, &id).await.unwrap().unwrap();
    let mut fields = stored.value.fields.clone();
    fields.insert("Birthday".into(), json!("1990-05-20"));
    let changed = StoredRecord {
        fields,
        ..stored.value.clone()
    };
    w.stores
        .records
        .replace(&w.tenant, &changed, stored.revision)
        .await
        .unwrap();
    let settings = w
        .stores
        .settings
        .tenant_settings(&w.tenant)
        .await
        .unwrap()
        .value;
    let head = w
        .stores
        .workflows
        .get(&w.tenant, &workflow)
        .await
        .unwrap()
        .unwrap()
        .value;
    let clock = FixedClock(at("2027-05-17T03:00:00Z"));
    let upkeep = crm_model::schedule::upkeep::Upkeep {
        schedule: &w.stores.schedule,
        clock: &clock,
    };
    let record = changed.typed(&settings.schema());
    let pinned = crm_model::schedule::upkeep::PinnedWorkflow {
        id: &workflow,
        version: head.version,
        definition: &head.definition,
        scoring: None,
    };
    upkeep
        .refresh(&w.tenant, &settings, pinned, &id, Some(&record))
        .await
        .unwrap();

    assert_eq!(
        w.scan("2027-05-20T01:00:00Z").await.occurrences_fired,
        0,
        "2027 already fired"
    );
    let entry = w
        .stores
        .schedule
        .get(&w.tenant, &workflow, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.next.unwrap().fire_at, at("2028-05-20T01:00:00Z"));
    assert_eq!(w.publisher.jobs().len(), 2);
}

#[tokio::test]
async fn a_deactivated_workflow_fires_nothing_and_its_entries_go() {
    let w = World::new().await;
    w.customer(
        "c1",
        json!({"Name": "An", "Phone": "0912345678", "Birthday": "1990-05-17"}),
    )
    .await;
    let workflow = w.active_workflow("wf-off", "2027-05-16T12:00:00Z").await;
    w.scan("2027-05-16T12:05:00Z").await;
    let clock = FixedClock(at("2027-05-16T20:00:00Z"));
    w.use_cases(&clock)
        .deactivate(
            &w.tenant,
            &support::admin(),
            &workflow,
            None,
            crm_model::workflow::QueuedJobs::Cancel,
        )
        .await
        .unwrap();
    let cleanup = w.scan("2027-05-16T20:05:00Z").await;
    assert_eq!(
        (cleanup.entries_removed, cleanup.maintenance_finished),
        (1, 1),
        "{cleanup:?}"
    );
    let eight = w.scan("2027-05-17T01:00:00Z").await;
    assert_eq!((eight.due_pairs, eight.occurrences_fired), (0, 0));
    assert!(w.publisher.jobs().is_empty());
}

#[tokio::test]
async fn after_an_outage_the_catch_up_policy_and_max_lateness_decide() {
    let w = World::new().await;
    // Due at 08:00 on May 17 (01:00 UTC); max lateness 12 h, latest-only.
    w.customer(
        "c-recent",
        json!({"Name": "An", "Phone": "0912345678", "Birthday": "1990-05-17"}),
    )
    .await;
    w.customer(
        "c-stale",
        json!({"Name": "Bình", "Phone": "0912345679", "Birthday": "1990-05-16"}),
    )
    .await;
    w.active_workflow("wf-outage", "2027-05-15T12:00:00Z").await;
    w.scan("2027-05-15T12:05:00Z").await;
    // No scan ran from May 15 12:05 until May 17 10:00 UTC.
    let late = w.scan("2027-05-17T10:00:00Z").await;
    assert_eq!((late.occurrences_fired, late.too_late), (1, 1), "{late:?}");
    assert!(
        w.publisher
            .jobs()
            .iter()
            .all(|j| j.record.as_str() == "c-recent")
    );
}

#[tokio::test]
async fn activating_at_noon_does_not_greet_this_mornings_birthdays() {
    let w = World::new().await;
    let id = w
        .customer(
            "c-morning",
            json!({"Name": "An", "Phone": "0912345678", "Birthday": "1990-05-16"}),
        )
        .await;
    let workflow = w.active_workflow("wf-noon", "2027-05-16T05:00:00Z").await;
    let backfill = w.scan("2027-05-16T05:05:00Z").await;
    assert_eq!((backfill.entries_armed, backfill.occurrences_fired), (1, 0));
    let entry = w
        .stores
        .schedule
        .get(&w.tenant, &workflow, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.next.unwrap().key.to_string(), "Y2028");
}

#[tokio::test]
async fn an_edit_that_fails_to_save_leaves_the_active_version_scheduled() {
    let w = World::new().await;
    w.customer(
        "c1",
        json!({"Name": "An", "Phone": "0912345678", "Birthday": "1990-05-17"}),
    )
    .await;
    let workflow = w.active_workflow("wf-edit", "2027-05-16T10:00:00Z").await;
    // Before any scan, an edit files the backfill of version 2, then its save fails: version 1
    // stays active, and its own backfill request was replaced.
    let clock = FixedClock(at("2027-05-16T11:00:00Z"));
    let mut edited = support::birthday_definition();
    edited.name = "Sinh nhật (mới)".into();
    w.stores.workflows.fail_next_writes(1);
    let failed = w
        .use_cases(&clock)
        .update(&w.tenant, &support::admin(), &workflow, edited, None)
        .await;
    assert!(failed.is_err(), "{failed:?}");
    let head = w
        .stores
        .workflows
        .get(&w.tenant, &workflow)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(head.value.version, 1);

    w.scan("2027-05-16T12:05:00Z").await;
    let backfill = w.scan("2027-05-16T12:10:00Z").await;
    assert_eq!(
        (backfill.entries_armed, backfill.maintenance_finished),
        (1, 1),
        "{backfill:?}"
    );
    let eight = w.scan("2027-05-17T01:00:00Z").await;
    assert_eq!(eight.occurrences_fired, 1, "{eight:?}");
    assert!(w.publisher.jobs().iter().all(|j| j.version == 1));
}

#[tokio::test]
async fn a_scan_stopped_midway_reads_its_calendar_window_again_and_fires_nothing_twice() {
    let w = twenty_birthdays_on_may_17().await;
    w.active_workflow("wf-stop", "2027-05-16T12:00:00Z").await;
    w.scan("2027-05-16T12:05:00Z").await;
    // Armed the evening before: on the calendar.
    let entry = w
        .stores
        .schedule
        .get(
            &w.tenant,
            &WorkflowId::new("wf-stop").unwrap(),
            &RecordId::new("c00").unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.lane, crm_model::ports::DueLane::Calendar);
    // The store stops answering after a few claims: those shards keep their windows.
    w.stores.schedule.fail_next_writes(3);
    let stopped = w.scan_with("2027-05-17T01:00:00Z", &w.publisher).await;
    assert!(stopped.is_err());
    let again = w.scan("2027-05-17T01:05:00Z").await;
    let fired: u64 = w
        .publisher
        .jobs()
        .iter()
        .filter(|job| job.action.as_str() == "sms")
        .count() as u64;
    assert!(fired >= 20, "every birthday published at least once");
    let mut keys = w.published_keys();
    keys.dedup();
    assert_eq!(keys.len(), 40, "under its own keys only: {again:?}");
    let later = w.scan("2027-05-17T01:10:00Z").await;
    assert_eq!((later.due_pairs, later.jobs_published), (0, 0), "{later:?}");
    // And every entry waits for 2028, on the calendar.
    for i in 0..20 {
        let entry = w
            .stores
            .schedule
            .get(
                &w.tenant,
                &WorkflowId::new("wf-stop").unwrap(),
                &RecordId::new(format!("c{i:02}")).unwrap(),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(entry.next.unwrap().key.to_string(), "Y2028");
        assert_eq!(entry.lane, crm_model::ports::DueLane::Calendar);
    }
}
