//! The action executor: one action job at a time, its effect exactly once. DynamoDB effects
//! (tasks, notifications, field updates) commit in one transaction with the run; external sends
//! (SMS, email) claim the run first and record the provider's id after, and a run found
//! half-done follows the workflow's guarantee (at most once: shown as unknown; at least once:
//! sent again).

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};

use crate::action::{Action, SettingKind};
use crate::clock::Clock;
use crate::ids::{RecordId, SettingId, TenantId, UserId, WorkflowId};
use crate::record::store::RecordStore;
use crate::record::stored::StoredRecord;
use crate::record::{FieldValue, Record};
use crate::run::ledger::RunLedger;
use crate::run::providers::{EmailSender, SmsSender, ZnsSender};
use crate::run::{RunRecord, RunStatus};
use crate::schedule::{ActionJob, fire_zone};
use crate::schema::Schema;
use crate::settings::store::SettingsStore;
use crate::settings::{Setting, TenantSettings};
use crate::store::{ClaimOutcome, StoreError};
use crate::template::{Escape, LoadedNames, MergeTemplate, RenderContext};
use crate::user::directory::UserDirectory;
use crate::workflow::WorkflowDefinition;
use crate::workflow::store::WorkflowStore;

/// How long a delivery may work on an external send before another may take over.
const SEND_LEASE_SECONDS: i64 = 120;

/// What became of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    Succeeded(Vec<String>),
    /// Already done by an earlier delivery: nothing happened now.
    Duplicate,
    /// Failed for good (invalid address, missing recipient, deleted record); not retried.
    Failed(String),
    /// A half-done send under the at-most-once guarantee: left for review.
    Unknown,
    /// Not carried out: the workflow was switched off before the job ran.
    Cancelled(String),
}

/// A failure worth retrying the whole job for (the queue redelivers it).
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError {
    #[error("storage failed")]
    Store(#[from] StoreError),
    #[error("provider temporarily unavailable: {0}")]
    Provider(String),
    #[error("another delivery is working on this job")]
    Busy,
    #[error("the batch ran out of time before this job started")]
    OutOfTime,
}

/// What an executor keeps between jobs in one sandbox, so that a warm executor reads only the
/// record and its ledger per job: workflow versions (immutable once active), tenant settings and
/// the settings actions name, each for at most [`CACHE_SECONDS`].
#[derive(Default)]
pub struct ExecutorCache {
    definitions: Cached<(TenantId, WorkflowId, u32), WorkflowDefinition>,
    tenants: Cached<TenantId, TenantSettings>,
    settings: Cached<(TenantId, SettingKind, SettingId), Option<Setting>>,
    /// Users merge fields name, found or not.
    users: Cached<(TenantId, UserId), Option<crate::user::User>>,
    /// Each workflow's head as last read, for the kill switch ([`switch::SWITCH_SECONDS`]).
    heads: Cached<(TenantId, WorkflowId), Option<crate::workflow::Workflow>>,
}

/// Values with the instant they were read.
type Cached<K, V> = std::sync::Mutex<std::collections::HashMap<K, (DateTime<Utc>, V)>>;

/// How long a cached setting may be used before it is read again.
pub const CACHE_SECONDS: i64 = 60;

fn fresh<K: std::hash::Hash + Eq, V: Clone>(
    map: &Cached<K, V>,
    key: &K,
    now: DateTime<Utc>,
) -> Option<V> {
    fresh_within(map, key, now, CACHE_SECONDS)
}

fn fresh_within<K: std::hash::Hash + Eq, V: Clone>(
    map: &Cached<K, V>,
    key: &K,
    now: DateTime<Utc>,
    seconds: i64,
) -> Option<V> {
    let map = map.lock().ok()?;
    map.get(key)
        .filter(|(at, _)| now - *at < Duration::seconds(seconds))
        .map(|(_, v)| v.clone())
}

fn remember<K: std::hash::Hash + Eq, V>(map: &Cached<K, V>, key: K, now: DateTime<Utc>, value: V) {
    if let Ok(mut map) = map.lock() {
        map.insert(key, (now, value));
    }
}

pub struct Executor<'a> {
    pub workflows: &'a dyn WorkflowStore,
    pub records: &'a dyn RecordStore,
    pub settings: &'a dyn SettingsStore,
    pub users: &'a dyn UserDirectory,
    pub ledger: &'a dyn RunLedger,
    pub sms: &'a dyn SmsSender,
    pub zns: &'a dyn ZnsSender,
    pub email: &'a dyn EmailSender,
    pub printer: &'a dyn crate::run::providers::DocumentPrinter,
    /// Where a task's printed attachment is kept.
    pub attachments: &'a dyn crate::record::attachments::AttachmentStore,
    pub task_sync: &'a dyn crate::run::providers::TaskSync,
    /// Provider credentials, read under the job's tenant only.
    pub secrets: &'a dyn crate::settings::secrets::SecretVault,
    pub clock: &'a dyn Clock,
    pub cache: &'a ExecutorCache,
    /// Approval requests: their timers and the approvers' emails.
    pub approvals: &'a dyn crate::approval::store::ApprovalStore,
    /// Where decision links point: the records API's base URL.
    pub links_base: &'a str,
    /// When the batch must be done (the function's timeout less a margin): no provider call
    /// starts that could end after it; the job waits for its next delivery instead.
    pub deadline: Option<DateTime<Utc>>,
}

