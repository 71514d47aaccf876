//! The action executor: one action job at a time, its effect exactly once. DynamoDB effects
//! (tasks, notifications, field updates) commit in one transaction with the run; external sends
//! (SMS, email) claim the run first and record the provider's id after, and a run found
//! half-done follows the workflow's guarantee (at most once: shown as unknown; at least once:
//! sent again).

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use serde_json::{Map, Value};

use crate::action::{Action, AssignedValue, Assignee, FieldPath, SettingKind};
use crate::ids::{RecordId, SettingId, TenantId, UserId, WorkflowId};
use crate::phone::normalize_vn;
use crate::ports::{
    ClaimOutcome, Clock, Email, EmailSender, RecordStore, RunLedger, SendError, SettingsStore,
    SmsSender, StoreError, StoredRecord, UserDirectory, WorkflowStore, ZnsSender, lease,
};
use crate::record::{FieldValue, Record};
use crate::run::{Effect, Notification, RunRecord, RunStatus};
use crate::schedule::{ActionJob, fire_zone};
use crate::schema::{Module, Schema};
use crate::settings::{Setting, TenantSettings};
use crate::template::{Escape, MergeTemplate, NoNames, RenderContext};
use crate::workflow::{ExternalSendGuarantee, WorkflowDefinition};

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
}

/// What an executor keeps between jobs in one sandbox, so that a warm executor reads only the
/// record and its ledger per job: workflow versions (immutable once active), tenant settings and
/// the settings actions name, each for at most [`CACHE_SECONDS`].
#[derive(Default)]
pub struct ExecutorCache {
    definitions: Cached<(TenantId, WorkflowId, u32), WorkflowDefinition>,
    tenants: Cached<TenantId, TenantSettings>,
    settings: Cached<(TenantId, SettingKind, SettingId), Option<Setting>>,
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
    let map = map.lock().ok()?;
    map.get(key)
        .filter(|(at, _)| now - *at < Duration::seconds(CACHE_SECONDS))
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
    pub clock: &'a dyn Clock,
    pub cache: &'a ExecutorCache,
}

/// Everything one job's action needs, loaded once.
struct Context {
    definition: WorkflowDefinition,
    action: Action,
    stored: StoredRecord,
    revision: u64,
    record: Record,
    schema: Schema,
    tz: chrono_tz::Tz,
    now: DateTime<Utc>,
}

