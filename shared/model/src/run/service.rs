//! The run history of workflows and records, and an administrator's retry of one failed action
//! under its original idempotency key (so a retry can never send twice what once succeeded).

use crate::clock::Clock;
use crate::ids::{RecordId, TenantId, WorkflowId};
use crate::record::store::RecordStore;
use crate::run::ledger::RunLedger;
use crate::run::{RunRecord, RunStatus};
use crate::schedule::ports::{JobPublisher, PublishError};
use crate::store::{Page, PageRequest, StoreError};
use crate::user::access::{Access, Permission};

/// Why a history read or a retry failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("no such run of this workflow")]
    RunNotFound,
    #[error("no such record")]
    RecordNotFound,
    #[error("only failed, unknown, retrying or cancelled runs are retried; this one is {}", .0.as_str())]
    NotRetryable(RunStatus),
    #[error("the run changed meanwhile; reload the history")]
    Changed,
    /// Keys named the workflow version before; the job of such a run would run under today's
    /// key, beside the run, and could send again to whom it reached.
    #[error(
        "this run was recorded by an earlier release, under a key the executor no longer uses; it cannot be retried (a retry could send again to whom it reached)"
    )]
    RecordedUnderAnEarlierKey,
    #[error("the retry could not be handed to the executor")]
    Publish(#[source] PublishError),
    #[error("storage failed")]
    Store(#[from] StoreError),
}

/// The run use cases over their ports.
pub struct Runs<'a> {
    pub runs: &'a dyn RunLedger,
    pub records: &'a dyn RecordStore,
    pub publisher: &'a dyn JobPublisher,
    pub clock: &'a dyn Clock,
}

impl Runs<'_> {
    /// A workflow's runs, latest first.
    /// The workflow's runs on the records `access` reaches (a page may come back short below
    /// tenant level; the cursor goes on).
    pub async fn of_workflow(
        &self,
        tenant: &TenantId,
        access: &Access,
        workflow: &WorkflowId,
        page: &PageRequest,
    ) -> Result<Page<RunRecord>, RunError> {
        let mut found = self.runs.history(tenant, workflow, page).await?;
        if !access.tenant_wide() {
            let mut ids: Vec<RecordId> = found.items.iter().map(|r| r.record.clone()).collect();
            ids.sort();
            ids.dedup();
            let records = self.records.get_many(tenant, &ids).await?;
            found.items.retain(|run| {
                records.iter().any(|r| {
                    r.value.id == run.record
                        && access.reaches(&r.value)
                        && access.may(r.value.module, Permission::Read)
                })
            });
        }
        Ok(found)
    }

    /// Every automation run on one of the tenant's records, across workflows: the runs on a
    /// record the caller's `access` reaches (another tenant's record, or one
    /// outside the caller's access level, is simply not found).
    pub async fn of_record(
        &self,
        tenant: &TenantId,
        access: &Access,
        record: &RecordId,
        page: &PageRequest,
    ) -> Result<Page<RunRecord>, RunError> {
        let found = self
            .records
            .get(tenant, record)
            .await?
            .ok_or(RunError::RecordNotFound)?;
        let readable = access.may(found.value.module, Permission::Read);
        if !access.reaches(&found.value) || !readable {
            return Err(RunError::RecordNotFound);
        }
        Ok(self.runs.record_history(tenant, record, page).await?)
    }

    /// The tenant's dead-lettered runs, latest first.
    pub async fn dead_letters(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<RunRecord>, RunError> {
        Ok(self.runs.dead_letters(tenant, page).await?)
    }

    /// Marks a failed or unknown run of `workflow` for another try and hands its job to the
    /// executor again; the run as now stored.
    pub async fn retry(
        &self,
        tenant: &TenantId,
        workflow: &WorkflowId,
        key: &str,
    ) -> Result<RunRecord, RunError> {
        // Keys start with the tenant and workflow: one of another workflow is not found here.
        if !key.starts_with(&format!("{tenant}/{workflow}/")) {
            return Err(RunError::RunNotFound);
        }
        let run = self
            .runs
            .get(tenant, key)
            .await?
            .ok_or(RunError::RunNotFound)?;
        if !run.status.is_retryable() {
            return Err(RunError::NotRetryable(run.status));
        }
        let now = self.clock.now();
        if run.job(now).idempotency_key() != run.key {
            return Err(RunError::RecordedUnderAnEarlierKey);
        }
        let retrying = self
            .runs
            .request_retry(&run, now)
            .await?
            .ok_or(RunError::Changed)?;
        self.publisher
            .publish(&[run.job(now)])
            .await
            .map_err(RunError::Publish)?;
        tracing::info!(action = %run.action, record = %run.record, "action retry requested");
        Ok(retrying)
    }
}
