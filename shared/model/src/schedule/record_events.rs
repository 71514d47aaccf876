//! What a record change sets off (the records table's stream): the care workflows' schedule
//! entries are re-planned from the record's new values, and the module's work workflows decide
//! whether to run. Jobs of a stream event are claimed under the event's id, so a redelivered
//! batch emits nothing twice.

use chrono::Duration;
use std::collections::HashMap;

use super::upkeep::{PinnedWorkflow, Upkeep, UpkeepOutcome};
use crate::clock::Clock;
use crate::condition::EvalContext;
use crate::ids::TenantId;
use crate::record::Record;
use crate::record::origin::{AutomationWrite, MAX_CHAIN_DEPTH};
use crate::record::stored::StoredRecord;
use crate::run::ledger::RunLedger;
use crate::run::{RunRecord, RunStatus};
use crate::schedule::ports::{JobPublisher, Outbox, PublishError, ScheduleStore};
use crate::schedule::{ActionJob, fire_zone};
use crate::schema::Module;
use crate::settings::TenantSettings;
use crate::settings::store::SettingsStore;
use crate::store::{ClaimOutcome, PageRequest, StoreError};
use crate::trigger::{EventDecision, RecordChange, Trigger};
use crate::workflow::store::{WorkflowCatalog, WorkflowFilter};
use crate::workflow::{Workflow, WorkflowKind, WorkflowStatus};

/// One change of the stream, already read from its images.
#[derive(Debug, Clone)]
pub enum Change {
    Inserted(StoredRecord),
    Modified {
        old: StoredRecord,
        new: StoredRecord,
    },
    Removed(StoredRecord),
}

impl Change {
    /// The record as it is now (as it was, for a removal).
    pub fn current(&self) -> &StoredRecord {
        match self {
            Change::Inserted(r) | Change::Removed(r) | Change::Modified { new: r, .. } => r,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RecordEventError {
    #[error("storage failed")]
    Store(#[from] StoreError),
    #[error("publishing jobs failed")]
    Publish(#[from] PublishError),
}

/// What handling one change did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Handled {
    pub entries_armed: u32,
    pub entries_disarmed: u32,
    pub work_workflows_fired: u32,
    pub redeliveries_ignored: u32,
    pub jobs_published: u32,
    /// Work workflows that did not run on a change their own actions made.
    pub own_writes_ignored: u32,
    /// Work workflows stopped because the change came at the end of a chain of automation
    /// writes ([`MAX_CHAIN_DEPTH`]); each has a failed run saying so.
    pub chains_stopped: u32,
    /// Records read again to be scored by the module's scoring rules.
    pub records_scored: u32,
    /// Score writes (one per record, whatever the number of rules that changed).
    pub scores_written: u32,
    /// Work workflows that did not run on a score write, because they name none of the fields
    /// it wrote (neither watched nor in their condition).
    pub score_writes_passed_over: u32,
    /// Changes that only locked or freed a record for an approval: nobody's edit, so they set
    /// nothing off.
    pub approval_locks_ignored: u32,
    /// Messages people queued on records, handed to the executor to send.
    pub messages_published: u32,
}

/// A message a person queued (written queued and outgoing by the send use case only).
fn is_queued_message(record: &StoredRecord) -> bool {
    record.module == Module::Message
        && record.text("Direction") == "Outgoing"
        && record.text("Status") == "Queued"
}

/// The active workflows of a module, read once per batch.
#[derive(Default)]
pub struct BatchCache {
    workflows: HashMap<(TenantId, Module), Vec<Workflow>>,
    tenants: HashMap<TenantId, TenantSettings>,
}

pub struct RecordEvents<'a> {
    pub workflows: &'a dyn WorkflowCatalog,
    /// Where the module's scoring rules write their scores.
    pub records: &'a dyn crate::record::store::RecordStore,
    pub settings: &'a dyn SettingsStore,
    pub schedule: &'a dyn ScheduleStore,
    pub publisher: &'a dyn JobPublisher,
    /// Where a workflow stopped at the end of a chain of automation writes says so.
    pub runs: &'a dyn RunLedger,
    pub clock: &'a dyn Clock,
}

impl RecordEvents<'_> {
    async fn active_workflows<'c>(
        &self,
        tenant: &TenantId,
        module: Module,
        cache: &'c mut BatchCache,
    ) -> Result<&'c [Workflow], StoreError> {
        let key = (tenant.clone(), module);
        if !cache.workflows.contains_key(&key) {
            let mut active = Vec::new();
            let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
            loop {
                let found = self
                    .workflows
                    .list(
                        tenant,
                        WorkflowFilter {
                            module: Some(module),
                        },
                        &page,
                    )
                    .await?;
                active.extend(
                    found
                        .items
                        .into_iter()
                        .map(|w| w.value)
                        .filter(|w| w.status == WorkflowStatus::Active),
                );
                match found.next {
                    Some(next) => page.cursor = Some(next),
                    None => break,
                }
            }
            cache.workflows.insert(key.clone(), active);
        }
        Ok(cache
            .workflows
            .get(&key)
            .map(Vec::as_slice)
            .unwrap_or_default())
    }

