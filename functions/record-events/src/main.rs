//! Consumes the records table's stream: keeps the care workflows' due schedule in step with each
//! record and runs the module's work workflows. Reports partial batch failures, so that only the
//! failed record and those after it are retried.

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use tracing::Instrument;

use crm_adapters::dynamo::{Stores, record_change};
use crm_adapters::events::EventBridgeJobPublisher;
use crm_adapters::{Tables, config};
use crm_model::app::record_events::{BatchCache, RecordEvents};
use crm_model::ports::SystemClock;

struct Deps {
    stores: Stores,
    publisher: EventBridgeJobPublisher,
}

async fn handle(deps: &Deps, event: LambdaEvent<Event>) -> Result<DynamoDbEventResponse, Error> {
    let events = RecordEvents {
        workflows: &deps.stores.workflows,
        settings: &deps.stores.settings,
        schedule: &deps.stores.schedule,
        publisher: &deps.publisher,
        clock: &SystemClock,
    };
    let mut cache = BatchCache::default();
    let mut response = DynamoDbEventResponse::default();
    for record in &event.payload.records {
        let Some((tenant, change)) =
            record_change(&record.change.old_image, &record.change.new_image)
        else {
            continue;
        };
        let current = change.current();
        let span = tracing::info_span!("record_change", tenant = %tenant, record = %current.id, module = %current.module);
        let handled = events
            .handle(&tenant, &record.event_id, &change, &mut cache)
            .instrument(span.clone())
            .await;
        let _entered = span.enter();
        if let Err(error) = handled {
            tracing::error!(error = %error, "record change failed; this and later records are retried");
            // Lambda retries from the first failure, so later records need not be tried now.
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = record.change.sequence_number.clone();
            response.batch_item_failures.push(failure);
            break;
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
        publisher: EventBridgeJobPublisher::from_env(&sdk)?,
    };
    lambda_runtime::run(service_fn(|event| handle(&deps, event))).await
}
