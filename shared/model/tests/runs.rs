//! Run history and an administrator's retry over the in-memory stores: only a failed or unknown
//! run is retried, under its own idempotency key and published once; a run that changed since it
//! was read, or one of another workflow or tenant, is not.

mod support;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_model::ids::{ActionId, RecordId, TenantId, WorkflowId};
use crm_model::ports::{ClaimOutcome, FixedClock, RunLedger, StoreError};
use crm_model::run::service::{RunError, Runs};
use crm_model::run::{Effect, RunRecord, RunStatus};
use crm_model::schedule::ActionJob;
use crm_model::store::{Page, PageRequest};
use crm_model::testing::memory::{MemoryRunLedger, PublishFault};
use serde_json::json;
use support::{World, at};

const NOW: &str = "2027-05-17T03:00:00Z";

/// A run of `wf-runs` for `record`, in `status`, last touched at `updated`.
fn run(w: &World, record: &str, action: &str, status: RunStatus, updated: &str) -> RunRecord {
    let job = ActionJob {
        depth: 0,
        tenant: w.tenant.clone(),
        workflow: WorkflowId::new("wf-runs").unwrap(),
        version: 1,
        record: RecordId::new(record).unwrap(),
        cause: "Y2027".into(),
        action: ActionId::new(action).unwrap(),
        due_at: at("2027-05-17T01:00:00Z"),
        snapshot: Some(json!({"Name": "An"}).as_object().unwrap().clone()),
    };
    let mut run = RunRecord::start(&job, "sms", at("2027-05-17T01:00:01Z"));
    run.status = status;
    run.updated_at = at(updated);
    if status == RunStatus::Failed {
        run.error = Some("no recipient has a valid phone number".into());
    }
    run
}

async fn stored(w: &World, run: RunRecord) -> RunRecord {
    w.stores.runs.record(&run).await.unwrap();
    run
}

fn runs<'a>(w: &'a World, ledger: &'a dyn RunLedger, clock: &'a FixedClock) -> Runs<'a> {
    Runs {
        runs: ledger,
        records: &w.stores.records,
        publisher: &w.publisher,
        clock,
    }
}

fn workflow() -> WorkflowId {
    WorkflowId::new("wf-runs").unwrap()
}

#[tokio::test]
async fn a_failed_run_is_retried_under_its_own_key_and_asking_again_while_it_waits_publishes_the_same_job()
 {
    let w = World::new().await;
    let failed = stored(
        &w,
        run(&w, "c1", "sms", RunStatus::Failed, "2027-05-17T01:00:02Z"),
    )
    .await;
    let clock = FixedClock(at(NOW));
    let cases = runs(&w, &w.stores.runs, &clock);
    let retrying = cases
        .retry(&w.tenant, &workflow(), &failed.key)
        .await
        .unwrap();
    assert_eq!(
        (
            retrying.status,
            retrying.updated_at,
            &retrying.key,
            retrying.attempts
        ),
        (RunStatus::Retrying, at(NOW), &failed.key, 1)
    );
    // Its job may have been dead-lettered: asking again hands the same job (same key) to the
    // executor once more, whose claim lets one delivery act.
    let again = cases
        .retry(&w.tenant, &workflow(), &failed.key)
        .await
        .unwrap();
    assert_eq!((again.status, again.attempts), (RunStatus::Retrying, 1));
    let jobs = w.publisher.jobs();
    assert_eq!(jobs.len(), 2);
    assert!(jobs.iter().all(|j| j.idempotency_key() == failed.key));
    assert_eq!(
        (jobs[0].due_at, jobs[0].snapshot.as_ref()),
        (at(NOW), None),
        "reads the record anew"
    );
    let ledger = w
        .stores
        .runs
        .get(&w.tenant, &failed.key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ledger, retrying);
}

#[tokio::test]
async fn an_unknown_run_is_retried_and_a_succeeded_or_in_progress_one_is_not() {
    let w = World::new().await;
    let clock = FixedClock(at(NOW));
    let cases = runs(&w, &w.stores.runs, &clock);
    let unknown = stored(&w, run(&w, "c1", "sms", RunStatus::Unknown, NOW)).await;
    assert!(
        cases
            .retry(&w.tenant, &workflow(), &unknown.key)
            .await
            .is_ok()
    );
    for status in [RunStatus::Succeeded, RunStatus::InProgress] {
        let other = stored(&w, run(&w, "c2", status.as_str(), status, NOW)).await;
        let refused = cases.retry(&w.tenant, &workflow(), &other.key).await;
        assert!(
            matches!(refused, Err(RunError::NotRetryable(s)) if s == status),
            "{refused:?}"
        );
        let kept = w
            .stores
            .runs
            .get(&w.tenant, &other.key)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(kept.status, status);
    }
    assert_eq!(w.publisher.idempotency_keys(), [unknown.key]);
}

