//! The approval use cases of the records API: submit a record, approve, reject or record,
//! recall, reassign, the user's pending approvals and a record's history. Each transition is
//! saved on the condition that the request (and, when it locks or frees the record, the record)
//! is still as read; a lost race is read again and decided again, so that of two deciders one
//! wins and the other is told what happened.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::links::DecisionLink;
use super::request::{ApprovalRequest, Decided, Decision, RequestStatus, TransitionError};
use super::resolve::{self, ResolveError};
use super::store::{ApprovalStore, PendingApproval};
use super::{APPROVAL_FIELD, ApprovalSpec, RECORDED_AT, RECORDED_BY, RECORDED_REVENUE, StepKind};
use crate::clock::Clock;
use crate::condition::{CompiledCondition, ConditionScope, EvalContext};
use crate::ids::{RecordId, TenantId, UserId, WorkflowId};
use crate::record::service::Actor;
use crate::record::store::RecordStore;
use crate::record::stored::StoredRecord;
use crate::schema::Module;
use crate::settings::TenantSettings;
use crate::settings::store::SettingsStore;
use crate::store::{Page, PageRequest, Revisioned, StoreError};
use crate::trigger::Trigger;
use crate::user::access::Permission;
use crate::user::directory::UserDirectory;
use crate::workflow::store::{WorkflowCatalog, WorkflowFilter, every_workflow};
use crate::workflow::{WorkflowDefinition, WorkflowKind, WorkflowStatus};

/// How many times a transition is read and decided again after losing a race.
const ATTEMPTS: usize = 5;
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
struct Pinned {
    definition: WorkflowDefinition,
    spec: ApprovalSpec,
}

fn spec_of(definition: &WorkflowDefinition) -> Option<ApprovalSpec> {
    match &definition.trigger {
        Trigger::Approval(spec) => Some(spec.clone()),
        _ => None,
    }
}

fn check_comment(comment: &Option<String>) -> Result<(), ApprovalError> {
    match comment {
        Some(c) if c.chars().count() > MAX_COMMENT_CHARS => Err(ApprovalError::Invalid(
            "/comment",
            format!("at most {MAX_COMMENT_CHARS} characters"),
        )),
        _ => Ok(()),
    }
}

