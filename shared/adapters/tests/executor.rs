//! The action executor against the emulator, through the function's own wiring: what only AWS
//! and real sockets show. Each action kind's effect read back (SMS from SNS, email from SES,
//! records and notifications from DynamoDB) exactly once when every job is delivered twice and
//! concurrently; round robin under real conditional writes; ZNS, brandname SMS and task sync
//! over HTTP; the PDF attachment in SES's raw message. The executor's rules (half-done sends,
//! missing recipients, retries, care cards, snapshots, outages) are tested over the in-memory
//! stores in `shared/model/tests/executor/`.

mod support;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use crm_adapters::dynamo::{DynamoScheduleStore, Stores};
use crm_adapters::secrets::SecretsManagerVault;
use crm_model::action::SettingKind;
use crm_model::ids::{ActionId, RecordId, SettingId, TenantId, UserId, WorkflowId};
use crm_model::ports::{
    FixedClock, RecordStore, RunLedger, SecretVault, SettingsStore, StoredRecord, UserDirectory,
};
use crm_model::run::RunStatus;
use crm_model::run::execute::{ExecuteError, Executor, JobOutcome};
use crm_model::schedule::ActionJob;
use crm_model::settings::outbound::OutboundPolicy;
use crm_model::settings::secrets::{SecretName, SecretValue};
use crm_model::user::{Role, User};
use crm_model::workflow::service::Workflows;
use serde_json::{Value, json};

struct World {
    stores: Stores,
    schedule: DynamoScheduleStore,
    /// The executor function's own wiring (`action_executor::Deps::aws`) over the emulator.
    deps: action_executor::Deps,
    tenant: TenantId,
    /// Digits unique to this test, so SMS and mail read back from the emulator are its own.
    tag: String,
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

const NOW: &str = "2027-05-17T01:00:00Z";

async fn world() -> World {
    let clients = support::clients().await;
    let stores = Stores::new(&clients.dynamodb, &support::tables());
    let schedule = DynamoScheduleStore::new(
        clients.dynamodb.clone(),
        support::fresh_schedule_table(&clients.dynamodb).await,
    );
    let sdk = support::sdk().await;
    let tenant = support::fresh_tenant();
    let tag: String = uuid::Uuid::new_v4()
        .as_u128()
        .to_string()
        .chars()
        .take(7)
        .collect();
    for (id, phone) in [
        ("u-owner", format!("0981{tag:0>6}")),
        ("u-manager", format!("0982{tag:0>6}")),
    ] {
        let user = User {
            id: UserId::new(id).unwrap(),
            name: format!("Người dùng {id}"),
            email: format!("{id}.{tag}@example.vn"),
            phone: Some(phone[..10].to_owned()),
            team: None,
            role: Role::Salesperson,
            manager: None,
            active: true,
        };
        stores.users.put(&tenant, &user).await.unwrap();
    }
    let settings: [(&str, Value); 5] = [
        (
            "print-voucher",
            json!({"kind": "print_template", "name": "Phiếu ưu đãi", "module": "Customer",
            "file_name": "Phiếu ưu đãi #Name",
            "body": "Kính gửi #Name,\n\nCảm ơn quý khách đã đồng hành. Phiếu này giảm 20% cho đơn hàng kế tiếp.\n\n<Không áp dụng cùng khuyến mãi khác>"}),
        ),
        (
            "sms",
            json!({"kind": "sms_provider", "name": "SNS", "gateway": {"type": "sns", "sender_id": "CRMDEMO"}}),
        ),
        (
            "sms-birthday",
            json!({"kind": "sms_template", "name": "HPBD", "module": "Customer", "body": "Chúc mừng sinh nhật #Name!"}),
        ),
        (
            "mailer",
            json!({"kind": "email_sender", "name": "CSKH", "from_address": "noreply@example.com", "from_name": "Chăm sóc khách hàng"}),
        ),
        (
            "email-birthday",
            json!({"kind": "email_template", "name": "HPBD", "module": "Customer",
            "subject": "Chúc mừng sinh nhật #Name", "html_body": "<p>Kính gửi <b>#Name</b>, chúc mừng sinh nhật!</p>"}),
        ),
    ];
    for (id, setting) in settings {
        stores
            .settings
            .create(
                &tenant,
                &SettingId::new(id).unwrap(),
                &serde_json::from_value(setting).unwrap(),
            )
            .await
            .unwrap();
    }
    // The local stack's policy: the stub providers below listen on loopback over http.
    let deps = action_executor::Deps::aws(
        stores.clone(),
        action_executor::AwsClients {
            sns: aws_sdk_sns::Client::new(&sdk),
            ses: aws_sdk_sesv2::Client::new(&sdk),
            secrets: aws_sdk_secretsmanager::Client::new(&sdk),
            attachments: support::attachments(&sdk),
        },
        OutboundPolicy::LOCAL,
    );
    World {
        stores,
        schedule,
        deps,
        tenant,
        tag,
    }
}

impl World {
    /// Stores a provider's credentials in Secrets Manager under this tenant, as the settings
    /// API does.
    async fn credentials(&self, kind: SettingKind, id: &str, value: Value) {
        let vault =
            SecretsManagerVault::new(aws_sdk_secretsmanager::Client::new(&support::sdk().await));
        let name = SecretName::for_setting(&self.tenant, kind, &SettingId::new(id).unwrap());
        vault
            .put(&name, &SecretValue::new(value.to_string()))
            .await
            .unwrap();
    }

