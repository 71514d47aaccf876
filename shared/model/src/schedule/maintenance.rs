//! Schedule maintenance, done by the scan a bounded number of pages at a time: the backfill of a
//! workflow just activated (or edited while active), and the cleanup of one deactivated.

use super::scan::{Caches, ScanError, ScanReport, Scanner};
use super::upkeep::{PinnedWorkflow, Upkeep, UpkeepOutcome};
use crate::record::store::RecordFilter;
use crate::schedule::ports::{Maintenance, MaintenanceKind};
use crate::scoring::rescore::{Rescored, Rescorer, ScoringRule};
use crate::store::PageRequest;
use crate::store::StoreError;
use crate::workflow::WorkflowStatus;
use futures_util::{StreamExt, TryStreamExt, stream};

impl Scanner<'_> {
    /// Works on a maintenance request for a bounded number of pages, then checkpoints it.
    pub(super) async fn maintain(
        &self,
        request: Maintenance,
        caches: &Caches,
        report: &mut ScanReport,
    ) -> Result<(), ScanError> {
        let head = self
            .workflows
            .get(&request.tenant, &request.workflow)
            .await?;
        report.workflow_reads += 1;
        let active_at_version = head.as_ref().is_some_and(|h| {
            h.value.status == WorkflowStatus::Active && h.value.version == request.version
        });
        let mut cursor = request.cursor.clone();
        match request.kind {
            MaintenanceKind::Backfill if !active_at_version => {
                match head.filter(|h| h.value.status == WorkflowStatus::Active) {
                    // Active at another version: the request was filed for a save that then
                    // failed, or overtook one; only one request per workflow is kept, so the
                    // version that is active now would otherwise never be scheduled. Backfill
                    // that one, from the start, with the next scan.
                    Some(head) => {
                        let renewed = Maintenance {
                            version: head.value.version,
                            cursor: None,
                            ..request
                        };
                        self.schedule
                            .request_maintenance(&renewed, self.clock.now())
                            .await?;
                    }
                    // Deactivated or deleted since it was requested.
                    None => self.schedule.checkpoint_maintenance(&request, None).await?,
                }
                return Ok(());
            }
            MaintenanceKind::Backfill => {
                let Some(head) = head else {
                    return Ok(());
                };
                let known = self.tenant(&request.tenant, caches).await?;
                let (tenant, schema) = (&known.settings, &known.schema);
                let upkeep = Upkeep {
                    schedule: self.schedule,
                    clock: self.clock,
                };
                // A scoring rule scores every record of the module as well as scheduling it.
                let scoring: Vec<ScoringRule> = ScoringRule::at(
                    &request.workflow,
                    request.version,
                    &head.value.definition,
                    schema,
                )
                .into_iter()
                .collect();
                let pinned = PinnedWorkflow {
                    id: &request.workflow,
                    version: request.version,
                    definition: &head.value.definition,
                    scoring: scoring.first(),
                };
                let rescorer = Rescorer {
                    records: self.records,
                };
                for _ in 0..self.maintenance_pages {
                    let page = PageRequest {
                        limit: PageRequest::MAX_LIMIT,
                        cursor: cursor.clone(),
                    };
                    let found = self
                        .records
                        .list(
                            &request.tenant,
                            head.value.definition.module,
                            &RecordFilter::default(),
                            &page,
                        )
                        .await?;
                    report.backfill_records_read += found.items.len() as u64;
                    // The page's records at once (as many calls in flight as the scan allows):
                    // each one's entry and score are its own writes.
                    let (upkeep, rescorer, scoring) = (&upkeep, &rescorer, &scoring);
                    let tenant_id = &request.tenant;
                    let done: Vec<(UpkeepOutcome, bool)> = stream::iter(found.items)
                        .map(|stored| async move {
                            let record = stored.value.typed(schema);
                            let outcome = upkeep
                                .refresh(tenant_id, tenant, pinned, &record.id, Some(&record))
                                .await?;
                            if scoring.is_empty() {
                                return Ok::<_, StoreError>((outcome, false));
                            }
                            let rescored = rescorer
                                .rescore(
                                    tenant_id,
                                    tenant,
                                    schema,
                                    scoring,
                                    &record.id,
                                    Some(stored),
                                    self.clock.now(),
                                    1,
                                )
                                .await?;
                            Ok((outcome, matches!(rescored, Rescored::Written(_))))
                        })
                        .buffer_unordered(self.concurrency.max(1))
                        .try_collect()
                        .await?;
                    for (outcome, scored) in done {
                        if outcome == UpkeepOutcome::Armed {
                            report.entries_armed += 1;
                        }
                        if scored {
                            report.backfill_scores_written += 1;
                        }
                    }
                    cursor = found.next;
                    if cursor.is_none() {
                        break;
                    }
                }
            }
            MaintenanceKind::Cleanup => {
                if head
                    .as_ref()
                    .is_some_and(|h| h.value.status == WorkflowStatus::Active)
                {
                    // Active again: its own backfill re-plans the entries.
                    self.schedule.checkpoint_maintenance(&request, None).await?;
                    return Ok(());
                }
                for _ in 0..self.maintenance_pages {
                    let page = PageRequest {
                        limit: PageRequest::MAX_LIMIT,
                        cursor: cursor.clone(),
                    };
                    let found = self
                        .schedule
                        .entries_of(&request.tenant, &request.workflow, &page)
                        .await?;
                    for entry in found.items {
                        self.schedule
                            .delete(&entry.tenant, &entry.workflow, &entry.record)
                            .await?;
                        report.entries_removed += 1;
                    }
                    cursor = found.next;
                    if cursor.is_none() {
                        break;
                    }
                }
            }
        }
        if cursor.is_none() {
            report.maintenance_finished += 1;
        }
        self.schedule
            .checkpoint_maintenance(&request, cursor)
            .await?;
        Ok(())
    }
}
