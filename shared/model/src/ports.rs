//! Ports: what the domain needs from the outside world, as traits. The adapters crate implements
//! them on AWS; tests implement them in memory.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use std::collections::{HashMap, HashSet};

use crate::action::{SettingInfo, SettingKind};
use crate::ids::{SettingId, TenantId, UserId, WorkflowId};
use crate::schema::Module;
use crate::settings::{Setting, TenantSettings};
use crate::user::User;
use crate::workflow::{Workflow, WorkflowDefinition};

/// The current time, injectable so that scans and tests can run "at 8:00" without waiting.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The machine's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that always says the same instant.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// Why a store operation failed, in domain terms.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("already exists")]
    AlreadyExists,
    /// Optimistic concurrency: someone else saved first.
    #[error("changed since revision {expected}")]
    Conflict { expected: u64 },
    /// A tenant limit would be exceeded (active care workflows per module).
    #[error("{0}")]
    LimitReached(String),
    /// The store did not answer as it should; worth retrying.
    #[error("storage unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// What was stored cannot be read back (a bug or a manual edit).
    #[error("stored item is unreadable: {0}")]
    Corrupt(String),
    /// A page cursor that this store did not hand out (or for another tenant).
    #[error("invalid page cursor")]
    BadCursor,
}

impl StoreError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

/// A stored value with its revision, for optimistic concurrency (the API's ETag).
#[derive(Debug, Clone, PartialEq)]
pub struct Revisioned<T> {
    pub value: T,
    pub revision: u64,
}

/// How a save changes the module's count of active care workflows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActiveCareChange {
    None,
    /// Activation: fails with `LimitReached` when the module is at its limit.
    Activate {
        module: Module,
        limit: usize,
    },
    Deactivate {
        module: Module,
    },
}

/// Which page of a listing to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// 1 to 100.
    pub limit: u32,
    /// The `next` of the previous page.
    pub cursor: Option<String>,
}

impl PageRequest {
    pub const MAX_LIMIT: u32 = 100;

    pub fn first(limit: u32) -> Self {
        Self {
            limit: limit.clamp(1, Self::MAX_LIMIT),
            cursor: None,
        }
    }
}

/// One page of a listing; `next` is present when there may be more.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// Workflows and their versions, tenant-scoped.
#[async_trait]
pub trait WorkflowStore: Send + Sync {
    /// Stores a new workflow and its first version; `AlreadyExists` if the id is taken.
    async fn create(&self, workflow: &Workflow) -> Result<Revisioned<Workflow>, StoreError>;

    async fn get(
        &self,
        tenant: &TenantId,
        id: &WorkflowId,
    ) -> Result<Option<Revisioned<Workflow>>, StoreError>;

    /// One version's definition; every version ever saved stays readable.
    async fn get_version(
        &self,
        tenant: &TenantId,
        id: &WorkflowId,
        version: u32,
    ) -> Result<Option<WorkflowDefinition>, StoreError>;

    /// Saves `next` if the stored revision is still `expected`, writing its version when it is
    /// new and applying `active` atomically with it.
    async fn save(
        &self,
        next: &Workflow,
        expected: u64,
        active: ActiveCareChange,
    ) -> Result<Revisioned<Workflow>, StoreError>;
}

/// Listing filter for workflows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkflowFilter {
    pub module: Option<Module>,
}

/// Listing and deleting workflows.
#[async_trait]
pub trait WorkflowCatalog: WorkflowStore {
    /// The tenant's workflows, ordered by module then id.
    async fn list(
        &self,
        tenant: &TenantId,
        filter: WorkflowFilter,
        page: &PageRequest,
    ) -> Result<Page<Revisioned<Workflow>>, StoreError>;

    /// Every version number of a workflow, oldest first.
    async fn versions(&self, tenant: &TenantId, id: &WorkflowId) -> Result<Vec<u32>, StoreError>;

    /// Deletes the workflow and its versions if the stored revision is still `expected`.
    async fn delete(
        &self,
        tenant: &TenantId,
        id: &WorkflowId,
        expected: u64,
    ) -> Result<(), StoreError>;
}

/// The settings actions reference, and the tenant's own settings.
#[async_trait]
pub trait SettingsStore: Send + Sync {
    async fn create(
        &self,
        tenant: &TenantId,
        id: &SettingId,
        setting: &Setting,
    ) -> Result<Revisioned<Setting>, StoreError>;

    async fn get(
        &self,
        tenant: &TenantId,
        kind: SettingKind,
        id: &SettingId,
    ) -> Result<Option<Revisioned<Setting>>, StoreError>;

    async fn replace(
        &self,
        tenant: &TenantId,
        id: &SettingId,
        setting: &Setting,
        expected: u64,
    ) -> Result<Revisioned<Setting>, StoreError>;

    async fn delete(
        &self,
        tenant: &TenantId,
        kind: SettingKind,
        id: &SettingId,
        expected: u64,
    ) -> Result<(), StoreError>;

