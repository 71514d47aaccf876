//! The in-memory stores and a counting bus, with a latency per call (slept on tokio's paused
//! clock, so that the simulated time of a run is the sum of the waits that do not overlap) and
//! the capacity units each call would consume in DynamoDB (`units.rs`).
//!
//! `legacy` simulates today's per-occurrence calls on the same code: a claim is the
//! transaction that wrote the entry and the outbox, then the DeleteItem of the outbox once its
//! jobs were published, with their write units.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crm_model::ids::{RecordId, TenantId, WorkflowId};
use crm_model::record::store::{MergeMarker, RecordFilter, RecordStore};
use crm_model::record::stored::StoredRecord;
use crm_model::schedule::ActionJob;
use crm_model::schedule::ports::{
    BatchOutcome, DueIndex, DueItem, DueLane, DuePage, JobPublisher, Maintenance,
    MaintenanceRequests, MalformedItem, OccurrenceClaims, Outbox, Outboxes, PublishError,
    ScheduleEntries, ScheduleEntry,
};
use crm_model::schema::Module;
use crm_model::store::{ClaimOutcome, Page, PageRequest, Revisioned, StoreError};
use crm_model::testing::memory::{MemoryRecordStore, MemoryScheduleStore};
use crm_model::trigger::{Occurrence, OccurrenceKey};

use super::units;

#[derive(Debug, Clone, Copy)]
pub struct Latency {
    pub read: Duration,
    pub write: Duration,
    pub bus: Duration,
}

#[derive(Debug, Default, Clone)]
pub struct Meter {
    pub read_units: f64,
    pub write_units: f64,
    pub dynamodb_calls: u64,
    pub bus_calls: u64,
    pub jobs: u64,
    pub job_bytes: u64,
}

pub struct Sim {
    pub latency: Latency,
    pub legacy: bool,
    pub shards: u32,
    meter: Mutex<Meter>,
    /// Legacy: the JSON size of the jobs published per entry, for the size of its outbox.
    outbox_bytes: Mutex<HashMap<(TenantId, WorkflowId, RecordId), usize>>,
}

impl Sim {
    pub fn new(latency: Latency, legacy: bool, shards: u32) -> Self {
        Self {
            latency,
            legacy,
            shards,
            meter: Mutex::new(Meter::default()),
            outbox_bytes: Mutex::new(HashMap::new()),
        }
    }

    fn meter(&self) -> MutexGuard<'_, Meter> {
        self.meter.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn figures(&self) -> Meter {
        self.meter().clone()
    }

    async fn dynamodb(&self, wait: Duration, calls: u64) {
        self.meter().dynamodb_calls += calls;
        tokio::time::sleep(wait * calls as u32).await;
    }

    fn read(&self, units: f64) {
        self.meter().read_units += units;
    }

    fn write(&self, units: f64) {
        self.meter().write_units += units;
    }
}

/// The schedule store with latency and units.
pub struct SimSchedule<'a> {
    pub inner: &'a MemoryScheduleStore,
    pub sim: &'a Sim,
}

impl SimSchedule<'_> {
    fn item(&self, entry: &ScheduleEntry) -> units::EntryItem {
        units::entry_item(entry, self.sim.shards)
    }
}

