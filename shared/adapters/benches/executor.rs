//! Executor cost against the local emulator: AWS calls per action kind (Secrets Manager's
//! included, for the ZNS send's credentials), counted at the client by an SDK interceptor (not
//! estimated), and actions per second next to the emulator's raw PutItem
//! rate measured in the same run. Prints `key=value` lines.
//!
//!     infra/stack.sh up && source .local/env
//!     cargo bench -p crm-adapters --bench executor          # BENCH_JOBS=200 by default

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use chrono::{DateTime, Utc};
use crm_adapters::Tables;
use crm_adapters::dynamo::{DynamoScheduleStore, Stores};
use crm_model::ids::{ActionId, RecordId, SettingId, TenantId, UserId, WorkflowId};
use crm_model::ports::{FixedClock, RecordStore, SettingsStore, StoredRecord, UserDirectory};
use crm_model::run::execute::JobOutcome;
use crm_model::schedule::ActionJob;
use crm_model::user::{Role, User};
use crm_model::workflow::service::Workflows;
use serde_json::json;

/// Counts every request a client sends.
#[derive(Debug, Clone, Default)]
struct Calls(Arc<AtomicU64>);

impl Intercept for Calls {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    fn read_before_transmit(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

impl Calls {
    fn take(&self) -> u64 {
        self.0.swap(0, Ordering::Relaxed)
    }
}

async fn sdk() -> SdkConfig {
    let endpoint =
        std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "http://127.0.0.1:4566".into());
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .test_credentials()
        .load()
        .await
}

#[tokio::main]
async fn main() {
    let jobs: usize = std::env::var("BENCH_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let sdk = sdk().await;
    let (dynamo_calls, sns_calls, ses_calls, secret_calls) = (
        Calls::default(),
        Calls::default(),
        Calls::default(),
        Calls::default(),
    );
    let secrets = aws_sdk_secretsmanager::Client::from_conf(
        aws_sdk_secretsmanager::config::Builder::from(&sdk)
            .interceptor(secret_calls.clone())
            .build(),
    );
    // A Zalo ZNS stand-in on loopback: the provider's own latency is not what is measured.
    let zalo = axum::Router::new().route(
        "/message/template",
        axum::routing::post(|| async {
            axum::Json(json!({"error": 0, "message": "Success", "data": {"msg_id": "m"}}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let zalo_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, zalo).await });
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk)
            .interceptor(dynamo_calls.clone())
            .build(),
    );
    let sns = aws_sdk_sns::Client::from_conf(
        aws_sdk_sns::config::Builder::from(&sdk)
            .interceptor(sns_calls.clone())
            .build(),
    );
    let ses = aws_sdk_sesv2::Client::from_conf(
        aws_sdk_sesv2::config::Builder::from(&sdk)
            .interceptor(ses_calls.clone())
            .build(),
    );
    let tables = Tables::from_env().unwrap_or_else(|_| Tables {
        settings: "crm-local-settings".into(),
        records: "crm-local-records".into(),
        schedule: "crm-local-schedule".into(),
        runs: "crm-local-runs".into(),
    });
    let stores = Stores::new(&dynamodb, &tables);
    let schedule_table = format!(
        "{}-bench-{}",
        tables.schedule,
        uuid::Uuid::new_v4().simple()
    );
    crm_adapters::dynamo::copy_table_schema(&dynamodb, &tables.schedule, &schedule_table)
        .await
        .unwrap();
    let schedule = DynamoScheduleStore::new(dynamodb.clone(), &schedule_table);
    let tenant = TenantId::new(format!("bench-{}", uuid::Uuid::new_v4().simple())).unwrap();

    for (id, phone) in [("u-owner", "0981000001"), ("u-manager", "0981000002")] {
        let user = User {
            id: UserId::new(id).unwrap(),
            name: id.into(),
            email: format!("{id}@example.vn"),
            phone: Some(phone.into()),
            team: None,
            role: Role::Salesperson,
            manager: None,
            active: true,
        };
        stores.users.put(&tenant, &user).await.unwrap();
    }
    for (id, setting) in [
        (
            "sms",
            json!({"kind": "sms_provider", "name": "SNS", "gateway": {"type": "sns", "sender_id": "CRM"}}),
        ),
        (
            "sms-t",
            json!({"kind": "sms_template", "name": "T", "module": "Customer", "body": "Chúc mừng sinh nhật #Name!"}),
        ),
        (
            "mailer",
            json!({"kind": "email_sender", "name": "CSKH", "from_address": "noreply@example.com"}),
        ),
        (
            "oa",
            json!({"kind": "zns_provider", "name": "OA", "oa_id": "1", "base_url": zalo_url}),
        ),
        (
            "zns-t",
            json!({"kind": "zns_template", "name": "T", "zalo_template_id": "1", "parameters": ["name"]}),
        ),
        (
            "mail-t",
            json!({"kind": "email_template", "name": "T", "module": "Customer", "subject": "Chúc mừng #Name", "html_body": "<p>#Name</p><p>Người phụ trách: #{Chủ sở hữu}</p>"}),
        ),
    ] {
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
    let workflow = WorkflowId::new("wf-bench").unwrap();
    let clock = FixedClock("2027-05-17T01:00:00Z".parse::<DateTime<Utc>>().unwrap());
    let cases = Workflows {
        workflows: &stores.workflows,
        settings: &stores.settings,
        users: &stores.users,
        schedule: &schedule,
        clock: &clock,
    };
    let admin = UserId::new("u-owner").unwrap();
    let definition = serde_json::from_value(json!({
        "module": "Customer", "name": "Bench",
        "trigger": {"type": "time", "date_field": "Birthday", "recurrence": "yearly", "time_of_day": "08:00:00"},
        "actions": [
            {"kind": "sms", "id": "sms", "name": "SMS", "provider": "sms", "recipient_fields": [{"field": "Phone"}], "template": "sms-t"},
            {"kind": "email", "id": "email", "name": "Email", "sender": "mailer", "recipient_fields": [{"field": "Email"}], "template": "mail-t"},
            {"kind": "zns", "id": "zns", "name": "ZNS", "provider": "oa", "recipient_field": {"field": "Phone"}, "template": "zns-t", "parameters": {"name": "#Name"}},
            {"kind": "task", "id": "task", "name": "Task", "title": "Gọi #Name (#Owner)", "due": {"days_after": 1}, "task_type": "Call", "priority": "High", "assignee": {"type": "record_owner"}},
            {"kind": "notification", "id": "notification", "name": "N", "notify_owner": true, "message": "#Name"},
            {"kind": "update_fields", "id": "update_fields", "name": "U", "values": [{"field": "Rank", "value": {"type": "literal", "value": "Gold"}}]},
            {"kind": "handover", "id": "handover", "name": "H", "to": {"type": "user", "user_id": "u-manager"}, "notify_new_owner": true}
        ]
    }))
    .unwrap();
    cases
        .create(&tenant, &admin, workflow.clone(), definition)
        .await
        .unwrap();
    cases
        .activate(&tenant, &admin, &workflow, None)
        .await
        .unwrap();
    let fields = |i: usize| {
        json!({"Name": format!("Khách {i}"), "Phone": format!("09{:08}", 30_000_000 + i), "Email": format!("k{i}@example.vn"), "Owner": "u-owner"})
            .as_object()
            .unwrap()
            .clone()
    };
    for i in 0..jobs {
        let record = StoredRecord {
            id: RecordId::new(format!("c{i:05}")).unwrap(),
            module: crm_model::schema::Module::Customer,
            fields: fields(i),
        };
        stores.records.create(&tenant, &record).await.unwrap();
    }
    // The executor function's own wiring over the counting clients, at the bench's clock.
    let deps = action_executor::Deps {
        clock: std::sync::Arc::new(clock),
        ..action_executor::Deps::aws(
            stores.clone(),
            action_executor::AwsClients {
                sns,
                ses,
                secrets,
                attachments: crm_adapters::attachments::S3Attachments::new(
                    crm_adapters::attachments::S3Attachments::client(&sdk),
                    std::env::var("ATTACHMENTS_BUCKET")
                        .unwrap_or_else(|_| "crm-local-attachmentsbucket".to_owned()),
                ),
            },
            // The ZNS stand-in listens on loopback.
            crm_model::settings::outbound::OutboundPolicy::LOCAL,
        )
    };
    // The tenant's Zalo token, where the settings API puts it.
    use crm_model::ports::SecretVault;
    crm_adapters::secrets::SecretsManagerVault::new(aws_sdk_secretsmanager::Client::new(&sdk))
        .put(
            &crm_model::settings::secrets::SecretName::for_setting(
                &tenant,
                crm_model::action::SettingKind::ZnsProvider,
                &SettingId::new("oa").unwrap(),
            ),
            &crm_model::settings::secrets::SecretValue::new(r#"{"access_token":"bench"}"#),
        )
        .await
        .unwrap();
    let executor = deps.executor();
    println!("jobs_per_kind={jobs}");
    let mut total_actions = 0usize;
    let mut total_seconds = 0f64;
    for kind in [
        "sms",
        "zns",
        "email",
        "task",
        "notification",
        "update_fields",
        "handover",
    ] {
        dynamo_calls.take();
        sns_calls.take();
        ses_calls.take();
        secret_calls.take();
        let start = Instant::now();
        let mut succeeded = 0;
        for i in 0..jobs {
            let job = ActionJob {
                depth: 0,
                tenant: tenant.clone(),
                workflow: workflow.clone(),
                version: 1,
                record: RecordId::new(format!("c{i:05}")).unwrap(),
                cause: "Y2027".into(),
                action: ActionId::new(kind).unwrap(),
                due_at: clock.0,
                // As the scan hands it over: sends carry the record's fields.
                snapshot: matches!(kind, "sms" | "zns" | "email").then(|| fields(i)),
            };
            if matches!(executor.execute(&job).await, Ok(JobOutcome::Succeeded(_))) {
                succeeded += 1;
            }
        }
        let seconds = start.elapsed().as_secs_f64();
        total_actions += succeeded;
        total_seconds += seconds;
        let (d, n, e) = (dynamo_calls.take(), sns_calls.take(), ses_calls.take());
        let k = secret_calls.take();
        let per = |calls: u64| calls as f64 / jobs as f64;
        println!("{kind}_succeeded={succeeded}");
        println!("{kind}_aws_calls_per_action={:.2}", per(d + n + e + k));
        if k > 0 {
            // One read per sandbox (and per provider) every five minutes, not one per send.
            println!("{kind}_secretsmanager_calls={k}");
        }
        println!("{kind}_dynamodb_calls_per_action={:.2}", per(d));
        if n > 0 {
            println!("{kind}_sns_calls_per_action={:.2}", per(n));
        }
        if e > 0 {
            println!("{kind}_ses_calls_per_action={:.2}", per(e));
        }
        println!(
            "{kind}_actions_per_second={:.1}",
            succeeded as f64 / seconds
        );
    }
    println!(
        "executor_actions_per_second={:.1}",
        total_actions as f64 / total_seconds
    );

    // The emulator's raw write rate, measured the same way (one request at a time).
    let start = Instant::now();
    for i in 0..jobs {
        dynamodb
            .put_item()
            .table_name(&tables.runs)
            .item(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S(format!("T#{tenant}#RAW#{i}")),
            )
            .item(
                "sk",
                aws_sdk_dynamodb::types::AttributeValue::S("RAW".into()),
            )
            .send()
            .await
            .unwrap();
    }
    println!(
        "emulator_raw_putitem_per_second={:.1}",
        jobs as f64 / start.elapsed().as_secs_f64()
    );
    let _ = dynamodb
        .delete_table()
        .table_name(&schedule_table)
        .send()
        .await;
}