/// Everything one job's action needs, loaded once.
#[derive(Clone)]
struct Context {
    definition: WorkflowDefinition,
    action: Action,
    stored: StoredRecord,
    revision: u64,
    record: Record,
    schema: Schema,
    tz: chrono_tz::Tz,
    /// The regions SMS and ZNS may go to (the tenant's `message_countries`).
    message_countries: Vec<String>,
    now: DateTime<Utc>,
    /// The users and records the action's merge fields name.
    names: std::sync::Arc<LoadedNames>,
}

impl Context {
    fn render(&self, text: &str, escape: Escape) -> String {
        let module = self.schema.module(self.definition.module);
        match MergeTemplate::parse(text, &self.schema, self.definition.module) {
            Ok(template) => template.render(
                module,
                &self.record,
                &RenderContext {
                    tz: self.tz,
                    names: self.names.as_ref(),
                    escape,
                },
            ),
            Err(_) => text.to_owned(),
        }
    }

    fn owner(&self) -> Option<UserId> {
        self.record
            .get("Owner")
            .and_then(FieldValue::as_text)
            .and_then(|u| UserId::new(u).ok())
    }

    /// A local day `days` ahead at `time` (the action's time of day), else now plus the days.
    fn due(&self, days: u32, time: Option<NaiveTime>) -> DateTime<Utc> {
        let base = self.now + Duration::days(i64::from(days));
        match time {
            Some(time) => {
                let local = base.with_timezone(&self.tz).date_naive().and_time(time);
                self.tz
                    .from_local_datetime(&local)
                    .earliest()
                    .map_or(base, |t| t.with_timezone(&Utc))
            }
            None => base,
        }
    }
}

mod approvals;
mod batch;
mod care_cards;
mod credentials;
mod dead_letters;
mod effects;
mod names;
mod print;
mod rescore;
mod sends;
mod switch;
mod task_sync;

pub use sends::PROVIDER_CALL_SECONDS;
pub use switch::SWITCH_SECONDS;

/// `prefix-<FNV-1a of the bytes>`: the ids below, stable across deliveries.
fn hashed_id(prefix: &str, bytes: impl Iterator<Item = u8>) -> RecordId {
    let hash = crate::ids::stable_hash(bytes);
    RecordId::new(format!("{prefix}-{hash:016x}"))
        .unwrap_or_else(|_| RecordId::new("invalid").expect("literal id"))
}

/// An id for one recipient of a job, from the recipient itself (not its position): a redelivery
/// whose recipient list changed meanwhile (a number edited, a country allowed) still gives each
/// number the id it had, so a gateway drops exactly the repeats.
fn recipient_id(prefix: &str, key: &str, recipient: &str) -> RecordId {
    hashed_id(prefix, key.bytes().chain([0]).chain(recipient.bytes()))
}

