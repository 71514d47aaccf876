//! The trigger scan's composition root: its dependencies (from the environment on AWS, or handed
//! in by tests, the demo and the benches) and the handler of one scheduled event.
//!
//! The scan reads what is due from the schedule's due index, publishes one job per action to the
//! automation bus and claims each occurrence once. The scheduled rule invokes it once per shard
//! group (`detail.shard_group`, of `SCAN_SHARD_GROUPS`), so that groups are scanned in parallel.

use std::sync::Arc;

use serde_json::Value;

use crm_model::ports::{
    Clock, FixedClock, JobPublisher, RecordStore, RunLedger, ScheduleStore, SettingsStore,
    SystemClock, WorkflowStore,
};
use crm_model::schedule::scan::{ScanError, ScanReport, Scanner, ShardGroup};

/// Everything the scan talks to.
pub struct Deps {
    pub schedule: Arc<dyn ScheduleStore>,
    pub records: Arc<dyn RecordStore>,
    pub workflows: Arc<dyn WorkflowStore>,
    pub settings: Arc<dyn SettingsStore>,
    pub publisher: Arc<dyn JobPublisher>,
    /// Where entries the scan cannot handle are shown as failed runs.
    pub runs: Arc<dyn RunLedger>,
    pub clock: Arc<dyn Clock>,
    /// Local runs may pass `detail.scan_at` to scan "at 8:00"; deployed functions never do.
    pub allow_clock_override: bool,
    /// Calls in flight per shard (`SCAN_CONCURRENCY`).
    pub concurrency: usize,
    /// Invocations the shards are split over (`SCAN_SHARD_GROUPS`).
    pub shard_groups: u32,
}

/// Why a scan did not run or did not finish.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("detail.scan_at is only accepted where ALLOW_CLOCK_OVERRIDE=true")]
    ClockOverrideRefused,
    #[error("detail.scan_at is not an RFC 3339 instant: {0}")]
    BadInstant(#[from] chrono::ParseError),
    #[error("detail.shard_group must be a number below {groups} (SCAN_SHARD_GROUPS)")]
    BadShardGroup { groups: u32 },
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
            concurrency: crm_adapters::config::number("SCAN_CONCURRENCY", 16, 1, 256)? as usize,
            shard_groups: crm_adapters::config::number("SCAN_SHARD_GROUPS", 1, 1, 64)?,
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
            runs: Arc::new(stores.runs),
            clock: Arc::new(SystemClock),
            allow_clock_override: false,
            concurrency: 16,
            shard_groups: 1,
        }
    }

    /// The use case over these dependencies, scanning `group` at `clock`'s now.
    pub fn scanner<'a>(&'a self, clock: &'a dyn Clock, group: ShardGroup) -> Scanner<'a> {
        Scanner {
            schedule: self.schedule.as_ref(),
            records: self.records.as_ref(),
            workflows: self.workflows.as_ref(),
            settings: self.settings.as_ref(),
            publisher: self.publisher.as_ref(),
            runs: self.runs.as_ref(),
            clock,
            page_size: 1000,
            maintenance_pages: 100,
            on_time_grace: chrono::Duration::minutes(15),
            concurrency: self.concurrency,
            group,
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

/// The shard group the event names (`detail.shard_group`, 0 when absent).
fn shard_group(deps: &Deps, event: &Value) -> Result<ShardGroup, HandlerError> {
    let groups = deps.shard_groups.max(1);
    let index = match event.pointer("/detail/shard_group") {
        None | Some(Value::Null) => 0,
        Some(value) => value
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n < groups)
            .ok_or(HandlerError::BadShardGroup { groups })?,
    };
    Ok(ShardGroup {
        index,
        count: groups,
    })
}

/// Runs one scan of one shard group.
pub async fn handle(deps: &Deps, event: &Value) -> Result<ScanReport, HandlerError> {
    let chosen = chosen_instant(deps, event)?;
    let group = shard_group(deps, event)?;
    let clock: &dyn Clock = match &chosen {
        Some(fixed) => fixed,
        None => deps.clock.as_ref(),
    };
    let span = tracing::info_span!(
        "scan",
        shard_group = group.index,
        shard_groups = group.count
    );
    let report = tracing::Instrument::instrument(deps.scanner(clock, group).run(), span).await?;
    tracing::info!(
        due_pairs = report.due_pairs,
        fired = report.occurrences_fired,
        jobs = report.jobs_published,
        index_items_read = report.index_items_read,
        records_read = report.records_read,
        lost_races = report.lost_races,
        held = report.entries_held,
        parked = report.entries_parked,
        set_aside = report.items_set_aside,
        "scan finished"
    );
    Ok(report)
}

#[cfg(test)]
mod tests;