    fn phone(&self) -> String {
        format!("0912{:0>6}", &self.tag[..6])
    }

    fn e164(&self) -> String {
        format!("+84912{:0>6}", &self.tag[..6])
    }

    async fn customer(&self, id: &str, fields: Value) -> RecordId {
        let record = StoredRecord {
            id: RecordId::new(id).unwrap(),
            module: crm_model::schema::Module::Customer,
            fields: fields.as_object().unwrap().clone(),
        };
        self.stores
            .records
            .create(&self.tenant, &record)
            .await
            .unwrap();
        record.id
    }

    async fn workflow(&self, id: &str, definition: Value) -> WorkflowId {
        let clock = FixedClock(at("2027-01-01T00:00:00Z"));
        let cases = Workflows {
            workflows: &self.stores.workflows,
            settings: &self.stores.settings,
            users: &self.stores.users,
            schedule: &self.schedule,
            clock: &clock,
        };
        let id = WorkflowId::new(id).unwrap();
        let admin = UserId::new("u-owner").unwrap();
        cases
            .create(
                &self.tenant,
                &admin,
                id.clone(),
                serde_json::from_value(definition).unwrap(),
            )
            .await
            .unwrap();
        cases
            .activate(&self.tenant, &admin, &id, None)
            .await
            .unwrap();
        id
    }

    fn job(&self, workflow: &WorkflowId, record: &RecordId, action: &str) -> ActionJob {
        ActionJob {
            depth: 0,
            tenant: self.tenant.clone(),
            workflow: workflow.clone(),
            version: 1,
            record: record.clone(),
            cause: "Y2027".into(),
            action: ActionId::new(action).unwrap(),
            due_at: at(NOW),
            snapshot: None,
        }
    }

    async fn execute(&self, job: &ActionJob) -> Result<JobOutcome, ExecuteError> {
        let clock = FixedClock(at(NOW));
        // Every delivery in a sandbox of its own, as concurrent Lambda invocations would be.
        let cache = crm_model::run::execute::ExecutorCache::default();
        Executor {
            clock: &clock,
            cache: &cache,
            deadline: None,
            ..self.deps.executor()
        }
        .execute(job)
        .await
    }

    /// Delivers a job twice at once, then once more: exactly one delivery acts.
    async fn deliver_twice_then_again(&self, job: &ActionJob) -> JobOutcome {
        let (a, b) = tokio::join!(self.execute(job), self.execute(job));
        let outcomes = [a, b];
        let acted: Vec<_> = outcomes
            .iter()
            .filter_map(|o| o.as_ref().ok())
            .filter(|o| !matches!(o, JobOutcome::Duplicate))
            .collect();
        assert_eq!(acted.len(), 1, "{outcomes:?}");
        let first = acted[0].clone();
        assert_eq!(self.execute(job).await.unwrap(), JobOutcome::Duplicate);
        first
    }
}

/// What the emulator recorded (SNS SMS, SES messages).
fn emulator_state() -> Value {
    let endpoint =
        std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "http://127.0.0.1:4566".into());
    let output = std::process::Command::new("curl")
        .args(["-sf", &format!("{endpoint}/moto-api/data.json")])
        .output()
        .unwrap();
    serde_json::from_slice(&output.stdout).unwrap()
}

fn birthday_workflow() -> Value {
    json!({
        "module": "Customer", "name": "Sinh nhật",
        "trigger": {"type": "time", "date_field": "Birthday", "recurrence": "yearly", "time_of_day": "08:00:00"},
        "actions": [
            {"kind": "sms", "id": "sms", "name": "SMS", "provider": "sms", "recipient_fields": [{"field": "Phone"}], "template": "sms-birthday"},
            {"kind": "email", "id": "email", "name": "Email", "sender": "mailer", "recipient_fields": [{"field": "Email"}],
             "users": ["u-manager"], "template": "email-birthday"},
            {"kind": "task", "id": "task", "name": "Gọi", "title": "Gọi chúc mừng #Name", "description": "SĐT #Phone",
             "due": {"days_after": 0, "time_of_day": "17:00:00"}, "task_type": "Call", "priority": "High",
             "assignee": {"type": "record_owner"}, "related_users": ["u-manager"]},
            {"kind": "notification", "id": "tell", "name": "Báo", "users": ["u-manager"], "notify_owner": true, "message": "Sinh nhật #Name"},
            {"kind": "update_fields", "id": "mark", "name": "Ghi nhận", "values": [
                {"field": "Description", "value": {"type": "merge", "text": "Đã chúc mừng #Name"}},
                {"field": "Rank", "value": {"type": "literal", "value": "Silver"}}]}
        ]
    })
}

