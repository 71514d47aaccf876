//! One tenant's bad entry never stops or delays another's: tenant A's poison (an item of the due
//! index that reads as nothing, jobs the bus refuses, a record too large to travel whole) sits
//! in the same shard as tenant B's birthday, and B's greeting is published at 08:00 all the same.
//! A's failure is held on its own, shown in its run history with the reason, retried a bounded
//! number of times and then parked.

mod support;

use async_trait::async_trait;
use crm_model::ids::{RecordId, TenantId, WorkflowId};
use crm_model::ports::{
    BatchOutcome, DueIndex, FixedClock, JobPublisher, PageRequest, PublishError, RunLedger,
    ScheduleEntries,
};
use crm_model::run::RunStatus;
use crm_model::schedule::scan::{ScanReport, Scanner};
use crm_model::schedule::{ActionJob, due_shard};
use crm_model::testing::memory::RecordingPublisher;
use serde_json::json;
use support::{World, at};

/// A bus that refuses every job of one tenant and takes the rest.
struct RefusesTenant<'a> {
    tenant: TenantId,
    bus: &'a RecordingPublisher,
}

#[async_trait]
impl JobPublisher for RefusesTenant<'_> {
    async fn publish_batch(&self, batch: &[ActionJob]) -> Result<BatchOutcome, PublishError> {
        let (refused, taken): (Vec<_>, Vec<_>) = batch
            .iter()
            .enumerate()
            .partition(|(_, job)| job.tenant == self.tenant);
        let taken: Vec<ActionJob> = taken.into_iter().map(|(_, job)| job.clone()).collect();
        let mut outcome = self.bus.publish_batch(&taken).await?;
        outcome.refused = refused
            .into_iter()
            .map(|(i, _)| (i, "InvalidArgument: refused for this test".to_owned()))
            .collect();
        Ok(outcome)
    }
}

async fn scan_with(w: &World, now: &str, publisher: &dyn JobPublisher) -> ScanReport {
    let clock = FixedClock(at(now));
    Scanner {
        publisher,
        ..support::scanning::scanner(w, &clock)
    }
    .run()
    .await
    .expect("one tenant's poison never fails the scan")
}

/// Tenant A ("acme") and tenant B ("beta") on the same tables, each with a birthday workflow
/// activated and backfilled, and a customer each whose birthday is May 17 (08:00 in Hồ Chí Minh
/// City is 01:00 UTC). B's customer is in the same shard as A's.
async fn two_tenants() -> (World, World, RecordId, RecordId) {
    let a = World::new().await;
    let b = a.beside("beta").await;
    let workflow = WorkflowId::new("wf-birthday").unwrap();
    let a_customer = a
        .customer(
            "a-1",
            json!({"Name": "An", "Phone": "0912345678", "Birthday": "1990-05-17"}),
        )
        .await;
    let shards = a.stores.schedule.shards();
    let shard = due_shard(&a.tenant, &workflow, &a_customer, shards);
    let b_id = (0..)
        .map(|i| RecordId::new(format!("b-{i}")).unwrap())
        .find(|r| due_shard(&b.tenant, &workflow, r, shards) == shard)
        .unwrap();
    let b_customer = b
        .customer(
            b_id.as_str(),
            json!({"Name": "Bình", "Phone": "0987654321", "Birthday": "1985-05-17"}),
        )
        .await;
    a.active_workflow(workflow.as_str(), "2027-05-16T12:00:00Z")
        .await;
    b.active_workflow(workflow.as_str(), "2027-05-16T12:00:00Z")
        .await;
    support::scanning::scan(&a, "2027-05-16T12:05:00Z").await;
    (a, b, a_customer, b_customer)
}