    async fn list(
        &self,
        tenant: &TenantId,
        kind: SettingKind,
        page: &PageRequest,
    ) -> Result<Page<(SettingId, Revisioned<Setting>)>, StoreError>;

    /// What validation needs of the named settings; absent ones are missing from the map.
    async fn infos(
        &self,
        tenant: &TenantId,
        refs: &[(SettingKind, SettingId)],
    ) -> Result<HashMap<(SettingKind, SettingId), SettingInfo>, StoreError>;

    /// The tenant's settings; revision 0 and the defaults when never saved.
    async fn tenant_settings(
        &self,
        tenant: &TenantId,
    ) -> Result<Revisioned<TenantSettings>, StoreError>;

    async fn put_tenant_settings(
        &self,
        tenant: &TenantId,
        settings: &TenantSettings,
        expected: u64,
    ) -> Result<Revisioned<TenantSettings>, StoreError>;
}

/// The CRM users of a tenant.
#[async_trait]
pub trait UserDirectory: Send + Sync {
    async fn put(&self, tenant: &TenantId, user: &User) -> Result<(), StoreError>;

    async fn get(&self, tenant: &TenantId, id: &UserId) -> Result<Option<User>, StoreError>;

    /// Which of `ids` exist.
    async fn existing(
        &self,
        tenant: &TenantId,
        ids: &[UserId],
    ) -> Result<HashSet<UserId>, StoreError>;

    async fn list(&self, tenant: &TenantId, page: &PageRequest) -> Result<Page<User>, StoreError>;
}

/// A record as stored: its field values as plain JSON, typed against the tenant's schema when
/// read ([`StoredRecord::typed`]), since the schema (custom fields) belongs to the tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRecord {
    pub id: crate::ids::RecordId,
    pub module: Module,
    pub fields: serde_json::Map<String, serde_json::Value>,
}

impl StoredRecord {
    pub fn typed(&self, schema: &crate::schema::Schema) -> crate::record::Record {
        let fields = crate::record::parse_fields(
            schema.module(self.module),
            &self.fields,
            "",
            crate::record::ParseMode::Stored,
        )
        // Stored mode ignores what no longer fits the schema rather than failing.
        .unwrap_or_default();
        crate::record::Record {
            id: self.id.clone(),
            module: self.module,
            fields,
        }
    }

    pub fn from_record(record: &crate::record::Record) -> Self {
        let fields = record
            .fields
            .iter()
            .filter_map(|(k, v)| serde_json::to_value(v).ok().map(|v| (k.clone(), v)))
            .collect();
        Self {
            id: record.id.clone(),
            module: record.module,
            fields,
        }
    }
}

/// CRM records, tenant-scoped.
#[async_trait]
pub trait RecordStore: Send + Sync {
    async fn create(
        &self,
        tenant: &TenantId,
        record: &StoredRecord,
    ) -> Result<Revisioned<StoredRecord>, StoreError>;

    async fn get(
        &self,
        tenant: &TenantId,
        id: &crate::ids::RecordId,
    ) -> Result<Option<Revisioned<StoredRecord>>, StoreError>;

    /// Several records at once (absent ones are left out), in no particular order.
    async fn get_many(
        &self,
        tenant: &TenantId,
        ids: &[crate::ids::RecordId],
    ) -> Result<Vec<Revisioned<StoredRecord>>, StoreError>;

    async fn replace(
        &self,
        tenant: &TenantId,
        record: &StoredRecord,
        expected: u64,
    ) -> Result<Revisioned<StoredRecord>, StoreError>;

    async fn delete(
        &self,
        tenant: &TenantId,
        id: &crate::ids::RecordId,
        expected: u64,
    ) -> Result<(), StoreError>;

    /// A module's records, most recently updated first.
    async fn list(
        &self,
        tenant: &TenantId,
        module: Module,
        page: &PageRequest,
    ) -> Result<Page<Revisioned<StoredRecord>>, StoreError>;
}

/// A schedule entry: the next occurrence of a care workflow for one record.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleEntry {
    pub tenant: TenantId,
    pub workflow: WorkflowId,
    /// The workflow version that scheduled it; its run is pinned to this version.
    pub version: u32,
    pub record: crate::ids::RecordId,
    /// Armed (in the due index) when present.
    pub next: Option<crate::trigger::Occurrence>,
    /// The last occurrence claimed, so that a re-scheduled record never fires it again.
    pub last_fired: Option<crate::trigger::OccurrenceKey>,
    /// Optimistic concurrency between the scan and schedule upkeep; 0 for a new entry.
    pub revision: u64,
}

/// Jobs claimed but not yet known to be published: the scan's outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Outbox {
    pub tenant: TenantId,
    pub workflow: WorkflowId,
    pub record: crate::ids::RecordId,
    /// The occurrence key (care workflows) or stream event id (work workflows).
    pub cause: String,
    pub jobs: Vec<crate::schedule::ActionJob>,
    /// Until then the scan that wrote it is publishing it; after, any scan may take it over.
    pub retry_after: DateTime<Utc>,
}