#[tokio::test]
async fn every_action_happens_once_when_each_job_is_delivered_twice_at_once() {
    let w = world().await;
    let email = format!("an.{}@example.vn", w.tag);
    let customer = w.customer("c1", json!({"Name": "Nguyễn Văn <An>", "Phone": w.phone(), "Email": email, "Birthday": "1990-05-17", "Owner": "u-owner"})).await;
    let workflow = w.workflow("wf-all", birthday_workflow()).await;

    for action in ["sms", "email", "task", "tell", "mark"] {
        let outcome = w
            .deliver_twice_then_again(&w.job(&workflow, &customer, action))
            .await;
        assert!(
            matches!(outcome, JobOutcome::Succeeded(_)),
            "{action}: {outcome:?}"
        );
    }

    // The field update's item names the workflow that wrote it, for the stream's loop guard.
    let item = support::clients()
        .await
        .dynamodb
        .get_item()
        .table_name(support::tables().records)
        .key("pk", AttributeValue::S(format!("T#{}#R#c1", w.tenant)))
        .key("sk", AttributeValue::S("RECORD".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let (_, _, origin) =
        crm_adapters::dynamo::record_change(&Default::default(), &item.into()).unwrap();
    assert_eq!(
        origin,
        Some(crm_model::record::origin::AutomationWrite {
            workflow: workflow.clone(),
            depth: 1
        })
    );

    let state = emulator_state();
    let sms: Vec<&Value> = state["sns"]["SMS"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["phone_number"] == w.e164().as_str())
        .collect();
    assert_eq!(sms.len(), 1, "{sms:?}");
    assert_eq!(sms[0]["message"], "Chúc mừng sinh nhật Nguyễn Văn <An>!");
    let mails: Vec<&Value> = state["ses"]["Message"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["destinations"].to_string().contains(&email))
        .collect();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0]["subject"], "Chúc mừng sinh nhật Nguyễn Văn <An>");
    assert!(
        mails[0]["body"]
            .as_str()
            .unwrap()
            .contains("<b>Nguyễn Văn &lt;An&gt;</b>"),
        "HTML-escaped merge: {}",
        mails[0]["body"]
    );
    let manager = format!("u-manager.{}@example.vn", w.tag);
    assert!(
        !mails[0]["destinations"].to_string().contains(&manager),
        "the customer's message names no one else: {}",
        mails[0]["destinations"]
    );
    let to_manager = state["ses"]["Message"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["destinations"].to_string().contains(&manager))
        .count();
    assert_eq!(to_manager, 1, "the manager's own message");

    let task_run = w
        .stores
        .runs
        .get(
            &w.tenant,
            &w.job(&workflow, &customer, "task").idempotency_key(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(task_run.status, RunStatus::Succeeded);
    let task = w
        .stores
        .records
        .get(
            &w.tenant,
            &RecordId::new(task_run.output[0].clone()).unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(task.value.fields["Title"], "Gọi chúc mừng Nguyễn Văn <An>");
    assert_eq!(task.value.fields["Assignee"], "u-owner");
    assert_eq!(task.value.fields["Customer"], "c1");
    assert_eq!(task.value.fields["DueAt"], "2027-05-17T10:00:00+00:00");

    let updated = w
        .stores
        .records
        .get(&w.tenant, &customer)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.revision, 2, "one update, not two");
    assert_eq!(
        updated.value.fields["Description"],
        "Đã chúc mừng Nguyễn Văn <An>"
    );
    assert_eq!(updated.value.fields["Rank"], "Silver");

    let history = w
        .stores
        .runs
        .history(
            &w.tenant,
            &workflow,
            &crm_model::ports::PageRequest::first(50),
        )
        .await
        .unwrap();
    assert_eq!(history.items.len(), 5);
    assert!(
        history
            .items
            .iter()
            .all(|r| r.status == RunStatus::Succeeded)
    );
    let on_record = w
        .stores
        .runs
        .record_history(
            &w.tenant,
            &customer,
            &crm_model::ports::PageRequest::first(50),
        )
        .await
        .unwrap();
    assert_eq!(
        on_record.items.len(),
        5,
        "the record's own history holds the same runs"
    );
}

#[tokio::test]
async fn round_robin_hand_overs_stay_fair_under_concurrency_and_move_open_tasks() {
    let w = world().await;
    let rule: Value = json!({"kind": "allocation_rule", "name": "Vòng tròn", "module": "Customer", "users": ["u-owner", "u-manager"]});
    w.stores
        .settings
        .create(
            &w.tenant,
            &SettingId::new("rr").unwrap(),
            &serde_json::from_value(rule).unwrap(),
        )
        .await
        .unwrap();
    let mut customers = Vec::new();
    for i in 0..4 {
        customers.push(
            w.customer(
                &format!("c{i}"),
                json!({"Name": format!("Khách {i}"), "Owner": "u-owner"}),
            )
            .await,
        );
    }
    // An open task of the first customer, owned by its current owner.
    let task = StoredRecord {
        id: RecordId::new("t0").unwrap(),
        module: crm_model::schema::Module::Task,
        fields: json!({"Title": "Gọi lại", "Status": "Open", "Owner": "u-owner", "Assignee": "u-owner", "Customer": "c0"}).as_object().unwrap().clone(),
    };
    w.stores.records.create(&w.tenant, &task).await.unwrap();
    let workflow = w.workflow("wf-rr", json!({
        "module": "Customer", "name": "Phân bổ",
        "trigger": {"type": "record_event", "on": "created"},
        "actions": [{"kind": "handover", "id": "give", "name": "Bàn giao", "to": {"type": "allocation_rule", "rule": "rr"},
                     "move_open_activities": ["task"]}]
    })).await;
    let jobs: Vec<ActionJob> = customers
        .iter()
        .map(|c| ActionJob {
            depth: 0,
            cause: "Eevt".into(),
            ..w.job(&workflow, c, "give")
        })
        .collect();
    // Every job delivered twice, all at once.
    let runs = jobs.iter().flat_map(|job| [w.execute(job), w.execute(job)]);
    let outcomes = futures_join_all(runs).await;
    let succeeded = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(JobOutcome::Succeeded(_))))
        .count();
    // A delivery that lost a race is a duplicate or is retried by the queue; retry those now.
    for job in &jobs {
        let _ = w.execute(job).await;
    }
    assert!(succeeded <= 4);
    let mut owners = Vec::new();
    for c in &customers {
        let record = w.stores.records.get(&w.tenant, c).await.unwrap().unwrap();
        owners.push(record.value.fields["Owner"].as_str().unwrap().to_owned());
        assert_eq!(record.revision, 2, "one hand-over per customer");
    }
    owners.sort();
    assert_eq!(owners, ["u-manager", "u-manager", "u-owner", "u-owner"]);
    assert_eq!(w.stores.runs.counter(&w.tenant, "rr").await.unwrap(), 4);
    let c0_owner = w
        .stores
        .records
        .get(&w.tenant, &customers[0])
        .await
        .unwrap()
        .unwrap()
        .value
        .fields["Owner"]
        .clone();
    let moved = w
        .stores
        .records
        .get(&w.tenant, &RecordId::new("t0").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        moved.value.fields["Owner"], c0_owner,
        "the open task follows its customer"
    );
    assert_eq!(moved.value.fields["Assignee"], c0_owner);
}

