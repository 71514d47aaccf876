//! The handler's partial batch failures, over the in-memory stores: a failed stream record and
//! every record after it come back for a retry, and nothing after it is handled ahead of it.

use std::sync::Arc;

use aws_lambda_events::event::dynamodb::Event;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{Deps, handle};
use crm_model::ids::{RecordId, TenantId, UserId, WorkflowId};
use crm_model::ports::{FixedClock, ScheduleEntries};
use crm_model::testing::memory::{MemoryStores, RecordingPublisher};
use crm_model::workflow::service::Workflows;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("test instant")
}

struct World {
    stores: MemoryStores,
    deps: Deps,
    tenant: TenantId,
    workflow: WorkflowId,
}

async fn world() -> World {
    let stores = MemoryStores::new();
    let tenant = TenantId::new("demo-tenant").unwrap();
    let definition = json!({
        "module": "Customer", "name": "Sinh nhật",
        "trigger": {"type": "time", "date_field": "Birthday", "recurrence": "yearly", "time_of_day": "08:00:00"},
        "actions": [{"kind": "notification", "id": "tell", "name": "Báo", "notify_owner": true, "message": "Sinh nhật #Name"}]
    });
    let clock = FixedClock(at("2027-01-01T00:00:00Z"));
    let workflows = Workflows {
        workflows: &stores.workflows,
        settings: &stores.settings,
        users: &stores.users,
        schedule: &stores.schedule,
        clock: &clock,
    };
    let admin = UserId::new("u-admin").unwrap();
    let workflow = WorkflowId::new("wf-birthday").unwrap();
    workflows
        .create(
            &tenant,
            &admin,
            workflow.clone(),
            serde_json::from_value(definition).unwrap(),
        )
        .await
        .unwrap();
    workflows
        .activate(&tenant, &admin, &workflow, None)
        .await
        .unwrap();
    let deps = Deps {
        workflows: Arc::new(stores.workflows.clone()),
        records: Arc::new(stores.records.clone()),
        settings: Arc::new(stores.settings.clone()),
        schedule: Arc::new(stores.schedule.clone()),
        publisher: Arc::new(RecordingPublisher::new()),
        runs: Arc::new(stores.runs.clone()),
        inbox: Arc::new(stores.inbox.clone()),
        clock: Arc::new(FixedClock(at("2027-03-01T00:00:00Z"))),
    };
    World {
        stores,
        deps,
        tenant,
        workflow,
    }
}

/// The item of a customer as the records table stores it.
fn image(tenant: &str, id: &str, birthday: &str) -> Value {
    json!({
        "pk": {"S": format!("T#{tenant}#R#{id}")}, "sk": {"S": "RECORD"},
        "tenant": {"S": tenant}, "id": {"S": id}, "module": {"S": "Customer"}, "revision": {"N": "1"},
        "fields": {"M": {"Name": {"S": format!("Khách {id}")}, "Birthday": {"S": birthday}}},
        "gsi1pk": {"S": format!("T#{tenant}#M#Customer")}, "gsi1sk": {"S": format!("#{id}")}
    })
}

fn insert(sequence: &str, new_image: Value) -> Value {
    json!({
        "eventID": format!("ev-{sequence}"), "eventName": "INSERT", "eventVersion": "1.1",
        "eventSource": "aws:dynamodb", "awsRegion": "ap-southeast-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1810429200,
            "Keys": {"pk": new_image["pk"].clone(), "sk": new_image["sk"].clone()},
            "NewImage": new_image, "SequenceNumber": sequence, "SizeBytes": 300,
            "StreamViewType": "NEW_AND_OLD_IMAGES"
        },
        "eventSourceARN": "arn:aws:dynamodb:ap-southeast-1:123456789012:table/records/stream/2027"
    })
}

fn batch(records: Vec<Value>) -> Event {
    serde_json::from_value(json!({ "Records": records })).expect("a stream batch")
}

impl World {
    async fn armed(&self, id: &str) -> bool {
        let entry = self
            .stores
            .schedule
            .get(&self.tenant, &self.workflow, &RecordId::new(id).unwrap())
            .await
            .unwrap();
        entry.is_some_and(|e| e.next.is_some())
    }
}

#[tokio::test]
async fn a_failed_record_and_every_later_one_are_retried_and_none_is_handled_ahead_of_it() {
    let w = world().await;
    let event = batch(vec![
        insert("100", image("demo-tenant", "c1", "1990-05-17")),
        insert("200", image("demo-tenant", "c2", "1985-06-02")),
        insert("300", image("demo-tenant", "c3", "1979-12-24")),
    ]);
    w.stores.schedule.fail_next_writes(1);
    let response = handle(&w.deps, &event).await;
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(
        failed,
        [Some("100".to_owned())],
        "Lambda retries from the first failure"
    );
    for id in ["c1", "c2", "c3"] {
        assert!(
            !w.armed(id).await,
            "{id} handled ahead of the failed record"
        );
    }
    let retried = handle(&w.deps, &event).await;
    assert!(retried.batch_item_failures.is_empty(), "{retried:?}");
    for id in ["c1", "c2", "c3"] {
        assert!(w.armed(id).await, "{id} armed once the batch went through");
    }
}

#[tokio::test]
async fn items_that_are_not_records_pass_through_without_failing_the_batch() {
    let w = world().await;
    let identity_item = json!({
        "pk": {"S": "T#demo-tenant#ID#phone#84912345678"}, "sk": {"S": "ID#c1"},
        "tenant": {"S": "demo-tenant"}
    });
    let event = batch(vec![
        insert("100", identity_item),
        insert("200", image("demo-tenant", "c1", "1990-05-17")),
    ]);
    let response = handle(&w.deps, &event).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    assert!(w.armed("c1").await);
}