/// The record with its lock set (`Some`) or freed.
fn locked(record: &StoredRecord, request: Option<&ApprovalRequest>) -> StoredRecord {
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
    async fn tenant(&self, tenant: &TenantId) -> Result<TenantSettings, ApprovalError> {
        Ok(self.settings.tenant_settings(tenant).await?.value)
    }

    async fn record(
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

    async fn pinned(&self, request: &ApprovalRequest) -> Result<Pinned, ApprovalError> {
        let definition = self
            .workflows
            .get_version(&request.tenant, &request.workflow, request.version)
            .await?
            .ok_or(ApprovalError::NotFound("approval workflow version"))?;
        let spec = spec_of(&definition).ok_or(ApprovalError::NotFound("approval workflow"))?;
        Ok(Pinned { definition, spec })
    }

    /// Enters the first step from `from` whose condition holds for `record` (skipping the
    /// others), or completes the request when none is left.
    async fn advance(
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
        let ctx = EvalContext {
            now,
            tz: crate::schedule::fire_zone(&typed, settings),
            previous: None,
        };
        for (index, step) in pinned.spec.steps.iter().enumerate().skip(from) {
            if let Some(condition) = &step.condition {
                let holds = CompiledCondition::compile(
                    condition,
                    module,
                    ConditionScope::RecordState,
                    "/condition",
                )
                .is_ok_and(|c| c.matches(&typed, &ctx));
                if !holds {
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
    /// first, then by id.
    async fn candidates(
        &self,
        tenant: &TenantId,
        module: Module,
    ) -> Result<Vec<(WorkflowId, u32, WorkflowDefinition, ApprovalSpec)>, ApprovalError> {
        let filter = WorkflowFilter {
            module: Some(module),
        };
        let mut found: Vec<_> = every_workflow(self.workflows, tenant, filter)
            .await?
            .into_iter()
            .filter(|w| w.kind == WorkflowKind::Approval && w.status == WorkflowStatus::Active)
            .filter_map(|w| {
                let spec = spec_of(&w.definition)?;
                Some((w.id, w.version, w.definition, spec))
            })
            .collect();
        found.sort_by(|a, b| (a.3.priority, &a.0).cmp(&(b.3.priority, &b.0)));
        Ok(found)
    }

    /// Submits a record: the first active definition of its module whose entry condition holds
    /// applies. `id` and `link_key` are random, made by the caller.
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
        let schema = settings.schema();
        let now = self.clock.now();
        let stored = self.record(&actor.tenant, module, record_id).await?;
        if !actor.access.reaches(&stored.value) || !actor.access.may(module, Permission::Read) {
            return Err(ApprovalError::NotFound(module.as_str()));
        }
        if let Some(pending) = pending_request(&stored.value) {
            return Err(ApprovalError::AlreadyPending(pending));
        }
        let typed = stored.value.typed(&schema);
        let ctx = EvalContext {
            now,
            tz: crate::schedule::fire_zone(&typed, &settings),
            previous: None,
        };
        let applies = self
            .candidates(&actor.tenant, module)
            .await?
            .into_iter()
            .find(|(_, _, definition, _)| {
                definition
                    .compile_condition(&schema)
                    .is_ok_and(|c| c.matches(&typed, &ctx))
            });
        let Some((workflow, version, definition, spec)) = applies else {
            return Err(ApprovalError::NoneApplies(module.as_str()));
        };
        let owner = stored.value.fields.get("Owner").and_then(Value::as_str);
        let may_submit = (spec.submitters.owner && owner == Some(actor.user.as_str()))
            || spec.submitters.users.contains(&actor.user)
            || spec.submitters.roles.contains(&actor.role);
        if !may_submit {
            return Err(ApprovalError::Forbidden(format!(
                "approval workflow '{}' does not let you submit this record",
                definition.name
            )));
        }
        if spec.records_revenue() {
            if let Some(at) = stored.value.fields.get(RECORDED_AT).and_then(Value::as_str) {
                return Err(ApprovalError::AlreadyRecorded(at.to_owned()));
            }
        }
        let mut request = ApprovalRequest {
            id,
            tenant: actor.tenant.clone(),
            record: record_id.clone(),
            module,
            workflow: workflow.clone(),
            version,
            name: definition.name.clone(),
            submitter: actor.user.clone(),
            submitted_at: now,
            status: RequestStatus::Pending,
            current: None,
            history: Vec::new(),
            link_key,
        };
        let mut entry = super::request::Entry::new(now, super::request::Event::Submitted);
        entry.by = Some(actor.user.clone());
        entry.comment = comment;
        request.history.push(entry);
        let pinned = Pinned { definition, spec };
        self.advance(&settings, &pinned, &mut request, 0, &stored.value, now)
            .await?;
        // Every step skipped: approved at once, and the record never locked.
        let record = locked(&stored.value, request.is_pending().then_some(&request));
        let saved = self
            .approvals
            .submit(&request, &record, stored.revision)
            .await?;
        Ok(saved.value)
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

    /// Reads the request and its record, applies `change` and saves, again from a fresh read
    /// when the request or the record moved meanwhile.
    async fn transition<F>(
        &self,
        tenant: &TenantId,
        record_id: &RecordId,
        id: &RecordId,
        mut change: F,
    ) -> Result<ApprovalRequest, ApprovalError>
    where
        F: FnMut(&mut ApprovalRequest, &Pinned, &StoredRecord) -> Result<Decided, ApprovalError>,
    {
        let settings = self.tenant(tenant).await?;
        for _ in 0..ATTEMPTS {
            let before = self
                .approvals
                .get(tenant, record_id, id)
                .await?
                .ok_or(ApprovalError::NotFound("approval request"))?;
            let stored = self.record(tenant, before.value.module, record_id).await?;
            let pinned = self.pinned(&before.value).await?;
            let now = self.clock.now();
            let mut next = before.value.clone();
            let decided = change(&mut next, &pinned, &stored.value)?;
            if decided == Decided::StepDone {
                let from = next.current.as_ref().map_or(0, |c| c.index + 1);
                self.advance(&settings, &pinned, &mut next, from, &stored.value, now)
                    .await?;
            }
            let record = if next.is_pending() {
                None
            } else {
                let mut freed = locked(&stored.value, None);
                if let Some(recorded) = next
                    .history
                    .iter()
                    .rev()
                    .find(|e| e.event == super::request::Event::Recorded)
                    .filter(|_| next.status == RequestStatus::Approved)
                {
                    let at = recorded
                        .at
                        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                    freed
                        .fields
                        .insert(RECORDED_REVENUE.into(), json!(recorded.revenue));
                    freed.fields.insert(RECORDED_BY.into(), json!(recorded.by));
                    freed.fields.insert(RECORDED_AT.into(), json!(at));
                    freed.fields.insert("UpdatedAt".into(), json!(at));
                    freed.fields.insert("UpdatedBy".into(), json!(recorded.by));
                }
                Some(freed)
            };
            let saved = self
                .approvals
                .save(
                    &before,
                    &next,
                    record.as_ref().map(|r| (r, stored.revision)),
                )
                .await;
            match saved {
                Ok(saved) => return Ok(saved.value),
                Err(StoreError::Conflict { .. }) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(ApprovalError::Busy)
    }

    /// An approver's decision on the current step.
    pub async fn decide(
        &self,
        actor: &Actor,
        module: Module,
        record: &RecordId,
        id: &RecordId,
        input: DecisionInput,
    ) -> Result<ApprovalRequest, ApprovalError> {
        self.get(actor, module, record, id).await?;
        self.decide_as(&actor.tenant, &actor.user, record, id, input, None)
            .await
    }

    /// `user`'s decision; `round`, for a decision link, the step it was sent for.
    async fn decide_as(
        &self,
        tenant: &TenantId,
        user: &UserId,
        record: &RecordId,
        id: &RecordId,
        input: DecisionInput,
        round: Option<u32>,
    ) -> Result<ApprovalRequest, ApprovalError> {
        check_comment(&input.comment)?;
        if input.revenue.is_some_and(|r| r < 0) {
            return Err(ApprovalError::Invalid(
                "/revenue",
                "a whole amount from 0".into(),
            ));
        }
        if input.revenue.is_some() && input.verdict != Verdict::Record {
            return Err(ApprovalError::Invalid(
                "/revenue",
                "only a record step records revenue".into(),
            ));
        }
        let now = self.clock.now();
        self.transition(tenant, record, id, |request, pinned, stored| {
            let current = request.current.as_ref();
            if round.is_some() && current.map(|c| c.round) != round {
                return Err(ApprovalError::LinkSpent("the step it was sent for is over"));
            }
            let record_step = current
                .and_then(|c| pinned.spec.steps.get(c.index))
                .is_some_and(|s| s.kind == StepKind::Record);
            let decision = match input.verdict {
                Verdict::Approve => Decision::Approve,
                Verdict::Reject => Decision::Reject,
                Verdict::Record => {
                    if let Some(at) = stored.fields.get(RECORDED_AT).and_then(Value::as_str) {
                        return Err(ApprovalError::AlreadyRecorded(at.to_owned()));
                    }
                    let total = stored.fields.get("Amount").and_then(Value::as_i64);
                    let revenue = input.revenue.or(total).ok_or(ApprovalError::Invalid(
                        "/revenue",
                        "the order has no total: say the revenue to record".into(),
                    ))?;
                    Decision::Record { revenue }
                }
            };
            Ok(request.decide(user, decision, record_step, input.comment.clone(), now)?)
        })
        .await
    }

    /// A decision through an email's link: `token` names the approver; nobody logs in.
    pub async fn decide_by_link(
        &self,
        token: &str,
        input: DecisionInput,
    ) -> Result<ApprovalRequest, ApprovalError> {
        let (link, _) = self.open_link(token).await?;
        self.decide_as(
            &link.tenant,
            &link.approver,
            &link.record,
            &link.request,
            input,
            Some(link.round),
        )
        .await
        .map_err(|error| match error {
            ApprovalError::Transition(TransitionError::AlreadyDecided(_)) => {
                ApprovalError::LinkSpent("you already decided this step")
            }
            ApprovalError::Transition(TransitionError::NotPending(_)) => {
                ApprovalError::LinkSpent("the request is over")
            }
            ApprovalError::Transition(TransitionError::NotAnApprover(_)) => {
                ApprovalError::LinkSpent("you are no longer an approver of this step")
            }
            other => other,
        })
    }

    /// What a decision link opens, before anything is decided (the page a mail client's link
    /// check may load as often as it likes): the link and its request, once its signature holds.
    pub async fn open_link(
        &self,
        token: &str,
    ) -> Result<(DecisionLink, ApprovalRequest), ApprovalError> {
        let (link, signed) = DecisionLink::parse(token)
            .ok_or(ApprovalError::LinkSpent("it is not a link we sent"))?;
        let found = self
            .approvals
            .get(&link.tenant, &link.record, &link.request)
            .await?
            .ok_or(ApprovalError::LinkSpent("it is not a link we sent"))?;
        if !link.verify(&found.value.link_key, &signed, self.clock.now()) {
            return Err(ApprovalError::LinkSpent(
                "it is not a link we sent, or it expired",
            ));
        }
        Ok((link, found.value))
    }

    /// The submitter takes the request back.
    pub async fn recall(
        &self,
        actor: &Actor,
        module: Module,
        record: &RecordId,
        id: &RecordId,
        comment: Option<String>,
    ) -> Result<ApprovalRequest, ApprovalError> {
        check_comment(&comment)?;
        self.get(actor, module, record, id).await?;
        let now = self.clock.now();
        self.transition(&actor.tenant, record, id, |request, _, _| {
            request.recall(&actor.user, comment.clone(), now)?;
            Ok(Decided::Rejected)
        })
        .await
    }

    /// An administrator gives an approver's part of the current step to another active user.
    pub async fn reassign(
        &self,
        actor: &Actor,
        module: Module,
        record: &RecordId,
        id: &RecordId,
        change: Reassignment,
    ) -> Result<ApprovalRequest, ApprovalError> {
        let Reassignment { from, to, comment } = &change;
        check_comment(comment)?;
        if actor.role != crate::user::Role::Administrator {
            return Err(ApprovalError::Forbidden(
                "only an administrator may reassign an approval".into(),
            ));
        }
        self.get(actor, module, record, id).await?;
        let active = self
            .users
            .get(&actor.tenant, to)
            .await?
            .is_some_and(|u| u.active);
        if !active {
            return Err(ApprovalError::Invalid(
                "/to",
                format!("no active user '{to}'"),
            ));
        }
        let now = self.clock.now();
        self.transition(&actor.tenant, record, id, |request, _, _| {
            request.reassign(&actor.user, from, to, comment.clone(), now)?;
            Ok(Decided::Waiting)
        })
        .await
    }
}