/// Runs futures concurrently on this task (no extra dependency for join_all).
async fn futures_join_all<F: std::future::Future>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    let futures: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    let mut pending: Vec<(usize, std::pin::Pin<Box<F>>)> =
        futures.into_iter().enumerate().collect();
    std::future::poll_fn(|cx| {
        pending.retain_mut(|(i, future)| match future.as_mut().poll(cx) {
            std::task::Poll::Ready(output) => {
                outputs[*i] = Some(output);
                false
            }
            std::task::Poll::Pending => true,
        });
        if pending.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    outputs
        .into_iter()
        .map(|o| o.expect("every future finished"))
        .collect()
}

#[tokio::test]
async fn a_zns_action_sends_its_template_parameters_from_the_record() {
    use axum::routing::post;
    let seen: support::Seen = Default::default();
    let base = support::serve(
        axum::Router::new()
            .route("/message/template", post(support::zalo))
            .with_state(seen.clone()),
    )
    .await;
    let w = world().await;
    w.credentials(
        SettingKind::ZnsProvider,
        "oa",
        json!({"access_token": "oa-token"}),
    )
    .await;
    for (id, setting) in [
        (
            "oa",
            json!({"kind": "zns_provider", "name": "OA", "oa_id": "1234", "base_url": base}),
        ),
        (
            "zns-hpbd",
            json!({"kind": "zns_template", "name": "HPBD", "zalo_template_id": "231677", "parameters": ["customer_name", "birthday"]}),
        ),
    ] {
        w.stores
            .settings
            .create(
                &w.tenant,
                &SettingId::new(id).unwrap(),
                &serde_json::from_value(setting).unwrap(),
            )
            .await
            .unwrap();
    }
    let customer = w.customer("c1", json!({"Name": "Trần Thu Hà", "Phone": w.phone(), "Birthday": "1992-03-08", "Owner": "u-owner"})).await;
    let workflow = w.workflow("wf-zns", json!({
        "module": "Customer", "name": "ZNS",
        "trigger": {"type": "time", "date_field": "Birthday", "recurrence": "yearly", "time_of_day": "08:00:00"},
        "actions": [{"kind": "zns", "id": "zns", "name": "ZNS", "provider": "oa", "recipient_field": {"field": "Phone"},
                     "template": "zns-hpbd", "parameters": {"customer_name": "#Name", "birthday": "#Birthday"}}]
    })).await;
    let job = w.job(&workflow, &customer, "zns");
    let outcome = w.deliver_twice_then_again(&job).await;
    assert!(matches!(outcome, JobOutcome::Succeeded(_)), "{outcome:?}");
    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 1, "sent once");
    let body = &requests[0].1;
    assert_eq!(body["phone"], w.e164().trim_start_matches('+'));
    assert_eq!(
        body["template_data"],
        json!({"customer_name": "Trần Thu Hà", "birthday": "08/03/1992"})
    );
    // The job's key is Zalo's tracking id when it fits in 48 characters, else a digest of it.
    let key = job.idempotency_key();
    let tracking = body["tracking_id"].as_str().unwrap();
    if key.len() <= 48 {
        assert_eq!(tracking, key);
    } else {
        assert!(
            tracking.starts_with("zns-") && tracking.len() == 20,
            "{tracking}"
        );
    }
}

