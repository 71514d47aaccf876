//! Submitting a record: which active approval workflow applies, whether the caller may submit
//! under it, its first step, and the request written with the record's lock.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::RECORDED_AT;
use super::request::{ApprovalRequest, RequestStatus};
use super::service::{
    ATTEMPTS, ApprovalError, Approvals, Pinned, check_comment, eval_context, locked,
    pending_request,
};
use crate::ids::{RecordId, TenantId};
use crate::record::service::Actor;
use crate::record::stored::StoredRecord;
use crate::schema::Module;
use crate::settings::TenantSettings;
use crate::store::StoreError;
use crate::user::access::Permission;
use crate::workflow::store::{WorkflowFilter, every_workflow};
use crate::workflow::{Workflow, WorkflowKind, WorkflowStatus};

impl Approvals<'_> {
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
}
