//! The approval use cases of the records API: submit a record (which definition applies, who
//! may submit, its first step, the record locked in the same write), a request, a record's
//! history and the user's pending approvals; the decisions are in `decisions`. Errors, inputs
//! and the steps' advance are shared by both.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::request::{ApprovalRequest, RequestStatus, TransitionError};
use super::resolve::{self, ResolveError};
use super::store::{ApprovalStore, PendingApproval};
use super::{APPROVAL_FIELD, ApprovalSpec, RECORDED_AT};
use crate::clock::Clock;
use crate::condition::{CompiledCondition, ConditionScope, EvalContext};
use crate::ids::{RecordId, TenantId, UserId};
use crate::record::Record;
use crate::record::service::Actor;
use crate::record::store::RecordStore;
use crate::record::stored::StoredRecord;
use crate::schema::Module;
use crate::settings::TenantSettings;
use crate::settings::store::SettingsStore;
use crate::store::{Page, PageRequest, Revisioned, StoreError};
use crate::user::access::Permission;
use crate::user::directory::UserDirectory;
use crate::workflow::store::{WorkflowCatalog, WorkflowFilter, every_workflow};
use crate::workflow::{Workflow, WorkflowDefinition, WorkflowKind, WorkflowStatus};

/// How many times a transition is read and decided again after losing a race.
pub(super) const ATTEMPTS: usize = 5;
/// The longest comment a decision takes.
pub const MAX_COMMENT_CHARS: usize = 2000;

/// Why an approval operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(String),
    /// The record has a request pending already.
    #[error("the record is already waiting for approval (request '{0}')")]
    AlreadyPending(RecordId),
    #[error("no active approval workflow of {0} applies to this record")]
    NoneApplies(&'static str),
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error(transparent)]
    Resolve(ResolveError),
    #[error("the order's revenue was already recorded on {0}")]
    AlreadyRecorded(String),
    #[error("{1}")]
    Invalid(&'static str, String),
    /// The link is forged, expired, spent or not for this request's current step.
    #[error("this decision link no longer works: {0}")]
    LinkSpent(&'static str),
    #[error("the record or the request kept changing; try again")]
    Busy,
    /// A pending request's history reached its size limit: only what ends it is taken.
    #[error("the request's history is full: reject or recall it")]
    HistoryFull,
    /// A condition of the pinned version no longer compiles against the tenant's fields.
    #[error("{0}")]
    Broken(String),
    #[error("storage failed")]
    Store(#[source] StoreError),
}

impl From<StoreError> for ApprovalError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict { .. } => ApprovalError::Busy,
            other => ApprovalError::Store(other),
        }
    }
}

impl From<ResolveError> for ApprovalError {
    fn from(error: ResolveError) -> Self {
        match error {
            ResolveError::Store(e) => e.into(),
            other => ApprovalError::Resolve(other),
        }
    }
}

/// What an approver decides, as the API takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Approve,
    Reject,
    /// Record the order's revenue (a record step).
    Record,
}

/// A decision as the API takes it.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionInput {
    pub verdict: Verdict,
    /// The revenue a record step records; the order's total when absent.
    pub revenue: Option<i64>,
    pub comment: Option<String>,
}

/// An administrator's handing of an approver's part to someone else.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reassignment {
    pub from: UserId,
    pub to: UserId,
    #[serde(default)]
    pub comment: Option<String>,
}

/// The use cases over their ports.
pub struct Approvals<'a> {
    pub approvals: &'a dyn ApprovalStore,
    pub records: &'a dyn RecordStore,
    pub workflows: &'a dyn WorkflowCatalog,
    pub settings: &'a dyn SettingsStore,
    pub users: &'a dyn UserDirectory,
    pub clock: &'a dyn Clock,
}

/// A definition as pinned by a request.
pub(super) struct Pinned {
    pub(super) definition: WorkflowDefinition,
    pub(super) spec: ApprovalSpec,
}

/// How conditions read `record` at `now`: in its time zone, else the tenant's.
fn eval_context(
    settings: &TenantSettings,
    record: &Record,
    now: DateTime<Utc>,
) -> EvalContext<'static> {
    EvalContext {
        now,
        tz: crate::schedule::fire_zone(record, settings),
        previous: None,
    }
}

pub(super) fn check_comment(comment: &Option<String>) -> Result<(), ApprovalError> {
    match comment {
        Some(c) if c.chars().count() > MAX_COMMENT_CHARS => Err(ApprovalError::Invalid(
            "/comment",
            format!("at most {MAX_COMMENT_CHARS} characters"),
        )),
        _ => Ok(()),
    }
}

/// The record with its lock set (`Some`) or freed.
pub(super) fn locked(record: &StoredRecord, request: Option<&ApprovalRequest>) -> StoredRecord {
    let mut next = record.clone();
    match request {
        Some(request) => {
            next.fields.insert(
                APPROVAL_FIELD.into(),
                json!({
                    "request": request.id,
                    "workflow": request.workflow,
                    "name": request.name,
                    "submitter": request.submitter,
                    "since": request.submitted_at,
                }),
            );
        }
        None => {
            next.fields.remove(APPROVAL_FIELD);
        }
    }
    next
}

