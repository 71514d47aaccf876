//! The trigger scan: finds every (workflow, record, occurrence) that has come due, checks the
//! condition against the record as it is now, publishes one job per action and then claims the
//! occurrence, once. It reads the due index and the due records only: its cost follows what is
//! due, not the size of any module.
//!
//! Publish first, claim after: a scan that dies between the two, or loses the claim to a racing
//! scan, has put jobs on the bus that another scan publishes again under the same idempotency
//! keys, and the executor's ledger runs each key once. So an occurrence costs one conditional
//! update of its entry, and no outbox.
//!
//! Throughput: up to `concurrency` shards of the scan's group are read at once, and within a
//! page the jobs are published and the entries claimed with up to `concurrency` calls in flight. Several groups of
//! shards can be scanned by parallel invocations, each with its own window.
//!
//! Isolation: an entry the scan cannot handle (its record or workflow unreadable, a condition
//! that no longer compiles, a job the bus refuses) is held on its own, with the reason in the run
//! history and the logs, retried a few times and then parked; every other entry goes on. Only a
//! store or bus that does not answer stops a shard, and then the next scan picks up what is left.

mod failures;
mod plan;
mod report;
mod windows;

use chrono::{DateTime, Duration, Utc};
use futures_util::StreamExt;
use futures_util::stream;
use std::collections::HashMap;

use crate::clock::Clock;
use crate::ids::{RecordId, TenantId};
use crate::record::store::RecordStore;
use crate::record::stored::StoredRecord;
use crate::run::ledger::RunLedger;
use crate::schedule::ports::{
    DueItem, DueLane, JobPublisher, PublishError, ScheduleEntry, ScheduleStore,
};
use crate::schedule::publish::publish_each;
use crate::settings::store::SettingsStore;
use crate::store::{ClaimOutcome, PageRequest, StoreError};
use crate::workflow::store::WorkflowStore;

pub(super) use plan::Caches;
use plan::Plan;
pub use report::ScanReport;
use windows::calendar_windows;

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("storage failed")]
    Store(#[from] StoreError),
    #[error("publishing jobs failed")]
    Publish(#[from] PublishError),
}

/// Which shards one invocation scans: group `index` of `count`, shard `s` belonging to group
/// `s % count`. The scheduled rule invokes the scan once per group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardGroup {
    pub index: u32,
    pub count: u32,
}

impl ShardGroup {
    /// Every shard, in one invocation.
    pub const ALL: ShardGroup = ShardGroup { index: 0, count: 1 };

    pub fn shards(self, total: u32) -> Vec<u32> {
        let count = self.count.max(1);
        (0..total).filter(|s| s % count == self.index).collect()
    }

    /// The name its window is saved under; a group of all shards keeps the historic one.
    pub fn scope(self) -> String {
        if self.count <= 1 {
            String::new()
        } else {
            format!("G{}of{}", self.index, self.count)
        }
    }
}

pub struct Scanner<'a> {
    pub schedule: &'a dyn ScheduleStore,
    pub records: &'a dyn RecordStore,
    pub workflows: &'a dyn WorkflowStore,
    pub settings: &'a dyn SettingsStore,
    pub publisher: &'a dyn JobPublisher,
    /// Where an entry the scan cannot handle is shown, as a failed run with its reason.
    pub runs: &'a dyn RunLedger,
    pub clock: &'a dyn Clock,
    /// Due items read per query page (up to 1,000).
    pub page_size: u32,
    /// Pages of records (or entries) one maintenance request may take per scan.
    pub maintenance_pages: u32,
    /// How late an occurrence may be found and still count as on time rather than missed: the
    /// scan's period plus a margin.
    pub on_time_grace: Duration,
    /// Calls in flight per shard (claims, PutEvents, record reads), and shards scanned at once.
    pub concurrency: usize,
    pub group: ShardGroup,
}

/// A scan with no record of an earlier one looks back this far for its window.
const FIRST_WINDOW: i64 = 5;

/// A shard whose calendar lane was never read looks back this far: the lead with which entries
/// go on the calendar, so that none armed before its first scan is missed, and no further, so
/// that none armed for next year is read as this year's.
const FIRST_CALENDAR_WINDOW: i64 = crate::schedule::ports::CALENDAR_LEAD_MINUTES;

/// How long the scan that claimed a stream event's outbox has to publish it before another scan
/// takes it over.
const OUTBOX_LEASE_SECONDS: i64 = 60;