#[tokio::test]
async fn a_provider_outage_leaves_the_send_to_the_next_delivery_which_sends_once() {
    use axum::routing::post;
    use std::sync::atomic::{AtomicUsize, Ordering};
    // A gateway that is down for its first three requests (one delivery's tries), then up.
    let calls = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let gateway = axum::Router::new().route(
        "/MainService.svc/json/SendMultipleMessage_V4_post_json/",
        post(move |axum::Json(body): axum::Json<Value>| {
            let counter = counter.clone();
            async move {
                if counter.fetch_add(1, Ordering::SeqCst) < 3 {
                    (axum::http::StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({})))
                } else {
                    (axum::http::StatusCode::OK, axum::Json(json!({"CodeResult": "100", "SMSID": format!("sms-{}", body["RequestId"].as_str().unwrap_or(""))})))
                }
            }
        }),
    );
    let base = support::serve(gateway).await;
    let w = world().await;
    w.credentials(
        SettingKind::SmsProvider,
        "esms",
        json!({"api_key": "k", "secret_key": "s"}),
    )
    .await;
    let provider = json!({"kind": "sms_provider", "name": "eSMS", "gateway": {"type": "brandname", "base_url": base, "brandname": "CRMDEMO"}});
    w.stores
        .settings
        .create(
            &w.tenant,
            &SettingId::new("esms").unwrap(),
            &serde_json::from_value(provider).unwrap(),
        )
        .await
        .unwrap();
    let customer = w
        .customer(
            "c1",
            json!({"Name": "An", "Phone": w.phone(), "Owner": "u-owner"}),
        )
        .await;
    let mut definition = birthday_workflow();
    definition["actions"][0]["provider"] = json!("esms");
    let workflow = w.workflow("wf-outage", definition).await;
    let job = w.job(&workflow, &customer, "sms");
    assert!(matches!(
        w.execute(&job).await,
        Err(ExecuteError::Provider(_))
    ));
    let pending = w
        .stores
        .runs
        .get(&w.tenant, &job.idempotency_key())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        pending.status,
        RunStatus::Retrying,
        "nothing went out, so it is not unknown"
    );
    assert!(matches!(
        w.execute(&job).await.unwrap(),
        JobOutcome::Succeeded(_)
    ));
    assert_eq!(w.execute(&job).await.unwrap(), JobOutcome::Duplicate);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        4,
        "three failed tries, then one send"
    );
    let run = w
        .stores
        .runs
        .get(&w.tenant, &job.idempotency_key())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((run.status, run.attempts), (RunStatus::Succeeded, 2));
}

#[tokio::test]
async fn a_synced_task_is_posted_once_signed_with_the_connections_secret() {
    use axum::routing::post;
    let seen: support::Seen = Default::default();
    let recorder = seen.clone();
    let app = axum::Router::new().route(
        "/tasks",
        post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let recorder = recorder.clone();
                async move {
                    let json: Value = serde_json::from_slice(&body).unwrap();
                    let mut headers = headers;
                    // Keep the exact body's signature check for the test below.
                    let valid = headers["x-signature"]
                        == crm_adapters::task_sync::signature("s3cret", &body).as_str();
                    headers.insert("x-valid", if valid { "yes" } else { "no" }.parse().unwrap());
                    recorder.lock().unwrap().push((headers, json));
                    axum::Json(json!({"id": "ext-42"}))
                }
            },
        ),
    );
    let base = support::serve(app).await;
    let w = world().await;
    w.credentials(
        SettingKind::TaskConnection,
        "jira",
        json!({"signing_key": "s3cret"}),
    )
    .await;
    let connection =
        json!({"kind": "task_connection", "name": "Jira", "url": format!("{base}/tasks")});
    w.stores
        .settings
        .create(
            &w.tenant,
            &SettingId::new("jira").unwrap(),
            &serde_json::from_value(connection).unwrap(),
        )
        .await
        .unwrap();
    let customer = w
        .customer("c1", json!({"Name": "An", "Owner": "u-owner"}))
        .await;
    let mut definition = birthday_workflow();
    definition["actions"][2]["external_sync"] =
        json!({"connection": "jira", "project": "CSKH", "task_group": "Sinh nhật"});
    let workflow = w.workflow("wf-sync", definition).await;
    let job = w.job(&workflow, &customer, "task");
    // Two deliveries at once: whichever claims the sync first posts it, the other finds it done
    // or in progress (and is retried); one more delivery then changes nothing.
    let (a, b) = tokio::join!(w.execute(&job), w.execute(&job));
    assert!(a.is_ok() || b.is_ok(), "{a:?}\n{b:?}");
    let last = w.execute(&job).await.unwrap();
    assert!(
        matches!(last, JobOutcome::Duplicate | JobOutcome::Succeeded(_)),
        "{last:?}"
    );
    let task_run = w
        .stores
        .runs
        .get(&w.tenant, &job.idempotency_key())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        task_run.status,
        RunStatus::Succeeded,
        "the task exists once"
    );
    let posts = seen.lock().unwrap().clone();
    assert_eq!(posts.len(), 1, "posted once");
    let (headers, body) = &posts[0];
    assert_eq!(
        headers["x-valid"], "yes",
        "HMAC-SHA256 over the body with the connection's secret"
    );
    assert_eq!(
        headers["idempotency-key"],
        format!("{}/sync", job.idempotency_key()).as_str()
    );
    assert_eq!(
        (
            body["title"].as_str(),
            body["project"].as_str(),
            body["assignee"].as_str()
        ),
        (Some("Gọi chúc mừng An"), Some("CSKH"), Some("u-owner"))
    );
    let sync_run = w
        .stores
        .runs
        .get(&w.tenant, &format!("{}/sync", job.idempotency_key()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (sync_run.status, sync_run.output.clone()),
        (RunStatus::Succeeded, vec!["ext-42".to_owned()])
    );
}

