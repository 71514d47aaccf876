//! The trigger scan: finds every (workflow, record, occurrence) that has come due, checks the
//! condition against the record as it is now, claims the occurrence exactly once, and hands one
//! job per action to the executor. It reads the due index and the due records only: its cost
//! follows what is due, not the size of any module.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use std::collections::HashMap;

use crate::clock::Clock;
use crate::condition::{CompiledCondition, EvalContext};
use crate::ids::{RecordId, TenantId, WorkflowId};
use crate::record::store::RecordStore;
use crate::schedule::ports::{
    DueItem, JobPublisher, Outbox, PublishError, ScheduleEntry, ScheduleStore,
};
use crate::schedule::{ActionJob, DUE_SHARDS, fire_zone, next_to_arm};
use crate::settings::TenantSettings;
use crate::settings::store::SettingsStore;
use crate::store::{ClaimOutcome, PageRequest, StoreError};
use crate::trigger::{Anchor, Disposition, Occurrence, Trigger};
use crate::workflow::store::WorkflowStore;
use crate::workflow::{WorkflowDefinition, WorkflowStatus};

/// What one scan did, in machine-independent figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScanReport {
    pub window_start: Option<DateTime<Utc>>,
    pub window_end: Option<DateTime<Utc>>,
    /// Entries found due.
    pub due_pairs: u64,
    /// Index items DynamoDB read (its Count) across every due query.
    pub index_items_read: u64,
    pub records_read: u64,
    pub workflow_reads: u64,
    pub occurrences_fired: u64,
    pub condition_not_met: u64,
    pub skipped_by_policy: u64,
    pub too_late: u64,
    pub lost_races: u64,
    pub entries_disarmed: u64,
    pub jobs_published: u64,
    pub bus_calls: u64,
    pub outboxes_replayed: u64,
    /// Records read by backfills (not part of the due cost).
    pub backfill_records_read: u64,
    pub entries_armed: u64,
    pub entries_removed: u64,
    pub maintenance_finished: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("storage failed")]
    Store(#[from] StoreError),
    #[error("publishing jobs failed")]
    Publish(#[from] PublishError),
}

/// A workflow version as the scan needs it.
struct Loaded {
    active: bool,
    definition: WorkflowDefinition,
    condition: CompiledCondition,
}

pub struct Scanner<'a> {
    pub schedule: &'a dyn ScheduleStore,
    pub records: &'a dyn RecordStore,
    pub workflows: &'a dyn WorkflowStore,
    pub settings: &'a dyn SettingsStore,
    pub publisher: &'a dyn JobPublisher,
    pub clock: &'a dyn Clock,
    /// Due items read per query page.
    pub page_size: u32,
    /// Pages of records (or entries) one maintenance request may take per scan.
    pub maintenance_pages: u32,
    /// How late an occurrence may be found and still count as on time rather than missed: the
    /// scan's period plus a margin.
    pub on_time_grace: Duration,
}

/// How long the scan that claimed an occurrence has to publish its jobs before another scan
/// takes its outbox over: far longer than a PutEvents call, far shorter than the scan period.
const OUTBOX_LEASE_SECONDS: i64 = 60;

/// A scan with no record of an earlier one looks back this far for its window.
const FIRST_WINDOW: i64 = 5;

#[derive(Default)]
pub(super) struct Caches {
    maintenance: Vec<crate::schedule::ports::Maintenance>,
    workflows: HashMap<(TenantId, WorkflowId, u32), Option<Loaded>>,
    tenants: HashMap<TenantId, TenantSettings>,
}

