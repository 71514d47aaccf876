//! What the scan does with one due entry, decided before anything is written: fire it (with its
//! jobs), disarm or forget it, or hold it as a failure. Workflows and tenant settings are read
//! once per scan and shared by the shards scanned at once.

use chrono::{DateTime, Utc};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{ScanError, Scanner};
use crate::action::Action;
use crate::condition::{CompiledCondition, EvalContext};
use crate::ids::{ActionId, TenantId, WorkflowId};
use crate::record::stored::StoredRecord;
use crate::schedule::ports::{Maintenance, ScheduleEntry};
use crate::schedule::{ActionJob, fire_zone, next_to_arm, publish, snapshot};
use crate::settings::TenantSettings;
use crate::store::StoreError;
use crate::trigger::{Anchor, Disposition, Occurrence, OccurrenceKey, Trigger};
use crate::workflow::{WorkflowDefinition, WorkflowStatus};

/// A workflow version as the scan needs it.
pub(super) struct Loaded {
    active: bool,
    pub(super) definition: WorkflowDefinition,
    condition: CompiledCondition,
}

/// What a workflow version is to the scan: gone, loaded, or unusable for a reason.
type Version = Result<Option<Arc<Loaded>>, String>;

/// The fields a send's job carries, per (tenant, workflow, version, action); `None`: all.
type SnapshotFields = Option<Arc<BTreeSet<String>>>;

#[derive(Default)]
struct Cached {
    maintenance: Vec<Maintenance>,
    workflows: HashMap<(TenantId, WorkflowId, u32), Version>,
    tenants: HashMap<TenantId, Arc<Tenant>>,
    /// Tenants whose settings could not be read, with why: read once per scan.
    unreadable_tenants: HashMap<TenantId, String>,
    snapshots: HashMap<(TenantId, WorkflowId, u32, ActionId), SnapshotFields>,
    workflow_reads: u64,
    template_reads: u64,
}

/// A tenant's settings and the schema they make, built once per scan (not once per entry).
pub(crate) struct Tenant {
    pub(crate) settings: TenantSettings,
    pub(crate) schema: crate::schema::Schema,
}

/// What one scan reads once, shared by its shards. Loads wait for each other (`loading`), so
/// that shards starting at once read a tenant's settings or a workflow once, not once each.
#[derive(Default)]
pub(crate) struct Caches {
    cached: Mutex<Cached>,
    loading: futures_util::lock::Mutex<()>,
}

impl Caches {
    fn lock(&self) -> MutexGuard<'_, Cached> {
        self.cached.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn push_maintenance(&self, request: Maintenance) {
        self.lock().maintenance.push(request);
    }

    pub(super) fn take_maintenance(&self) -> Vec<Maintenance> {
        std::mem::take(&mut self.lock().maintenance)
    }

    pub(super) fn workflow_reads(&self) -> u64 {
        self.lock().workflow_reads
    }

    pub(super) fn template_reads(&self) -> u64 {
        self.lock().template_reads
    }
}

/// What an occurrence claim adds to the report when it wins.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Counted {
    pub(super) fired: u64,
    pub(super) condition_not_met: u64,
    pub(super) skipped_by_policy: u64,
    pub(super) too_late: u64,
}

