//! Schedule upkeep: re-planning one record's entry of one care workflow after the record
//! changed (the records stream) or during a backfill.

use crate::clock::Clock;
use crate::ids::{RecordId, TenantId, WorkflowId};
use crate::record::Record;
use crate::schedule::next_to_arm;
use crate::schedule::ports::{DueLane, ScheduleEntries, ScheduleEntry};
use crate::settings::TenantSettings;
use crate::store::{ClaimOutcome, StoreError};
use crate::trigger::Trigger;
use crate::workflow::WorkflowDefinition;

/// Keeps a record's schedule entries right after it changed: one entry per active care workflow
/// of its module, re-planned from the record's current values without losing what was claimed.
pub struct Upkeep<'a> {
    pub schedule: &'a dyn ScheduleEntries,
    pub clock: &'a dyn Clock,
}

/// A workflow at the version whose definition plans its entries.
#[derive(Debug, Clone, Copy)]
pub struct PinnedWorkflow<'a> {
    pub id: &'a WorkflowId,
    pub version: u32,
    pub definition: &'a WorkflowDefinition,
    /// A scoring rule already compiled by the caller (once per batch or backfill page, not
    /// once per record); compiled here when absent.
    pub scoring: Option<&'a crate::scoring::rescore::ScoringRule>,
}

/// What upkeep did for one (workflow, record).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpkeepOutcome {
    Armed,
    Disarmed,
    Unchanged,
}

impl Upkeep<'_> {
    /// Re-plans the entry of (workflow, record); `record` is `None` when it was deleted.
    pub async fn refresh(
        &self,
        tenant: &TenantId,
        tenant_settings: &TenantSettings,
        workflow: PinnedWorkflow<'_>,
        record_id: &RecordId,
        record: Option<&Record>,
    ) -> Result<UpkeepOutcome, StoreError> {
        let PinnedWorkflow {
            id: workflow,
            version,
            definition,
            scoring,
        } = workflow;
        if !matches!(&definition.trigger, Trigger::Time(_))
            && !crate::scoring::depends_on_today(definition)
        {
            return Ok(UpkeepOutcome::Unchanged);
        }
        let Some(record) = record else {
            self.schedule.delete(tenant, workflow, record_id).await?;
            return Ok(UpkeepOutcome::Disarmed);
        };
        let compiled;
        let scoring = match (scoring, &definition.trigger) {
            (Some(rule), _) => Some(rule),
            (None, Trigger::Score(_)) => {
                compiled = crate::scoring::rescore::ScoringRule::at(
                    workflow,
                    version,
                    definition,
                    &tenant_settings.schema(),
                );
                compiled.as_ref()
            }
            (None, _) => None,
        };
        // A lost race means the scan or another upkeep wrote in between: read again and redo.
        for _ in 0..5 {
            let current = self.schedule.get(tenant, workflow, record_id).await?;
            let last_fired = current.as_ref().and_then(|e| e.last_fired.clone());
            let horizon = crate::schedule::arm_horizon(self.clock.now());
            let next = match &definition.trigger {
                Trigger::Time(trigger) => next_to_arm(
                    trigger,
                    record,
                    tenant_settings,
                    horizon,
                    last_fired.as_ref(),
                ),
                // The day a criterion relative to today flips.
                Trigger::Score(_) => scoring
                    .and_then(|rule| rule.next_rescore(record, tenant_settings, self.clock.now())),
                Trigger::RecordEvent(_) | Trigger::Approval(_) => None,
            };
            let entry = ScheduleEntry {
                tenant: tenant.clone(),
                workflow: workflow.clone(),
                version,
                record: record_id.clone(),
                next: next.clone(),
                last_fired,
                revision: current.as_ref().map_or(0, |e| e.revision),
                // A re-plan is a fresh start for an entry the scan had held or parked.
                failure: None,
                lane: next.as_ref().map_or(DueLane::Instant, |next| {
                    DueLane::for_next(next, self.clock.now())
                }),
            };
            if current.as_ref().is_some_and(|c| {
                c.next == entry.next && c.version == version && c.failure.is_none()
            }) {
                return Ok(UpkeepOutcome::Unchanged);
            }
            if current.is_none() && next.is_none() {
                return Ok(UpkeepOutcome::Unchanged);
            }
            if self.schedule.put(&entry).await? == ClaimOutcome::Claimed {
                return Ok(if next.is_some() {
                    UpkeepOutcome::Armed
                } else {
                    UpkeepOutcome::Disarmed
                });
            }
        }
        Err(StoreError::Conflict { expected: 0 })
    }
}
