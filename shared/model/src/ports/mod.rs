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

    /// Adds a user; `AlreadyExists` when the id is taken, whoever got there first.
    async fn create(&self, tenant: &TenantId, user: &User) -> Result<(), StoreError>;

    async fn get(&self, tenant: &TenantId, id: &UserId) -> Result<Option<User>, StoreError>;

    /// Which of `ids` exist.
    async fn existing(
        &self,
        tenant: &TenantId,
        ids: &[UserId],
    ) -> Result<HashSet<UserId>, StoreError>;

    async fn list(&self, tenant: &TenantId, page: &PageRequest) -> Result<Page<User>, StoreError>;
}

mod records;
mod runs;
mod schedule;

pub use records::{
    MergeMarker, MergeState, NotificationInbox, RecordFilter, RecordStore, StoredRecord,
};
pub use runs::{
    Attachment, DocumentPrinter, Email, EmailSender, RunLedger, SendError, SmsSender, TaskSync,
    ZnsSender, lease,
};
pub use schedule::{
    ClaimOutcome, DueIndex, DueItem, DuePage, JobPublisher, Maintenance, MaintenanceKind,
    MaintenanceRequests, OccurrenceClaims, Outbox, Outboxes, PublishError, ScheduleEntries,
    ScheduleEntry, ScheduleStore,
};