/// Schedule maintenance after a workflow changed: arm an entry for every record of the module
/// (activation, new version), or remove every entry (deactivation). Resumable: `cursor` is the
/// checkpoint of the module listing or entry listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Maintenance {
    pub tenant: TenantId,
    pub workflow: WorkflowId,
    pub version: u32,
    pub kind: MaintenanceKind,
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaintenanceKind {
    Backfill,
    Cleanup,
}

/// Something the due index returned.
#[derive(Debug, Clone, PartialEq)]
pub enum DueItem {
    Entry(ScheduleEntry),
    /// An outbox a crashed scan left behind: publish it again.
    Outbox(Outbox),
    Maintenance(Maintenance),
}

/// A page of due items and how many index items DynamoDB read for it (its Count).
#[derive(Debug, Clone, PartialEq)]
pub struct DuePage {
    pub items: Vec<DueItem>,
    pub items_read: u64,
    pub next: Option<String>,
}

/// Why a claim did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimOutcome {
    Claimed,
    /// Another scan or an upkeep write changed the entry first.
    LostRace,
}

/// The due schedule.
#[async_trait]
pub trait ScheduleStore: Send + Sync {
    async fn get(
        &self,
        tenant: &TenantId,
        workflow: &WorkflowId,
        record: &crate::ids::RecordId,
    ) -> Result<Option<ScheduleEntry>, StoreError>;

    /// Writes the entry if its stored revision is still `entry.revision` (0: must not exist).
    async fn put(&self, entry: &ScheduleEntry) -> Result<ClaimOutcome, StoreError>;

    async fn delete(
        &self,
        tenant: &TenantId,
        workflow: &WorkflowId,
        record: &crate::ids::RecordId,
    ) -> Result<(), StoreError>;

    /// Due items of one shard with a due instant at or before `now`, oldest first.
    async fn due(
        &self,
        shard: u32,
        now: DateTime<Utc>,
        page: &PageRequest,
    ) -> Result<DuePage, StoreError>;

    /// Advances `entry` (at its revision) to `next` after firing `occurrence`, and stores the
    /// outbox (due again at its `retry_after`) in the same transaction when it has jobs.
    async fn claim(
        &self,
        entry: &ScheduleEntry,
        next: Option<&crate::trigger::Occurrence>,
        occurrence: &crate::trigger::OccurrenceKey,
        outbox: Option<&Outbox>,
    ) -> Result<ClaimOutcome, StoreError>;

    /// When a work workflow last ran for a record (for the repeat toggle and the throttle).
    async fn last_run(
        &self,
        tenant: &TenantId,
        workflow: &WorkflowId,
        record: &crate::ids::RecordId,
    ) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// Claims a stream event for a work workflow exactly once: marks the event handled, records
    /// the run time and stores the outbox, in one transaction. `LostRace` when the event was
    /// already handled (a redelivered batch).
    async fn claim_event(
        &self,
        outbox: &Outbox,
        event_id: &str,
        now: DateTime<Utc>,
    ) -> Result<ClaimOutcome, StoreError>;

    /// Takes over an outbox whose writer did not clear it in time, leasing it until `until`;
    /// `LostRace` when another scan took it (or cleared it) first.
    async fn take_outbox(
        &self,
        outbox: &Outbox,
        until: DateTime<Utc>,
    ) -> Result<ClaimOutcome, StoreError>;

    /// Removes an outbox once its jobs are published.
    async fn clear_outbox(&self, outbox: &Outbox) -> Result<(), StoreError>;

    /// A workflow's entries, for removal on deactivation.
    async fn entries_of(
        &self,
        tenant: &TenantId,
        workflow: &WorkflowId,
        page: &PageRequest,
    ) -> Result<Page<ScheduleEntry>, StoreError>;

    /// Requests maintenance (replacing any earlier request for the same workflow).
    async fn request_maintenance(
        &self,
        request: &Maintenance,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Saves the checkpoint of a request, or removes it when `cursor` is `None` (done).
    async fn checkpoint_maintenance(
        &self,
        request: &Maintenance,
        cursor: Option<String>,
    ) -> Result<(), StoreError>;

    /// The end of the last completed scan window.
    async fn last_scan_end(&self) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// Records a completed window; never moves backwards.
    async fn save_scan_end(&self, end: DateTime<Utc>) -> Result<(), StoreError>;
}

/// Why publishing jobs failed.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("{failed} of {total} jobs were not accepted after retries")]
    Rejected { failed: usize, total: usize },
    #[error("the event bus did not answer")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Hands action jobs to the executor (EventBridge bus → rule → SQS).
#[async_trait]
pub trait JobPublisher: Send + Sync {
    /// Publishes every job or fails; the count of bus calls made is returned.
    async fn publish(&self, jobs: &[crate::schedule::ActionJob]) -> Result<usize, PublishError>;
}
