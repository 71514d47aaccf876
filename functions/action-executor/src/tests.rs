//! The handler's partial batch failures, over the in-memory stores: what is retried is exactly
//! what failed for a reason worth retrying, and a redelivered batch acts once per job.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use chrono::{DateTime, Utc};
use serde_json::json;

use super::{Deps, handle};
use crm_model::ids::{ActionId, RecordId, TenantId, UserId, WorkflowId};
use crm_model::ports::{
    FixedClock, NotificationInbox, PageRequest, RecordStore, StoredRecord, UserDirectory,
};
use crm_model::run::execute::ExecutorCache;
use crm_model::schedule::ActionJob;
use crm_model::testing::memory::{
    MemoryStores, RecordingEmail, RecordingSms, RecordingTaskSync, RecordingZns, TextPrinter,
};
use crm_model::user::{Role, User};
use crm_model::workflow::service::Workflows;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("test instant")
}

const NOW: &str = "2027-05-17T01:00:00Z";

struct World {
    stores: MemoryStores,
    deps: Deps,
    tenant: TenantId,
    workflow: WorkflowId,
}

async fn world() -> World {
    let stores = MemoryStores::new();
    let tenant = TenantId::new("acme").unwrap();
    let manager = User {
        id: UserId::new("u-manager").unwrap(),
        name: "Trần Thị Quản Lý".into(),
        email: "manager@example.vn".into(),
        phone: None,
        team: None,
        role: Role::Administrator,
        manager: None,
        active: true,
    };
    stores.users.put(&tenant, &manager).await.unwrap();
    for id in ["c1", "c2"] {
        let fields = json!({"Name": format!("Khách {id}"), "Birthday": "1990-05-17"});
        let record = StoredRecord {
            id: RecordId::new(id).unwrap(),
            module: crm_model::schema::Module::Customer,
            fields: fields.as_object().unwrap().clone(),
        };
        stores.records.create(&tenant, &record).await.unwrap();
    }
    let definition = json!({
        "module": "Customer", "name": "Sinh nhật",
        "trigger": {"type": "time", "date_field": "Birthday", "recurrence": "yearly", "time_of_day": "08:00:00"},
        "actions": [{"kind": "notification", "id": "tell", "name": "Báo", "users": ["u-manager"], "message": "Sinh nhật #Name"}]
    });
    let clock = FixedClock(at("2027-01-01T00:00:00Z"));
    let workflows = Workflows {
        workflows: &stores.workflows,
        settings: &stores.settings,
        users: &stores.users,
        schedule: &stores.schedule,
        clock: &clock,
    };
    let workflow = WorkflowId::new("wf-birthday").unwrap();
    workflows
        .create(
            &tenant,
            &manager.id,
            workflow.clone(),
            serde_json::from_value(definition).unwrap(),
        )
        .await
        .unwrap();
    workflows
        .activate(&tenant, &manager.id, &workflow, None)
        .await
        .unwrap();
    let deps = Deps {
        workflows: Arc::new(stores.workflows.clone()),
        records: Arc::new(stores.records.clone()),
        settings: Arc::new(stores.settings.clone()),
        users: Arc::new(stores.users.clone()),
        ledger: Arc::new(stores.runs.clone()),
        sms: Arc::new(RecordingSms::new()),
        zns: Arc::new(RecordingZns::new()),
        email: Arc::new(RecordingEmail::new()),
        printer: Arc::new(TextPrinter::new()),
        attachments: Arc::new(crm_model::testing::memory::MemoryAttachments::new()),
        task_sync: Arc::new(RecordingTaskSync::new()),
        secrets: Arc::new(crm_model::testing::memory::MemorySecretVault::new()),
        clock: Arc::new(FixedClock(at(NOW))),
        approvals: Arc::new(stores.approvals.clone()),
        links_base: "https://crm.example.vn".into(),
        cache: ExecutorCache::default(),
        lanes_per_tenant: 2,
        max_receives: 5,
    };
    World {
        stores,
        deps,
        tenant,
        workflow,
    }
}