#[async_trait]
impl ScheduleEntries for SimSchedule<'_> {
    async fn get(
        &self,
        tenant: &TenantId,
        workflow: &WorkflowId,
        record: &RecordId,
    ) -> Result<Option<ScheduleEntry>, StoreError> {
        self.sim.dynamodb(self.sim.latency.read, 1).await;
        let found = self.inner.get(tenant, workflow, record).await?;
        if let Some(entry) = &found {
            self.sim
                .read(units::strong_read_units(self.item(entry).bytes));
        }
        Ok(found)
    }

    async fn put(&self, entry: &ScheduleEntry) -> Result<ClaimOutcome, StoreError> {
        self.sim.dynamodb(self.sim.latency.write, 1).await;
        let before = self
            .inner
            .get(&entry.tenant, &entry.workflow, &entry.record)
            .await?;
        let outcome = self.inner.put(entry).await?;
        let after = ScheduleEntry {
            revision: entry.revision + 1,
            ..entry.clone()
        };
        let changed = (outcome == ClaimOutcome::Claimed).then(|| self.item(&after));
        let units = match changed {
            Some(after) => units::entry_write(before.map(|b| self.item(&b)), Some(after), false),
            // A refused conditional write still costs its item's units.
            None => units::write_units(self.item(entry).bytes),
        };
        self.sim.write(units);
        Ok(outcome)
    }

    async fn set_aside(&self, item: &MalformedItem, reason: &str) -> Result<(), StoreError> {
        self.sim.dynamodb(self.sim.latency.write, 1).await;
        self.inner.set_aside(item, reason).await
    }

    async fn delete(
        &self,
        tenant: &TenantId,
        workflow: &WorkflowId,
        record: &RecordId,
    ) -> Result<(), StoreError> {
        self.sim.dynamodb(self.sim.latency.write, 1).await;
        let before = self.inner.get(tenant, workflow, record).await?;
        self.sim.write(units::entry_write(
            before.map(|b| self.item(&b)),
            None,
            false,
        ));
        self.inner.delete(tenant, workflow, record).await
    }

    async fn entries_of(
        &self,
        tenant: &TenantId,
        workflow: &WorkflowId,
        page: &PageRequest,
    ) -> Result<Page<ScheduleEntry>, StoreError> {
        self.sim.dynamodb(self.sim.latency.read, 1).await;
        self.inner.entries_of(tenant, workflow, page).await
    }
}

#[async_trait]
impl DueIndex for SimSchedule<'_> {
    fn shards(&self) -> u32 {
        self.inner.shards()
    }

    async fn due(
        &self,
        shard: u32,
        now: DateTime<Utc>,
        page: &PageRequest,
    ) -> Result<DuePage, StoreError> {
        self.sim.dynamodb(self.sim.latency.read, 1).await;
        let due = self.inner.due(shard, now, page).await?;
        let bytes: usize = due
            .items
            .iter()
            .map(|item| match item {
                DueItem::Entry(entry) => self.item(entry).bytes,
                _ => 200,
            })
            .sum();
        self.sim.read(units::eventual_query_units(bytes));
        Ok(due)
    }

    async fn due_on_calendar(
        &self,
        shard: u32,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        page: &PageRequest,
    ) -> Result<DuePage, StoreError> {
        self.sim.dynamodb(self.sim.latency.read, 1).await;
        let due = self.inner.due_on_calendar(shard, from, to, page).await?;
        // What the index projects: its keys, the table's and the stable attributes.
        let bytes: usize = due
            .items
            .iter()
            .map(|item| match item {
                DueItem::Entry(entry) => self.item(entry).calendar.map_or(200, |(_, b)| b),
                _ => 200,
            })
            .sum();
        self.sim.read(units::eventual_query_units(bytes));
        Ok(due)
    }

    async fn last_scan_end(&self, scope: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.sim.dynamodb(self.sim.latency.read, 1).await;
        self.sim.read(1.0);
        self.inner.last_scan_end(scope).await
    }

    async fn save_scan_end(&self, scope: &str, end: DateTime<Utc>) -> Result<(), StoreError> {
        self.sim.dynamodb(self.sim.latency.write, 1).await;
        self.sim.write(1.0);
        self.inner.save_scan_end(scope, end).await
    }
}

