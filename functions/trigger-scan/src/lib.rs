//! The trigger scan's composition root: its dependencies (from the environment on AWS, or handed
//! in by tests, the demo and the benches) and the handler of one scheduled event.
//!
//! The scan reads what is due from the schedule's due index, claims each occurrence once and
//! publishes one job per action to the automation bus.

use std::sync::Arc;

use serde_json::Value;

use crm_model::ports::{
    Clock, FixedClock, JobPublisher, RecordStore, ScheduleStore, SettingsStore, SystemClock,
    WorkflowStore,
};
use crm_model::schedule::scan::{ScanError, ScanReport, Scanner};

/// Everything the scan talks to.
pub struct Deps {
    pub schedule: Arc<dyn ScheduleStore>,
    pub records: Arc<dyn RecordStore>,
    pub workflows: Arc<dyn WorkflowStore>,
    pub settings: Arc<dyn SettingsStore>,
    pub publisher: Arc<dyn JobPublisher>,
    pub clock: Arc<dyn Clock>,
    /// Local runs may pass `detail.scan_at` to scan "at 8:00"; deployed functions never do.
    pub allow_clock_override: bool,
}

/// Why a scan did not run or did not finish.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("detail.scan_at is only accepted where ALLOW_CLOCK_OVERRIDE=true")]
    ClockOverrideRefused,
    #[error("detail.scan_at is not an RFC 3339 instant: {0}")]
    BadInstant(#[from] chrono::ParseError),
    #[error(transparent)]
    Scan(#[from] ScanError),
}

impl Deps {
    /// The deployed wiring: DynamoDB tables and the automation bus the template names.
    pub async fn from_env() -> Result<Self, crm_adapters::ConfigError> {
        let sdk = crm_adapters::config::load_sdk_config().await;
        let publisher = crm_adapters::events::EventBridgeJobPublisher::from_env(&sdk)?;
        Ok(Self {
            allow_clock_override: std::env::var("ALLOW_CLOCK_OVERRIDE").is_ok_and(|v| v == "true"),
            ..Self::aws(crm_adapters::dynamo::Stores::from_env(&sdk)?, publisher)
        })
    }

    /// The AWS wiring over given stores and bus: what the emulator tests and the benchmark run
    /// (with a schedule table of their own), exactly as deployed otherwise.
    pub fn aws(
        stores: crm_adapters::dynamo::Stores,
        publisher: crm_adapters::events::EventBridgeJobPublisher,
    ) -> Self {
        Self {
            schedule: Arc::new(stores.schedule),
            records: Arc::new(stores.records),
            workflows: Arc::new(stores.workflows),
            settings: Arc::new(stores.settings),
            publisher: Arc::new(publisher),
            clock: Arc::new(SystemClock),
            allow_clock_override: false,
        }
    }

    /// The use case over these dependencies, scanning at `clock`'s now.
    pub fn scanner<'a>(&'a self, clock: &'a dyn Clock) -> Scanner<'a> {
        Scanner {
            schedule: self.schedule.as_ref(),
            records: self.records.as_ref(),
            workflows: self.workflows.as_ref(),
            settings: self.settings.as_ref(),
            publisher: self.publisher.as_ref(),
            clock,
            page_size: 100,
            maintenance_pages: 100,
            on_time_grace: chrono::Duration::minutes(15),
        }
    }
}

/// The instant to scan at, when the event names one: only where the deployment allows it.
fn chosen_instant(deps: &Deps, event: &Value) -> Result<Option<FixedClock>, HandlerError> {
    match event.pointer("/detail/scan_at").and_then(Value::as_str) {
        Some(at) if deps.allow_clock_override => Ok(Some(FixedClock(at.parse()?))),
        Some(_) => Err(HandlerError::ClockOverrideRefused),
        None => Ok(None),
    }
}

/// Runs one scan.
pub async fn handle(deps: &Deps, event: &Value) -> Result<ScanReport, HandlerError> {
    let chosen = chosen_instant(deps, event)?;
    let clock: &dyn Clock = match &chosen {
        Some(fixed) => fixed,
        None => deps.clock.as_ref(),
    };
    let report = deps.scanner(clock).run().await?;
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

#[cfg(test)]
mod tests;