/// A ledger where the executor tries the run once more between the retry's read and its request.
struct FailsAgainMeanwhile<'a>(&'a MemoryRunLedger);

#[async_trait]
impl RunLedger for FailsAgainMeanwhile<'_> {
    async fn get(&self, tenant: &TenantId, key: &str) -> Result<Option<RunRecord>, StoreError> {
        let read = self.0.get(tenant, key).await?;
        if let Some(run) = &read {
            let mut later = run.clone();
            later.attempts += 1;
            self.0.record(&later).await?;
        }
        Ok(read)
    }
    async fn claim(
        &self,
        run: &RunRecord,
        takeover: Option<&RunRecord>,
    ) -> Result<ClaimOutcome, StoreError> {
        self.0.claim(run, takeover).await
    }
    async fn request_retry(
        &self,
        run: &RunRecord,
        now: DateTime<Utc>,
    ) -> Result<Option<RunRecord>, StoreError> {
        self.0.request_retry(run, now).await
    }
    async fn progress(&self, run: &RunRecord) -> Result<ClaimOutcome, StoreError> {
        self.0.progress(run).await
    }
    async fn record(&self, run: &RunRecord) -> Result<ClaimOutcome, StoreError> {
        self.0.record(run).await
    }
    async fn record_unstarted(&self, run: &RunRecord) -> Result<ClaimOutcome, StoreError> {
        self.0.record_unstarted(run).await
    }

    async fn commit(
        &self,
        run: &RunRecord,
        effects: &[Effect],
    ) -> Result<ClaimOutcome, StoreError> {
        self.0.commit(run, effects).await
    }
    async fn counter(&self, tenant: &TenantId, name: &str) -> Result<u64, StoreError> {
        self.0.counter(tenant, name).await
    }

    async fn advance(
        &self,
        tenant: &TenantId,
        name: &str,
        expected: u64,
    ) -> Result<ClaimOutcome, StoreError> {
        self.0.advance(tenant, name, expected).await
    }
    async fn record_history(
        &self,
        tenant: &TenantId,
        record: &RecordId,
        page: &PageRequest,
    ) -> Result<Page<RunRecord>, StoreError> {
        self.0.record_history(tenant, record, page).await
    }
    async fn dead_letters(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<RunRecord>, StoreError> {
        self.0.dead_letters(tenant, page).await
    }

    async fn history(
        &self,
        tenant: &TenantId,
        workflow: &WorkflowId,
        page: &PageRequest,
    ) -> Result<Page<RunRecord>, StoreError> {
        self.0.history(tenant, workflow, page).await
    }
}

