//! The trigger scan, run by a scheduled EventBridge rule: reads what is due from the schedule's
//! due index, claims each occurrence once and publishes one job per action to the automation bus.

use chrono::{DateTime, Utc};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

use crm_adapters::dynamo::Stores;
use crm_adapters::events::EventBridgeJobPublisher;
use crm_adapters::{Tables, config};
use crm_model::app::scan::{ScanReport, Scanner};
use crm_model::ports::{Clock, FixedClock, SystemClock};

struct Deps {
    stores: Stores,
    publisher: EventBridgeJobPublisher,
    /// Local runs may pass `detail.scan_at` to scan "at 8:00"; deployed functions never do.
    allow_clock_override: bool,
}

/// The instant to scan at: the event's `detail.scan_at` when allowed, else now.
fn scan_clock(event: &Value, allow_override: bool) -> Result<Box<dyn Clock>, Error> {
    let at = event.pointer("/detail/scan_at").and_then(Value::as_str);
    match at {
        Some(at) if allow_override => Ok(Box::new(FixedClock(at.parse::<DateTime<Utc>>()?))),
        Some(_) => Err("detail.scan_at is only accepted where ALLOW_CLOCK_OVERRIDE=true".into()),
        None => Ok(Box::new(SystemClock)),
    }
}

async fn handle(deps: &Deps, event: LambdaEvent<Value>) -> Result<ScanReport, Error> {
    let clock = scan_clock(&event.payload, deps.allow_clock_override)?;
    let scanner = Scanner {
        schedule: &deps.stores.schedule,
        records: &deps.stores.records,
        workflows: &deps.stores.workflows,
        settings: &deps.stores.settings,
        publisher: &deps.publisher,
        clock: clock.as_ref(),
        page_size: 100,
        maintenance_pages: 100,
        on_time_grace: chrono::Duration::minutes(15),
    };
    let report = scanner.run().await?;
    tracing::info!(
        due_pairs = report.due_pairs,
        fired = report.occurrences_fired,
        jobs = report.jobs_published,
        index_items_read = report.index_items_read,
        records_read = report.records_read,
        lost_races = report.lost_races,
        "scan finished"
    );
    Ok(report)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let sdk = config::load_sdk_config().await;
    let tables = Tables::from_env()?;
    let deps = Deps {
        stores: Stores::new(&aws_sdk_dynamodb::Client::new(&sdk), &tables),
        publisher: EventBridgeJobPublisher::from_env(&sdk)?,
        allow_clock_override: std::env::var("ALLOW_CLOCK_OVERRIDE").is_ok_and(|v| v == "true"),
    };
    lambda_runtime::run(service_fn(|event| handle(&deps, event))).await
}
