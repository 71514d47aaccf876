//! Consumes the action jobs the automation bus routes to the executor's queue. Each message is
//! an EventBridge event whose detail is an `ActionJob`; failures worth a retry are reported as
//! partial batch failures (the queue redelivers them, then moves them to the dead-letter queue).

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use tracing::Instrument;

use crm_adapters::dynamo::Stores;
use crm_adapters::providers::{BrandnameSmsGateway, Secrets, SmsGateways, ZaloZns};
use crm_adapters::send::{SesEmailSender, SnsSmsSender};
use crm_adapters::task_sync::HttpTaskSync;
use crm_adapters::{Tables, config};
use crm_model::app::execute::{Executor, ExecutorCache, JobOutcome};
use crm_model::ports::SystemClock;
use crm_model::schedule::ActionJob;

struct Deps {
    stores: Stores,
    /// Kept for the sandbox's life: warm invocations reuse workflow versions and settings.
    cache: ExecutorCache,
    sms: SmsGateways,
    zns: ZaloZns,
    email: SesEmailSender,
    task_sync: HttpTaskSync,
}

async fn handle(deps: &Deps, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
    let executor = Executor {
        workflows: &deps.stores.workflows,
        records: &deps.stores.records,
        settings: &deps.stores.settings,
        users: &deps.stores.users,
        ledger: &deps.stores.runs,
        sms: &deps.sms,
        zns: &deps.zns,
        email: &deps.email,
        printer: &crm_adapters::print::PdfPrinter,
        task_sync: &deps.task_sync,
        clock: &SystemClock,
        cache: &deps.cache,
    };
    let mut response = SqsBatchResponse::default();
    for message in &event.payload.records {
        let id = message.message_id.clone().unwrap_or_default();
        let job = message.body.as_deref().and_then(ActionJob::from_event_json);
        let Some(job) = job else {
            // Not a job: retrying cannot help, so it is dropped with an error in the log.
            tracing::error!(message = %id, "message is not an action job");
            continue;
        };
        let span = tracing::info_span!("action_job", tenant = %job.tenant, workflow = %job.workflow, record = %job.record, action = %job.action);
        match executor.execute(&job).instrument(span.clone()).await {
            Ok(outcome) => {
                let _entered = span.enter();
                match outcome {
                    JobOutcome::Succeeded(ids) => {
                        tracing::info!(outputs = ids.len(), "action done")
                    }
                    JobOutcome::Duplicate => tracing::info!("already done by an earlier delivery"),
                    JobOutcome::Failed(reason) => tracing::warn!(%reason, "action failed for good"),
                    JobOutcome::Unknown => tracing::warn!("send outcome unknown; left for review"),
                }
            }
            Err(error) => {
                let _entered = span.enter();
                tracing::warn!(error = %error, "action will be retried");
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = id;
                response.batch_item_failures.push(failure);
            }
        }
    }
    Ok(response)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let sdk = config::load_sdk_config().await;
    let tables = Tables::from_env()?;
    let deps = Deps {
        stores: Stores::new(&aws_sdk_dynamodb::Client::new(&sdk), &tables),
        cache: ExecutorCache::default(),
        sms: SmsGateways {
            sns: SnsSmsSender::new(aws_sdk_sns::Client::new(&sdk)),
            brandname: BrandnameSmsGateway::new(Secrets::from_env()),
        },
        zns: ZaloZns::new(Secrets::from_env()),
        email: SesEmailSender::new(aws_sdk_sesv2::Client::new(&sdk)),
        task_sync: HttpTaskSync::new(Secrets::from_env()),
    };
    lambda_runtime::run(service_fn(|event| handle(&deps, event))).await
}
