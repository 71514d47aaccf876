//! A job the queue gives up on: its last delivery failed, the message goes to the dead-letter
//! queue, and nothing retries it any more. Its run says so (and stays findable through the
//! tenant's dead-letter listing) until an administrator retries it.

use super::sends::Overwrite;
use super::{ExecuteError, Executor};
use crate::run::{DeadLetter, RunStatus};
use crate::schedule::ActionJob;

impl Executor<'_> {
    /// Marks `job`'s run as dead-lettered after `deliveries`, with `reason` (the last failure)
    /// when the run has no error of its own. The delivery calling this has finished, so a run
    /// still in progress is taken as abandoned (its recipient in doubt marked unknown, never
    /// sent again unless an administrator retries); a settled run is left alone.
    pub async fn dead_letter(
        &self,
        job: &ActionJob,
        reason: &str,
        deliveries: u32,
    ) -> Result<(), ExecuteError> {
        let kind = self
            .head(&job.tenant, &job.workflow)
            .await
            .ok()
            .flatten()
            .and_then(|head| {
                head.definition
                    .actions
                    .iter()
                    .find(|a| head.version == job.version && a.id() == &job.action)
                    .map(|a| a.kind_name())
            })
            .unwrap_or("unknown");
        let at = self.clock.now();
        let written = self
            .overwrite_run(job, kind, false, |run| {
                run.status = RunStatus::Retrying;
                if run.error.is_none() {
                    run.error = Some(reason.to_owned());
                }
                run.dead_letter = Some(DeadLetter { at, deliveries });
            })
            .await?;
        if job.is_message() {
            // The person who sent it sees it failed, with why, on the customer.
            self.reflect(job).await?;
        }
        match written {
            Overwrite::Written => {
                tracing::warn!(
                    deliveries,
                    "job dead-lettered; its run waits for an administrator's retry"
                );
            }
            Overwrite::Settled => {}
            Overwrite::Busy => {
                tracing::warn!("another delivery took the run meanwhile; not marked dead-lettered");
            }
        }
        Ok(())
    }
}