#[async_trait]
impl OccurrenceClaims for SimSchedule<'_> {
    async fn claim(
        &self,
        entry: &ScheduleEntry,
        next: Option<&Occurrence>,
        occurrence: &OccurrenceKey,
        lane: DueLane,
    ) -> Result<ClaimOutcome, StoreError> {
        let key = (
            entry.tenant.clone(),
            entry.workflow.clone(),
            entry.record.clone(),
        );
        let outbox_jobs = if self.sim.legacy {
            self.sim
                .outbox_bytes
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&key)
        } else {
            None
        };
        // Legacy: the claim's transaction, then (after the publish) the outbox's DeleteItem.
        let calls = if outbox_jobs.is_some() { 2 } else { 1 };
        self.sim.dynamodb(self.sim.latency.write, calls).await;
        let outcome = self.inner.claim(entry, next, occurrence, lane).await?;
        // Today's design had the instant lane only.
        let (seen, lane) = if self.sim.legacy {
            let seen = ScheduleEntry {
                lane: DueLane::Instant,
                ..entry.clone()
            };
            (seen, DueLane::Instant)
        } else {
            (entry.clone(), lane)
        };
        let claimed = ScheduleEntry {
            revision: entry.revision + 1,
            last_fired: Some(occurrence.clone()),
            next: next.cloned(),
            failure: None,
            lane,
            ..seen.clone()
        };
        let mut cost = units::entry_write(
            Some(self.item(&seen)),
            Some(self.item(&claimed)),
            self.sim.legacy,
        );
        if let Some(jobs) = outbox_jobs {
            let outbox =
                units::write_units(units::outbox_item(entry, &occurrence.to_string(), jobs));
            // Put in the transaction (doubled) and into the index; deleted from both.
            cost += 2.0 * outbox + outbox + outbox + outbox;
        }
        self.sim.write(cost);
        Ok(outcome)
    }

    async fn claim_event(
        &self,
        outbox: &Outbox,
        event_id: &str,
        now: DateTime<Utc>,
    ) -> Result<ClaimOutcome, StoreError> {
        self.sim.dynamodb(self.sim.latency.write, 1).await;
        self.inner.claim_event(outbox, event_id, now).await
    }

    async fn last_run(
        &self,
        tenant: &TenantId,
        workflow: &WorkflowId,
        record: &RecordId,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.sim.dynamodb(self.sim.latency.read, 1).await;
        self.inner.last_run(tenant, workflow, record).await
    }
}

#[async_trait]
impl Outboxes for SimSchedule<'_> {
    async fn take_outbox(
        &self,
        outbox: &Outbox,
        until: DateTime<Utc>,
    ) -> Result<ClaimOutcome, StoreError> {
        self.sim.dynamodb(self.sim.latency.write, 1).await;
        self.inner.take_outbox(outbox, until).await
    }

    async fn clear_outbox(&self, outbox: &Outbox) -> Result<(), StoreError> {
        self.sim.dynamodb(self.sim.latency.write, 1).await;
        self.inner.clear_outbox(outbox).await
    }
}

#[async_trait]
impl MaintenanceRequests for SimSchedule<'_> {
    async fn request_maintenance(
        &self,
        request: &Maintenance,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.sim.dynamodb(self.sim.latency.write, 1).await;
        self.inner.request_maintenance(request, now).await
    }

    async fn checkpoint_maintenance(
        &self,
        request: &Maintenance,
        cursor: Option<String>,
    ) -> Result<(), StoreError> {
        self.sim.dynamodb(self.sim.latency.write, 1).await;
        self.inner.checkpoint_maintenance(request, cursor).await
    }
}

/// The records store with latency and units on the reads the scan makes.
pub struct SimRecords<'a> {
    pub inner: &'a MemoryRecordStore,
    pub sim: &'a Sim,
}

