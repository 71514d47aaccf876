//! Email and SMS from the customer page against the emulator, through the functions' own
//! wiring: the records use case queues the message in DynamoDB, the record-events function
//! publishes its job on the real bus (read back from SQS), the executor sends it through SES v2
//! and SNS, each delivery of the job after the first a duplicate, and the message reads Sent.
//! The rules (addresses, keys, refusals, partial sends) are tested over the in-memory stores in
//! `shared/model/tests/messages.rs`.

mod support;

use crm_adapters::dynamo::{DynamoScheduleStore, Stores};
use crm_adapters::events::EventBridgeJobPublisher;
use crm_model::ids::{RecordId, SettingId, UserId};
use crm_model::ports::{FixedClock, RecordStore, SettingsStore, StoredRecord, UserDirectory};
use crm_model::record::service::{Channel, Records, SendRequest};
use crm_model::run::execute::{Executor, JobOutcome};
use crm_model::schedule::record_events::{BatchCache, Change, RecordEvents};
use crm_model::schema::Module;
use crm_model::settings::outbound::OutboundPolicy;
use crm_model::user::{Role, User};
use serde_json::{Value, json};

fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
    s.parse().unwrap()
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

#[tokio::test]
async fn an_email_and_an_sms_from_the_customer_page_go_out_once_and_read_sent() {
    let clients = support::clients().await;
    let stores = Stores::new(&clients.dynamodb, &support::tables());
    let schedule = DynamoScheduleStore::new(
        clients.dynamodb.clone(),
        support::fresh_schedule_table(&clients.dynamodb).await,
    );
    let tenant = support::fresh_tenant();
    let probe = support::JobProbe::new(&clients, &tenant).await;
    let tag: String = uuid::Uuid::new_v4().as_u128().to_string()[..6].to_owned();
    let email = format!("lan.{tag}@example.vn");
    let phone = format!("0913{tag}");
    let seller = User {
        id: UserId::new("u-sales").unwrap(),
        name: "Nguyễn Văn Sáng".into(),
        email: format!("sang.{tag}@example.com"),
        phone: None,
        team: None,
        role: Role::Salesperson,
        manager: None,
        active: true,
    };
    stores.users.put(&tenant, &seller).await.unwrap();
    for (id, setting) in [
        (
            "mailer",
            json!({"kind": "email_sender", "name": "CSKH", "from_address": "noreply@example.com", "from_name": "Chăm sóc khách hàng"}),
        ),
        (
            "sms",
            json!({"kind": "sms_provider", "name": "SNS", "gateway": {"type": "sns", "sender_id": "CRMDEMO"}}),
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
    let customer = StoredRecord {
        id: RecordId::new("c-lan").unwrap(),
        module: Module::Customer,
        fields: json!({"Name": "Lan", "Email": email, "Phone": phone, "Owner": "u-sales"})
            .as_object()
            .unwrap()
            .clone(),
    };
    stores.records.create(&tenant, &customer).await.unwrap();

    let clock = FixedClock(at("2027-05-17T01:00:00Z"));
    let records = Records {
        records: &stores.records,
        users: &stores.users,
        settings: &stores.settings,
        runs: &stores.runs,
        inbox: &stores.inbox,
        clock: &clock,
    };
    let actor = records.actor_of(&tenant, &seller).await.unwrap();
    let mut requests = vec![
        SendRequest {
            key: "mail-1".into(),
            channel: Channel::Email,
            sender: SettingId::new("mailer").unwrap(),
            to: vec![email.clone()],
            cc: Vec::new(),
            bcc: Vec::new(),
            subject: "Chào #Name".into(),
            body: "<p>Kính gửi <b>#Name</b></p>".into(),
            contact: None,
            template: None,
        },
        SendRequest {
            key: "sms-1".into(),
            channel: Channel::Sms,
            sender: SettingId::new("sms").unwrap(),
            to: vec![phone.clone()],
            cc: Vec::new(),
            bcc: Vec::new(),
            subject: String::new(),
            body: "Chào #Name, cảm ơn chị.".into(),
            contact: None,
            template: None,
        },
    ];
    let deps = record_events::Deps::aws(
        Stores {
            schedule: schedule.clone(),
            ..stores.clone()
        },
        EventBridgeJobPublisher::new(clients.eventbridge.clone(), support::automation_bus()),
    );
    let mut messages = Vec::new();
    for request in requests.drain(..) {
        let queued = records
            .send_message(&actor, &customer.id, &request)
            .await
            .unwrap();
        // A double click names the same message.
        let again = records
            .send_message(&actor, &customer.id, &request)
            .await
            .unwrap();
        assert!(again.replayed && again.message.value.id == queued.message.value.id);
        // The stream delivers the new item twice.
        for _ in 0..2 {
            RecordEvents {
                clock: &clock,
                ..deps.record_events()
            }
            .handle(
                &tenant,
                &format!("ev-{}", request.key),
                &Change::Inserted(queued.message.value.clone()),
                None,
                &mut BatchCache::default(),
            )
            .await
            .unwrap();
        }
        messages.push(queued.message.value.id);
    }
    let mut jobs = Vec::new();
    for _ in 0..20 {
        jobs.extend(probe.jobs().await);
        if jobs.len() >= 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    probe.remove().await;
    assert_eq!(jobs.len(), 4, "each message published twice: {jobs:?}");

    let sdk = support::sdk().await;
    let executor_deps = action_executor::Deps::aws(
        stores.clone(),
        action_executor::AwsClients {
            sns: aws_sdk_sns::Client::new(&sdk),
            ses: aws_sdk_sesv2::Client::new(&sdk),
            secrets: aws_sdk_secretsmanager::Client::new(&sdk),
            attachments: support::attachments(&sdk),
        },
        OutboundPolicy::LOCAL,
    );
    let mut outcomes = Vec::new();
    for job in &jobs {
        let cache = crm_model::run::execute::ExecutorCache::default();
        let outcome = Executor {
            clock: &clock,
            cache: &cache,
            deadline: None,
            ..executor_deps.executor()
        }
        .execute(job)
        .await
        .unwrap();
        outcomes.push(outcome);
    }
    let sent = outcomes
        .iter()
        .filter(|o| matches!(o, JobOutcome::Succeeded(_)))
        .count();
    let duplicates = outcomes
        .iter()
        .filter(|o| matches!(o, JobOutcome::Duplicate))
        .count();
    assert_eq!((sent, duplicates), (2, 2), "{outcomes:?}");

    let state = emulator_state();
    let mails: Vec<&Value> = state["ses"]["Message"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["destinations"].to_string().contains(&email))
        .collect();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0]["subject"], "Chào Lan");
    assert!(mails[0]["body"].as_str().unwrap().contains("<b>Lan</b>"));
    let e164 = format!("+84913{tag}");
    let texts: Vec<&Value> = state["sns"]["SMS"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["phone_number"] == e164.as_str())
        .collect();
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert_eq!(texts[0]["message"], "Chào Lan, cảm ơn chị.");

    for id in &messages {
        let stored = stores.records.get(&tenant, id).await.unwrap().unwrap();
        assert_eq!(stored.value.fields["Status"], json!("Sent"), "{stored:?}");
        assert!(stored.value.fields["ProviderIds"].is_string());
    }
}