/// The raw MIME messages SES stored for an address, parsed.
fn raw_mails_to(address: &str) -> Vec<Vec<u8>> {
    let state = emulator_state();
    state["ses"]["RawMessage"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|m| m["destinations"].to_string().contains(address))
        .map(|m| m["raw_data"].as_str().unwrap_or("").as_bytes().to_vec())
        .collect()
}

#[tokio::test]
async fn an_email_carries_the_print_template_as_a_pdf_with_its_vietnamese_text() {
    let w = world().await;
    let email = format!("hang.{}@example.vn", w.tag);
    let customer = w
        .customer(
            "c-pdf",
            json!({"Name": "Nguyễn Thị Hằng", "Email": email, "Owner": "u-owner"}),
        )
        .await;
    let workflow = w
        .workflow(
            "wf-pdf",
            json!({
                "module": "Customer", "name": "Tri ân",
                "trigger": {"type": "record_event", "on": "created"},
                "actions": [
                    {"kind": "email", "id": "pdf", "name": "Phiếu PDF", "sender": "mailer",
                     "recipient_fields": [{"field": "Email"}], "template": "email-birthday",
                     "attachment": {"print_template": "print-voucher", "format": "pdf"}},
                    {"kind": "email", "id": "html", "name": "Phiếu gốc", "sender": "mailer",
                     "recipient_fields": [{"field": "Email"}], "template": "email-birthday",
                     "attachment": {"print_template": "print-voucher", "format": "original"}}
                ]
            }),
        )
        .await;
    for action in ["pdf", "html"] {
        let outcome = w
            .deliver_twice_then_again(&w.job(&workflow, &customer, action))
            .await;
        assert!(
            matches!(outcome, JobOutcome::Succeeded(_)),
            "{action}: {outcome:?}"
        );
    }

    let mails = raw_mails_to(&email);
    assert_eq!(
        mails.len(),
        2,
        "one message per action, whatever was redelivered"
    );
    let mut seen = Vec::new();
    for raw in &mails {
        use mail_parser::MimeHeaders;
        let message = mail_parser::MessageParser::default().parse(raw).unwrap();
        assert_eq!(
            message.subject(),
            Some("Chúc mừng sinh nhật Nguyễn Thị Hằng")
        );
        assert!(
            message
                .body_html(0)
                .unwrap()
                .contains("<b>Nguyễn Thị Hằng</b>")
        );
        let attachment = message.attachment(0).unwrap();
        let name = attachment.attachment_name().unwrap().to_owned();
        let content_type = attachment.content_type().unwrap();
        let kind = format!(
            "{}/{}",
            content_type.ctype(),
            content_type.subtype().unwrap_or("")
        );
        match kind.as_str() {
            "application/pdf" => {
                assert_eq!(name, "Phiếu ưu đãi Nguyễn Thị Hằng.pdf");
                let text = pdf_extract::extract_text_from_mem(attachment.contents()).unwrap();
                let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
                assert!(words.contains("Kính gửi Nguyễn Thị Hằng,"), "{words}");
                assert!(words.contains("giảm 20% cho đơn hàng kế tiếp."), "{words}");
                assert!(
                    words.contains("<Không áp dụng cùng khuyến mãi khác>"),
                    "{words}"
                );
            }
            "text/html" => {
                assert_eq!(name, "Phiếu ưu đãi Nguyễn Thị Hằng.html");
                let html = String::from_utf8(attachment.contents().to_vec()).unwrap();
                assert!(html.contains("<p>Kính gửi Nguyễn Thị Hằng,</p>"), "{html}");
                assert!(html.contains("&lt;Không áp dụng"), "escaped: {html}");
            }
            other => panic!("unexpected attachment {other}"),
        }
        seen.push(kind);
    }
    seen.sort();
    assert_eq!(seen, ["application/pdf", "text/html"]);
}

