//! The approval use cases of the records API: their errors and inputs, a request, a record's
//! history, the user's pending approvals, and the steps' advance that submitting (`submit`) and
//! deciding (`decisions`) share.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::request::{ApprovalRequest, TransitionError};
use super::resolve::{self, ResolveError};
use super::store::{ApprovalStore, PendingApproval};
use super::{APPROVAL_FIELD, ApprovalSpec};
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
use crate::workflow::WorkflowDefinition;
use crate::workflow::store::WorkflowCatalog;

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
pub(super) fn eval_context(
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