impl World {
    fn job(&self, record: &str) -> ActionJob {
        ActionJob {
            depth: 0,
            tenant: self.tenant.clone(),
            workflow: self.workflow.clone(),
            version: 1,
            record: RecordId::new(record).unwrap(),
            cause: "Y2027".into(),
            action: ActionId::new("tell").unwrap(),
            due_at: at(NOW),
            snapshot: None,
        }
    }

    async fn notifications(&self) -> usize {
        let manager = UserId::new("u-manager").unwrap();
        let page = PageRequest::first(100);
        let found = self
            .stores
            .inbox
            .list(&self.tenant, &manager, false, &page)
            .await;
        found.unwrap().items.len()
    }
}

/// An SQS message as the automation bus's rule delivers it: the job is the event's detail.
fn message(id: &str, body: String) -> SqsMessage {
    let mut message = SqsMessage::default();
    message.message_id = Some(id.to_owned());
    message.body = Some(body);
    message
}

fn event_of(job: &ActionJob) -> String {
    json!({"source": "crm.automation", "detail-type": "ActionJob", "detail": job}).to_string()
}

fn batch(messages: Vec<SqsMessage>) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = messages;
    event
}

fn failed_ids(response: &aws_lambda_events::event::sqs::SqsBatchResponse) -> Vec<String> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

#[tokio::test]
async fn only_the_job_that_met_a_passing_fault_is_redelivered_and_a_redelivery_acts_once() {
    let w = world().await;
    let event = batch(vec![
        message("m-garbage", "not an event".into()),
        message("m-c1", event_of(&w.job("c1"))),
        message("m-c2", event_of(&w.job("c2"))),
    ]);
    // The first read the batch makes (job c1's) meets a store outage.
    w.stores.fail_next_reads(1);
    let response = handle(&w.deps, &event, None).await;
    assert_eq!(
        failed_ids(&response),
        ["m-garbage", "m-c1"],
        "a message that is no job goes back to the queue (then to the dead-letter queue, where it is seen)"
    );
    assert_eq!(w.notifications().await, 1, "c2 delivered");

    // The queue redelivers c1 alone; a duplicate delivery of the whole batch changes nothing more.
    let retry = batch(vec![message("m-c1", event_of(&w.job("c1")))]);
    assert!(
        handle(&w.deps, &retry, None)
            .await
            .batch_item_failures
            .is_empty()
    );
    let whole_again = handle(&w.deps, &event, None).await;
    assert_eq!(failed_ids(&whole_again), ["m-garbage"]);
    assert_eq!(w.notifications().await, 2, "one notification per job");
}

#[tokio::test]
async fn a_job_that_cannot_succeed_fails_for_good_instead_of_being_retried() {
    let w = world().await;
    let orphan = w.job("c-deleted");
    let mut unknown_action = w.job("c1");
    unknown_action.action = ActionId::new("no-such-action").unwrap();
    let event = batch(vec![
        message("m-orphan", event_of(&orphan)),
        message("m-unknown", event_of(&unknown_action)),
    ]);
    let response = handle(&w.deps, &event, None).await;
    assert!(failed_ids(&response).is_empty(), "{response:?}");
    let run = w
        .stores
        .runs
        .runs(&w.tenant)
        .into_iter()
        .find(|r| r.key == orphan.idempotency_key())
        .expect("the failure is in the run history");
    assert_eq!(run.status, crm_model::run::RunStatus::Failed);
    assert_eq!(w.notifications().await, 0);
}

#[tokio::test]
async fn a_store_outage_for_the_whole_batch_returns_every_job_for_a_retry() {
    let w = world().await;
    let event = batch(vec![
        message("m-c1", event_of(&w.job("c1"))),
        message("m-c2", event_of(&w.job("c2"))),
    ]);
    w.stores.fail_next_reads(1000);
    let response = handle(&w.deps, &event, None).await;
    assert_eq!(failed_ids(&response), ["m-c1", "m-c2"]);
    w.stores.clear_faults();
    assert!(
        handle(&w.deps, &event, None)
            .await
            .batch_item_failures
            .is_empty()
    );
    assert_eq!(w.notifications().await, 2);
}