impl Context {
    fn render(&self, text: &str, escape: Escape) -> String {
        let module = self.schema.module(self.definition.module);
        match MergeTemplate::parse(text, module) {
            Ok(template) => template.render(
                module,
                &self.record,
                &RenderContext {
                    tz: self.tz,
                    names: &NoNames,
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

/// The care cards of an order: one for the order, or one per (chosen) product or product
/// category of its lines; each owned by a chosen user or the order's salesperson.
fn care_cards(
    key: &str,
    c: &Context,
    a: &crate::action::CareCardAction,
) -> Result<(Vec<Effect>, Vec<String>), String> {
    use crate::action::{CardOwner, CareCardBasis};
    if c.definition.module != Module::Order {
        return Err("care cards are created for orders only".into());
    }
    let owner = match &a.owner {
        CardOwner::User { user_id } => user_id.clone(),
        CardOwner::OrderSalesperson {} => match c
            .record
            .get("Salesperson")
            .and_then(FieldValue::as_text)
            .and_then(|u| UserId::new(u).ok())
        {
            Some(user) => user,
            None => return Err("the order has no salesperson to own its care cards".into()),
        },
    };
    let lines = c
        .record
        .get("Lines")
        .and_then(FieldValue::as_lines)
        .unwrap_or_default();
    let chosen = |only: &[String], value: &str| only.is_empty() || only.iter().any(|o| o == value);
    // (product, category) per card.
    let mut subjects: Vec<(Option<String>, Option<String>)> = Vec::new();
    match &a.based_on {
        CareCardBasis::Order {} => subjects.push((None, None)),
        CareCardBasis::Products { only } => {
            for line in lines.iter().filter(|l| chosen(only, &l.product)) {
                if !subjects
                    .iter()
                    .any(|(p, _)| p.as_deref() == Some(line.product.as_str()))
                {
                    subjects.push((Some(line.product.clone()), line.category.clone()));
                }
            }
        }
        CareCardBasis::ProductCategories { only } => {
            for category in lines
                .iter()
                .filter_map(|l| l.category.as_ref())
                .filter(|c| chosen(only, c))
            {
                if !subjects.iter().any(|(_, c)| c.as_ref() == Some(category)) {
                    subjects.push((None, Some(category.clone())));
                }
            }
        }
    }
    if subjects.is_empty() {
        return Err("the order has no line of the chosen products or categories".into());
    }
    let code = c
        .record
        .get("Code")
        .and_then(FieldValue::as_text)
        .unwrap_or_default()
        .to_owned();
    let customer = c
        .record
        .get("Customer")
        .and_then(FieldValue::as_text)
        .map(str::to_owned);
    let care_date = c
        .due(a.care_date.days_after, a.care_date.time_of_day)
        .with_timezone(&c.tz)
        .date_naive();
    let card_module = c.schema.module(Module::CareCard);
    let mut effects = Vec::new();
    let mut ids = Vec::new();
    for (i, (product, category)) in subjects.into_iter().enumerate() {
        let id = derived_id("card", key, i);
        let subject = product
            .clone()
            .or(category.clone())
            .map(|s| format!(" – {s}"))
            .unwrap_or_default();
        let mut fields = Map::new();
        fields.insert(
            "Title".into(),
            Value::String(format!("Chăm sóc đơn hàng {code}{subject}")),
        );
        fields.insert("Order".into(), Value::String(c.record.id.to_string()));
        if let Some(customer) = &customer {
            fields.insert("Customer".into(), Value::String(customer.clone()));
        }
        if let Some(product) = product {
            fields.insert("Product".into(), Value::String(product));
        }
        if let Some(category) = category {
            fields.insert("ProductCategory".into(), Value::String(category));
        }
        fields.insert("CareDate".into(), Value::String(care_date.to_string()));
        fields.insert("Layout".into(), Value::String(a.layout.clone()));
        fields.insert("Status".into(), Value::String("Open".into()));
        fields.insert("Owner".into(), Value::String(owner.to_string()));
        for assignment in &a.fields {
            let Some(def) = card_module.field(&assignment.field) else {
                continue;
            };
            match &assignment.value {
                AssignedValue::Literal { value } => {
                    fields.insert(def.name.clone(), value.clone());
                }
                AssignedValue::Merge { text } => {
                    fields.insert(
                        def.name.clone(),
                        Value::String(c.render(text, Escape::Plain)),
                    );
                }
                AssignedValue::Today { offset_days } => {
                    let day = c.now.with_timezone(&c.tz).date_naive()
                        + Duration::days(i64::from(*offset_days));
                    fields.insert(def.name.clone(), Value::String(day.to_string()));
                }
                AssignedValue::Clear {} => {
                    fields.remove(&def.name);
                }
            }
        }
        fields.insert("CreatedAt".into(), Value::String(c.now.to_rfc3339()));
        fields.insert("UpdatedAt".into(), Value::String(c.now.to_rfc3339()));
        ids.push(id.to_string());
        effects.push(Effect::Create(StoredRecord {
            id,
            module: Module::CareCard,
            fields,
        }));
    }
    if a.notify_owner {
        effects.push(Effect::Notify(Notification {
            id: derived_id("ntf", key, 0).to_string(),
            user: owner,
            message: format!("{} thẻ chăm sóc mới cho đơn hàng {code}", ids.len()),
            record: Some(c.record.id.clone()),
            at: c.now,
            read: false,
        }));
    }
    Ok((effects, ids))
}

/// A stable id for what a job creates, so that even a replayed effect names the same item.
fn derived_id(prefix: &str, key: &str, n: usize) -> RecordId {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes().chain(n.to_le_bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    RecordId::new(format!("{prefix}-{hash:016x}"))
        .unwrap_or_else(|_| RecordId::new("invalid").expect("literal id"))
}

impl Executor<'_> {
    pub async fn execute(&self, job: &ActionJob) -> Result<JobOutcome, ExecuteError> {
        let key = job.idempotency_key();
        let previous = self.ledger.get(&job.tenant, &key).await?;
        if let Some(done) = &previous {
            if matches!(
                done.status,
                RunStatus::Succeeded | RunStatus::Failed | RunStatus::Unknown
            ) {
                return Ok(JobOutcome::Duplicate);
            }
        }
        // A retry an administrator asked for counts as the next attempt.
        let attempts = previous
            .as_ref()
            .filter(|p| p.status == RunStatus::Retrying)
            .map_or(1, |p| p.attempts + 1);
        let context = match self.load(job).await? {
            Ok(context) => context,
            Err(reason) => return self.fail(job, "unknown", reason).await,
        };
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
                        Err(reason) => return self.fail(job, kind, reason).await,
                    };
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
                                Err(reason) => return self.fail(job, kind, reason).await,
                            };
                        }
                        Err(error) => return Err(error.into()),
                    }
                }
            }
            Action::Sms(_) | Action::Email(_) | Action::Zns(_) => {
                return self.send(job, &context, previous).await;
            }
        };
        Ok(outcome)
    }

    async fn fail(
        &self,
        job: &ActionJob,
        kind: &str,
        reason: String,
    ) -> Result<JobOutcome, ExecuteError> {
        let mut run = RunRecord::start(job, kind, self.clock.now());
        run.status = RunStatus::Failed;
        run.error = Some(reason.clone());
        self.ledger.record(&run).await?;
        Ok(JobOutcome::Failed(reason))
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
        let Some(head) = self.workflows.get(&job.tenant, &job.workflow).await? else {
            return Ok(Err("the workflow no longer exists".into()));
        };
        let definition = if head.value.version == job.version {
            head.value.definition
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
        let Some(stored) = self.records.get(&job.tenant, &job.record).await? else {
            return Ok(Err("the record no longer exists".into()));
        };
        let tenant = self.tenant_settings(&job.tenant, now).await?;
        let schema = tenant.schema();
        let record = stored.value.typed(&schema);
        let tz = fire_zone(&record, &tenant);
        Ok(Ok(Context {
            definition,
            action,
            revision: stored.revision,
            stored: stored.value,
            record,
            schema,
            tz,
            now: self.clock.now(),
        }))
    }

    /// The DynamoDB effects of a notification, task or field update, and their output ids.
    async fn effects(
        &self,
        job: &ActionJob,
        c: &Context,
    ) -> Result<Result<(Vec<Effect>, Vec<String>), String>, ExecuteError> {
        let key = job.idempotency_key();
        let notify = |users: Vec<UserId>, message: String| -> Vec<Effect> {
            let mut users = users;
            users.sort();
            users.dedup();
            users
                .into_iter()
                .enumerate()
                .map(|(i, user)| {
                    Effect::Notify(Notification {
                        id: derived_id("ntf", &key, i).to_string(),
                        user,
                        message: message.clone(),
                        record: Some(c.record.id.clone()),
                        at: c.now,
                        read: false,
                    })
                })
                .collect()
        };
        match &c.action {
            Action::Notification(a) => {
                let mut users = a.users.clone();
                if a.notify_owner {
                    match c.owner() {
                        Some(owner) => users.push(owner),
                        None if a.users.is_empty() => {
                            return Ok(Err("the record has no owner to notify".into()));
                        }
                        None => {}
                    }
                }
                let effects = notify(users, c.render(&a.message, Escape::Plain));
                let ids = effects
                    .iter()
                    .filter_map(|e| match e {
                        Effect::Notify(n) => Some(n.id.clone()),
                        _ => None,
                    })
                    .collect();
                Ok(Ok((effects, ids)))
            }
            Action::Task(a) => {
                let assignee = match &a.assignee {
                    Assignee::User { user_id } => Some(user_id.clone()),
                    Assignee::RecordOwner {} => c.owner(),
                    Assignee::Field { field } => c
                        .record
                        .get(field)
                        .and_then(FieldValue::as_text)
                        .and_then(|u| UserId::new(u).ok()),
                };
                let Some(assignee) = assignee else {
                    return Ok(Err("the task has no one to assign it to".into()));
                };
                let task_id = derived_id("task", &key, 0);
                let customer = match c.definition.module {
                    Module::Customer => Some(c.record.id.to_string()),
                    _ => c
                        .record
                        .get("Customer")
                        .and_then(FieldValue::as_text)
                        .map(str::to_owned),
                };
                let mut fields = Map::new();
                fields.insert(
                    "Title".into(),
                    Value::String(c.render(&a.title, Escape::Plain)),
                );
                fields.insert(
                    "Description".into(),
                    Value::String(c.render(&a.description, Escape::Plain)),
                );
                fields.insert(
                    "DueAt".into(),
                    Value::String(c.due(a.due.days_after, a.due.time_of_day).to_rfc3339()),
                );
                fields.insert("TaskType".into(), Value::String(a.task_type.clone()));
                fields.insert("Priority".into(), Value::String(a.priority.clone()));
                fields.insert("Status".into(), Value::String("Open".into()));
                fields.insert("Assignee".into(), Value::String(assignee.to_string()));
                fields.insert("Owner".into(), Value::String(assignee.to_string()));
                if let Some(customer) = customer {
                    fields.insert("Customer".into(), Value::String(customer));
                }
                fields.insert("CreatedAt".into(), Value::String(c.now.to_rfc3339()));
                fields.insert("UpdatedAt".into(), Value::String(c.now.to_rfc3339()));
                let task = StoredRecord {
                    id: task_id.clone(),
                    module: Module::Task,
                    fields,
                };
                let mut users = vec![assignee];
                users.extend(a.related_users.iter().cloned());
                let title = c.render(&a.title, Escape::Plain);
                let mut effects = vec![Effect::Create(task)];
                effects.extend(notify(users, format!("Nhiệm vụ mới: {title}")));
                Ok(Ok((effects, vec![task_id.to_string()])))
            }
            Action::UpdateFields(a) => {
                let (target, revision) = match &a.via {
                    None => (c.stored.clone(), c.revision),
                    Some(via) => {
                        let Some(id) = c
                            .record
                            .get(via)
                            .and_then(FieldValue::as_text)
                            .and_then(|id| RecordId::new(id).ok())
                        else {
                            return Ok(Err(format!("the record's '{via}' is empty")));
                        };
                        match self.records.get(&job.tenant, &id).await? {
                            Some(found) => (found.value, found.revision),
                            None => {
                                return Ok(Err(format!(
                                    "the related record '{id}' no longer exists"
                                )));
                            }
                        }
                    }
                };
                let target_module = c.schema.module(target.module);
                let mut fields = target.fields.clone();
                for assignment in &a.values {
                    let Some(def) = target_module.field(&assignment.field) else {
                        return Ok(Err(format!(
                            "{} has no field '{}' any more",
                            target.module, assignment.field
                        )));
                    };
                    let value = match &assignment.value {
                        AssignedValue::Literal { value } => {
                            match FieldValue::parse(&def.kind, value) {
                                Ok(_) => value.clone(),
                                Err(message) => {
                                    return Ok(Err(format!("{}: {message}", assignment.field)));
                                }
                            }
                        }
                        AssignedValue::Merge { text } => {
                            Value::String(c.render(text, Escape::Plain))
                        }
                        AssignedValue::Today { offset_days } => {
                            let day = c.now.with_timezone(&c.tz).date_naive()
                                + Duration::days(i64::from(*offset_days));
                            if def.kind == crate::schema::FieldKind::Date {
                                Value::String(day.to_string())
                            } else {
                                Value::String(c.now.to_rfc3339())
                            }
                        }
                        AssignedValue::Clear {} => Value::Null,
                    };
                    if value.is_null() {
                        fields.remove(&assignment.field);
                    } else {
                        fields.insert(assignment.field.clone(), value);
                    }
                }
                fields.insert("UpdatedAt".into(), Value::String(c.now.to_rfc3339()));
                let id = target.id.to_string();
                let record = StoredRecord { fields, ..target };
                Ok(Ok((
                    vec![Effect::Replace {
                        record,
                        expected: revision,
                    }],
                    vec![id],
                )))
            }
            Action::Handover(a) => self.handover(job, c, a).await,
            Action::CareCard(a) => Ok(care_cards(&job.idempotency_key(), c, a)),
            Action::Sms(_) | Action::Email(_) | Action::Zns(_) => {
                Ok(Err("not a DynamoDB effect".into()))
            }
        }
    }

    /// The owner change of a hand-over (to a user, or the next user of an allocation rule), the
    /// owner's open activities that follow, and the new owner's notification.
    async fn handover(
        &self,
        job: &ActionJob,
        c: &Context,
        a: &crate::action::HandoverAction,
    ) -> Result<Result<(Vec<Effect>, Vec<String>), String>, ExecuteError> {
        use crate::action::{ActivityKind, HandoverTarget};
        let mut effects = Vec::new();
        let new_owner = match &a.to {
            HandoverTarget::User { user_id } => match self.users.get(&job.tenant, user_id).await? {
                Some(user) if user.active => user.id,
                _ => return Ok(Err(format!("user '{user_id}' is not an active user"))),
            },
            HandoverTarget::AllocationRule { rule } => {
                let Some(Setting::AllocationRule(found)) = self
                    .settings
                    .get(&job.tenant, SettingKind::AllocationRule, rule)
                    .await?
                    .map(|s| s.value)
                else {
                    return Ok(Err(format!("allocation rule '{rule}' no longer exists")));
                };
                let module = c.schema.module(found.module);
                let condition = crate::condition::CompiledCondition::compile(
                    &found.condition,
                    module,
                    crate::condition::ConditionScope::RecordState,
                    "",
                )
                .map_err(|_| {
                    StoreError::Corrupt(
                        "stored allocation rule condition no longer compiles".into(),
                    )
                })?;
                let ctx = crate::condition::EvalContext {
                    now: c.now,
                    tz: c.tz,
                    previous: None,
                };
                if !condition.matches(&c.record, &ctx) {
                    return Ok(Err(format!(
                        "the record does not match allocation rule '{rule}'"
                    )));
                }
                let mut active = Vec::new();
                for user in &found.users {
                    if self
                        .users
                        .get(&job.tenant, user)
                        .await?
                        .is_some_and(|u| u.active)
                    {
                        active.push(user.clone());
                    }
                }
                if active.is_empty() {
                    return Ok(Err(format!("allocation rule '{rule}' has no active user")));
                }
                let turn = self.ledger.counter(&job.tenant, rule.as_str()).await?;
                effects.push(Effect::Advance {
                    counter: rule.to_string(),
                    expected: turn,
                });
                active[(turn % active.len() as u64) as usize].clone()
            }
        };
        let old_owner = c.owner();
        let mut fields = c.stored.fields.clone();
        fields.insert("Owner".into(), Value::String(new_owner.to_string()));
        fields.insert("UpdatedAt".into(), Value::String(c.now.to_rfc3339()));
        effects.push(Effect::Replace {
            record: StoredRecord {
                fields,
                ..c.stored.clone()
            },
            expected: c.revision,
        });
        let mut output = vec![c.stored.id.to_string()];
        if !a.move_open_activities.is_empty() {
            for related in self.records.related(&job.tenant, &c.stored.id).await? {
                let kind = match related.value.module {
                    Module::Task => ActivityKind::Task,
                    Module::CareCard => ActivityKind::CareCard,
                    _ => continue,
                };
                let open =
                    related.value.fields.get("Status").and_then(Value::as_str) == Some("Open");
                let owned = related.value.fields.get("Owner").and_then(Value::as_str)
                    == old_owner.as_ref().map(UserId::as_str);
                if !a.move_open_activities.contains(&kind) || !open || !owned {
                    continue;
                }
                if effects.len() >= 90 {
                    return Ok(Err(
                        "too many open activities to move in one hand-over (at most 88)".into(),
                    ));
                }
                let mut fields = related.value.fields.clone();
                fields.insert("Owner".into(), Value::String(new_owner.to_string()));
                if kind == ActivityKind::Task {
                    fields.insert("Assignee".into(), Value::String(new_owner.to_string()));
                }
                output.push(related.value.id.to_string());
                effects.push(Effect::Replace {
                    record: StoredRecord {
                        fields,
                        ..related.value
                    },
                    expected: related.revision,
                });
            }
        }
        if a.notify_new_owner {
            let name = c
                .record
                .get("Name")
                .or(c.record.get("Code"))
                .and_then(FieldValue::as_text)
                .unwrap_or_default();
            effects.push(Effect::Notify(Notification {
                id: derived_id("ntf", &job.idempotency_key(), 0).to_string(),
                user: new_owner,
                message: format!("Bạn được bàn giao: {name}"),
                record: Some(c.record.id.clone()),
                at: c.now,
                read: false,
            }));
        }
        Ok(Ok((effects, output)))
    }

    /// The addresses a recipient field names (on the record, or on a related record).
    async fn field_values(
        &self,
        job: &ActionJob,
        c: &Context,
        path: &FieldPath,
    ) -> Result<Vec<String>, ExecuteError> {
        let source = match &path.via {
            None => Some(c.record.clone()),
            Some(via) => match c
                .record
                .get(via)
                .and_then(FieldValue::as_text)
                .and_then(|id| RecordId::new(id).ok())
            {
                Some(id) => self
                    .records
                    .get(&job.tenant, &id)
                    .await?
                    .map(|r| r.value.typed(&c.schema)),
                None => None,
            },
        };
        Ok(source
            .and_then(|r| {
                r.get(&path.field)
                    .and_then(FieldValue::as_text)
                    .map(str::to_owned)
            })
            .into_iter()
            .collect())
    }

    async fn send(
        &self,
        job: &ActionJob,
        c: &Context,
        existing: Option<RunRecord>,
    ) -> Result<JobOutcome, ExecuteError> {
        let kind = c.action.kind_name();
        let guarantee = c.definition.external_sends;
        let mut run = RunRecord::start(job, kind, c.now);
        run.lease_until = Some(lease(c.now, SEND_LEASE_SECONDS));
        let takeover = match existing {
            None => None,
            Some(e) if e.status == RunStatus::Retrying => {
                run.attempts = e.attempts + 1;
                run.started_at = e.started_at;
                Some(e)
            }
            Some(e) if e.status != RunStatus::InProgress => return Ok(JobOutcome::Duplicate),
            Some(e) if e.lease_until.is_some_and(|until| until > c.now) => {
                return Err(ExecuteError::Busy);
            }
            Some(e) => {
                if guarantee == ExternalSendGuarantee::AtMostOnce {
                    // The earlier delivery stopped after claiming: it may have sent. Never twice.
                    let mut unknown = e.clone();
                    unknown.status = RunStatus::Unknown;
                    unknown.updated_at = c.now;
                    unknown.error = Some("the executor stopped between claiming and recording this send; it may or may not have been delivered".into());
                    self.ledger.record(&unknown).await?;
                    return Ok(JobOutcome::Unknown);
                }
                run.attempts = e.attempts + 1;
                run.started_at = e.started_at;
                Some(e)
            }
        };
        if self.ledger.claim(&run, takeover.as_ref()).await? == ClaimOutcome::LostRace {
            return Err(ExecuteError::Busy);
        }
        let result = match &c.action {
            Action::Sms(a) => self.send_sms(job, c, a).await?,
            Action::Zns(a) => self.send_zns(job, c, a).await?,
            Action::Email(a) => self.send_email(job, c, a).await?,
            _ => Err(SendError::Permanent("not a send".into())),
        };
        run.updated_at = self.clock.now();
        run.lease_until = None;
        match result {
            Ok(ids) => {
                run.status = RunStatus::Succeeded;
                run.output = ids.clone();
                self.ledger.record(&run).await?;
                Ok(JobOutcome::Succeeded(ids))
            }
            Err(SendError::Permanent(reason)) => {
                run.status = RunStatus::Failed;
                run.error = Some(reason.clone());
                self.ledger.record(&run).await?;
                Ok(JobOutcome::Failed(reason))
            }
            Err(SendError::Transient(reason)) => {
                // Release the claim so that the redelivery sends: nothing went out.
                run.error = Some(reason.clone());
                run.lease_until = Some(c.now);
                self.ledger.record(&run).await?;
                Err(ExecuteError::Provider(reason))
            }
        }
    }

    async fn user_contacts(
        &self,
        job: &ActionJob,
        users: &[UserId],
        phone: bool,
    ) -> Result<Vec<String>, ExecuteError> {
        let mut out = Vec::new();
        for id in users {
            if let Some(user) = self.users.get(&job.tenant, id).await? {
                if !user.active {
                    continue;
                }
                out.extend(if phone { user.phone } else { Some(user.email) });
            }
        }
        Ok(out)
    }

    async fn send_sms(
        &self,
        job: &ActionJob,
        c: &Context,
        a: &crate::action::SmsAction,
    ) -> Result<Result<Vec<String>, SendError>, ExecuteError> {
        let provider = self
            .setting(&job.tenant, SettingKind::SmsProvider, &a.provider)
            .await?;
        let gateway = match provider {
            Some(Setting::SmsProvider(p)) => p.gateway,
            _ => {
                return Ok(Err(SendError::Permanent(format!(
                    "SMS provider '{}' no longer exists",
                    a.provider
                ))));
            }
        };
        let body = match self
            .setting(&job.tenant, SettingKind::SmsTemplate, &a.template)
            .await?
        {
            Some(Setting::SmsTemplate(t)) => c.render(&t.body, Escape::Plain),
            _ => {
                return Ok(Err(SendError::Permanent(format!(
                    "SMS template '{}' no longer exists",
                    a.template
                ))));
            }
        };
        let mut numbers = Vec::new();
        for path in &a.recipient_fields {
            numbers.extend(self.field_values(job, c, path).await?);
        }
        numbers.extend(self.user_contacts(job, &a.users, true).await?);
        let mut e164: Vec<String> = numbers.iter().filter_map(|n| normalize_vn(n)).collect();
        e164.sort();
        e164.dedup();
        if e164.is_empty() {
            return Ok(Err(SendError::Permanent(
                "no recipient has a valid phone number".into(),
            )));
        }
        let mut ids = Vec::new();
        let key = job.idempotency_key();
        for (i, number) in e164.iter().enumerate() {
            // One request id per recipient, stable across redeliveries.
            let request_id = derived_id("sms", &key, i);
            match self
                .sms
                .send(&gateway, number, &body, request_id.as_str())
                .await
            {
                Ok(id) => ids.push(id),
                Err(error) => return Ok(Err(error)),
            }
        }
        Ok(Ok(ids))
    }

    async fn send_zns(
        &self,
        job: &ActionJob,
        c: &Context,
        a: &crate::action::ZnsAction,
    ) -> Result<Result<Vec<String>, SendError>, ExecuteError> {
        let provider = match self
            .setting(&job.tenant, SettingKind::ZnsProvider, &a.provider)
            .await?
        {
            Some(Setting::ZnsProvider(p)) => p,
            _ => {
                return Ok(Err(SendError::Permanent(format!(
                    "ZNS provider '{}' no longer exists",
                    a.provider
                ))));
            }
        };
        let template = match self
            .setting(&job.tenant, SettingKind::ZnsTemplate, &a.template)
            .await?
        {
            Some(Setting::ZnsTemplate(t)) => t,
            _ => {
                return Ok(Err(SendError::Permanent(format!(
                    "ZNS template '{}' no longer exists",
                    a.template
                ))));
            }
        };
        let data: std::collections::BTreeMap<String, String> = a
            .parameters
            .iter()
            .map(|(name, text)| (name.clone(), c.render(text, Escape::Plain)))
            .collect();
        let mut phones = self.field_values(job, c, &a.recipient_field).await?;
        phones.extend(self.user_contacts(job, &a.users, true).await?);
        // Zalo takes 84… without the plus.
        let mut numbers: Vec<String> = phones
            .iter()
            .filter_map(|p| normalize_vn(p))
            .filter_map(|e164| e164.strip_prefix('+').map(str::to_owned))
            .collect();
        numbers.sort();
        numbers.dedup();
        if numbers.is_empty() {
            return Ok(Err(SendError::Permanent(
                "no recipient has a valid phone number".into(),
            )));
        }
        let key = job.idempotency_key();
        let mut ids = Vec::new();
        for (i, number) in numbers.iter().enumerate() {
            // Zalo's tracking id is short: the job's key when it fits, else a digest of it.
            let tracking = if numbers.len() == 1 && key.len() <= 48 {
                key.clone()
            } else {
                derived_id("zns", &key, i).to_string()
            };
            match self
                .zns
                .send(
                    &provider,
                    number,
                    &template.zalo_template_id,
                    &data,
                    &tracking,
                )
                .await
            {
                Ok(id) => ids.push(id),
                Err(error) => return Ok(Err(error)),
            }
        }
        Ok(Ok(ids))
    }

    async fn send_email(
        &self,
        job: &ActionJob,
        c: &Context,
        a: &crate::action::EmailAction,
    ) -> Result<Result<Vec<String>, SendError>, ExecuteError> {
        if a.attachment.is_some() {
            return Ok(Err(SendError::Permanent(
                "print attachments are not carried out by this executor yet".into(),
            )));
        }
        let sender = match self
            .setting(&job.tenant, SettingKind::EmailSender, &a.sender)
            .await?
        {
            Some(Setting::EmailSender(s)) => s,
            _ => {
                return Ok(Err(SendError::Permanent(format!(
                    "sender '{}' no longer exists",
                    a.sender
                ))));
            }
        };
        let (subject, html) = match self
            .setting(&job.tenant, SettingKind::EmailTemplate, &a.template)
            .await?
        {
            Some(Setting::EmailTemplate(t)) => (
                c.render(&t.subject, Escape::Plain),
                c.render(&t.html_body, Escape::Html),
            ),
            _ => {
                return Ok(Err(SendError::Permanent(format!(
                    "email template '{}' no longer exists",
                    a.template
                ))));
            }
        };
        let mut to = Vec::new();
        for path in &a.recipient_fields {
            to.extend(self.field_values(job, c, path).await?);
        }
        to.extend(self.user_contacts(job, &a.users, false).await?);
        to.extend(a.extra_addresses.iter().cloned());
        to.retain(|address| crate::record::is_plausible_email(address));
        to.sort();
        to.dedup();
        if to.is_empty() {
            return Ok(Err(SendError::Permanent(
                "no recipient has a valid email address".into(),
            )));
        }
        let from = if sender.from_name.is_empty() {
            sender.from_address.clone()
        } else {
            format!("\"{}\" <{}>", sender.from_name, sender.from_address)
        };
        let email = Email {
            from,
            to,
            reply_to: sender.reply_to.clone(),
            subject,
            html,
        };
        Ok(self.email.send(&email).await.map(|id| vec![id]))
    }
}
