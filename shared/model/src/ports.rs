//! Ports: what the domain needs from the outside world, as traits. The adapters crate implements
//! them on AWS; tests implement them in memory.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::ids::{TenantId, WorkflowId};
use crate::schema::Module;
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
