//! The action executor's composition root: the dependencies built once per sandbox (from the
//! environment on AWS, or handed in by tests, the demo and the benches) and the handler that
//! turns one SQS batch into partial batch failures.
//!
//! Each message is an EventBridge event whose detail is an `ActionJob`. A failure worth a retry
//! is reported as a batch item failure (the queue redelivers it, then moves it to the dead-letter
//! queue); a job that failed for good is not retried; a message that is not a job is reported as
//! a failure too, so that it reaches the dead-letter queue instead of vanishing.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use chrono::{DateTime, Utc};

use crm_model::ports::{
    AttachmentStore, Clock, DocumentPrinter, EmailSender, RecordStore, RunLedger, SecretVault,
    SettingsStore, SmsSender, SystemClock, TaskSync, UserDirectory, WorkflowStore, ZnsSender,
};
use crm_model::run::execute::{ExecuteError, Executor, ExecutorCache, JobOutcome};
use crm_model::schedule::ActionJob;
use crm_model::settings::outbound::OutboundPolicy;

/// Everything the executor talks to.
pub struct Deps {
    pub workflows: Arc<dyn WorkflowStore>,
    pub records: Arc<dyn RecordStore>,
    pub settings: Arc<dyn SettingsStore>,
    pub users: Arc<dyn UserDirectory>,
    pub ledger: Arc<dyn RunLedger>,
    pub sms: Arc<dyn SmsSender>,
    pub zns: Arc<dyn ZnsSender>,
    pub email: Arc<dyn EmailSender>,
    pub printer: Arc<dyn DocumentPrinter>,
    /// Where tasks' printed attachments are kept.
    pub attachments: Arc<dyn AttachmentStore>,
    pub task_sync: Arc<dyn TaskSync>,
    /// Provider credentials, cached per sandbox.
    pub secrets: Arc<dyn SecretVault>,
    pub clock: Arc<dyn Clock>,
    /// Approval requests: their timers and the approvers' emails.
    pub approvals: Arc<dyn crm_model::approval::store::ApprovalStore>,
    /// The records API's base URL, where an approver's decision link points (`API_URL`).
    pub links_base: String,
    /// Kept for the sandbox's life: warm invocations reuse workflow versions and settings.
    pub cache: ExecutorCache,
    /// Jobs of one tenant carried out at once within a batch.
    pub lanes_per_tenant: usize,
    /// Deliveries of a job before the queue moves it to the dead-letter queue (the template's
    /// `ActionJobMaxReceives`): a job failing on that one is marked dead-lettered in its run.
    pub max_receives: u32,
}

impl Deps {
    /// The deployed wiring: DynamoDB tables, SNS and the brandname gateway for SMS, Zalo ZNS,
    /// SES v2, signed task sync, credentials from Secrets Manager, the system clock; names and
    /// the outbound policy from the template's environment.
    pub async fn from_env() -> Result<Self, crm_adapters::ConfigError> {
        crm_model::phone::load_metadata();
        let sdk = crm_adapters::config::load_sdk_config().await;
        Ok(Self::aws(
            crm_adapters::dynamo::Stores::from_env(&sdk)?,
            AwsClients {
                sns: aws_sdk_sns::Client::new(&sdk),
                ses: aws_sdk_sesv2::Client::new(&sdk),
                secrets: aws_sdk_secretsmanager::Client::new(&sdk),
                attachments: crm_adapters::attachments::S3Attachments::from_env(&sdk)?,
            },
            crm_adapters::outbound::policy_from_env(),
        ))
    }

    /// The AWS wiring over given stores and clients: what the emulator tests and the benchmark
    /// run (with a table or an interceptor of their own), exactly as deployed otherwise.
    pub fn aws(
        stores: crm_adapters::dynamo::Stores,
        clients: AwsClients,
        outbound: OutboundPolicy,
    ) -> Self {
        use crm_adapters::providers::{BrandnameSmsGateway, SmsGateways, ZaloZns};
        use crm_adapters::secrets::{CachedVault, SecretsManagerVault};
        use crm_adapters::send::{SesEmailSender, SnsSmsSender};
        Self {
            workflows: Arc::new(stores.workflows),
            records: Arc::new(stores.records),
            settings: Arc::new(stores.settings),
            users: Arc::new(stores.users),
            ledger: Arc::new(stores.runs),
            sms: Arc::new(SmsGateways {
                sns: SnsSmsSender::new(clients.sns),
                brandname: BrandnameSmsGateway::new(outbound),
            }),
            zns: Arc::new(ZaloZns::new(outbound)),
            email: Arc::new(SesEmailSender::new(clients.ses)),
            printer: Arc::new(crm_adapters::print::PdfPrinter),
            attachments: Arc::new(clients.attachments),
            task_sync: Arc::new(crm_adapters::task_sync::HttpTaskSync::new(outbound)),
            secrets: Arc::new(CachedVault::new(SecretsManagerVault::new(clients.secrets))),
            clock: Arc::new(SystemClock),
            approvals: Arc::new(stores.approvals),
            links_base: links_base(),
            cache: ExecutorCache::default(),
            lanes_per_tenant: lanes_per_tenant(),
            max_receives: max_receives(),
        }
    }

