//! The fault situations on the emulator, through the executor's and the stream handler's own
//! wiring: a recipient failing while the others go out, a workflow switched off with jobs
//! queued, a job dead-lettered on its last delivery, a slow gateway of one tenant next to
//! another tenant's jobs, and a record change made by a workflow reaching the stream. SMS are
//! counted from the emulator's SNS; runs are read back from DynamoDB. (The soak runs the same
//! faults at volume: `soak.rs`.)

mod support;

use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::{Value, json};

use crm_model::ids::{SettingId, UserId, WorkflowId};
use crm_model::ports::{PageRequest, RunLedger, SecretVault, SettingsStore, SystemClock};
use crm_model::run::{RecipientState, RunStatus};
use crm_model::settings::secrets::{SecretName, SecretValue};
use crm_model::workflow::QueuedJobs;
use support::faults::{SmsWorld, batch, message, sms_by_number};

/// An SMS to the customer and both users: three recipients.
fn hello_three() -> Value {
    json!({
        "module": "Customer", "name": "Chào",
        "trigger": {"type": "record_event", "on": "created"},
        "actions": [{"kind": "sms", "id": "sms", "name": "SMS", "provider": "sms", "template": "sms-hello",
                     "recipient_fields": [{"field": "Phone"}], "users": ["u-owner", "u-manager"]}]
    })
}

fn customer(w: &SmsWorld, n: u32) -> Value {
    json!({"Name": format!("Khách {n}"), "Phone": format!("0913{}{n:03}", w.prefix)})
}

fn e164(local: &str) -> String {
    format!("+84{}", &local[1..])
}

#[tokio::test]
async fn one_of_three_recipients_failing_transiently_is_sent_again_alone() {
    let w = SmsWorld::new().await;
    let workflow = w.workflow("wf-three", hello_three()).await;
    let deps = w.deps().await;
    let fields = customer(&w, 1);
    let job = w.job(&workflow, "c1", "sms", fields.clone());
    let owner = e164(&format!("0981{}001", w.prefix));
    w.faults.lock().unwrap().refuse_once.insert(owner.clone());
    let first = action_executor::handle(&deps, &batch(vec![message(&job, "m1", 1)]), None).await;
    assert_eq!(first.batch_item_failures.len(), 1, "back to the queue");
    let waiting = w
        .stores
        .runs
        .get(&w.tenant, &job.idempotency_key())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(waiting.status, RunStatus::Retrying);
    let second = action_executor::handle(&deps, &batch(vec![message(&job, "m1", 2)]), None).await;
    assert!(second.batch_item_failures.is_empty(), "{second:?}");
    let sent = sms_by_number();
    let manager = e164(&format!("0982{}002", w.prefix));
    let numbers = [e164(fields["Phone"].as_str().unwrap()), owner, manager];
    for number in &numbers {
        assert_eq!(sent.get(number), Some(&1), "{number}: exactly once");
    }
    let done = w
        .stores
        .runs
        .get(&w.tenant, &job.idempotency_key())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.status, RunStatus::Succeeded);
    assert!(
        done.recipients
            .iter()
            .all(|r| r.state == RecipientState::Sent)
    );
}

#[tokio::test]
async fn a_job_queued_before_its_workflow_is_deactivated_is_cancelled_and_sends_nothing() {
    let w = SmsWorld::new().await;
    let workflow = w.workflow("wf-off", hello_three()).await;
    let fields = customer(&w, 2);
    let job = w.job(&workflow, "c2", "sms", fields.clone());
    let clock = crm_model::ports::FixedClock("2027-05-17T00:59:00Z".parse().unwrap());
    w.workflows(&clock)
        .deactivate(
            &w.tenant,
            &UserId::new("u-admin").unwrap(),
            &workflow,
            None,
            QueuedJobs::Cancel,
        )
        .await
        .unwrap();
    let deps = w.deps().await;
    let handled = action_executor::handle(&deps, &batch(vec![message(&job, "m1", 1)]), None).await;
    assert!(handled.batch_item_failures.is_empty());
    let run = w
        .stores
        .runs
        .get(&w.tenant, &job.idempotency_key())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (run.status, run.kind.as_str()),
        (RunStatus::Cancelled, "sms")
    );
    let number = e164(fields["Phone"].as_str().unwrap());
    assert_eq!(sms_by_number().get(&number), None, "nothing sent");
}

