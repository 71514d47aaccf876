//! The workflow ports: workflows and every version ever saved, tenant-scoped.

use async_trait::async_trait;

use super::{ActiveChange, Workflow, WorkflowDefinition};
use crate::ids::{TenantId, WorkflowId};
use crate::schema::Module;
use crate::store::{Page, PageRequest, Revisioned, StoreError};

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
        active: ActiveChange,
    ) -> Result<Revisioned<Workflow>, StoreError>;

    /// Creates a module's counter of active workflows of a kind at `count`, unless it exists:
    /// the count of a kind whose workflows were active before it was kept.
    async fn start_active_count(
        &self,
        tenant: &TenantId,
        kind: crate::workflow::WorkflowKind,
        module: crate::schema::Module,
        count: u64,
    ) -> Result<(), StoreError>;
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

/// Every workflow `filter` lists, read page by page: a tenant has a few hundred at most.
pub async fn every_workflow(
    catalog: &dyn WorkflowCatalog,
    tenant: &TenantId,
    filter: WorkflowFilter,
) -> Result<Vec<Workflow>, StoreError> {
    let mut all = Vec::new();
    let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
    loop {
        let found = catalog.list(tenant, filter, &page).await?;
        all.extend(found.items.into_iter().map(|w| w.value));
        match found.next {
            Some(next) => page.cursor = Some(next),
            None => return Ok(all),
        }
    }
}
