//! One tenant's slow provider does not hold up another tenant's jobs in the same batch, and a
//! batch that runs out of time leaves every job either done, waiting as retrying with the
//! recipients it reached, or untouched: never half-done. Time is tokio's paused clock, so ten
//! seconds of provider latency cost nothing.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use chrono::{DateTime, Utc};
use serde_json::json;

use super::{Deps, handle};
use crm_model::clock::Clock;
use crm_model::ids::{ActionId, RecordId, SettingId, TenantId, UserId, WorkflowId};
use crm_model::ports::{
    FixedClock, RecordStore, RunLedger, SendError, SettingsStore, SmsSender, StoredRecord,
    UserDirectory,
};
use crm_model::run::execute::ExecutorCache;
use crm_model::run::{RecipientState, RunRecord, RunStatus};
use crm_model::schedule::ActionJob;
use crm_model::settings::SmsGateway;
use crm_model::settings::secrets::GatewayKeys;
use crm_model::testing::memory::{
    MemoryStores, RecordingEmail, RecordingSms, RecordingTaskSync, RecordingZns, TextPrinter,
};
use crm_model::user::{Role, User};
use crm_model::workflow::service::Workflows;

const START: &str = "2027-05-17T01:00:00Z";
/// How long tenant A's SMS gateway takes per message.
const SLOW_SECONDS: u64 = 6;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("test instant")
}

/// Wall time that follows tokio's (paused) clock from `START`.
struct TokioClock(tokio::time::Instant);

impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = chrono::Duration::from_std(self.0.elapsed()).unwrap_or_default();
        at(START) + elapsed
    }
}

/// The recording gateway, taking `SLOW_SECONDS` for tenant A's messages (their text says so).
struct SlowForA(RecordingSms);

#[async_trait]
impl SmsSender for SlowForA {
    async fn send(
        &self,
        gateway: &SmsGateway,
        keys: Option<&GatewayKeys>,
        to: &str,
        text: &str,
        request_id: &str,
    ) -> Result<String, SendError> {
        if text.starts_with("[A]") {
            tokio::time::sleep(Duration::from_secs(SLOW_SECONDS)).await;
        }
        self.0.send(gateway, keys, to, text, request_id).await
    }
}

/// A tenant with two customers' worth of SMS jobs to two numbers each (the customer's and the
/// owner's), its texts marked with its name.
async fn tenant(stores: &MemoryStores, name: &str, customers: usize) -> Vec<ActionJob> {
    let tenant = TenantId::new(name).unwrap();
    let owner = User {
        id: UserId::new("u-owner").unwrap(),
        name: "Chủ sở hữu".into(),
        email: "owner@example.vn".into(),
        phone: Some("0981000001".into()),
        team: None,
        role: Role::Administrator,
        manager: None,
        active: true,
    };
    stores.users.put(&tenant, &owner).await.unwrap();
    for (id, setting) in [
        (
            "sms",
            json!({"kind": "sms_provider", "name": "SNS", "gateway": {"type": "sns", "sender_id": "CRMDEMO"}}),
        ),
        (
            "hello",
            json!({"kind": "sms_template", "name": "Chào", "module": "Customer", "body": format!("[{name}] Chào #Name")}),
        ),
    ] {
        let setting = serde_json::from_value(setting).unwrap();
        let id = SettingId::new(id).unwrap();
        stores
            .settings
            .create(&tenant, &id, &setting)
            .await
            .unwrap();
    }
    let clock = FixedClock(at("2027-01-01T00:00:00Z"));
    let workflows = Workflows {
        workflows: &stores.workflows,
        settings: &stores.settings,
        users: &stores.users,
        schedule: &stores.schedule,
        clock: &clock,
    };
    let workflow = WorkflowId::new("wf-hello").unwrap();
    let definition = json!({
        "module": "Customer", "name": "Chào",
        "trigger": {"type": "record_event", "on": "created"},
        "actions": [{"kind": "sms", "id": "sms", "name": "SMS", "provider": "sms", "template": "hello",
                     "recipient_fields": [{"field": "Phone"}], "users": ["u-owner"]}]
    });
    let definition = serde_json::from_value(definition).unwrap();
    workflows
        .create(&tenant, &owner.id, workflow.clone(), definition)
        .await
        .unwrap();
    workflows
        .activate(&tenant, &owner.id, &workflow, None)
        .await
        .unwrap();
    let mut jobs = Vec::new();
    for n in 0..customers {
        let id = RecordId::new(format!("c{n}")).unwrap();
        let fields = json!({"Name": format!("Khách {n}"), "Phone": format!("09123456{n:02}")});
        let record = StoredRecord {
            id: id.clone(),
            module: crm_model::schema::Module::Customer,
            fields: fields.as_object().unwrap().clone(),
        };
        stores.records.create(&tenant, &record).await.unwrap();
        jobs.push(ActionJob {
            depth: 0,
            tenant: tenant.clone(),
            workflow: workflow.clone(),
            version: 1,
            record: id,
            cause: "E1".into(),
            action: ActionId::new("sms").unwrap(),
            due_at: at(START),
            snapshot: None,
        });
    }
    jobs
}

fn deps(stores: &MemoryStores, sms: Arc<SlowForA>, clock: Arc<TokioClock>) -> Deps {
    Deps {
        workflows: Arc::new(stores.workflows.clone()),
        records: Arc::new(stores.records.clone()),
        settings: Arc::new(stores.settings.clone()),
        users: Arc::new(stores.users.clone()),
        ledger: Arc::new(stores.runs.clone()),
        sms,
        zns: Arc::new(RecordingZns::new()),
        email: Arc::new(RecordingEmail::new()),
        printer: Arc::new(TextPrinter::new()),
        attachments: Arc::new(crm_model::testing::memory::MemoryAttachments::new()),
        task_sync: Arc::new(RecordingTaskSync::new()),
        secrets: Arc::new(crm_model::testing::memory::MemorySecretVault::new()),
        clock,
        approvals: Arc::new(stores.approvals.clone()),
        links_base: "https://crm.example.vn".into(),
        cache: ExecutorCache::default(),
        lanes_per_tenant: 2,
        max_receives: 5,
    }
}