#[async_trait]
impl RecordStore for SimRecords<'_> {
    async fn create(
        &self,
        tenant: &TenantId,
        record: &StoredRecord,
    ) -> Result<Revisioned<StoredRecord>, StoreError> {
        self.inner.create(tenant, record).await
    }

    async fn get(
        &self,
        tenant: &TenantId,
        id: &RecordId,
    ) -> Result<Option<Revisioned<StoredRecord>>, StoreError> {
        self.sim.dynamodb(self.sim.latency.read, 1).await;
        let found = self.inner.get(tenant, id).await?;
        if let Some(record) = &found {
            self.sim
                .read(units::strong_read_units(units::record_item(&record.value)));
        }
        Ok(found)
    }

    /// BatchGetItem, 100 keys a call, one call after the other (as the adapter sends them).
    async fn get_many(
        &self,
        tenant: &TenantId,
        ids: &[RecordId],
    ) -> Result<Vec<Revisioned<StoredRecord>>, StoreError> {
        let calls = ids.len().div_ceil(100) as u64;
        self.sim.dynamodb(self.sim.latency.read, calls).await;
        let found = self.inner.get_many(tenant, ids).await?;
        let read: f64 = found
            .iter()
            .map(|r| units::strong_read_units(units::record_item(&r.value)))
            .sum();
        self.sim.read(read);
        Ok(found)
    }

    async fn replace(
        &self,
        tenant: &TenantId,
        record: &StoredRecord,
        expected: u64,
    ) -> Result<Revisioned<StoredRecord>, StoreError> {
        self.inner.replace(tenant, record, expected).await
    }

    async fn delete(
        &self,
        tenant: &TenantId,
        id: &RecordId,
        expected: u64,
    ) -> Result<(), StoreError> {
        self.inner.delete(tenant, id, expected).await
    }

    async fn count_open(
        &self,
        tenant: &TenantId,
        module: crm_model::schema::Module,
        owner: &crm_model::ids::UserId,
    ) -> Result<u64, StoreError> {
        self.inner.count_open(tenant, module, owner).await
    }

    /// An UpdateItem: billed on the larger of the item before and after.
    async fn set_computed(
        &self,
        tenant: &TenantId,
        id: &RecordId,
        fields: &serde_json::Map<String, serde_json::Value>,
        expected: u64,
        origin: &crm_model::record::origin::AutomationWrite,
    ) -> Result<u64, StoreError> {
        self.sim.dynamodb(self.sim.latency.write, 1).await;
        let revision = self
            .inner
            .set_computed(tenant, id, fields, expected, origin)
            .await?;
        if let Some(after) = self.inner.get(tenant, id).await? {
            self.sim
                .write(units::write_units(units::record_item(&after.value)));
        }
        Ok(revision)
    }

    async fn related(
        &self,
        tenant: &TenantId,
        record: &RecordId,
        limit: usize,
    ) -> Result<Vec<Revisioned<StoredRecord>>, StoreError> {
        self.inner.related(tenant, record, limit).await
    }

    async fn messages(
        &self,
        tenant: &TenantId,
        customer: &RecordId,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Revisioned<StoredRecord>>, StoreError> {
        self.inner.messages(tenant, customer, before, limit).await
    }

    async fn linked(
        &self,
        tenant: &TenantId,
        record: &RecordId,
        limit: usize,
    ) -> Result<Vec<Revisioned<StoredRecord>>, StoreError> {
        self.inner.linked(tenant, record, limit).await
    }

    async fn list(
        &self,
        tenant: &TenantId,
        module: Module,
        filter: &RecordFilter,
        page: &PageRequest,
    ) -> Result<Page<Revisioned<StoredRecord>>, StoreError> {
        self.sim.dynamodb(self.sim.latency.read, 1).await;
        self.inner.list(tenant, module, filter, page).await
    }

    async fn find_by_identity(
        &self,
        tenant: &TenantId,
        keys: &[String],
    ) -> Result<Vec<RecordId>, StoreError> {
        self.inner.find_by_identity(tenant, keys).await
    }

    async fn put_merge(&self, tenant: &TenantId, marker: &MergeMarker) -> Result<(), StoreError> {
        self.inner.put_merge(tenant, marker).await
    }

    async fn merges(
        &self,
        tenant: &TenantId,
        survivor: &RecordId,
    ) -> Result<Vec<MergeMarker>, StoreError> {
        self.inner.merges(tenant, survivor).await
    }

    async fn redeem(
        &self,
        tenant: &TenantId,
        customer: &StoredRecord,
        expected: u64,
        redemption: &crm_model::ports::Redemption,
    ) -> Result<u64, StoreError> {
        self.inner
            .redeem(tenant, customer, expected, redemption)
            .await
    }

    async fn redemptions(
        &self,
        tenant: &TenantId,
        customer: &RecordId,
    ) -> Result<Vec<crm_model::ports::Redemption>, StoreError> {
        self.inner.redemptions(tenant, customer).await
    }
}

/// A bus that takes every job, counting calls, jobs and bytes.
pub struct SimBus<'a> {
    pub sim: &'a Sim,
}

#[async_trait]
impl JobPublisher for SimBus<'_> {
    async fn publish_batch(&self, batch: &[ActionJob]) -> Result<BatchOutcome, PublishError> {
        {
            let mut meter = self.sim.meter();
            meter.bus_calls += 1;
            meter.jobs += batch.len() as u64;
            meter.job_bytes += batch.iter().map(units::job_json).sum::<usize>() as u64;
        }
        if self.sim.legacy {
            let mut outboxes = self
                .sim
                .outbox_bytes
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            for job in batch {
                let key = (job.tenant.clone(), job.workflow.clone(), job.record.clone());
                *outboxes.entry(key).or_default() += units::job_json(job);
            }
        }
        tokio::time::sleep(self.sim.latency.bus).await;
        Ok(BatchOutcome {
            calls: 1,
            refused: Vec::new(),
        })
    }
}
