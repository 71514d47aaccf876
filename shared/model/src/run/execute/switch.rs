//! The kill switch: a job of a workflow deactivated (or deleted) before it runs is not carried
//! out, unless the deactivation asked for queued jobs to finish; its run shows as cancelled.

use super::sends::Overwrite;
use super::{ExecuteError, Executor, JobOutcome, fresh_within, remember};
use crate::ids::{TenantId, WorkflowId};
use crate::run::RunStatus;
use crate::schedule::ActionJob;
use crate::workflow::{QueuedJobs, Workflow, WorkflowStatus};

/// How long an executor sandbox trusts a workflow head it read: a deactivation stops every job
/// that starts this long after it (a job already past the check carries on).
pub const SWITCH_SECONDS: i64 = 5;

impl Executor<'_> {
    /// The workflow's head, read at most once per [`SWITCH_SECONDS`] per sandbox.
    pub(super) async fn head(
        &self,
        tenant: &TenantId,
        workflow: &WorkflowId,
    ) -> Result<Option<Workflow>, ExecuteError> {
        let now = self.clock.now();
        let key = (tenant.clone(), workflow.clone());
        if let Some(head) = fresh_within(&self.cache.heads, &key, now, SWITCH_SECONDS) {
            return Ok(head);
        }
        let head = self.workflows.get(tenant, workflow).await?.map(|h| h.value);
        remember(&self.cache.heads, key, now, head.clone());
        Ok(head)
    }

    /// Why the job must not run, and its action's kind when still known, if its workflow was
    /// switched off.
    pub(super) async fn switched_off(
        &self,
        job: &ActionJob,
    ) -> Result<Option<(&'static str, &'static str)>, ExecuteError> {
        Ok(match self.head(&job.tenant, &job.workflow).await? {
            None => Some(("the workflow was deleted before this job ran", "unknown")),
            // A request in flight runs to its end under the version it was submitted under,
            // whatever became of the definition since.
            Some(head) if head.kind == crate::workflow::WorkflowKind::Approval => None,
            Some(head)
                if head.status != WorkflowStatus::Active
                    && head.queued_jobs == QueuedJobs::Cancel =>
            {
                let kind = head
                    .definition
                    .actions
                    .iter()
                    .find(|a| head.version == job.version && a.id() == &job.action)
                    .map_or("unknown", |a| a.kind_name());
                Some(("the workflow was deactivated before this job ran", kind))
            }
            Some(_) => None,
        })
    }

    /// Records the job as cancelled (keeping what an earlier delivery sent); a job already
    /// settled stays as it is.
    pub(super) async fn cancel(
        &self,
        job: &ActionJob,
        (reason, kind): (&str, &str),
    ) -> Result<JobOutcome, ExecuteError> {
        let written = self
            .overwrite_run(job, kind, true, |run| {
                run.status = RunStatus::Cancelled;
                run.error = Some(reason.to_owned());
                run.dead_letter = None;
            })
            .await?;
        match written {
            Overwrite::Written => {
                tracing::info!(reason, "job cancelled");
                Ok(JobOutcome::Cancelled(reason.to_owned()))
            }
            Overwrite::Settled => Ok(JobOutcome::Duplicate),
            Overwrite::Busy => Err(ExecuteError::Busy),
        }
    }
}
