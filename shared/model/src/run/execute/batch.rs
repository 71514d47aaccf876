//! A batch of jobs (one SQS receive) carried out concurrently, with a cap per tenant and a time
//! budget, so that one tenant's slow provider or flood of jobs cannot hold up another's.
//!
//! The jobs of each tenant are dealt round robin into at most `lanes_per_tenant` lanes; a lane
//! carries out its jobs one after the other, and every lane of every tenant runs at once. A job
//! whose lane reaches it too late to finish within the budget is not started (it goes back to the
//! queue untouched); a send already started stops between recipients and waits as retrying.

use std::collections::BTreeMap;

use tracing::Instrument;

use super::{ExecuteError, Executor, JobOutcome};
use crate::schedule::ActionJob;

impl Executor<'_> {
    /// Every job's outcome, in the order of `jobs`.
    pub async fn execute_batch(
        &self,
        jobs: &[ActionJob],
        lanes_per_tenant: usize,
    ) -> Vec<Result<JobOutcome, ExecuteError>> {
        let lanes_per_tenant = lanes_per_tenant.max(1);
        let mut by_tenant: BTreeMap<_, Vec<usize>> = BTreeMap::new();
        for (i, job) in jobs.iter().enumerate() {
            by_tenant.entry(&job.tenant).or_default().push(i);
        }
        let mut lanes: Vec<Vec<usize>> = Vec::new();
        for indices in by_tenant.values() {
            let count = indices.len().min(lanes_per_tenant);
            let mut tenant_lanes = vec![Vec::new(); count];
            for (n, &i) in indices.iter().enumerate() {
                tenant_lanes[n % count].push(i);
            }
            lanes.extend(tenant_lanes);
        }
        let finished = futures_util::future::join_all(lanes.into_iter().map(|lane| async move {
            let mut outcomes = Vec::with_capacity(lane.len());
            for i in lane {
                let job = &jobs[i];
                let span = tracing::info_span!(
                    "action_job",
                    tenant = %job.tenant,
                    workflow = %job.workflow,
                    record = %job.record,
                    action = %job.action
                );
                let outcome = if self.out_of_time() {
                    Err(ExecuteError::OutOfTime)
                } else {
                    self.execute(job).instrument(span).await
                };
                outcomes.push((i, outcome));
            }
            outcomes
        }))
        .await;
        let mut ordered: Vec<Option<Result<JobOutcome, ExecuteError>>> =
            (0..jobs.len()).map(|_| None).collect();
        for (i, outcome) in finished.into_iter().flatten() {
            ordered[i] = Some(outcome);
        }
        ordered
            .into_iter()
            .map(|o| o.unwrap_or(Err(ExecuteError::OutOfTime)))
            .collect()
    }
}