    /// The use case over these dependencies.
    pub fn executor(&self) -> Executor<'_> {
        Executor {
            workflows: self.workflows.as_ref(),
            records: self.records.as_ref(),
            settings: self.settings.as_ref(),
            users: self.users.as_ref(),
            ledger: self.ledger.as_ref(),
            sms: self.sms.as_ref(),
            zns: self.zns.as_ref(),
            email: self.email.as_ref(),
            printer: self.printer.as_ref(),
            attachments: self.attachments.as_ref(),
            task_sync: self.task_sync.as_ref(),
            secrets: self.secrets.as_ref(),
            clock: self.clock.as_ref(),
            cache: &self.cache,
            approvals: self.approvals.as_ref(),
            links_base: &self.links_base,
            deadline: None,
        }
    }
}

/// The AWS clients the executor sends and reads credentials through.
pub struct AwsClients {
    pub sns: aws_sdk_sns::Client,
    pub ses: aws_sdk_sesv2::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub attachments: crm_adapters::attachments::S3Attachments,
}

/// How much of the invocation's time is kept for storing outcomes and answering: no provider call
/// starts later than this before the function's deadline.
pub const ANSWER_MARGIN_MS: i64 = 3_000;

/// Jobs of one tenant carried out at once within a batch, unless `EXECUTOR_LANES_PER_TENANT`
/// (the template's `ExecutorLanesPerTenant`) says otherwise.
pub const DEFAULT_LANES_PER_TENANT: usize = 2;

/// The per-tenant lanes from the environment.
pub fn lanes_per_tenant() -> usize {
    std::env::var("EXECUTOR_LANES_PER_TENANT")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(DEFAULT_LANES_PER_TENANT)
}

/// Where decision links point: the template's API URL (`API_URL`), else the local API server.
pub fn links_base() -> String {
    std::env::var("API_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| "http://127.0.0.1:3000".to_owned())
        .trim_end_matches('/')
        .to_owned()
}

/// Deliveries before the dead-letter queue, unless `ACTION_JOB_MAX_RECEIVES` says otherwise.
pub const DEFAULT_MAX_RECEIVES: u32 = 5;

/// The template's `ActionJobMaxReceives`, from the environment.
pub fn max_receives() -> u32 {
    std::env::var("ACTION_JOB_MAX_RECEIVES")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(DEFAULT_MAX_RECEIVES)
}

/// The instant by which the batch must be done: the invocation's deadline (milliseconds since
/// the epoch, from the Lambda context) less [`ANSWER_MARGIN_MS`].
pub fn budget(deadline_ms: u64) -> Option<DateTime<Utc>> {
    let deadline = i64::try_from(deadline_ms).ok()?;
    DateTime::from_timestamp_millis(deadline - ANSWER_MARGIN_MS)
}

/// Carries out every job of the batch concurrently (at most `deps.lanes_per_tenant` of one
/// tenant at a time) within `budget`; the messages to redeliver come back as failures. A message
/// that is not a job is logged with its id and reported as a failure too, so that it ends in the
/// dead-letter queue where it can be seen, never dropped.
pub async fn handle(
    deps: &Deps,
    event: &SqsEvent,
    budget: Option<DateTime<Utc>>,
) -> SqsBatchResponse {
    let mut executor = deps.executor();
    executor.deadline = budget;
    let mut response = SqsBatchResponse::default();
    let mut jobs = Vec::new();
    let mut ids = Vec::new();
    let mut receives = Vec::new();
    for message in &event.records {
        let id = message.message_id.clone().unwrap_or_default();
        match message.body.as_deref().and_then(ActionJob::from_event_json) {
            Some(job) => {
                jobs.push(job);
                ids.push(id);
                receives.push(
                    message
                        .attributes
                        .get("ApproximateReceiveCount")
                        .and_then(|n| n.parse::<u32>().ok())
                        .unwrap_or(1),
                );
            }
            None => {
                tracing::error!(message = %id, "message is not an action job; left to the dead-letter queue");
                response.batch_item_failures.push(failure(id));
            }
        }
    }
    let outcomes = executor.execute_batch(&jobs, deps.lanes_per_tenant).await;
    for (((job, id), outcome), received) in jobs.iter().zip(ids).zip(outcomes).zip(receives) {
        let span = tracing::info_span!("action_job", tenant = %job.tenant, workflow = %job.workflow, record = %job.record, action = %job.action);
        let _entered = span.enter();
        match outcome {
            Ok(JobOutcome::Succeeded(ids)) => tracing::info!(outputs = ids.len(), "action done"),
            Ok(JobOutcome::Duplicate) => tracing::info!("already done by an earlier delivery"),
            Ok(JobOutcome::Failed(reason)) => tracing::warn!(%reason, "action failed for good"),
            Ok(JobOutcome::Unknown) => tracing::warn!("send outcome unknown; left for review"),
            Ok(JobOutcome::Cancelled(reason)) => tracing::info!(%reason, "job cancelled"),
            Err(error) => {
                let last = received >= deps.max_receives;
                if last && !matches!(error, ExecuteError::Busy) {
                    // The queue gives up on it now: its run says so, for an administrator.
                    if let Err(marking) = executor
                        .dead_letter(job, &error.to_string(), received)
                        .await
                    {
                        tracing::error!(error = %marking, "could not mark the run dead-lettered; the dead-letter queue still holds the job");
                    }
                } else {
                    tracing::warn!(error = %error, "action will be retried");
                }
                response.batch_item_failures.push(failure(id));
            }
        }
    }
    response
}

fn failure(id: String) -> BatchItemFailure {
    let mut failure = BatchItemFailure::default();
    failure.item_identifier = id;
    failure
}

#[cfg(test)]
mod isolation_tests;
#[cfg(test)]
mod tests;