fn sent_to(bus: &RecordingPublisher, tenant: &TenantId) -> Vec<String> {
    let mut keys: Vec<String> = bus
        .jobs()
        .iter()
        .filter(|job| &job.tenant == tenant)
        .map(ActionJob::idempotency_key)
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

async fn runs_of(w: &World) -> Vec<(String, RunStatus, String)> {
    let workflow = WorkflowId::new("wf-birthday").unwrap();
    let page = w
        .stores
        .runs
        .history(&w.tenant, &workflow, &PageRequest::first(100))
        .await
        .unwrap();
    page.items
        .into_iter()
        .map(|run| {
            (
                run.action.to_string(),
                run.status,
                run.error.unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test]
async fn tenant_b_is_greeted_on_time_while_the_bus_refuses_tenant_as_jobs_until_they_are_parked() {
    let (a, b, a_customer, _) = two_tenants().await;
    let refusing = RefusesTenant {
        tenant: a.tenant.clone(),
        bus: &a.publisher,
    };
    let eight = scan_with(&a, "2027-05-17T01:00:00Z", &refusing).await;
    assert_eq!(
        (eight.occurrences_fired, eight.entries_held),
        (1, 1),
        "{eight:?}"
    );
    assert_eq!(
        sent_to(&a.publisher, &b.tenant).len(),
        2,
        "B's SMS and notification, at 08:00"
    );
    assert!(sent_to(&a.publisher, &a.tenant).is_empty());
    let runs = runs_of(&a).await;
    assert_eq!(runs.len(), 2, "each refused job has a failed run: {runs:?}");
    assert!(
        runs.iter()
            .all(|(_, status, error)| *status == RunStatus::Retrying
                && error.contains("the bus refused job")
                && error.contains("attempt 1 of 5")),
        "retrying, with the reason: {runs:?}"
    );

    // Attempts 2 to 5 at the backoff instants (5, 10, 20, 40 minutes), then parked.
    let workflow = WorkflowId::new("wf-birthday").unwrap();
    let mut now = at("2027-05-17T01:00:00Z");
    for (attempt, wait) in [(2, 5), (3, 10), (4, 20), (5, 40)] {
        let early = now + chrono::Duration::minutes(wait - 1);
        let waiting = scan_with(&a, &early.to_rfc3339(), &refusing).await;
        assert_eq!(waiting.due_pairs, 0, "held until its retry instant");
        now += chrono::Duration::minutes(wait);
        let retried = scan_with(&a, &now.to_rfc3339(), &refusing).await;
        assert_eq!(retried.due_pairs, 1, "attempt {attempt}: {retried:?}");
        let entry = a
            .stores
            .schedule
            .get(&a.tenant, &workflow, &a_customer)
            .await
            .unwrap()
            .unwrap();
        let failure = entry.failure.expect("held");
        assert_eq!(failure.attempts, attempt);
        assert_eq!(
            failure.retry_at.is_none(),
            attempt == 5,
            "parked after five"
        );
    }
    let runs = runs_of(&a).await;
    assert!(
        runs.iter()
            .all(|(_, status, error)| *status == RunStatus::Failed && error.contains("parked")),
        "failed once parked, for an administrator to retry: {runs:?}"
    );
    let much_later = scan_with(&a, "2027-05-20T00:00:00Z", &refusing).await;
    assert_eq!(
        much_later.due_pairs, 0,
        "a parked entry stays out of the index"
    );

    assert_eq!(
        sent_to(&a.publisher, &b.tenant).len(),
        2,
        "B was greeted once"
    );
}

#[tokio::test]
async fn an_unreadable_index_item_is_set_aside_and_tenant_b_is_greeted_on_time() {
    let (a, b, a_customer, _) = two_tenants().await;
    let workflow = WorkflowId::new("wf-birthday").unwrap();
    let shard = due_shard(
        &a.tenant,
        &workflow,
        &a_customer,
        a.stores.schedule.shards(),
    );
    // Sorted first in the shard: before both birthdays.
    a.stores.schedule.plant_malformed(
        shard,
        "2027-05-17T00:00:00Z#E#acme/wf-birthday/a-broken",
        "T#acme#W#wf-birthday",
        "R#a-broken",
        "next_at: invalid date",
    );
    let eight = support::scanning::scan(&a, "2027-05-17T01:00:00Z").await;
    assert_eq!(
        (eight.items_set_aside, eight.occurrences_fired),
        (1, 2),
        "{eight:?}"
    );
    assert_eq!(sent_to(&a.publisher, &b.tenant).len(), 2);
    assert_eq!(sent_to(&a.publisher, &a.tenant).len(), 2);
    assert_eq!(a.stores.schedule.set_aside_items().len(), 1);
    let runs = runs_of(&a).await;
    assert!(
        runs.iter()
            .any(|(action, status, error)| action == "schedule"
                && *status == RunStatus::Failed
                && error.contains("set aside: next_at: invalid date")),
        "shown in A's run history: {runs:?}"
    );
    assert!(runs_of(&b).await.is_empty(), "nothing in B's");
    let next = support::scanning::scan(&a, "2027-05-17T01:05:00Z").await;
    assert_eq!(next.items_set_aside, 0, "set aside once");
}

#[tokio::test]
async fn a_send_carries_only_the_fields_it_reads_so_a_large_record_travels_light() {
    let (a, b, _, _) = two_tenants().await;
    let large = a
        .customer(
            "a-large",
            json!({"Name": "Lớn", "Phone": "0912345670", "Birthday": "1990-05-17",
                   "Description": "x".repeat(300 * 1024)}),
        )
        .await;
    // Armed by the backfill of a second workflow, which reads every customer.
    a.active_workflow("wf-large", "2027-05-16T13:00:00Z").await;
    support::scanning::scan(&a, "2027-05-16T13:05:00Z").await;
    let eight = support::scanning::scan(&a, "2027-05-17T01:00:00Z").await;
    assert_eq!(eight.entries_held, 0, "{eight:?}");
    let jobs = a.publisher.jobs();
    let sms = jobs
        .iter()
        .find(|j| j.record == large && j.action.as_str() == "sms")
        .expect("its SMS is published");
    let carried: Vec<&String> = sms
        .snapshot
        .as_ref()
        .expect("a send carries a snapshot")
        .keys()
        .collect();
    // "Chúc mừng sinh nhật #Name" to the Phone field: the 300 KiB description stays home.
    assert_eq!(carried, ["Name", "Phone"]);
    assert!(
        jobs.iter()
            .filter(|j| j.action.as_str() == "tell")
            .all(|j| j.snapshot.is_none()),
        "an effect reads the record when it runs"
    );
    assert_eq!(sent_to(&a.publisher, &b.tenant).len(), 2);
}
