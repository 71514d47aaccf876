//! Shared set-up of the integration tests: the local emulator (started by `infra/stack.sh up`)
//! and a fresh tenant per test, so tests run in parallel on one emulator without seeing each
//! other's data.
#![allow(dead_code)]

pub mod faults;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use crm_adapters::Tables;
use crm_model::ids::TenantId;

const LOCAL_ENDPOINT: &str = "http://127.0.0.1:4566";

/// The SDK config for the emulator: from the environment when `.local/env` was sourced, else
/// the local defaults.
pub async fn sdk() -> SdkConfig {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| LOCAL_ENDPOINT.into());
    assert!(
        endpoint.starts_with("http://127.") || endpoint.starts_with("http://localhost"),
        "integration tests only run against a local emulator, not {endpoint}"
    );
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .test_credentials()
        .load()
        .await
}

/// The AWS clients the tests talk to the emulator with.
#[derive(Debug, Clone)]
pub struct Clients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sesv2: aws_sdk_sesv2::Client,
    pub eventbridge: aws_sdk_eventbridge::Client,
    pub sqs: aws_sdk_sqs::Client,
}

impl Clients {
    pub fn new(sdk: &SdkConfig) -> Self {
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            sesv2: aws_sdk_sesv2::Client::new(sdk),
            eventbridge: aws_sdk_eventbridge::Client::new(sdk),
            sqs: aws_sdk_sqs::Client::new(sdk),
        }
    }
}

pub async fn clients() -> Clients {
    Clients::new(&sdk().await)
}

/// The local stack's table names (`crm-local-*` unless `.local/env` says otherwise).
pub fn tables() -> Tables {
    Tables::from_env().unwrap_or_else(|_| Tables {
        settings: "crm-local-settings".into(),
        records: "crm-local-records".into(),
        schedule: "crm-local-schedule".into(),
        runs: "crm-local-runs".into(),
    })
}

/// A tenant no other test uses.
pub fn fresh_tenant() -> TenantId {
    TenantId::new(format!("test-{}", uuid::Uuid::new_v4().simple())).expect("uuid is a valid id")
}

/// A schedule table of the test's own, created with the key schema and indexes of the stack's
/// schedule table (read back from the emulator, so the template stays the only definition). The
/// due index is global across tenants, so scans under test must not share it.
pub async fn fresh_schedule_table(client: &aws_sdk_dynamodb::Client) -> String {
    let name = format!(
        "{}-test-{}",
        tables().schedule,
        uuid::Uuid::new_v4().simple()
    );
    crm_adapters::dynamo::copy_table_schema(client, &tables().schedule, &name)
        .await
        .expect("copy the stack's schedule table (infra/stack.sh up)");
    name
}

/// A queue receiving only the action jobs of `tenant` from the automation bus: a probe rule of
/// the test's own, so parallel tests never read each other's jobs.
pub struct JobProbe {
    pub queue_url: String,
    rule: String,
    bus: String,
    sqs: aws_sdk_sqs::Client,
    events: aws_sdk_eventbridge::Client,
}

pub fn automation_bus() -> String {
    std::env::var("AUTOMATION_BUS").unwrap_or_else(|_| "crm-local-automation".into())
}

impl JobProbe {
    pub async fn new(clients: &Clients, tenant: &TenantId) -> Self {
        let name = format!("probe-{tenant}");
        let queue_url = clients
            .sqs
            .create_queue()
            .queue_name(&name)
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let arn = clients
            .sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
            .clone();
        let bus = automation_bus();
        let pattern = serde_json::json!({"source": ["crm.automation"], "detail": {"tenant": [tenant.as_str()]}});
        clients
            .eventbridge
            .put_rule()
            .name(&name)
            .event_bus_name(&bus)
            .event_pattern(pattern.to_string())
            .send()
            .await
            .unwrap();
        clients
            .eventbridge
            .put_targets()
            .rule(&name)
            .event_bus_name(&bus)
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("probe")
                    .arn(arn)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        Self {
            queue_url,
            rule: name,
            bus,
            sqs: clients.sqs.clone(),
            events: clients.eventbridge.clone(),
        }
    }

    /// Every job delivered so far (drains the queue).
    pub async fn jobs(&self) -> Vec<crm_model::schedule::ActionJob> {
        let mut jobs = Vec::new();
        loop {
            let output = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap();
            let messages = output.messages.unwrap_or_default();
            if messages.is_empty() {
                return jobs;
            }
            for message in messages {
                let event: serde_json::Value =
                    serde_json::from_str(message.body().unwrap()).unwrap();
                jobs.push(serde_json::from_value(event["detail"].clone()).unwrap());
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(message.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }

    pub async fn remove(self) {
        let _ = self
            .events
            .remove_targets()
            .rule(&self.rule)
            .event_bus_name(&self.bus)
            .ids("probe")
            .send()
            .await;
        let _ = self
            .events
            .delete_rule()
            .name(&self.rule)
            .event_bus_name(&self.bus)
            .send()
            .await;
        let _ = self
            .sqs
            .delete_queue()
            .queue_url(&self.queue_url)
            .send()
            .await;
    }
}

/// What a stub server received: headers and JSON body of each request.
pub type Seen = std::sync::Arc<std::sync::Mutex<Vec<(axum::http::HeaderMap, serde_json::Value)>>>;

/// Serves `router` on a free loopback port; its base URL.
pub async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{address}")
}

/// A stub of Zalo's `POST /message/template`: token `oa-token`; phone 84900000000 is invalid
/// (-108), 84900000032 is rate limited (-32); anything else succeeds with `zns-<tracking id>`.
pub async fn zalo(
    axum::extract::State(seen): axum::extract::State<Seen>,
    headers: axum::http::HeaderMap,
    axum::Json(body): axum::Json<serde_json::Value>,
) -> axum::Json<serde_json::Value> {
    use serde_json::json;
    seen.lock().unwrap().push((headers.clone(), body.clone()));
    if headers.get("access_token").and_then(|v| v.to_str().ok()) != Some("oa-token") {
        return axum::Json(json!({"error": -124, "message": "Access token is invalid"}));
    }
    match body["phone"].as_str() {
        Some("84900000000") => {
            axum::Json(json!({"error": -108, "message": "Phone number is invalid"}))
        }
        Some("84900000032") => {
            axum::Json(json!({"error": -32, "message": "Exceeded request rate limit"}))
        }
        _ => axum::Json(json!({"error": 0, "message": "Success",
            "data": {"msg_id": format!("zns-{}", body["tracking_id"].as_str().unwrap_or("")), "sent_time": "1810429200000"}})),
    }
}

/// The attachments bucket of `.local/env` (the name the local stack gives the template's).
pub fn attachments(sdk: &SdkConfig) -> crm_adapters::attachments::S3Attachments {
    let bucket = std::env::var("ATTACHMENTS_BUCKET")
        .unwrap_or_else(|_| "crm-local-attachmentsbucket".to_owned());
    crm_adapters::attachments::S3Attachments::new(
        crm_adapters::attachments::S3Attachments::client(sdk),
        bucket,
    )
}
