//! The run ledger port: the idempotency ledger and run history of the executor.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Effect, RunRecord};
use crate::ids::{RecordId, TenantId, WorkflowId};
use crate::store::{ClaimOutcome, Page, PageRequest, StoreError};

/// The idempotency ledger and run history.
#[async_trait]
pub trait RunLedger: Send + Sync {
    async fn get(&self, tenant: &TenantId, key: &str) -> Result<Option<RunRecord>, StoreError>;

    /// Claims a run for an external send: written as in progress, leased until `run.lease_until`,
    /// if there is no run yet, or if `takeover` is still the stored run (same status and
    /// attempts): an expired in-progress run, or one an administrator asked to retry.
    async fn claim(
        &self,
        run: &RunRecord,
        takeover: Option<&RunRecord>,
    ) -> Result<ClaimOutcome, StoreError>;

    /// Marks a retryable run ([`RunStatus::is_retryable`](super::RunStatus::is_retryable)) for
    /// another try, as [`RunRecord::retried`] leaves it, and returns it as stored; `None` when the
    /// stored run is in another state or at other attempts (it changed meanwhile).
    async fn request_retry(
        &self,
        run: &RunRecord,
        now: DateTime<Utc>,
    ) -> Result<Option<RunRecord>, StoreError>;

    /// Records the progress or the outcome of a send this delivery claimed: written only while the
    /// stored run is still in progress at `run.attempts` (no other delivery took it over);
    /// `LostRace` otherwise, and nothing is written.
    async fn progress(&self, run: &RunRecord) -> Result<ClaimOutcome, StoreError>;

    /// Records a run's final state (or a failed attempt), unless it already succeeded.
    async fn record(&self, run: &RunRecord) -> Result<ClaimOutcome, StoreError>;

    /// Records why a job never reached the executor (the scan could not publish it), as a run
    /// with no attempt (`attempts` 0): only where no run exists yet or the stored one has no
    /// attempt either, so that a delivery of the same key, in progress or done, is never
    /// disturbed; `LostRace` otherwise.
    async fn record_unstarted(&self, run: &RunRecord) -> Result<ClaimOutcome, StoreError>;

    /// Records a succeeded run together with its DynamoDB effects, in one transaction; `LostRace`
    /// when the run had already succeeded (a redelivery), in which case nothing is written.
    async fn commit(&self, run: &RunRecord, effects: &[Effect])
    -> Result<ClaimOutcome, StoreError>;

    /// The current value of a named counter (0 when never advanced).
    async fn counter(&self, tenant: &TenantId, name: &str) -> Result<u64, StoreError>;

    /// Moves a named counter from `expected` to `expected + 1` on its own (an allocation rule's
    /// turn taken by a record's creation); `LostRace` when another took that turn first.
    async fn advance(
        &self,
        tenant: &TenantId,
        name: &str,
        expected: u64,
    ) -> Result<ClaimOutcome, StoreError>;

    /// A record's runs across workflows, latest first.
    async fn record_history(
        &self,
        tenant: &TenantId,
        record: &RecordId,
        page: &PageRequest,
    ) -> Result<Page<RunRecord>, StoreError>;

    /// The tenant's dead-lettered runs ([`RunRecord::dead_letter`]), latest first.
    async fn dead_letters(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<RunRecord>, StoreError>;

    /// A workflow's runs, latest first.
    async fn history(
        &self,
        tenant: &TenantId,
        workflow: &WorkflowId,
        page: &PageRequest,
    ) -> Result<Page<RunRecord>, StoreError>;
}