/// The scan's decision for one entry.
pub(super) enum Plan {
    /// Publish `jobs`, then claim the occurrence `last` and arm `next`; `counted` is what the
    /// claim adds to the report when it wins.
    Fire {
        entry: ScheduleEntry,
        /// Each with its action's kind, for the run history.
        jobs: Vec<(ActionJob, &'static str)>,
        next: Option<Occurrence>,
        last: OccurrenceKey,
        counted: Counted,
    },
    /// The record is gone: the entry goes too.
    Forget(ScheduleEntry),
    /// The workflow is deleted or inactive: the entry stays, unarmed.
    Disarm(ScheduleEntry),
    /// The entry cannot be handled now; `jobs` (when known) show the failure in the run history.
    Fail {
        entry: ScheduleEntry,
        jobs: Vec<(ActionJob, &'static str)>,
        reason: String,
    },
    Nothing,
}

impl Plan {
    pub(super) fn fail(entry: ScheduleEntry, reason: String) -> Plan {
        Plan::Fail {
            entry,
            jobs: Vec::new(),
            reason,
        }
    }

    pub(super) fn jobs(&self) -> impl Iterator<Item = &ActionJob> {
        let jobs: &[(ActionJob, &'static str)] = match self {
            Plan::Fire { jobs, .. } => jobs,
            _ => &[],
        };
        jobs.iter().map(|(job, _)| job)
    }

    /// The bus refused some of the plan's jobs (by position, with why): the entry is held
    /// instead of claimed, and only those jobs get a failed run (the others are on the bus; the
    /// next attempt publishes them again under the same keys, which the executor runs once).
    pub(super) fn refuse(&mut self, refused: Vec<(usize, String)>) {
        let Plan::Fire { entry, jobs, .. } = self else {
            return;
        };
        let reason = refused
            .iter()
            .map(|(_, why)| why.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        let failed = refused
            .iter()
            .filter_map(|(position, _)| jobs.get(*position).cloned())
            .collect();
        *self = Plan::Fail {
            entry: entry.clone(),
            jobs: failed,
            reason,
        };
    }
}

impl Scanner<'_> {
    pub(crate) async fn tenant(
        &self,
        tenant: &TenantId,
        caches: &Caches,
    ) -> Result<Arc<Tenant>, ScanError> {
        if let Some(known) = caches.lock().tenants.get(tenant) {
            return Ok(known.clone());
        }
        let _loading = caches.loading.lock().await;
        if let Some(known) = caches.lock().tenants.get(tenant) {
            return Ok(known.clone());
        }
        if let Some(why) = caches.lock().unreadable_tenants.get(tenant) {
            return Err(StoreError::Corrupt(why.clone()).into());
        }
        let settings = match self.settings.tenant_settings(tenant).await {
            Ok(settings) => settings.value,
            Err(StoreError::Corrupt(why)) => {
                caches
                    .lock()
                    .unreadable_tenants
                    .insert(tenant.clone(), why.clone());
                return Err(StoreError::Corrupt(why).into());
            }
            Err(error) => return Err(error.into()),
        };
        let schema = settings.schema();
        let known = Arc::new(Tenant { settings, schema });
        caches.lock().tenants.insert(tenant.clone(), known.clone());
        Ok(known)
    }

    async fn workflow(
        &self,
        entry: &ScheduleEntry,
        schema: &crate::schema::Schema,
        caches: &Caches,
    ) -> Result<Version, ScanError> {
        let key = (entry.tenant.clone(), entry.workflow.clone(), entry.version);
        if let Some(version) = caches.lock().workflows.get(&key) {
            return Ok(version.clone());
        }
        let _loading = caches.loading.lock().await;
        if let Some(version) = caches.lock().workflows.get(&key) {
            return Ok(version.clone());
        }
        let mut reads = 1;
        let head = match self.workflows.get(&entry.tenant, &entry.workflow).await {
            Ok(head) => head,
            Err(StoreError::Corrupt(why)) => {
                return Ok(self.remember(caches, key, reads, Err(unreadable(entry, &why))));
            }
            Err(error) => return Err(error.into()),
        };
        let version = match head {
            None => Ok(None),
            Some(head) => {
                let definition = if head.value.version == entry.version {
                    Ok(Some(head.value.definition.clone()))
                } else {
                    // A second read: the entry is pinned to an earlier version.
                    reads += 1;
                    match self
                        .workflows
                        .get_version(&entry.tenant, &entry.workflow, entry.version)
                        .await
                    {
                        Ok(definition) => Ok(definition),
                        Err(StoreError::Corrupt(why)) => Err(unreadable(entry, &why)),
                        Err(error) => return Err(error.into()),
                    }
                };
                definition.and_then(|definition| match definition {
                    None => Ok(None),
                    Some(definition) => match definition.compile_condition(schema) {
                        Ok(condition) => Ok(Some(Arc::new(Loaded {
                            active: head.value.status == WorkflowStatus::Active,
                            definition,
                            condition,
                        }))),
                        Err(problems) => Err(format!(
                            "the condition of version {} no longer compiles against the tenant's fields: {}",
                            entry.version,
                            problems
                                .iter()
                                .map(|p| format!("{}: {}", p.path, p.message))
                                .collect::<Vec<_>>()
                                .join("; ")
                        )),
                    },
                })
            }
        };
        Ok(self.remember(caches, key, reads, version))
    }

    /// The fields a send's job carries (read once per scan and action).
    async fn snapshot_fields(
        &self,
        entry: &ScheduleEntry,
        action: &Action,
        schema: &crate::schema::Schema,
        module: &crate::schema::ModuleSchema,
        caches: &Caches,
    ) -> Result<SnapshotFields, ScanError> {
        let key = (
            entry.tenant.clone(),
            entry.workflow.clone(),
            entry.version,
            action.id().clone(),
        );
        if let Some(known) = caches.lock().snapshots.get(&key) {
            return Ok(known.clone());
        }
        let _loading = caches.loading.lock().await;
        if let Some(known) = caches.lock().snapshots.get(&key) {
            return Ok(known.clone());
        }
        let template = match snapshot::template_of(action) {
            Some((kind, id)) => {
                caches.lock().template_reads += 1;
                match self.settings.get(&entry.tenant, kind, id).await {
                    Ok(found) => found.map(|setting| setting.value),
                    // Unreadable here, the executor says so; the job carries every field.
                    Err(StoreError::Corrupt(_)) => None,
                    Err(error) => return Err(error.into()),
                }
            }
            None => None,
        };
        let fields = snapshot::fields_read(action, template.as_ref(), schema, module).map(Arc::new);
        caches.lock().snapshots.insert(key, fields.clone());
        Ok(fields)
    }

    fn remember(
        &self,
        caches: &Caches,
        key: (TenantId, WorkflowId, u32),
        reads: u64,
        version: Version,
    ) -> Version {
        let mut cached = caches.lock();
        cached.workflow_reads += reads;
        cached.workflows.insert(key, version.clone());
        version
    }

    /// The decision for one due entry, given its record (`None`: the record is gone).
    pub(super) async fn plan(
        &self,
        entry: ScheduleEntry,
        stored: Option<&StoredRecord>,
        now: DateTime<Utc>,
        caches: &Caches,
    ) -> Result<Plan, ScanError> {
        let Some(stored) = stored else {
            return Ok(Plan::Forget(entry));
        };
        let Some(due) = entry.next.clone() else {
            return Ok(Plan::Nothing);
        };
        let known = match self.tenant(&entry.tenant, caches).await {
            Ok(known) => known,
            Err(ScanError::Store(StoreError::Corrupt(why))) => {
                let reason = format!("the tenant's settings cannot be read: {why}");
                return Ok(Plan::fail(entry, reason));
            }
            Err(error) => return Err(error),
        };
        let (tenant, schema) = (&known.settings, &known.schema);
        let record = stored.typed(schema);
        let loaded = match self.workflow(&entry, schema, caches).await? {
            Ok(Some(loaded)) if loaded.active => loaded,
            // A request in flight keeps its timers whatever became of its definition since.
            Ok(Some(loaded)) if matches!(loaded.definition.trigger, Trigger::Approval(_)) => loaded,
            // Deleted or deactivated: disarm, so it is never read again.
            Ok(_) => return Ok(Plan::Disarm(entry)),
            Err(reason) => return Ok(Plan::fail(entry, reason)),
        };
        if let Trigger::Approval(_) = &loaded.definition.trigger {
            // A step's reminder or deadline: the executor moves the request on; its change
            // arms the next timer.
            let job = crate::approval::followups::timer_job(&entry, &due);
            return Ok(Plan::Fire {
                entry,
                jobs: vec![(job, crate::approval::TIMER_KIND)],
                next: None,
                last: due.key,
                counted: Counted {
                    fired: 1,
                    ..Counted::default()
                },
            });
        }
        if let Trigger::Score(_) = &loaded.definition.trigger {
            // A criterion flipped today: the executor scores the record again (and shows it in
            // the run history); the entry moves on to the next flip.
            let job = ActionJob {
                depth: 0,
                tenant: entry.tenant.clone(),
                workflow: entry.workflow.clone(),
                version: entry.version,
                record: entry.record.clone(),
                cause: due.key.to_string(),
                action: crate::scoring::rescore_action(),
                due_at: due.fire_at,
                snapshot: None,
            };
            let rule = crate::scoring::rescore::ScoringRule::at(
                &entry.workflow,
                entry.version,
                &loaded.definition,
                schema,
            );
            let next = rule.and_then(|rule| rule.next_rescore(&record, tenant, now));
            return Ok(Plan::Fire {
                entry,
                jobs: vec![(job, crate::scoring::RESCORE_KIND)],
                next,
                last: due.key,
                counted: Counted {
                    fired: 1,
                    ..Counted::default()
                },
            });
        }
        let Trigger::Time(trigger) = &loaded.definition.trigger else {
            return Ok(Plan::Nothing);
        };

        // The occurrence the entry names, plus any later ones an outage let pass.
        let tz = fire_zone(&record, tenant);
        let feb29 = trigger.feb29.unwrap_or(tenant.feb29_default);
        let mut occurrences = vec![due.clone()];
        if let Some(anchor) = Anchor::of(&record, &trigger.date_field, tz) {
            occurrences.extend(trigger.occurrences_between(anchor, tz, feb29, due.fire_at, now));
        }
        let fates = trigger
            .catch_up
            .dispose(&occurrences, now, self.on_time_grace);
        let matches = loaded.condition.matches(
            &record,
            &EvalContext {
                now,
                tz,
                previous: None,
            },
        );

        // Tallied into the report only if this scan wins the claim.
        let mut counted = Counted::default();
        let mut jobs = Vec::new();
        let mut carried = Vec::new();
        if matches && fates.contains(&Disposition::Fire) {
            let module = schema.module(loaded.definition.module);
            for action in loaded
                .definition
                .actions
                .iter()
                .filter(|a| a.is_external_send())
            {
                let fields = self
                    .snapshot_fields(&entry, action, schema, module, caches)
                    .await?;
                carried.push((action.id().clone(), fields));
            }
        }
        for (occurrence, fate) in occurrences.iter().zip(&fates) {
            match fate {
                Disposition::Fire if matches => {
                    jobs.extend(jobs_for(
                        &entry,
                        &loaded.definition,
                        occurrence,
                        stored,
                        &carried,
                    ));
                    counted.fired += 1;
                }
                Disposition::Fire => counted.condition_not_met += 1,
                Disposition::Skipped => counted.skipped_by_policy += 1,
                Disposition::TooLate => counted.too_late += 1,
            }
        }
        let last = occurrences.last().map(|o| o.key.clone()).unwrap_or(due.key);
        let next = next_to_arm(trigger, &record, tenant, now, Some(&last));
        Ok(Plan::Fire {
            entry,
            jobs,
            next,
            last,
            counted,
        })
    }
}

fn unreadable(entry: &ScheduleEntry, why: &str) -> String {
    format!(
        "workflow '{}' version {} cannot be read: {why}",
        entry.workflow, entry.version
    )
}

/// One job per action of the workflow for one occurrence, each small enough for the bus; a
/// send carries the fields it reads (`carried`, by action; all when unknown).
fn jobs_for(
    entry: &ScheduleEntry,
    definition: &WorkflowDefinition,
    occurrence: &Occurrence,
    record: &StoredRecord,
    carried: &[(ActionId, SnapshotFields)],
) -> Vec<(ActionJob, &'static str)> {
    definition
        .actions
        .iter()
        .map(|action| {
            let mut job = ActionJob {
                depth: 0,
                tenant: entry.tenant.clone(),
                workflow: entry.workflow.clone(),
                version: entry.version,
                record: entry.record.clone(),
                cause: occurrence.key.to_string(),
                action: action.id().clone(),
                due_at: occurrence.fire_at,
                // Sends need the record as it was when the condition held; effects read it
                // again.
                snapshot: action.is_external_send().then(|| {
                    let fields = carried
                        .iter()
                        .find(|(id, _)| id == action.id())
                        .and_then(|(_, fields)| fields.as_ref());
                    match fields {
                        Some(fields) => record
                            .fields
                            .iter()
                            .filter(|(name, _)| fields.contains(name.as_str()))
                            .map(|(name, value)| (name.clone(), value.clone()))
                            .collect(),
                        None => record.fields.clone(),
                    }
                }),
            };
            // A snapshot too large for the bus is left out: the executor then reads the record.
            // A job too large even so is refused by the batching, and its entry held.
            publish::fit(&mut job);
            (job, action.kind_name())
        })
        .collect()
}