/// The request a record's lock names, if it is locked.
pub fn pending_request(record: &StoredRecord) -> Option<RecordId> {
    record
        .fields
        .get(APPROVAL_FIELD)
        .and_then(|lock| lock.get("request"))
        .and_then(Value::as_str)
        .and_then(|id| RecordId::new(id).ok())
}

impl Approvals<'_> {
    pub(super) async fn tenant(&self, tenant: &TenantId) -> Result<TenantSettings, ApprovalError> {
        Ok(self.settings.tenant_settings(tenant).await?.value)
    }

    pub(super) async fn record(
        &self,
        tenant: &TenantId,
        module: Module,
        id: &RecordId,
    ) -> Result<Revisioned<StoredRecord>, ApprovalError> {
        match self.records.get(tenant, id).await? {
            Some(found) if found.value.module == module => Ok(found),
            _ => Err(ApprovalError::NotFound(module.as_str())),
        }
    }

    pub(super) async fn pinned(&self, request: &ApprovalRequest) -> Result<Pinned, ApprovalError> {
        let definition = self
            .workflows
            .get_version(&request.tenant, &request.workflow, request.version)
            .await?
            .ok_or(ApprovalError::NotFound("approval workflow version"))?;
        let spec = definition
            .approval_spec()
            .cloned()
            .ok_or(ApprovalError::NotFound("approval workflow"))?;
        Ok(Pinned { definition, spec })
    }

    /// Enters the first step from `from` whose condition holds for `record` (skipping the
    /// others), or completes the request when none is left.
    pub(super) async fn advance(
        &self,
        settings: &TenantSettings,
        pinned: &Pinned,
        request: &mut ApprovalRequest,
        from: usize,
        record: &StoredRecord,
        now: DateTime<Utc>,
    ) -> Result<(), ApprovalError> {
        let schema = settings.schema();
        let module = schema.module(pinned.definition.module);
        let typed = record.typed(&schema);
        let ctx = eval_context(settings, &typed, now);
        for (index, step) in pinned.spec.steps.iter().enumerate().skip(from) {
            if let Some(condition) = &step.condition {
                // A condition that no longer compiles stops the request rather than skipping
                // the step: an approval must never pass by default.
                let compiled = CompiledCondition::compile(
                    condition,
                    module,
                    ConditionScope::RecordState,
                    "/condition",
                )
                .map_err(|_| {
                    ApprovalError::Broken(format!(
                        "the condition of step '{}' of '{}' no longer fits the tenant's fields; \
                         an administrator must fix the workflow",
                        step.name, request.name
                    ))
                })?;
                if !compiled.matches(&typed, &ctx) {
                    request.skip_step(&step.name, now);
                    continue;
                }
            }
            let approvers = resolve::approvers(
                self.users,
                settings,
                &request.tenant,
                step,
                record,
                &request.submitter,
            )
            .await?;
            request.enter_step(
                index,
                &step.name,
                step.decide,
                approvers,
                step.deadline.as_ref(),
                now,
            );
            return Ok(());
        }
        request.complete(now);
        Ok(())
    }

    /// The active approval workflows of `module`, in the order they are tried: lowest priority
    /// first, then by workflow id.
    async fn candidates(
        &self,
        tenant: &TenantId,
        module: Module,
    ) -> Result<Vec<Workflow>, ApprovalError> {
        let filter = WorkflowFilter {
            module: Some(module),
        };
        let mut found: Vec<Workflow> = every_workflow(self.workflows, tenant, filter)
            .await?
            .into_iter()
            .filter(|w| w.kind == WorkflowKind::Approval && w.status == WorkflowStatus::Active)
            .collect();
        let priority = |w: &Workflow| {
            w.definition
                .approval_spec()
                .map_or(u32::MAX, |s| s.priority)
        };
        found.sort_by(|a, b| (priority(a), &a.id).cmp(&(priority(b), &b.id)));
        Ok(found)
    }

    /// The definition a record goes to: the first candidate whose entry condition holds. A
    /// condition that no longer compiles stops the search (never falls through to a looser
    /// definition).
    async fn applying(
        &self,
        tenant: &TenantId,
        settings: &TenantSettings,
        record: &StoredRecord,
        now: DateTime<Utc>,
    ) -> Result<Workflow, ApprovalError> {
        let schema = settings.schema();
        let typed = record.typed(&schema);
        let ctx = eval_context(settings, &typed, now);
        for workflow in self.candidates(tenant, record.module).await? {
            let condition = workflow
                .definition
                .compile_condition(&schema)
                .map_err(|_| {
                    ApprovalError::Broken(format!(
                        "the condition of approval workflow '{}' no longer fits the tenant's \
                     fields; an administrator must fix it",
                        workflow.definition.name
                    ))
                })?;
            if condition.matches(&typed, &ctx) {
                return Ok(workflow);
            }
        }
        Err(ApprovalError::NoneApplies(record.module.as_str()))
    }

    /// Submits a record: the first active definition of its module whose entry condition holds
    /// applies. `id` and `link_key` are random, made by the caller. A submission racing an edit
    /// (or another submission) reads the record again.
    pub async fn submit(
        &self,
        actor: &Actor,
        module: Module,
        record_id: &RecordId,
        comment: Option<String>,
        id: RecordId,
        link_key: String,
    ) -> Result<ApprovalRequest, ApprovalError> {
        check_comment(&comment)?;
        let settings = self.tenant(&actor.tenant).await?;
        for _ in 0..ATTEMPTS {
            let now = self.clock.now();
            let stored = self.record(&actor.tenant, module, record_id).await?;
            // Submitting locks the record: the caller must be one who may edit it.
            if !actor.access.reaches(&stored.value) || !actor.access.may(module, Permission::Read) {
                return Err(ApprovalError::NotFound(module.as_str()));
            }
            if !actor.access.may(module, Permission::Edit) {
                return Err(ApprovalError::Forbidden(format!(
                    "your role may not edit {} records, so it may not submit them",
                    module.as_str()
                )));
            }
            if let Some(pending) = pending_request(&stored.value) {
                return Err(ApprovalError::AlreadyPending(pending));
            }
            let workflow = self
                .applying(&actor.tenant, &settings, &stored.value, now)
                .await?;
            let Some(spec) = workflow.definition.approval_spec().cloned() else {
                return Err(ApprovalError::NotFound("approval workflow"));
            };
            let owner = stored.value.fields.get("Owner").and_then(Value::as_str);
            let may_submit = (spec.submitters.owner && owner == Some(actor.user.as_str()))
                || spec.submitters.users.contains(&actor.user)
                || spec.submitters.roles.contains(&actor.role);
            if !may_submit {
                return Err(ApprovalError::Forbidden(format!(
                    "approval workflow '{}' does not let you submit this record",
                    workflow.definition.name
                )));
            }
            if spec.records_revenue() {
                if let Some(at) = stored.value.fields.get(RECORDED_AT).and_then(Value::as_str) {
                    return Err(ApprovalError::AlreadyRecorded(at.to_owned()));
                }
            }
            let mut request = ApprovalRequest {
                id: id.clone(),
                tenant: actor.tenant.clone(),
                record: record_id.clone(),
                module,
                workflow: workflow.id.clone(),
                version: workflow.version,
                name: workflow.definition.name.clone(),
                submitter: actor.user.clone(),
                submitted_at: now,
                status: RequestStatus::Pending,
                current: None,
                history: Vec::new(),
                link_key: link_key.clone(),
            };
            let mut entry = super::request::Entry::new(now, super::request::Event::Submitted);
            entry.by = Some(actor.user.clone());
            entry.comment = comment.clone();
            request.history.push(entry);
            let pinned = Pinned {
                definition: workflow.definition,
                spec,
            };
            self.advance(&settings, &pinned, &mut request, 0, &stored.value, now)
                .await?;
            // Every step skipped: approved at once, and the record never locked (the store
            // only checks it is still at the revision read).
            let record = locked(&stored.value, request.is_pending().then_some(&request));
            match self
                .approvals
                .submit(&request, &record, stored.revision)
                .await
            {
                Ok(saved) => return Ok(saved.value),
                Err(StoreError::Conflict { .. }) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(ApprovalError::Busy)
    }

    /// A request of a record the actor may see (or decides, or submitted).
    pub async fn get(
        &self,
        actor: &Actor,
        module: Module,
        record: &RecordId,
        id: &RecordId,
    ) -> Result<ApprovalRequest, ApprovalError> {
        let found = self
            .approvals
            .get(&actor.tenant, record, id)
            .await?
            .filter(|r| r.value.module == module)
            .ok_or(ApprovalError::NotFound("approval request"))?
            .value;
        let involved = found.submitter == actor.user
            || found
                .current
                .as_ref()
                .is_some_and(|c| c.approvers.contains(&actor.user));
        if !involved {
            let stored = self.record(&actor.tenant, module, record).await?;
            if !actor.access.reaches(&stored.value) {
                return Err(ApprovalError::NotFound("approval request"));
            }
        }
        Ok(found)
    }

    /// A record's requests, newest first, with their histories.
    pub async fn history(
        &self,
        actor: &Actor,
        module: Module,
        record: &RecordId,
        page: &PageRequest,
    ) -> Result<Page<ApprovalRequest>, ApprovalError> {
        let stored = self.record(&actor.tenant, module, record).await?;
        if !actor.access.reaches(&stored.value) || !actor.access.may(module, Permission::Read) {
            return Err(ApprovalError::NotFound(module.as_str()));
        }
        Ok(self
            .approvals
            .of_record(&actor.tenant, record, page)
            .await?)
    }

    /// The requests waiting on the actor.
    pub async fn pending(
        &self,
        actor: &Actor,
        page: &PageRequest,
    ) -> Result<Page<PendingApproval>, ApprovalError> {
        Ok(self
            .approvals
            .pending_for(&actor.tenant, &actor.user, page)
            .await?)
    }
}