impl Scanner<'_> {
    pub async fn run(&self) -> Result<ScanReport, ScanError> {
        let now = self.clock.now();
        let window_start = self
            .schedule
            .last_scan_end()
            .await?
            .unwrap_or(now - Duration::minutes(FIRST_WINDOW));
        let mut report = ScanReport {
            window_start: Some(window_start),
            window_end: Some(now),
            ..ScanReport::default()
        };
        let mut caches = Caches::default();
        for shard in 0..DUE_SHARDS {
            let mut page = PageRequest::first(self.page_size);
            loop {
                let due = self.schedule.due(shard, now, &page).await?;
                report.index_items_read += due.items_read;
                self.handle_page(due.items, now, &mut caches, &mut report)
                    .await?;
                match due.next {
                    Some(next) => page.cursor = Some(next),
                    None => break,
                }
            }
        }
        for request in std::mem::take(&mut caches.maintenance) {
            self.maintain(request, &mut caches, &mut report).await?;
        }
        // Only a scan that got through every shard moves the window on: a crashed one leaves it,
        // and the next scan reads everything still due anyway (due_at <= now), so nothing is lost.
        self.schedule.save_scan_end(now).await?;
        Ok(report)
    }

    async fn handle_page(
        &self,
        items: Vec<DueItem>,
        now: DateTime<Utc>,
        caches: &mut Caches,
        report: &mut ScanReport,
    ) -> Result<(), ScanError> {
        let mut entries = Vec::new();
        // Claimed outboxes of this page, published together (PutEvents takes ten at a time).
        let mut outboxes = Vec::new();
        for item in items {
            match item {
                DueItem::Entry(entry) => entries.push(entry),
                DueItem::Outbox(outbox) => {
                    let until = now + Duration::seconds(OUTBOX_LEASE_SECONDS);
                    if self.schedule.take_outbox(&outbox, until).await? == ClaimOutcome::Claimed {
                        report.outboxes_replayed += 1;
                        outboxes.push(outbox);
                    }
                }
                // After every due entry: occurrences first, housekeeping last.
                DueItem::Maintenance(request) => caches.maintenance.push(request),
            }
        }
        report.due_pairs += entries.len() as u64;
        let records = self.load_records(&entries, report).await?;
        for entry in entries {
            let record = records.get(&(entry.tenant.clone(), entry.record.clone()));
            outboxes.extend(
                self.handle_entry(entry, record, now, caches, report)
                    .await?,
            );
        }
        self.flush(&outboxes, report).await
    }

    /// Publishes the jobs of claimed outboxes, then forgets them. A failure leaves them stored,
    /// and a later scan takes them over once their lease ends.
    async fn flush(&self, outboxes: &[Outbox], report: &mut ScanReport) -> Result<(), ScanError> {
        if outboxes.is_empty() {
            return Ok(());
        }
        let jobs: Vec<ActionJob> = outboxes
            .iter()
            .flat_map(|o| o.jobs.iter().cloned())
            .collect();
        report.bus_calls += self.publisher.publish(&jobs).await? as u64;
        report.jobs_published += jobs.len() as u64;
        for outbox in outboxes {
            self.schedule.clear_outbox(outbox).await?;
        }
        Ok(())
    }

    /// The due records, one batch read per tenant in the page.
    async fn load_records(
        &self,
        entries: &[ScheduleEntry],
        report: &mut ScanReport,
    ) -> Result<HashMap<(TenantId, RecordId), crate::record::stored::StoredRecord>, ScanError> {
        let mut by_tenant: HashMap<&TenantId, Vec<RecordId>> = HashMap::new();
        for entry in entries {
            by_tenant
                .entry(&entry.tenant)
                .or_default()
                .push(entry.record.clone());
        }
        let mut found = HashMap::new();
        for (tenant, mut ids) in by_tenant {
            // Two workflows due for one record name it twice, and a batch read refuses
            // duplicate keys: each record is read once.
            ids.sort();
            ids.dedup();
            for stored in self.records.get_many(tenant, &ids).await? {
                report.records_read += 1;
                found.insert((tenant.clone(), stored.value.id.clone()), stored.value);
            }
        }
        Ok(found)
    }

    pub(super) async fn tenant(
        &self,
        tenant: &TenantId,
        caches: &mut Caches,
    ) -> Result<TenantSettings, ScanError> {
        if let Some(settings) = caches.tenants.get(tenant) {
            return Ok(settings.clone());
        }
        let settings = self.settings.tenant_settings(tenant).await?.value;
        caches.tenants.insert(tenant.clone(), settings.clone());
        Ok(settings)
    }

    async fn workflow<'c>(
        &self,
        entry: &ScheduleEntry,
        schema: &crate::schema::Schema,
        caches: &'c mut Caches,
        report: &mut ScanReport,
    ) -> Result<Option<&'c Loaded>, ScanError> {
        let key = (entry.tenant.clone(), entry.workflow.clone(), entry.version);
        if !caches.workflows.contains_key(&key) {
            report.workflow_reads += 1;
            let loaded = match self.workflows.get(&entry.tenant, &entry.workflow).await? {
                None => None,
                Some(head) => {
                    let definition = if head.value.version == entry.version {
                        Some(head.value.definition.clone())
                    } else {
                        // A second read: the entry is pinned to an earlier version.
                        report.workflow_reads += 1;
                        self.workflows
                            .get_version(&entry.tenant, &entry.workflow, entry.version)
                            .await?
                    };
                    definition.and_then(|definition| {
                        let condition = definition.compile_condition(schema).ok()?;
                        Some(Loaded {
                            active: head.value.status == WorkflowStatus::Active,
                            definition,
                            condition,
                        })
                    })
                }
            };
            caches.workflows.insert(key.clone(), loaded);
        }
        Ok(caches.workflows.get(&key).and_then(Option::as_ref))
    }

    async fn handle_entry(
        &self,
        entry: ScheduleEntry,
        stored: Option<&crate::record::stored::StoredRecord>,
        now: DateTime<Utc>,
        caches: &mut Caches,
        report: &mut ScanReport,
    ) -> Result<Option<Outbox>, ScanError> {
        let Some(stored) = stored else {
            // The record is gone: its entry goes too.
            self.schedule
                .delete(&entry.tenant, &entry.workflow, &entry.record)
                .await?;
            report.entries_disarmed += 1;
            return Ok(None);
        };
        let Some(due) = entry.next.clone() else {
            return Ok(None);
        };
        let tenant = self.tenant(&entry.tenant, caches).await?;
        let schema = tenant.schema();
        let record = stored.typed(&schema);
        let loaded = self.workflow(&entry, &schema, caches, report).await?;
        let (definition, condition) = match loaded {
            Some(l) if l.active => (&l.definition, &l.condition),
            _ => {
                // Deleted or deactivated: disarm, so it is never read again.
                let disarmed = ScheduleEntry {
                    next: None,
                    ..entry.clone()
                };
                if self.schedule.put(&disarmed).await? == ClaimOutcome::LostRace {
                    report.lost_races += 1;
                } else {
                    report.entries_disarmed += 1;
                }
                return Ok(None);
            }
        };
        let Trigger::Time(trigger) = &definition.trigger else {
            return Ok(None);
        };

        // The occurrence the entry names, plus any later ones an outage let pass.
        let tz = fire_zone(&record, &tenant);
        let feb29 = trigger.feb29.unwrap_or(tenant.feb29_default);
        let mut occurrences = vec![due.clone()];
        if let Some(anchor) = Anchor::of(&record, &trigger.date_field, tz) {
            occurrences.extend(trigger.occurrences_between(anchor, tz, feb29, due.fire_at, now));
        }
        let fates = trigger
            .catch_up
            .dispose(&occurrences, now, self.on_time_grace);
        let matches = condition.matches(
            &record,
            &EvalContext {
                now,
                tz,
                previous: None,
            },
        );

        // Tallied into the report only if this scan wins the claim.
        let mut tally = ScanReport::default();
        let mut jobs = Vec::new();
        for (occurrence, fate) in occurrences.iter().zip(&fates) {
            match fate {
                Disposition::Fire if matches => {
                    jobs.extend(jobs_for(&entry, definition, occurrence, stored));
                    tally.occurrences_fired += 1;
                }
                Disposition::Fire => tally.condition_not_met += 1,
                Disposition::Skipped => tally.skipped_by_policy += 1,
                Disposition::TooLate => tally.too_late += 1,
            }
        }
        let last = occurrences.last().map(|o| o.key.clone()).unwrap_or(due.key);
        let next = next_to_arm(trigger, &record, &tenant, now, Some(&last));
        let outbox = (!jobs.is_empty()).then(|| Outbox {
            tenant: entry.tenant.clone(),
            workflow: entry.workflow.clone(),
            record: entry.record.clone(),
            cause: last.to_string(),
            jobs,
            retry_after: now + Duration::seconds(OUTBOX_LEASE_SECONDS),
        });
        match self
            .schedule
            .claim(&entry, next.as_ref(), &last, outbox.as_ref())
            .await?
        {
            ClaimOutcome::LostRace => {
                report.lost_races += 1;
                Ok(None)
            }
            ClaimOutcome::Claimed => {
                report.occurrences_fired += tally.occurrences_fired;
                report.condition_not_met += tally.condition_not_met;
                report.skipped_by_policy += tally.skipped_by_policy;
                report.too_late += tally.too_late;
                Ok(outbox)
            }
        }
    }
}

/// One job per action of the workflow for one occurrence.
fn jobs_for(
    entry: &ScheduleEntry,
    definition: &WorkflowDefinition,
    occurrence: &Occurrence,
    record: &crate::record::stored::StoredRecord,
) -> Vec<ActionJob> {
    definition
        .actions
        .iter()
        .map(|action| ActionJob {
            depth: 0,
            tenant: entry.tenant.clone(),
            workflow: entry.workflow.clone(),
            version: entry.version,
            record: entry.record.clone(),
            cause: occurrence.key.to_string(),
            action: action.id().clone(),
            due_at: occurrence.fire_at,
            // Sends need the record as it was when the condition held; effects read it again.
            snapshot: action.is_external_send().then(|| record.fields.clone()),
        })
        .collect()
}
