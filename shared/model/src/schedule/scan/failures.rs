//! Entries the scan cannot handle: each is held on its own (retried later, parked once its
//! attempts are spent) and shown where an administrator looks, the run history and the logs,
//! while the scan goes on with every other entry.

use chrono::{DateTime, Duration, Utc};

use super::{ScanError, ScanReport, Scanner};
use crate::ids::{ActionId, RecordId, TenantId, WorkflowId};
use crate::run::{RunRecord, RunStatus};
use crate::schedule::ActionJob;
use crate::schedule::ports::{EntryFailure, MalformedItem, ScheduleEntry};
use crate::store::ClaimOutcome;

/// Attempts at one entry before it is parked.
pub const MAX_ENTRY_ATTEMPTS: u32 = 5;

/// The action id of a failed run that stands for the scan's own step (no action was reached).
const SCAN_STEP: &str = "schedule";

/// The wait before attempt `attempts + 1`: 5, 10, 20, 40 minutes.
fn backoff(attempts: u32) -> Duration {
    Duration::minutes(5 << attempts.saturating_sub(1).min(4))
}

impl Scanner<'_> {
    /// Holds an entry the scan could not handle: retried after a backoff, or parked after
    /// [`MAX_ENTRY_ATTEMPTS`]; its jobs (or, before any, the scan's step) get a failed run.
    pub(super) async fn hold(
        &self,
        entry: ScheduleEntry,
        jobs: &[(ActionJob, &'static str)],
        reason: &str,
        now: DateTime<Utc>,
        tally: &mut ScanReport,
    ) -> Result<(), ScanError> {
        let attempts = entry.failure.as_ref().map_or(0, |f| f.attempts) + 1;
        let retry_at = (attempts < MAX_ENTRY_ATTEMPTS).then(|| now + backoff(attempts));
        let held = ScheduleEntry {
            failure: Some(EntryFailure {
                attempts,
                reason: reason.to_owned(),
                retry_at,
            }),
            ..entry.clone()
        };
        if self.schedule.put(&held).await? == ClaimOutcome::LostRace {
            // Upkeep re-planned it meanwhile (or another scan held it): theirs stands.
            tally.lost_races += 1;
            return Ok(());
        }
        let shown = match retry_at {
            Some(at) => {
                tally.entries_held += 1;
                format!(
                    "{reason} (attempt {attempts} of {MAX_ENTRY_ATTEMPTS}; tried again at {})",
                    at.to_rfc3339()
                )
            }
            None => {
                tally.entries_parked += 1;
                format!(
                    "{reason} (attempt {attempts} of {MAX_ENTRY_ATTEMPTS}; parked until the record or the workflow changes)"
                )
            }
        };
        tracing::warn!(
            tenant = %entry.tenant,
            workflow = %entry.workflow,
            record = %entry.record,
            attempts,
            parked = retry_at.is_none(),
            reason,
            "due entry held"
        );
        let cause = entry
            .next
            .as_ref()
            .map_or_else(|| "scan".to_owned(), |next| next.key.to_string());
        let step: Vec<(ActionJob, &'static str)> = if jobs.is_empty() {
            scan_step(
                &entry.tenant,
                &entry.workflow,
                entry.version,
                &entry.record,
                cause,
                now,
            )
            .into_iter()
            .map(|job| (job, "scan"))
            .collect()
        } else {
            Vec::new()
        };
        for (job, kind) in jobs.iter().chain(&step) {
            // No delivery has made an attempt: while the scan tries again a refused job's run
            // is retrying (the executor takes it over when the job reaches it); parked, it has
            // failed, and an administrator's retry sends the job. The scan's own step is no job
            // anyone could send: its run fails at once, the entry's retries notwithstanding.
            let mut run = RunRecord::start(job, kind, now);
            run.attempts = 0;
            run.status = if retry_at.is_some() && job.action.as_str() != SCAN_STEP {
                RunStatus::Retrying
            } else {
                RunStatus::Failed
            };
            run.error = Some(shown.clone());
            self.runs.record_unstarted(&run).await?;
        }
        Ok(())
    }

    /// Takes an item that reads as nothing out of the due index, and says so.
    pub(super) async fn set_aside(
        &self,
        item: &MalformedItem,
        now: DateTime<Utc>,
    ) -> Result<(), ScanError> {
        tracing::warn!(pk = %item.pk, sk = %item.sk, reason = %item.reason, "unreadable due item set aside");
        self.schedule.set_aside(item, &item.reason).await?;
        // Shown in its tenant's run history when its key still names one.
        let parsed = item
            .pk
            .strip_prefix("T#")
            .and_then(|rest| rest.split_once("#W#"))
            .zip(item.sk.strip_prefix("R#"));
        if let Some(((tenant, workflow), record)) = parsed {
            if let (Ok(tenant), Ok(workflow), Ok(record)) = (
                TenantId::new(tenant),
                WorkflowId::new(workflow),
                RecordId::new(record),
            ) && let Some(job) = scan_step(&tenant, &workflow, 0, &record, "scan".into(), now)
            {
                let mut run = RunRecord::start(&job, "scan", now);
                run.attempts = 0;
                run.status = RunStatus::Failed;
                run.error = Some(format!(
                    "the schedule entry cannot be read and was set aside: {}",
                    item.reason
                ));
                self.runs.record_unstarted(&run).await?;
            }
        }
        Ok(())
    }
}

/// The stand-in job of a failure that happened before any action was reached.
fn scan_step(
    tenant: &TenantId,
    workflow: &WorkflowId,
    version: u32,
    record: &RecordId,
    cause: String,
    now: DateTime<Utc>,
) -> Option<ActionJob> {
    Some(ActionJob {
        tenant: tenant.clone(),
        workflow: workflow.clone(),
        version,
        record: record.clone(),
        cause,
        action: ActionId::new(SCAN_STEP).ok()?,
        due_at: now,
        snapshot: None,
        depth: 0,
    })
}
