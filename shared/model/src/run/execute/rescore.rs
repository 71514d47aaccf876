//! A scoring rule's job: the day one of its criteria relative to today flips, the record is
//! scored again. Scoring is a function of the record, so a redelivery finds the score already
//! right and writes nothing; the run shows what changed.

use super::{ExecuteError, Executor, JobOutcome};
use crate::run::{RunRecord, RunStatus};
use crate::schedule::ActionJob;
use crate::scoring::RESCORE_KIND;
use crate::scoring::rescore::{Rescored, Rescorer, ScoringRule};
use crate::store::ClaimOutcome;

impl Executor<'_> {
    pub(super) async fn rescore(&self, job: &ActionJob) -> Result<JobOutcome, ExecuteError> {
        let key = job.idempotency_key();
        let previous = self.ledger.get(&job.tenant, &key).await?;
        if previous.as_ref().is_some_and(|done| done.status.is_final()) {
            return Ok(JobOutcome::Duplicate);
        }
        let now = self.clock.now();
        // Only the active version scores: a late job of an older one would write a score the
        // stream then takes for the rule's own.
        let head = self.head(&job.tenant, &job.workflow).await?;
        let current = head.filter(|h| h.status == crate::workflow::WorkflowStatus::Active);
        if current.as_ref().is_none_or(|h| h.version != job.version) {
            let why = match current {
                Some(head) => format!("not scored: the rule is at version {} now", head.version),
                None => "not scored: the rule is no longer active".to_owned(),
            };
            return self.settle_rescore(job, now, vec![why]).await;
        }
        let definition = match self.definition(job, now).await? {
            Ok(definition) => definition,
            Err(reason) => return self.fail(job, RESCORE_KIND, reason, Vec::new()).await,
        };
        let settings = self.tenant_settings(&job.tenant, now).await?;
        let schema = settings.schema();
        let Some(rule) = ScoringRule::at(&job.workflow, job.version, &definition, &schema) else {
            let reason = "the scoring rule no longer fits the module's fields".to_owned();
            return self.fail(job, RESCORE_KIND, reason, Vec::new()).await;
        };
        let rescorer = Rescorer {
            records: self.records,
        };
        let depth = job.depth.saturating_add(1);
        let outcome = rescorer
            .rescore(
                &job.tenant,
                &settings,
                &schema,
                std::slice::from_ref(&rule),
                &job.record,
                None,
                now,
                depth,
            )
            .await?;
        let output = match outcome {
            Rescored::Gone => {
                let reason = "the record no longer exists".to_owned();
                return self.fail(job, RESCORE_KIND, reason, Vec::new()).await;
            }
            Rescored::TooLarge(problem) => {
                let reason = format!("the scores were not written: {problem}");
                return self.fail(job, RESCORE_KIND, reason, Vec::new()).await;
            }
            Rescored::Unchanged => vec!["score unchanged".to_owned()],
            Rescored::Written(scores) => scores
                .into_iter()
                .map(|(field, score)| match score {
                    Some(score) => format!("{field} = {score}"),
                    None => format!("{field} cleared"),
                })
                .collect(),
        };
        self.settle_rescore(job, now, output).await
    }

    /// Records the rescoring's run as succeeded with `output`.
    async fn settle_rescore(
        &self,
        job: &ActionJob,
        now: chrono::DateTime<chrono::Utc>,
        output: Vec<String>,
    ) -> Result<JobOutcome, ExecuteError> {
        let mut run = RunRecord::start(job, RESCORE_KIND, now);
        run.status = RunStatus::Succeeded;
        run.output = output.clone();
        Ok(match self.ledger.commit(&run, &[]).await? {
            ClaimOutcome::Claimed => JobOutcome::Succeeded(output),
            ClaimOutcome::LostRace => JobOutcome::Duplicate,
        })
    }
}