#[tokio::test]
async fn each_recipient_gets_its_own_message_with_cc_in_the_headers_and_bcc_only_in_the_envelope() {
    let w = world().await;
    let email = format!("hang.{}@example.vn", w.tag);
    let guest = format!("guest.{}@example.vn", w.tag);
    let cc = format!("lead.{}@example.vn", w.tag);
    let bcc = format!("archive.{}@example.vn", w.tag);
    let customer = w
        .customer(
            "c-copies",
            json!({"Name": "Nguyễn Thị Hằng", "Email": email, "Owner": "u-owner"}),
        )
        .await;
    let action = |id: &str| {
        json!({"kind": "email", "id": id, "name": "Thư", "sender": "mailer",
               "recipient_fields": [{"field": "Email"}], "extra_addresses": [guest],
               "cc": [cc], "bcc": [bcc], "template": "email-birthday"})
    };
    let mut with_pdf = action("pdf");
    with_pdf["attachment"] = json!({"print_template": "print-voucher", "format": "pdf"});
    let workflow = w
        .workflow(
            "wf-copies",
            json!({
                "module": "Customer", "name": "Tri ân",
                "trigger": {"type": "record_event", "on": "created"},
                "actions": [action("plain"), with_pdf]
            }),
        )
        .await;
    for id in ["plain", "pdf"] {
        let outcome = w
            .deliver_twice_then_again(&w.job(&workflow, &customer, id))
            .await;
        assert!(
            matches!(outcome, JobOutcome::Succeeded(_)),
            "{id}: {outcome:?}"
        );
    }

    let state = emulator_state();
    let simple: Vec<&Value> = state["ses"]["Message"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["destinations"].to_string().contains(&cc))
        .collect();
    assert_eq!(
        simple.len(),
        2,
        "one message each to the customer and the guest"
    );
    for recipient in [&email, &guest] {
        let mail = simple
            .iter()
            .find(|m| m["destinations"]["ToAddresses"] == json!([recipient]))
            .unwrap_or_else(|| panic!("no message to {recipient} alone: {simple:?}"));
        assert_eq!(mail["destinations"]["CcAddresses"], json!([cc]));
        assert_eq!(mail["destinations"]["BccAddresses"], json!([bcc]));
    }

    let raw: Vec<&Value> = state["ses"]["RawMessage"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["destinations"].to_string().contains(&cc))
        .collect();
    assert_eq!(raw.len(), 2, "{raw:?}");
    for message in raw {
        let envelope = message["destinations"].to_string();
        assert!(
            envelope.contains(&bcc),
            "the Bcc copy is delivered: {envelope}"
        );
        let bytes = message["raw_data"].as_str().unwrap_or("").as_bytes();
        let parsed = mail_parser::MessageParser::default().parse(bytes).unwrap();
        let to: Vec<String> = parsed
            .to()
            .into_iter()
            .flat_map(|a| a.iter())
            .filter_map(|a| a.address().map(str::to_owned))
            .collect();
        assert!(to == [email.clone()] || to == [guest.clone()], "{to:?}");
        let copies: Vec<String> = parsed
            .cc()
            .into_iter()
            .flat_map(|a| a.iter())
            .filter_map(|a| a.address().map(str::to_owned))
            .collect();
        assert_eq!(copies, std::slice::from_ref(&cc));
        let text = String::from_utf8_lossy(bytes);
        assert!(!text.contains(&bcc), "no Bcc header: {text}");
    }
}

#[tokio::test]
async fn an_email_names_the_customers_owner_by_name() {
    let w = world().await;
    let email = format!("binh.{}@example.vn", w.tag);
    let customer = w
        .customer(
            "c-owner",
            json!({"Name": "Trần Bình", "Email": email, "Owner": "u-owner"}),
        )
        .await;
    w.stores
        .settings
        .create(
            &w.tenant,
            &crm_model::ids::SettingId::new("owner-mail").unwrap(),
            &serde_json::from_value(json!({"kind": "email_template", "name": "Phụ trách",
                "module": "Customer", "subject": "#Name, gặp #{Chủ sở hữu}",
                "html_body": "<p>Người phụ trách: #{Chủ sở hữu} (#Owner.Email)</p>"}))
            .unwrap(),
        )
        .await
        .unwrap();
    let workflow = w
        .workflow(
            "wf-owner",
            json!({
                "module": "Customer", "name": "Giới thiệu",
                "trigger": {"type": "record_event", "on": "created"},
                "actions": [{"kind": "email", "id": "mail", "name": "Thư", "sender": "mailer",
                             "recipient_fields": [{"field": "Email"}], "template": "owner-mail"}]
            }),
        )
        .await;
    let outcome = w
        .execute(&w.job(&workflow, &customer, "mail"))
        .await
        .unwrap();
    assert!(matches!(outcome, JobOutcome::Succeeded(_)), "{outcome:?}");
    let state = emulator_state();
    let mail = state["ses"]["Message"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["destinations"].to_string().contains(&email))
        .cloned()
        .expect("the customer's message");
    assert_eq!(mail["subject"], "Trần Bình, gặp Người dùng u-owner");
    assert_eq!(
        mail["body"],
        format!(
            "<p>Người phụ trách: Người dùng u-owner (u-owner.{}@example.vn)</p>",
            w.tag
        )
    );
}