#[tokio::test]
async fn a_job_failing_on_its_last_delivery_is_listed_among_the_tenants_dead_letters() {
    let w = SmsWorld::new().await;
    let workflow = w.workflow("wf-dead", hello_three()).await;
    let fields = customer(&w, 3);
    let job = w.job(&workflow, "c3", "sms", fields.clone());
    w.faults
        .lock()
        .unwrap()
        .refuse_once
        .insert(e164(fields["Phone"].as_str().unwrap()));
    let deps = w.deps().await;
    let handled = action_executor::handle(&deps, &batch(vec![message(&job, "m1", 5)]), None).await;
    assert_eq!(handled.batch_item_failures.len(), 1);
    let listed = w
        .stores
        .runs
        .dead_letters(&w.tenant, &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1, "{listed:?}");
    let dead = &listed.items[0];
    assert_eq!(dead.key, job.idempotency_key());
    assert_eq!(dead.dead_letter.as_ref().map(|d| d.deliveries), Some(5));
    assert!(
        dead.error.as_deref().unwrap().contains("HTTP 503"),
        "{dead:?}"
    );
    // An administrator's retry takes it off the list and sends to the one not reached.
    let retried = w
        .stores
        .runs
        .request_retry(dead, Utc::now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(retried.dead_letter, None);
    let listed = w
        .stores
        .runs
        .dead_letters(&w.tenant, &PageRequest::first(10))
        .await
        .unwrap();
    assert!(listed.items.is_empty());
    let again = action_executor::handle(&deps, &batch(vec![message(&job, "m2", 1)]), None).await;
    assert!(again.batch_item_failures.is_empty(), "{again:?}");
    let sent = sms_by_number();
    assert_eq!(sent.get(&e164(fields["Phone"].as_str().unwrap())), Some(&1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_gateway_of_one_tenant_does_not_hold_up_another_tenants_jobs_in_the_batch() {
    use axum::routing::post;
    const SLOW: Duration = Duration::from_secs(3);
    // Tenant A's brandname gateway takes three seconds per message.
    let gateway = axum::Router::new().route(
        "/MainService.svc/json/SendMultipleMessage_V4_post_json/",
        post(|axum::Json(body): axum::Json<Value>| async move {
            tokio::time::sleep(SLOW).await;
            axum::Json(json!({"CodeResult": "100", "SMSID": format!("sms-{}", body["RequestId"].as_str().unwrap_or(""))}))
        }),
    );
    let base = support::serve(gateway).await;
    let a = SmsWorld::new().await;
    let b = SmsWorld::new().await;
    let vault = crm_adapters::secrets::SecretsManagerVault::new(
        aws_sdk_secretsmanager::Client::new(&support::sdk().await),
    );
    let name = SecretName::for_setting(
        &a.tenant,
        crm_model::action::SettingKind::SmsProvider,
        &SettingId::new("esms").unwrap(),
    );
    vault
        .put(
            &name,
            &SecretValue::new(json!({"api_key": "k", "secret_key": "s"}).to_string()),
        )
        .await
        .unwrap();
    let provider = json!({"kind": "sms_provider", "name": "eSMS", "gateway": {"type": "brandname", "base_url": base, "brandname": "CRMDEMO"}});
    a.stores
        .settings
        .create(
            &a.tenant,
            &SettingId::new("esms").unwrap(),
            &serde_json::from_value(provider).unwrap(),
        )
        .await
        .unwrap();
    let slow = json!({
        "module": "Customer", "name": "Chào",
        "trigger": {"type": "record_event", "on": "created"},
        "actions": [{"kind": "sms", "id": "sms", "name": "SMS", "provider": "esms", "template": "sms-hello",
                     "recipient_fields": [{"field": "Phone"}]}]
    });
    let wa: WorkflowId = a.workflow("wf-slow", slow).await;
    let wb = b.workflow("wf-fast", hello_three()).await;
    let mut jobs = Vec::new();
    for n in 0..4 {
        jobs.push(a.job(&wa, &format!("a{n}"), "sms", customer(&a, 10 + n)));
    }
    for n in 0..2 {
        jobs.push(b.job(&wb, &format!("b{n}"), "sms", customer(&b, 20 + n)));
    }
    // Real time for this one: the gateway really sleeps.
    let mut deps = a.deps().await;
    deps.clock = std::sync::Arc::new(SystemClock);
    let messages = jobs
        .iter()
        .enumerate()
        .map(|(n, job)| message(job, &format!("m{n}"), 1))
        .collect();
    let started = Instant::now();
    let begun = Utc::now();
    let budget = Some(begun + chrono::Duration::seconds(27));
    let handled = action_executor::handle(&deps, &batch(messages), budget).await;
    let took = started.elapsed();
    assert!(handled.batch_item_failures.is_empty(), "{handled:?}");
    for job in &jobs[4..] {
        let run = b
            .stores
            .runs
            .get(&b.tenant, &job.idempotency_key())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(run.status, RunStatus::Succeeded);
        let waited = (run.updated_at - begun).to_std().unwrap_or_default();
        assert!(
            waited < SLOW,
            "B's job done after {waited:?}, before A's first message went out"
        );
    }
    // A's four jobs, two at a time: two rounds of the gateway's three seconds.
    assert!(took >= 2 * SLOW, "{took:?}");
    println!("fault_slow_gateway_batch_ms={}", took.as_millis());
}

/// The records table's item of a record, as the stream's images show it (DynamoDB JSON).
async fn image(w: &SmsWorld, id: &str) -> Value {
    let item = support::clients()
        .await
        .dynamodb
        .get_item()
        .table_name(support::tables().records)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("T#{}#R#{id}", w.tenant)),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("RECORD".into()),
        )
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    serde_json::to_value(serde_dynamo::Item::from(item)).unwrap()
}

#[tokio::test]
async fn a_change_at_the_end_of_a_chain_of_automation_writes_stops_the_next_workflow_with_a_failed_run()
 {
    use crm_model::ports::{RecordStore, StoredRecord};
    let w = SmsWorld::new().await;
    let listening = w
        .workflow(
            "wf-listen",
            json!({
                "module": "Customer", "name": "Báo khi đổi hạng",
                "trigger": {"type": "record_event", "on": "updated", "watched_fields": ["Rank"], "repeat_on_every_edit": true},
                "actions": [{"kind": "notification", "id": "tell", "name": "Báo", "users": ["u-admin"], "message": "#Name"}]
            }),
        )
        .await;
    let writing = w
        .workflow(
            "wf-write",
            json!({
                "module": "Customer", "name": "Xếp hạng",
                "trigger": {"type": "record_event", "on": "created"},
                "actions": [{"kind": "update_fields", "id": "rank", "name": "Hạng", "values": [
                    {"field": "Rank", "value": {"type": "literal", "value": "Gold"}}]}]
            }),
        )
        .await;
    let record = StoredRecord {
        id: crm_model::ids::RecordId::new("c1").unwrap(),
        module: crm_model::schema::Module::Customer,
        fields: json!({"Name": "An", "Rank": "Silver"})
            .as_object()
            .unwrap()
            .clone(),
    };
    w.stores.records.create(&w.tenant, &record).await.unwrap();
    let before = image(&w, "c1").await;
    // The job writing the rank is itself the third link of a chain.
    let mut job = w.job(&writing, "c1", "rank", Value::Null);
    job.depth = 2;
    let deps = w.deps().await;
    let handled = action_executor::handle(&deps, &batch(vec![message(&job, "m1", 1)]), None).await;
    assert!(handled.batch_item_failures.is_empty(), "{handled:?}");
    let after = image(&w, "c1").await;
    assert_eq!(after["automation"]["M"]["depth"]["N"], "3", "{after}");

    let clients = support::clients().await;
    let publisher = crm_adapters::events::EventBridgeJobPublisher::new(
        clients.eventbridge.clone(),
        support::automation_bus(),
    );
    let stream = record_events::Deps::aws(
        crm_adapters::dynamo::Stores {
            schedule: w.schedule.clone(),
            ..w.stores.clone()
        },
        publisher,
    );
    let event: aws_lambda_events::event::dynamodb::Event =
        serde_json::from_value(json!({"Records": [{
            "eventID": "ev-chain", "eventName": "MODIFY", "eventVersion": "1.1",
            "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
            "dynamodb": {
                "ApproximateCreationDateTime": 1810429200,
                "Keys": {"pk": after["pk"].clone(), "sk": after["sk"].clone()},
                "OldImage": before, "NewImage": after, "SequenceNumber": "1", "SizeBytes": 300,
                "StreamViewType": "NEW_AND_OLD_IMAGES"
            },
            "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/records/stream/2027"
        }]}))
        .unwrap();
    let response = record_events::handle(&stream, &event).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let key = format!("{}/{listening}/c1/Eev-chain/tell", w.tenant);
    let stopped = w
        .stores
        .runs
        .get(&w.tenant, &key)
        .await
        .unwrap()
        .expect("the stopped workflow's run history says so");
    assert_eq!(stopped.status, RunStatus::Failed);
    assert!(
        stopped.error.as_deref().unwrap().contains("wf-write"),
        "{stopped:?}"
    );
}

/// The users' directory, down for its next read: a send's preparation fails before any claim.
struct UsersDownOnce {
    inner: std::sync::Arc<dyn crm_model::ports::UserDirectory>,
    down: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl crm_model::ports::UserDirectory for UsersDownOnce {
    async fn layout(
        &self,
        tenant: &crm_model::ids::TenantId,
        user: &UserId,
    ) -> Result<
        Option<crm_model::ports::Revisioned<crm_model::user::preferences::CustomerPageLayout>>,
        crm_model::ports::StoreError,
    > {
        self.inner.layout(tenant, user).await
    }
    async fn put_layout(
        &self,
        tenant: &crm_model::ids::TenantId,
        user: &UserId,
        layout: &crm_model::user::preferences::CustomerPageLayout,
        expected: u64,
    ) -> Result<
        crm_model::ports::Revisioned<crm_model::user::preferences::CustomerPageLayout>,
        crm_model::ports::StoreError,
    > {
        self.inner.put_layout(tenant, user, layout, expected).await
    }
    async fn put(
        &self,
        tenant: &crm_model::ids::TenantId,
        user: &crm_model::user::User,
    ) -> Result<(), crm_model::ports::StoreError> {
        self.inner.put(tenant, user).await
    }
    async fn create(
        &self,
        tenant: &crm_model::ids::TenantId,
        user: &crm_model::user::User,
    ) -> Result<(), crm_model::ports::StoreError> {
        self.inner.create(tenant, user).await
    }
    async fn get(
        &self,
        tenant: &crm_model::ids::TenantId,
        id: &UserId,
    ) -> Result<Option<crm_model::user::User>, crm_model::ports::StoreError> {
        if self.down.swap(false, std::sync::atomic::Ordering::SeqCst) {
            return Err(crm_model::ports::StoreError::Unavailable(
                "injected: down".into(),
            ));
        }
        self.inner.get(tenant, id).await
    }
    async fn get_many(
        &self,
        tenant: &crm_model::ids::TenantId,
        ids: &[UserId],
    ) -> Result<Vec<crm_model::user::User>, crm_model::ports::StoreError> {
        self.inner.get_many(tenant, ids).await
    }
    async fn existing(
        &self,
        tenant: &crm_model::ids::TenantId,
        ids: &[UserId],
    ) -> Result<std::collections::HashSet<UserId>, crm_model::ports::StoreError> {
        self.inner.existing(tenant, ids).await
    }
    async fn list(
        &self,
        tenant: &crm_model::ids::TenantId,
        page: &PageRequest,
    ) -> Result<crm_model::ports::Page<crm_model::user::User>, crm_model::ports::StoreError> {
        self.inner.list(tenant, page).await
    }
}

#[tokio::test]
async fn a_store_outage_before_a_send_claims_nothing_and_the_redelivery_sends_to_everyone_once() {
    let w = SmsWorld::new().await;
    let workflow = w.workflow("wf-outage", hello_three()).await;
    let mut deps = w.deps().await;
    deps.users = std::sync::Arc::new(UsersDownOnce {
        inner: deps.users.clone(),
        down: std::sync::atomic::AtomicBool::new(true),
    });
    let fields = customer(&w, 4);
    let job = w.job(&workflow, "c4", "sms", fields.clone());
    let first = action_executor::handle(&deps, &batch(vec![message(&job, "m1", 1)]), None).await;
    assert_eq!(first.batch_item_failures.len(), 1);
    assert!(
        w.stores
            .runs
            .get(&w.tenant, &job.idempotency_key())
            .await
            .unwrap()
            .is_none(),
        "nothing claimed: no lease to wait for, nothing left unknown"
    );
    let second = action_executor::handle(&deps, &batch(vec![message(&job, "m1", 2)]), None).await;
    assert!(second.batch_item_failures.is_empty(), "{second:?}");
    let sent = sms_by_number();
    assert_eq!(sent.get(&e164(fields["Phone"].as_str().unwrap())), Some(&1));
    assert_eq!(sent.get(&e164(&format!("0981{}001", w.prefix))), Some(&1));
}
