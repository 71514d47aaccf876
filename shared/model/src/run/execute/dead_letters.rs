//! A job the queue gives up on: its last delivery failed, the message goes to the dead-letter
//! queue, and nothing retries it any more. Its run says so (and stays findable through the
//! tenant's dead-letter listing) until an administrator retries it.

use super::{ExecuteError, Executor, IN_DOUBT};
use crate::run::{DeadLetter, RecipientState, RunRecord, RunStatus};
use crate::schedule::ActionJob;

impl Executor<'_> {
    /// Marks `job`'s run as dead-lettered after `deliveries`, with `reason` (the last failure)
    /// when the run has no error of its own. A run another delivery is working on, or one that
    /// is settled, is left alone.
    pub async fn dead_letter(
        &self,
        job: &ActionJob,
        reason: &str,
        deliveries: u32,
    ) -> Result<(), ExecuteError> {
        let now = self.clock.now();
        let mut run = match self.ledger.get(&job.tenant, &job.idempotency_key()).await? {
            Some(done) if done.status.is_final() => return Ok(()),
            Some(busy)
                if busy.status == RunStatus::InProgress
                    && busy.lease_until.is_some_and(|until| until > now) =>
            {
                return Ok(());
            }
            Some(mut abandoned) if abandoned.status == RunStatus::InProgress => {
                // A delivery stopped mid-send: its first pending recipient may have been sent.
                // An administrator's retry sends it again only as an explicit choice.
                if let Some(in_doubt) = abandoned
                    .recipients
                    .iter_mut()
                    .find(|r| r.state == RecipientState::Pending)
                {
                    in_doubt.state = RecipientState::Unknown;
                    in_doubt.error = Some(IN_DOUBT.into());
                }
                abandoned
            }
            Some(waiting) => waiting,
            None => {
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
                RunRecord::start(job, kind, now)
            }
        };
        run.status = RunStatus::Retrying;
        run.updated_at = now;
        run.lease_until = None;
        if run.error.is_none() {
            run.error = Some(reason.to_owned());
        }
        run.dead_letter = Some(DeadLetter {
            at: now,
            deliveries,
        });
        self.ledger.record(&run).await?;
        tracing::warn!(
            deliveries,
            "job dead-lettered; its run waits for an administrator's retry"
        );
        Ok(())
    }
}