/// A stable id for what a job creates, so that even a replayed effect names the same item.
fn derived_id(prefix: &str, key: &str, n: usize) -> RecordId {
    hashed_id(prefix, key.bytes().chain(n.to_le_bytes()))
}

impl Executor<'_> {
    pub async fn execute(&self, job: &ActionJob) -> Result<JobOutcome, ExecuteError> {
        if job.is_message() {
            return self.send_message(job).await;
        }
        let key = job.idempotency_key();
        if let Some(switched_off) = self.switched_off(job).await? {
            return self.cancel(job, switched_off).await;
        }
        let head = self.head(&job.tenant, &job.workflow).await?;
        match head.map(|h| h.kind) {
            Some(crate::workflow::WorkflowKind::Scoring) => return self.rescore(job).await,
            Some(crate::workflow::WorkflowKind::Approval) => {
                if let Some(outcome) = self.approval_job(job).await {
                    return outcome;
                }
            }
            _ => {}
        }
        let context = match self.load(job).await? {
            Ok(context) => context,
            Err(reason) => return self.fail(job, "unknown", reason, Vec::new()).await,
        };
        if context.action.is_external_send() {
            return self.send(job, &context).await;
        }
        // A task synced to an external app: the sync runs after the task's commit, as a send of
        // its own, also for a redelivery (the delivery that committed may have stopped before it).
        let sync = match &context.action {
            Action::Task(task) => task
                .external_sync
                .clone()
                .map(|sync| (task.clone(), sync, context.clone())),
            _ => None,
        };
        let previous = self.ledger.get(&job.tenant, &key).await?;
        if previous.as_ref().is_some_and(|done| done.status.is_final()) {
            if let Some((task, sync, context)) = &sync {
                self.sync_task(job, context, task, sync).await?;
            }
            return Ok(JobOutcome::Duplicate);
        }
        // A retry an administrator asked for counts as the next attempt.
        let attempts = previous
            .as_ref()
            .filter(|p| p.status == RunStatus::Retrying)
            .map_or(1, |p| p.attempts + 1);
        let kind = context.action.kind_name();
        let outcome = match &context.action {
            Action::Notification(_)
            | Action::Task(_)
            | Action::UpdateFields(_)
            | Action::Handover(_)
            | Action::CareCard(_) => {
                // A conflict means a record or a round-robin counter moved under us: reload and
                // compute the effects again, a few times, before leaving it to redelivery.
                let mut context = context;
                let mut attempt = 0;
                loop {
                    let (effects, output) = match self.effects(job, &context).await? {
                        Ok(planned) => planned,
                        Err(reason) => return self.fail(job, kind, reason, Vec::new()).await,
                    };
                    // Every record an action writes fits the record limit, as a person's must.
                    let too_big = effects.iter().find_map(|effect| match effect {
                        crate::run::Effect::Create(record)
                        | crate::run::Effect::Replace { record, .. } => {
                            crate::record::limits::record_problem(&record.fields)
                        }
                        _ => None,
                    });
                    if let Some(problem) = too_big {
                        return self.fail(job, kind, problem, Vec::new()).await;
                    }
                    let mut run = RunRecord::start(job, kind, context.now);
                    run.attempts = attempts;
                    run.status = RunStatus::Succeeded;
                    run.output = output.clone();
                    match self.ledger.commit(&run, &effects).await {
                        Ok(ClaimOutcome::Claimed) => break JobOutcome::Succeeded(output),
                        Ok(ClaimOutcome::LostRace) => break JobOutcome::Duplicate,
                        Err(StoreError::Conflict { .. }) if attempt < 5 => {
                            attempt += 1;
                            context = match self.load(job).await? {
                                Ok(context) => context,
                                Err(reason) => {
                                    return self.fail(job, kind, reason, Vec::new()).await;
                                }
                            };
                        }
                        Err(error) => return Err(error.into()),
                    }
                }
            }
            Action::Sms(_) | Action::Email(_) | Action::Zns(_) => {
                return self.send(job, &context).await;
            }
        };
        if let Some((task, sync, context)) = &sync {
            if matches!(outcome, JobOutcome::Succeeded(_) | JobOutcome::Duplicate) {
                self.sync_task(job, context, task, sync).await?;
            }
        }
        Ok(outcome)
    }

    /// Loads the pinned workflow version, its action and the record; `Err` is a permanent reason.
    /// The workflow version a job is pinned to, cached: a version's definition does not change
    /// once the workflow has been active.
    async fn definition(
        &self,
        job: &ActionJob,
        now: DateTime<Utc>,
    ) -> Result<Result<WorkflowDefinition, String>, ExecuteError> {
        let key = (job.tenant.clone(), job.workflow.clone(), job.version);
        if let Some(definition) = fresh(&self.cache.definitions, &key, now) {
            return Ok(Ok(definition));
        }
        let Some(head) = self.head(&job.tenant, &job.workflow).await? else {
            return Ok(Err("the workflow no longer exists".into()));
        };
        let definition = if head.version == job.version {
            head.definition
        } else {
            match self
                .workflows
                .get_version(&job.tenant, &job.workflow, job.version)
                .await?
            {
                Some(definition) => definition,
                None => {
                    return Ok(Err(format!(
                        "version {} of the workflow no longer exists",
                        job.version
                    )));
                }
            }
        };
        remember(&self.cache.definitions, key, now, definition.clone());
        Ok(Ok(definition))
    }

    async fn tenant_settings(
        &self,
        tenant: &TenantId,
        now: DateTime<Utc>,
    ) -> Result<TenantSettings, ExecuteError> {
        if let Some(settings) = fresh(&self.cache.tenants, tenant, now) {
            return Ok(settings);
        }
        let settings = self.settings.tenant_settings(tenant).await?.value;
        remember(&self.cache.tenants, tenant.clone(), now, settings.clone());
        Ok(settings)
    }

    /// A setting an action names, cached for [`CACHE_SECONDS`].
    async fn setting(
        &self,
        tenant: &TenantId,
        kind: SettingKind,
        id: &SettingId,
    ) -> Result<Option<Setting>, ExecuteError> {
        let now = self.clock.now();
        let key = (tenant.clone(), kind, id.clone());
        if let Some(found) = fresh(&self.cache.settings, &key, now) {
            return Ok(found);
        }
        let found = self.settings.get(tenant, kind, id).await?.map(|s| s.value);
        remember(&self.cache.settings, key, now, found.clone());
        Ok(found)
    }

    /// Loads the pinned workflow version, its action and the record; `Err` is a permanent reason.
    async fn load(&self, job: &ActionJob) -> Result<Result<Context, String>, ExecuteError> {
        let now = self.clock.now();
        let definition = match self.definition(job, now).await? {
            Ok(definition) => definition,
            Err(reason) => return Ok(Err(reason)),
        };
        let Some(action) = definition
            .actions
            .iter()
            .find(|a| a.id() == &job.action)
            .cloned()
        else {
            return Ok(Err(format!("the workflow has no action '{}'", job.action)));
        };
        // A send reads the record as the job saw it; effects read it now, for its revision.
        let stored = match (&job.snapshot, action.is_external_send()) {
            (Some(fields), true) => crate::store::Revisioned {
                value: StoredRecord {
                    id: job.record.clone(),
                    module: definition.module,
                    fields: fields.clone(),
                },
                revision: 0,
            },
            _ => match self.records.get(&job.tenant, &job.record).await? {
                Some(stored) => stored,
                None => return Ok(Err("the record no longer exists".into())),
            },
        };
        let tenant = self.tenant_settings(&job.tenant, now).await?;
        let schema = tenant.schema();
        let record = stored.value.typed(&schema);
        let tz = fire_zone(&record, &tenant);
        let names = self
            .names(
                &job.tenant,
                &action,
                &schema,
                definition.module,
                &record,
                now,
            )
            .await?;
        Ok(Ok(Context {
            definition,
            action,
            revision: stored.revision,
            stored: stored.value,
            record,
            schema,
            tz,
            message_countries: tenant.message_countries,
            now: self.clock.now(),
            names: std::sync::Arc::new(names),
        }))
    }
}