impl Scanner<'_> {
    pub async fn run(&self) -> Result<ScanReport, ScanError> {
        let now = self.clock.now();
        let scope = self.group.scope();
        let window_start = self
            .schedule
            .last_scan_end(&scope)
            .await?
            .unwrap_or(now - Duration::minutes(FIRST_WINDOW));
        let mut report = ScanReport {
            window_start: Some(window_start),
            window_end: Some(now),
            ..ScanReport::default()
        };
        let caches = Caches::default();
        let shards = self.group.shards(self.schedule.shards());
        // Up to `concurrency` shards at once: with 1, the scan is sequential throughout.
        let at_once = self.concurrency.clamp(1, shards.len().max(1));
        let results: Vec<Result<ScanReport, ScanError>> = stream::iter(shards.iter().copied())
            .map(|shard| self.scan_shard(shard, now, &caches))
            .buffer_unordered(at_once)
            .collect()
            .await;
        let mut failure = None;
        for result in results {
            match result {
                Ok(shard) => report.absorb(shard),
                Err(error) => {
                    tracing::warn!(error = %error, "a shard of the scan stopped; the next scan takes it up");
                    failure.get_or_insert(error);
                }
            }
        }
        report.shards.sort_unstable();
        report.workflow_reads += caches.workflow_reads();
        report.template_reads += caches.template_reads();
        if let Some(error) = failure {
            return Err(error);
        }
        for request in caches.take_maintenance() {
            match self.maintain(request.clone(), &caches, &mut report).await {
                Ok(()) => {}
                // One workflow's unreadable data leaves its request for later, not the scan.
                Err(ScanError::Store(StoreError::Corrupt(why))) => tracing::warn!(
                    tenant = %request.tenant,
                    workflow = %request.workflow,
                    reason = %why,
                    "schedule maintenance cannot go on"
                ),
                Err(error) => return Err(error),
            }
        }
        // Only a scan that got through every shard of its group moves its window on: a crashed
        // one leaves it, and the next scan reads everything still due anyway (due_at <= now).
        self.schedule.save_scan_end(&scope, now).await?;
        Ok(report)
    }

    async fn scan_shard(
        &self,
        shard: u32,
        now: DateTime<Utc>,
        caches: &Caches,
    ) -> Result<ScanReport, ScanError> {
        let mut report = ScanReport {
            shards: vec![shard],
            ..ScanReport::default()
        };
        let mut page = PageRequest {
            limit: self.page_size.clamp(1, 1000),
            cursor: None,
        };
        // The calendar lane first: the window since this shard's last completed scan. A scan
        // that stops before the end leaves it, and the next reads it again: what this one
        // claimed then loses its claim, its jobs published again under the same keys. It goes
        // before the instant lane, whose claims may arm next year's occurrence on the calendar
        // at a time of year inside this very window.
        let scope = format!("S{shard:02}");
        let since = self
            .schedule
            .last_scan_end(&scope)
            .await?
            .unwrap_or(now - Duration::minutes(FIRST_CALENDAR_WINDOW));
        for (from, to) in calendar_windows(since, now) {
            page.cursor = None;
            loop {
                let due = self
                    .schedule
                    .due_on_calendar(shard, from, to, &page)
                    .await?;
                report.index_items_read += due.items_read;
                self.handle_page(due.items, now, caches, &mut report)
                    .await?;
                match due.next {
                    Some(next) => page.cursor = Some(next),
                    None => break,
                }
            }
        }
        page.cursor = None;
        loop {
            let due = self.schedule.due(shard, now, &page).await?;
            report.index_items_read += due.items_read;
            self.handle_page(due.items, now, caches, &mut report)
                .await?;
            match due.next {
                Some(next) => page.cursor = Some(next),
                None => break,
            }
        }
        self.schedule.save_scan_end(&scope, now).await?;
        Ok(report)
    }

    async fn handle_page(
        &self,
        items: Vec<DueItem>,
        now: DateTime<Utc>,
        caches: &Caches,
        report: &mut ScanReport,
    ) -> Result<(), ScanError> {
        let mut entries = Vec::new();
        let mut outboxes = Vec::new();
        for item in items {
            match item {
                DueItem::Entry(entry) => entries.push(entry),
                DueItem::Outbox(outbox) => outboxes.push(outbox),
                // After every due entry: occurrences first, housekeeping last.
                DueItem::Maintenance(request) => caches.push_maintenance(request),
                DueItem::Malformed(item) => {
                    self.set_aside(&item, now).await?;
                    report.items_set_aside += 1;
                }
            }
        }
        self.replay_outboxes(outboxes, now, report).await?;
        report.due_pairs += entries.len() as u64;
        let records = self.load_records(&entries, report).await?;
        let mut plans = Vec::with_capacity(entries.len());
        for entry in entries {
            let record = match records.get(&(entry.tenant.clone(), entry.record.clone())) {
                Some(Ok(record)) => Some(record),
                Some(Err(reason)) => {
                    plans.push(Plan::fail(entry, reason.clone()));
                    continue;
                }
                None => None,
            };
            plans.push(self.plan(entry, record, now, caches).await?);
        }
        self.publish_plans(&mut plans, report).await?;
        let settled: Vec<Result<(), ScanError>> = stream::iter(plans)
            .map(|plan| self.settle(plan, now))
            .buffer_unordered(self.concurrency.max(1))
            .map(|outcome| outcome.map(|tally| report.absorb(tally)))
            .collect()
            .await;
        settled.into_iter().collect()
    }

    /// Puts the jobs of every plan on the bus; a plan whose job the bus refuses becomes a
    /// failure of its entry, the others are unaffected.
    async fn publish_plans(
        &self,
        plans: &mut [Plan],
        report: &mut ScanReport,
    ) -> Result<(), ScanError> {
        let mut jobs = Vec::new();
        // Which plan, and which of its jobs, each job published is.
        let mut owner = Vec::new();
        for (index, plan) in plans.iter().enumerate() {
            for (position, job) in plan.jobs().enumerate() {
                jobs.push(job.clone());
                owner.push((index, position));
            }
        }
        if jobs.is_empty() {
            return Ok(());
        }
        let published = publish_each(self.publisher, &jobs, self.concurrency).await?;
        report.bus_calls += published.calls as u64;
        report.jobs_published += (jobs.len() - published.refused.len()) as u64;
        let mut refused: HashMap<usize, Vec<(usize, String)>> = HashMap::new();
        for (job, reason) in published.refused {
            if let Some(&(plan, position)) = owner.get(job) {
                let reason = format!("the bus refused job '{}': {reason}", jobs[job].action);
                refused.entry(plan).or_default().push((position, reason));
            }
        }
        for (plan, jobs) in refused {
            if let Some(plan) = plans.get_mut(plan) {
                plan.refuse(jobs);
            }
        }
        Ok(())
    }

    /// Claims, disarms or holds the entry a plan is about; the figures it adds to the report.
    async fn settle(&self, plan: Plan, now: DateTime<Utc>) -> Result<ScanReport, ScanError> {
        let mut tally = ScanReport::default();
        match plan {
            Plan::Fire {
                entry,
                next,
                last,
                counted,
                ..
            } => {
                let lane = next
                    .as_ref()
                    .map_or(DueLane::Instant, |next| DueLane::for_next(next, now));
                match self
                    .schedule
                    .claim(&entry, next.as_ref(), &last, lane)
                    .await?
                {
                    ClaimOutcome::LostRace => tally.lost_races += 1,
                    ClaimOutcome::Claimed => {
                        tally.occurrences_fired += counted.fired;
                        tally.condition_not_met += counted.condition_not_met;
                        tally.skipped_by_policy += counted.skipped_by_policy;
                        tally.too_late += counted.too_late;
                    }
                }
            }
            Plan::Forget(entry) => {
                self.schedule
                    .delete(&entry.tenant, &entry.workflow, &entry.record)
                    .await?;
                tally.entries_disarmed += 1;
            }
            Plan::Disarm(entry) => {
                let Some(entry) = self.whole(entry).await? else {
                    tally.lost_races += 1;
                    return Ok(tally);
                };
                let disarmed = ScheduleEntry {
                    next: None,
                    failure: None,
                    ..entry
                };
                match self.schedule.put(&disarmed).await? {
                    ClaimOutcome::LostRace => tally.lost_races += 1,
                    ClaimOutcome::Claimed => tally.entries_disarmed += 1,
                }
            }
            Plan::Fail {
                entry,
                jobs,
                reason,
            } => match self.whole(entry).await? {
                Some(entry) => self.hold(entry, &jobs, &reason, now, &mut tally).await?,
                None => tally.lost_races += 1,
            },
            Plan::Nothing => {}
        }
        Ok(tally)
    }

    /// The entry with its revision, for a write other than a claim: read again when it came
    /// from the calendar lane; `None` when it changed since (another scan or upkeep had it).
    async fn whole(&self, entry: ScheduleEntry) -> Result<Option<ScheduleEntry>, ScanError> {
        if !entry.read_from_calendar() {
            return Ok(Some(entry));
        }
        let stored = match self
            .schedule
            .get(&entry.tenant, &entry.workflow, &entry.record)
            .await
        {
            Ok(stored) => stored,
            // Unreadable: left for whoever repairs it; the scan goes on, and says so.
            Err(StoreError::Corrupt(why)) => {
                tracing::warn!(
                    tenant = %entry.tenant,
                    workflow = %entry.workflow,
                    record = %entry.record,
                    reason = %why,
                    "a due entry cannot be read back; its occurrence is left"
                );
                None
            }
            Err(error) => return Err(error.into()),
        };
        Ok(stored.filter(|stored| {
            stored.lane == DueLane::Calendar
                && stored.version == entry.version
                && stored.next == entry.next
                && stored.failure.is_none()
        }))
    }

    /// The due records, one batch read per tenant in the page; a batch the store cannot read
    /// whole is read record by record, so that one unreadable record fails only its entries.
    async fn load_records(
        &self,
        entries: &[ScheduleEntry],
        report: &mut ScanReport,
    ) -> Result<HashMap<(TenantId, RecordId), Result<StoredRecord, String>>, ScanError> {
        let mut by_tenant: HashMap<&TenantId, Vec<RecordId>> = HashMap::new();
        for entry in entries {
            by_tenant
                .entry(&entry.tenant)
                .or_default()
                .push(entry.record.clone());
        }
        let reads: Vec<_> = by_tenant
            .into_iter()
            .map(|(tenant, mut ids)| {
                // Two workflows due for one record name it twice, and a batch read refuses
                // duplicate keys: each record is read once.
                ids.sort();
                ids.dedup();
                (tenant, ids)
            })
            .collect();
        let batches: Vec<_> = stream::iter(reads)
            .map(|(tenant, ids)| async move {
                let read = self.records.get_many(tenant, &ids).await;
                (tenant, ids, read)
            })
            .buffer_unordered(self.concurrency.max(1))
            .collect()
            .await;
        let mut found = HashMap::new();
        for (tenant, ids, read) in batches {
            match read {
                Ok(records) => {
                    for stored in records {
                        report.records_read += 1;
                        found.insert((tenant.clone(), stored.value.id.clone()), Ok(stored.value));
                    }
                }
                Err(StoreError::Corrupt(_)) => {
                    for id in ids {
                        match self.records.get(tenant, &id).await {
                            Ok(Some(stored)) => {
                                report.records_read += 1;
                                found.insert((tenant.clone(), id), Ok(stored.value));
                            }
                            Ok(None) => {}
                            Err(StoreError::Corrupt(why)) => {
                                let reason = format!("the record cannot be read: {why}");
                                found.insert((tenant.clone(), id), Err(reason));
                            }
                            Err(error) => return Err(error.into()),
                        }
                    }
                }
                Err(error) => return Err(error.into()),
            }
        }
        Ok(found)
    }

    /// Publishes the outboxes that stream events left behind (their publish failed), once each.
    async fn replay_outboxes(
        &self,
        outboxes: Vec<crate::schedule::ports::Outbox>,
        now: DateTime<Utc>,
        report: &mut ScanReport,
    ) -> Result<(), ScanError> {
        let until = now + Duration::seconds(OUTBOX_LEASE_SECONDS);
        for outbox in outboxes {
            if self.schedule.take_outbox(&outbox, until).await? == ClaimOutcome::LostRace {
                continue;
            }
            report.outboxes_replayed += 1;
            match self.publisher.publish(&outbox.jobs).await {
                Ok(calls) => report.bus_calls += calls as u64,
                // Refused, not down: the outbox stays and is offered again after its lease;
                // the other items of the page go on.
                Err(PublishError::Rejected { failed, total }) => {
                    tracing::warn!(
                        tenant = %outbox.tenant,
                        workflow = %outbox.workflow,
                        record = %outbox.record,
                        failed,
                        total,
                        "the bus refused an outbox's jobs; it is offered again after its lease"
                    );
                    continue;
                }
                Err(error) => return Err(error.into()),
            }
            report.jobs_published += outbox.jobs.len() as u64;
            self.schedule.clear_outbox(&outbox).await?;
        }
        Ok(())
    }
}
