//! One function under audit: AWS clients that record every call into the function's log, and
//! the check of that log against the function's statements in `template.yaml`.

use aws_config::SdkConfig;
use crm_adapters::audited_client;
use crm_adapters::dynamo::{DynamoScheduleStore, Stores};
use crm_adapters::events::EventBridgeJobPublisher;
use crm_adapters::iam_audit::{CallLog, Deployment, Template, report};

use super::support;

const TEMPLATE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml");

pub struct Audited {
    /// The binary the template's function builds (`Metadata.BuildProperties.Binary`).
    pub binary: &'static str,
    pub log: CallLog,
    sdk: SdkConfig,
    deployment: Deployment,
}

impl Audited {
    pub async fn new(binary: &'static str) -> Self {
        Self {
            binary,
            log: CallLog::new(),
            sdk: support::sdk().await,
            deployment: Deployment::local(),
        }
    }

    // One line per service the function talks to.
    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        audited_client!(aws_sdk_dynamodb, &self.sdk, &self.log)
    }
    pub fn eventbridge(&self) -> aws_sdk_eventbridge::Client {
        audited_client!(aws_sdk_eventbridge, &self.sdk, &self.log)
    }
    pub fn sns(&self) -> aws_sdk_sns::Client {
        audited_client!(aws_sdk_sns, &self.sdk, &self.log)
    }
    pub fn sesv2(&self) -> aws_sdk_sesv2::Client {
        audited_client!(aws_sdk_sesv2, &self.sdk, &self.log)
    }
    pub fn secretsmanager(&self) -> aws_sdk_secretsmanager::Client {
        audited_client!(aws_sdk_secretsmanager, &self.sdk, &self.log)
    }
    /// Path-style, as the attachments adapter builds it.
    pub fn s3(&self) -> aws_sdk_s3::Client {
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&self.sdk)
                .force_path_style(true)
                .interceptor(self.log.clone())
                .build(),
        )
    }
    /// The attachments bucket of the local stack over the audited S3 client.
    pub fn attachments(&self) -> crm_adapters::attachments::S3Attachments {
        let bucket = std::env::var("ATTACHMENTS_BUCKET")
            .unwrap_or_else(|_| "crm-local-attachmentsbucket".to_owned());
        crm_adapters::attachments::S3Attachments::new(self.s3(), bucket)
    }

    /// The stack's stores over audited clients, with a schedule table of the test's own (the
    /// due index is global: a scan must not take other tests' entries) checked as the stack's.
    pub fn stores(&mut self, schedule_table: &str) -> Stores {
        let dynamodb = self.dynamodb();
        let stack = support::tables();
        self.deployment = self
            .deployment
            .clone()
            .with_alias(schedule_table, &stack.schedule);
        Stores {
            schedule: DynamoScheduleStore::new(dynamodb.clone(), schedule_table),
            ..Stores::new(&dynamodb, &stack)
        }
    }

    /// The stack's automation bus over an audited client.
    pub fn publisher(&self) -> EventBridgeJobPublisher {
        EventBridgeJobPublisher::new(self.eventbridge(), support::automation_bus())
    }

    /// Fails, listing them, when a call is not allowed by the function's statements; fails too
    /// when an access in `exercised` (action, end of the resource's ARN) was never made, so a
    /// scenario that stops covering a path cannot pass unseen.
    pub fn assert_allowed(&self, exercised: &[(&str, &str)]) {
        let template = Template::load(TEMPLATE, self.deployment.clone()).expect("template.yaml");
        let policy = template
            .function_policy(self.binary)
            .expect("the function's statements");
        let calls = self.log.calls();
        let made: Vec<(String, String)> = calls
            .iter()
            .flat_map(|c| &c.accesses)
            .map(|a| (a.action.clone(), self.deployment.resource_arn(&a.resource)))
            .collect();
        let missing: Vec<String> = exercised
            .iter()
            .filter(|(action, resource)| {
                !made
                    .iter()
                    .any(|(a, arn)| a == action && arn.ends_with(resource))
            })
            .map(|(action, resource)| format!("{action} on …{resource}"))
            .collect();
        let mut distinct = made.clone();
        distinct.sort();
        distinct.dedup();
        eprintln!(
            "{} ({}): {} calls, {} distinct accesses",
            self.binary,
            policy.function,
            calls.len(),
            distinct.len()
        );
        for (action, resource) in &distinct {
            eprintln!("  made: {action} on {resource}");
        }
        for unused in policy.unused(&calls, &self.deployment) {
            eprintln!(
                "  {}: granted, unused by these scenarios: actions {:?}, resources {:?}",
                unused.origin, unused.actions, unused.resources
            );
        }
        let denied = policy.denied(&calls, &self.deployment);
        assert!(denied.is_empty(), "{}", report(&policy.function, &denied));
        assert!(
            missing.is_empty(),
            "{}: the scenarios no longer make {missing:?}; calls made: {distinct:#?}",
            self.binary
        );
    }
}