#[tokio::test]
async fn a_run_that_changed_since_it_was_read_is_not_retried_and_nothing_is_published() {
    let w = World::new().await;
    let failed = stored(&w, run(&w, "c1", "sms", RunStatus::Failed, NOW)).await;
    let clock = FixedClock(at(NOW));
    let meanwhile = FailsAgainMeanwhile(&w.stores.runs);
    let refused = runs(&w, &meanwhile, &clock)
        .retry(&w.tenant, &workflow(), &failed.key)
        .await;
    assert!(matches!(refused, Err(RunError::Changed)), "{refused:?}");
    assert!(w.publisher.jobs().is_empty());
    let now = w
        .stores
        .runs
        .get(&w.tenant, &failed.key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((now.status, now.attempts), (RunStatus::Failed, 2));
}

#[tokio::test]
async fn a_run_of_another_workflow_or_tenant_or_no_run_at_all_is_not_found() {
    let w = World::new().await;
    let failed = stored(&w, run(&w, "c1", "sms", RunStatus::Failed, NOW)).await;
    let clock = FixedClock(at(NOW));
    let cases = runs(&w, &w.stores.runs, &clock);
    let other_workflow = WorkflowId::new("wf-other").unwrap();
    let stranger = TenantId::new("stranger").unwrap();
    let missing = failed.key.replace("/sms", "/email");
    for (tenant, workflow, key) in [
        (&w.tenant, &other_workflow, failed.key.as_str()),
        (&stranger, &workflow(), failed.key.as_str()),
        (&w.tenant, &workflow(), missing.as_str()),
    ] {
        let refused = cases.retry(tenant, workflow, key).await;
        assert!(matches!(refused, Err(RunError::RunNotFound)), "{refused:?}");
    }
    let kept = w
        .stores
        .runs
        .get(&w.tenant, &failed.key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.status, RunStatus::Failed);
    assert!(w.publisher.jobs().is_empty());
}

#[tokio::test]
async fn a_retry_the_bus_refuses_is_reported_as_a_publish_error() {
    let w = World::new().await;
    let failed = stored(&w, run(&w, "c1", "sms", RunStatus::Failed, NOW)).await;
    let clock = FixedClock(at(NOW));
    w.publisher.fail_next(1, PublishFault::DOWN);
    let refused = runs(&w, &w.stores.runs, &clock)
        .retry(&w.tenant, &workflow(), &failed.key)
        .await;
    assert!(matches!(refused, Err(RunError::Publish(_))), "{refused:?}");
    assert!(w.publisher.jobs().is_empty());
}

#[tokio::test]
async fn histories_list_a_workflows_runs_and_a_records_runs_latest_first() {
    let w = World::new().await;
    w.customer("c1", json!({"Name": "An"})).await;
    let early = stored(
        &w,
        run(
            &w,
            "c1",
            "sms",
            RunStatus::Succeeded,
            "2027-05-17T01:00:02Z",
        ),
    )
    .await;
    let late = stored(
        &w,
        run(&w, "c1", "tell", RunStatus::Failed, "2027-05-17T01:00:09Z"),
    )
    .await;
    let other = stored(
        &w,
        run(
            &w,
            "c2",
            "sms",
            RunStatus::Succeeded,
            "2027-05-17T01:00:05Z",
        ),
    )
    .await;
    let clock = FixedClock(at(NOW));
    let cases = runs(&w, &w.stores.runs, &clock);
    let keys = |page: Page<RunRecord>| page.items.into_iter().map(|r| r.key).collect::<Vec<_>>();
    let page = PageRequest::first(10);
    let of_workflow = cases
        .of_workflow(
            &w.tenant,
            &crm_model::user::access::Access::everything(),
            &workflow(),
            &page,
        )
        .await
        .unwrap();
    assert_eq!(
        keys(of_workflow),
        [late.key.clone(), other.key.clone(), early.key.clone()]
    );
    let c1 = RecordId::new("c1").unwrap();
    let of_record = cases
        .of_record(
            &w.tenant,
            &crm_model::user::access::Access::everything(),
            &c1,
            &page,
        )
        .await
        .unwrap();
    assert_eq!(keys(of_record), [late.key.clone(), early.key.clone()]);
    // c2 has runs but is no record of this tenant; nor is c1 of another tenant.
    let c2 = RecordId::new("c2").unwrap();
    let stranger = TenantId::new("stranger").unwrap();
    for (tenant, record) in [(&w.tenant, &c2), (&stranger, &c1)] {
        let refused = cases
            .of_record(
                tenant,
                &crm_model::user::access::Access::everything(),
                record,
                &page,
            )
            .await;
        assert!(
            matches!(refused, Err(RunError::RecordNotFound)),
            "{refused:?}"
        );
    }
}

#[tokio::test]
async fn a_run_an_earlier_release_keyed_with_the_version_is_not_retried_under_todays_key() {
    let w = World::new().await;
    let clock = FixedClock(at(NOW));
    let cases = runs(&w, &w.stores.runs, &clock);
    let mut earlier = run(&w, "c1", "sms", RunStatus::Failed, NOW);
    earlier.key = format!("{}/wf-runs/v1/c1/Y2027/sms", w.tenant);
    let earlier = stored(&w, earlier).await;
    let refused = cases.retry(&w.tenant, &workflow(), &earlier.key).await;
    assert!(
        matches!(refused, Err(RunError::RecordedUnderAnEarlierKey)),
        "{refused:?}"
    );
    assert!(w.publisher.jobs().is_empty(), "nothing published");
    let kept = w.stores.runs.get(&w.tenant, &earlier.key).await.unwrap();
    assert_eq!(kept, Some(earlier), "the run stays as it was");
}