#[tokio::test]
async fn a_care_card_counts_its_care_date_from_the_orders_delivery_date() {
    let w = world().await;
    w.customer("c-care", json!({"Name": "Công ty An Phát"}))
        .await;
    let order = StoredRecord {
        id: RecordId::new("o-care").unwrap(),
        module: crm_model::schema::Module::Order,
        fields: json!({"Code": "DH-9", "Customer": "c-care", "OrderDate": "2027-05-01",
                       "DeliveryDate": "2027-05-10", "Salesperson": "u-owner", "Owner": "u-owner",
                       "Lines": [{"product": "Máy lọc nước", "category": "Gia dụng", "quantity": 1}]})
        .as_object()
        .unwrap()
        .clone(),
    };
    w.stores.records.create(&w.tenant, &order).await.unwrap();
    let workflow = w
        .workflow(
            "wf-care-date",
            json!({
                "module": "Order", "name": "Chăm sóc sau giao",
                "trigger": {"type": "record_event", "on": "created"},
                "actions": [{"kind": "care_card", "id": "card", "name": "Thẻ", "based_on": {"type": "product_categories"},
                             "owner": {"type": "order_salesperson"}, "layout": "Sau bán",
                             "care_date": {"from_field": "DeliveryDate", "days_after": 30}}]
            }),
        )
        .await;
    let outcome = w
        .deliver_twice_then_again(&w.job(&workflow, &order.id, "card"))
        .await;
    let JobOutcome::Succeeded(cards) = outcome else {
        panic!("{outcome:?}")
    };
    let card = w
        .stores
        .records
        .get(&w.tenant, &RecordId::new(cards[0].clone()).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(card.value.fields["CareDate"], "2027-06-09");
}

#[tokio::test]
async fn a_tasks_printed_attachment_is_stored_in_the_bucket_with_its_vietnamese_text() {
    let w = world().await;
    let customer = w
        .customer(
            "c-task-pdf",
            json!({"Name": "Nguyễn Thị Hằng", "Owner": "u-owner"}),
        )
        .await;
    let workflow = w
        .workflow(
            "wf-task-pdf",
            json!({
                "module": "Customer", "name": "Tri ân",
                "trigger": {"type": "record_event", "on": "created"},
                "actions": [{"kind": "task", "id": "task", "name": "Gửi phiếu", "title": "Gửi phiếu cho #Name",
                             "due": {"days_after": 1}, "task_type": "Care", "priority": "Normal",
                             "assignee": {"type": "record_owner"}, "related_users": ["u-manager"],
                             "attachment": {"print_template": "print-voucher", "format": "pdf"}}]
            }),
        )
        .await;
    let outcome = w
        .deliver_twice_then_again(&w.job(&workflow, &customer, "task"))
        .await;
    let JobOutcome::Succeeded(ids) = outcome else {
        panic!("{outcome:?}")
    };
    let task = w
        .stores
        .records
        .get(&w.tenant, &RecordId::new(ids[0].clone()).unwrap())
        .await
        .unwrap()
        .unwrap();
    let name = "Phiếu ưu đãi Nguyễn Thị Hằng.pdf";
    assert_eq!(task.value.fields["Attachments"], json!([name]));
    assert_eq!(task.value.fields["RelatedUsers"], json!(["u-manager"]));
    let sdk = support::sdk().await;
    let bucket = std::env::var("ATTACHMENTS_BUCKET")
        .unwrap_or_else(|_| "crm-local-attachmentsbucket".to_owned());
    let object = crm_adapters::attachments::S3Attachments::client(&sdk)
        .get_object()
        .bucket(bucket)
        .key(format!("{}/{}/{name}", w.tenant, task.value.id))
        .send()
        .await
        .expect("the attachment is in the bucket, under the tenant and the task");
    assert_eq!(object.content_type(), Some("application/pdf"));
    let bytes = object.body.collect().await.unwrap().into_bytes();
    let text = pdf_extract::extract_text_from_mem(&bytes).unwrap();
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("Kính gửi Nguyễn Thị Hằng,"), "{words}");
}

/// Two tenants with a brandname provider of the same id: each job is sent with its own
/// tenant's credentials from Secrets Manager, and a tenant without credentials sends nothing.
#[tokio::test]
async fn each_tenants_sms_goes_out_with_its_own_credentials_only() {
    use axum::routing::post;
    let keys: support::Seen = Default::default();
    let recorder = keys.clone();
    let gateway = axum::Router::new().route(
        "/MainService.svc/json/SendMultipleMessage_V4_post_json/",
        post(move |axum::Json(body): axum::Json<Value>| {
            let recorder = recorder.clone();
            async move {
                recorder
                    .lock()
                    .unwrap()
                    .push((Default::default(), body.clone()));
                axum::Json(json!({"CodeResult": "100", "SMSID": format!("sms-{}", body["RequestId"].as_str().unwrap_or(""))}))
            }
        }),
    );
    let base = support::serve(gateway).await;
    let (a, b) = (world().await, world().await);
    assert_ne!(a.tenant, b.tenant);
    let mut jobs = Vec::new();
    for w in [&a, &b] {
        let provider = json!({"kind": "sms_provider", "name": "eSMS", "gateway": {"type": "brandname", "base_url": base, "brandname": "CRMDEMO"}});
        w.stores
            .settings
            .create(
                &w.tenant,
                &SettingId::new("esms").unwrap(),
                &serde_json::from_value(provider).unwrap(),
            )
            .await
            .unwrap();
        let customer = w
            .customer(
                "c1",
                json!({"Name": "An", "Phone": w.phone(), "Owner": "u-owner"}),
            )
            .await;
        let mut definition = birthday_workflow();
        definition["actions"][0]["provider"] = json!("esms");
        let workflow = w.workflow("wf-keys", definition).await;
        jobs.push(w.job(&workflow, &customer, "sms"));
    }
    // Only B has credentials: A's job fails for good without a request, and says why.
    b.credentials(
        SettingKind::SmsProvider,
        "esms",
        json!({"api_key": "key-of-b", "secret_key": "secret-of-b"}),
    )
    .await;
    let JobOutcome::Failed(reason) = a.execute(&jobs[0]).await.unwrap() else {
        panic!("A has no credentials")
    };
    assert!(reason.contains("no credentials"), "{reason}");
    assert!(
        !reason.contains("crm/"),
        "no secret name in the run: {reason}"
    );
    assert!(
        keys.lock().unwrap().is_empty(),
        "nothing reached the gateway"
    );
    assert!(matches!(
        b.execute(&jobs[1]).await.unwrap(),
        JobOutcome::Succeeded(_)
    ));
    let sent = keys.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (
            sent[0].1["ApiKey"].as_str(),
            sent[0].1["SecretKey"].as_str()
        ),
        (Some("key-of-b"), Some("secret-of-b"))
    );
}