    async fn tenant(
        &self,
        tenant: &TenantId,
        cache: &mut BatchCache,
    ) -> Result<TenantSettings, StoreError> {
        if let Some(settings) = cache.tenants.get(tenant) {
            return Ok(settings.clone());
        }
        let settings = self.settings.tenant_settings(tenant).await?.value;
        cache.tenants.insert(tenant.clone(), settings.clone());
        Ok(settings)
    }

    /// Handles one change; `event_id` is the stream record's id, `origin` the automation that
    /// made the change (none for a person's).
    pub async fn handle(
        &self,
        tenant: &TenantId,
        event_id: &str,
        change: &Change,
        origin: Option<&AutomationWrite>,
        cache: &mut BatchCache,
    ) -> Result<Handled, RecordEventError> {
        if let Change::Modified { old, new } = change {
            let lock = crate::approval::APPROVAL_FIELD;
            let only_the_lock = old.fields.get(lock) != new.fields.get(lock)
                && old
                    .fields
                    .iter()
                    .filter(|(k, _)| k.as_str() != lock)
                    .eq(new.fields.iter().filter(|(k, _)| k.as_str() != lock));
            if only_the_lock {
                return Ok(Handled {
                    approval_locks_ignored: 1,
                    ..Handled::default()
                });
            }
        }
        let mut handled = Handled::default();
        if let Change::Inserted(message) = change {
            if is_queued_message(message) {
                // The outbox of a person's message: a redelivery publishes it again, and the
                // executor's ledger makes that a duplicate.
                if let Some(job) = ActionJob::message(tenant, &message.id, self.clock.now()) {
                    self.publisher.publish(&[job]).await?;
                    handled.messages_published += 1;
                }
            }
        }
        let settings = self.tenant(tenant, cache).await?;
        let schema = settings.schema();
        let module = change.current().module;
        let workflows = self.active_workflows(tenant, module, cache).await?.to_vec();
        let typed = |stored: &StoredRecord| stored.typed(&schema);
        let current: Option<Record> = match change {
            Change::Removed(_) => None,
            other => Some(typed(other.current())),
        };
        let previous: Option<Record> = match change {
            Change::Modified { old, .. } => Some(typed(old)),
            _ => None,
        };
        let record_id = &change.current().id;
        let now = self.clock.now();
        let upkeep = Upkeep {
            schedule: self.schedule,
            clock: self.clock,
        };
        let mut scoring = Vec::new();
        // A scoring rule's write sets off only the work workflows that name a field it wrote:
        // "on any edit" is a person's edit, not every record of a module being scored.
        let by_scoring = origin.is_some_and(|o| {
            workflows
                .iter()
                .any(|w| w.id == o.workflow && w.kind == WorkflowKind::Scoring)
        });
        let written: Vec<&String> = match change {
            Change::Modified { old, new } if by_scoring => new
                .fields
                .keys()
                .chain(old.fields.keys())
                .filter(|k| old.fields.get(*k) != new.fields.get(*k))
                .collect(),
            _ => Vec::new(),
        };
        for workflow in &workflows {
            match workflow.kind {
                // Both keep an entry in the due schedule: a care occurrence, or the day a
                // scoring rule's criterion flips.
                // Approval workflows run when a record is submitted, not when it changes.
                WorkflowKind::Approval => {}
                WorkflowKind::Care | WorkflowKind::Scoring => {
                    if workflow.kind == WorkflowKind::Scoring {
                        if origin.is_some_and(|o| o.workflow == workflow.id) {
                            // Its own score write: scoring it again would write the same.
                            handled.own_writes_ignored += 1;
                            continue;
                        }
                        scoring.extend(crate::scoring::rescore::ScoringRule::of(workflow, &schema));
                    }
                    // Compiled once above, for both the flip day and the score.
                    let compiled = scoring.last().filter(|rule| rule.id == workflow.id);
                    let pinned = PinnedWorkflow {
                        id: &workflow.id,
                        version: workflow.version,
                        definition: &workflow.definition,
                        scoring: compiled,
                    };
                    match upkeep
                        .refresh(tenant, &settings, pinned, record_id, current.as_ref())
                        .await?
                    {
                        UpkeepOutcome::Armed => handled.entries_armed += 1,
                        UpkeepOutcome::Disarmed => handled.entries_disarmed += 1,
                        UpkeepOutcome::Unchanged => {}
                    }
                }
                WorkflowKind::Work => {
                    let Some(record) = current.as_ref() else {
                        continue;
                    };
                    let Trigger::RecordEvent(trigger) = &workflow.definition.trigger else {
                        continue;
                    };
                    if origin.is_some_and(|o| o.workflow == workflow.id) {
                        // A workflow never runs on its own write.
                        handled.own_writes_ignored += 1;
                        continue;
                    }
                    let names_a_written_field = written.iter().any(|field| {
                        trigger.watched_fields.contains(field)
                            || workflow
                                .definition
                                .condition
                                .clauses()
                                .any(|c| c.field == **field)
                    });
                    if by_scoring && !names_a_written_field {
                        handled.score_writes_passed_over += 1;
                        continue;
                    }
                    let record_change = match previous.as_ref() {
                        Some(old) => RecordChange::Updated { old, new: record },
                        None => RecordChange::Created(record),
                    };
                    if !trigger.listens_to(&record_change) {
                        continue;
                    }
                    let Ok(condition) = workflow.definition.compile_condition(&schema) else {
                        continue;
                    };
                    let tz = fire_zone(record, &settings);
                    let ctx = EvalContext {
                        now,
                        tz,
                        previous: previous.as_ref(),
                    };
                    let matched = condition.matches(record, &ctx);
                    let last_run = if matched {
                        self.schedule
                            .last_run(tenant, &workflow.id, record_id)
                            .await?
                    } else {
                        None
                    };
                    if trigger.decide(&record_change, matched, last_run, now) != EventDecision::Fire
                    {
                        continue;
                    }
                    let depth = origin.map_or(0, |o| o.depth);
                    let jobs: Vec<ActionJob> = workflow
                        .definition
                        .actions
                        .iter()
                        .map(|action| ActionJob {
                            depth,
                            tenant: tenant.clone(),
                            workflow: workflow.id.clone(),
                            version: workflow.version,
                            record: record_id.clone(),
                            cause: format!("E{event_id}"),
                            action: action.id().clone(),
                            due_at: now,
                            snapshot: action
                                .is_external_send()
                                .then(|| change.current().fields.clone()),
                        })
                        .collect();
                    if let Some(origin) = origin.filter(|o| !o.chain_may_go_on()) {
                        self.stop_chain(workflow, &jobs, origin).await?;
                        handled.chains_stopped += 1;
                        continue;
                    }
                    let outbox = Outbox {
                        tenant: tenant.clone(),
                        workflow: workflow.id.clone(),
                        record: record_id.clone(),
                        cause: format!("E{event_id}"),
                        jobs,
                        retry_after: now + Duration::seconds(60),
                    };
                    if self.schedule.claim_event(&outbox, event_id, now).await?
                        == ClaimOutcome::LostRace
                    {
                        handled.redeliveries_ignored += 1;
                        continue;
                    }
                    self.publisher.publish(&outbox.jobs).await?;
                    self.schedule.clear_outbox(&outbox).await?;
                    handled.work_workflows_fired += 1;
                    handled.jobs_published += outbox.jobs.len() as u32;
                }
            }
        }
        let chain_ended = origin.is_some_and(|o| !o.chain_may_go_on());
        if chain_ended && !scoring.is_empty() {
            // A backstop: rules never read each other's scores in a circle (refused when
            // activated), but a chain with work workflows ends here too.
            tracing::warn!(record = %record_id, "not scored: the change ended a chain of automation writes");
        }
        if current.is_some() && !scoring.is_empty() && !chain_ended {
            // Read again rather than scored from the image: a later change may be on its way,
            // and the score written must be the record's as it is now.
            let rescorer = crate::scoring::rescore::Rescorer {
                records: self.records,
            };
            let depth = origin.map_or(0, |o| o.depth).saturating_add(1);
            let outcome = rescorer
                .rescore(
                    tenant, &settings, &schema, &scoring, record_id, None, now, depth,
                )
                .await?;
            handled.records_scored += 1;
            if matches!(outcome, crate::scoring::rescore::Rescored::Written(_)) {
                handled.scores_written += 1;
            }
        }
        Ok(handled)
    }

    /// Records, for each job the chain would have set off, a failed run saying why it stopped.
    async fn stop_chain(
        &self,
        workflow: &Workflow,
        jobs: &[ActionJob],
        origin: &AutomationWrite,
    ) -> Result<(), StoreError> {
        let now = self.clock.now();
        let reason = format!(
            "not run: the change was made by workflow '{}' at the end of a chain of {MAX_CHAIN_DEPTH} \
             automation writes in a row, where chains stop so that workflows cannot set each other \
             off forever",
            origin.workflow
        );
        tracing::warn!(stopped = %workflow.id, by = %origin.workflow, depth = origin.depth, "chain of automation writes stopped");
        for job in jobs {
            let kind = workflow
                .definition
                .actions
                .iter()
                .find(|a| a.id() == &job.action)
                .map_or("unknown", |a| a.kind_name());
            let mut run = RunRecord::start(job, kind, now);
            run.status = RunStatus::Failed;
            run.error = Some(reason.clone());
            self.runs.record(&run).await?;
        }
        Ok(())
    }
}