fn batch(jobs: &[ActionJob]) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = jobs
        .iter()
        .map(|job| {
            let mut message = SqsMessage::default();
            message.message_id = Some(format!("{}-{}", job.tenant, job.record));
            message.body = Some(
                json!({"source": "crm.automation", "detail-type": "ActionJob", "detail": job})
                    .to_string(),
            );
            message
        })
        .collect();
    event
}

fn run_of(stores: &MemoryStores, job: &ActionJob) -> Option<RunRecord> {
    stores
        .runs
        .runs(&job.tenant)
        .into_iter()
        .find(|r| r.key == job.idempotency_key())
}

fn sent_states(run: &RunRecord) -> Vec<RecipientState> {
    run.recipients.iter().map(|r| r.state).collect()
}

#[tokio::test(start_paused = true)]
async fn a_slow_provider_of_one_tenant_does_not_hold_up_another_tenants_jobs_in_the_batch() {
    let stores = MemoryStores::new();
    let a = tenant(&stores, "A", 6).await;
    let b = tenant(&stores, "B", 4).await;
    // The queue hands them over mixed: A's six first, then B's four.
    let jobs: Vec<ActionJob> = a.iter().chain(b.iter()).cloned().collect();
    let clock = Arc::new(TokioClock(tokio::time::Instant::now()));
    let sms = Arc::new(SlowForA(RecordingSms::new()));
    let deps = deps(&stores, sms.clone(), clock.clone());
    // A 30-second function: 27 seconds of budget once the answer's margin is kept.
    let budget = Some(at(START) + chrono::Duration::seconds(27));
    let response = handle(&deps, &batch(&jobs), budget).await;

    // B: every job done at once, at the batch's start, whatever A's gateway does.
    for job in &b {
        let run = run_of(&stores, job).expect("B's job ran");
        assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
        assert_eq!(run.updated_at, at(START), "B waited for nobody");
    }
    // A, two lanes of 6-second sends to two numbers within 27 s: c0 and c1 done (12 s each);
    // c2 and c3 started at 12 s, sent to their first number, and stopped before a send that
    // could end past the budget (18 s + 12 s > 27 s): retrying, with what they reached; c4 and
    // c5 never started.
    for job in &a[..2] {
        let run = run_of(&stores, job).unwrap();
        assert_eq!(run.status, RunStatus::Succeeded);
        assert_eq!(run.updated_at, at("2027-05-17T01:00:12Z"));
    }
    for job in &a[2..4] {
        let run = run_of(&stores, job).unwrap();
        assert_eq!(run.status, RunStatus::Retrying, "{run:?}");
        assert_eq!(
            sent_states(&run),
            [RecipientState::Sent, RecipientState::Pending]
        );
        assert_eq!(
            run.lease_until, None,
            "released: the redelivery need not wait"
        );
    }
    for job in &a[4..] {
        assert_eq!(run_of(&stores, job), None, "untouched");
    }
    let mut failed: Vec<String> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    failed.sort();
    assert_eq!(failed, ["A-c2", "A-c3", "A-c4", "A-c5"]);
    assert!(
        tokio::time::Instant::now() - clock.0 <= Duration::from_secs(27),
        "the batch kept to its budget"
    );

    // The queue redelivers A's four: each number gets its one message, none twice.
    let later = Some(clock.now() + chrono::Duration::seconds(27));
    let again = handle(&deps, &batch(&a[2..]), later).await;
    assert!(again.batch_item_failures.is_empty(), "{again:?}");
    let sent = sms.0.delivered();
    assert_eq!(sent.len(), 6 * 2 + 4 * 2, "every number once");
    let mut numbers: Vec<(String, String)> = sent
        .iter()
        .map(|m| (m.text.clone(), m.to.clone()))
        .collect();
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), sent.len(), "no message sent twice");
}

#[tokio::test(start_paused = true)]
async fn a_job_failing_on_its_last_delivery_is_marked_dead_lettered_in_its_run() {
    let stores = MemoryStores::new();
    let jobs = tenant(&stores, "B", 2).await;
    let clock = Arc::new(TokioClock(tokio::time::Instant::now()));
    let sms = Arc::new(SlowForA(RecordingSms::new()));
    sms.0
        .fail_next(100, SendError::Transient("HTTP 503".into()));
    let deps = deps(&stores, sms.clone(), clock);
    let mut event = batch(&jobs);
    event.records[0]
        .attributes
        .insert("ApproximateReceiveCount".into(), "5".into());
    event.records[1]
        .attributes
        .insert("ApproximateReceiveCount".into(), "2".into());
    let response = handle(&deps, &event, None).await;
    assert_eq!(
        response.batch_item_failures.len(),
        2,
        "both go back to the queue"
    );
    let last = run_of(&stores, &jobs[0]).unwrap();
    assert_eq!(last.status, RunStatus::Retrying);
    assert_eq!(last.dead_letter.as_ref().map(|d| d.deliveries), Some(5));
    assert!(
        last.error.as_deref().unwrap().contains("HTTP 503"),
        "{last:?}"
    );
    let earlier = run_of(&stores, &jobs[1]).unwrap();
    assert_eq!(earlier.dead_letter, None, "the queue still retries it");
    let listed = stores
        .runs
        .dead_letters(&jobs[0].tenant, &crm_model::store::PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(listed.items, [last]);
}
