//! Workflows: a module, a "when", a condition and ordered actions, with a status and versions.
//! Care workflows fire on time triggers, work workflows on record events.

pub mod library;
pub mod preview;
pub mod samples;
pub mod service;
pub mod store;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::action::{Action, Catalog};
use crate::condition::{CompiledCondition, Condition, ConditionScope};
use crate::ids::{TenantId, UserId, WorkflowId};
use crate::schema::{Module, Schema};
use crate::trigger::Trigger;
use crate::validation::Problems;

/// A module may have at most this many active care workflows (seed 000).
pub const MAX_ACTIVE_CARE_WORKFLOWS_PER_MODULE: usize = 10;
/// At most this many active work workflows per module (the work workflows' help page).
pub const MAX_ACTIVE_WORK_WORKFLOWS_PER_MODULE: usize = 10;
/// At most this many active scoring rules per module: several scores per record (fit,
/// engagement, …) but each one a field to keep right on every change.
pub const MAX_ACTIVE_SCORING_RULES_PER_MODULE: usize = 5;
/// At most this many active approval (and sales-recording) workflows per module: the first
/// whose condition a record meets applies, so more is a list nobody can reason about.
pub const MAX_ACTIVE_APPROVAL_WORKFLOWS_PER_MODULE: usize = 20;
/// More actions than this in one workflow is a configuration smell, and bounds one run's fan-out.
pub const MAX_ACTIONS: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkflowKind {
    /// Time-triggered (Quy trình chăm sóc).
    Care,
    /// Record-event-triggered (Quy trình làm việc).
    Work,
    /// A scoring rule (Quy tắc chấm điểm): keeps a score field right.
    Scoring,
    /// An approval or sales-recording workflow (Quy trình phê duyệt, ghi doanh số): runs when
    /// a record is submitted ([`crate::approval`]).
    Approval,
}

impl WorkflowKind {
    /// How many workflows of the kind a module may have active at once (both 10 in the product
    /// the seeds describe).
    pub fn max_active_per_module(self) -> usize {
        match self {
            WorkflowKind::Care => MAX_ACTIVE_CARE_WORKFLOWS_PER_MODULE,
            WorkflowKind::Work => MAX_ACTIVE_WORK_WORKFLOWS_PER_MODULE,
            WorkflowKind::Scoring => MAX_ACTIVE_SCORING_RULES_PER_MODULE,
            WorkflowKind::Approval => MAX_ACTIVE_APPROVAL_WORKFLOWS_PER_MODULE,
        }
    }
}

impl std::fmt::Display for WorkflowKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WorkflowKind::Care => "care",
            WorkflowKind::Work => "work",
            WorkflowKind::Scoring => "scoring",
            WorkflowKind::Approval => "approval",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkflowStatus {
    Draft,
    Active,
    Inactive,
}

/// What happens to an email, SMS or ZNS send when the executor crashes after the provider
/// accepted it but before the run recorded so: the run shows as "unknown" either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExternalSendGuarantee {
    /// Never send twice; a crash may lose the message.
    #[default]
    AtMostOnce,
    /// Never lose the message; a crash may send it twice.
    AtLeastOnce,
}

/// What an administrator edits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowDefinition {
    pub module: Module,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub trigger: Trigger,
    #[serde(default)]
    pub condition: Condition,
    /// None for a scoring rule.
    #[serde(default)]
    pub actions: Vec<Action>,
    /// Actions attached from the module's library: each is one of `actions`, under its `id`,
    /// copied from the library when the workflow is saved (or when an administrator applies an
    /// edit of the library action to it), so a version runs the copy it was saved with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attached: Vec<AttachedAction>,
    #[serde(default)]
    pub external_sends: ExternalSendGuarantee,
}

/// A library action attached to a workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachedAction {
    /// The id the action has in the workflow (its runs and jobs name it).
    pub id: crate::ids::ActionId,
    /// The library action.
    pub action: crate::ids::SettingId,
}

impl WorkflowDefinition {
    pub fn kind(&self) -> WorkflowKind {
        match self.trigger {
            Trigger::Time(_) => WorkflowKind::Care,
            Trigger::RecordEvent(_) => WorkflowKind::Work,
            Trigger::Score(_) => WorkflowKind::Scoring,
            Trigger::Approval(_) => WorkflowKind::Approval,
        }
    }

    fn condition_scope(&self) -> ConditionScope {
        match self.kind() {
            WorkflowKind::Care | WorkflowKind::Scoring | WorkflowKind::Approval => {
                ConditionScope::RecordState
            }
            WorkflowKind::Work => ConditionScope::RecordChange,
        }
    }

    /// Checks everything against the tenant's schema and settings, returning every problem at
    /// once with its JSON pointer; on success, the compiled condition.
    pub fn validate(
        &self,
        schema: &Schema,
        catalog: &dyn Catalog,
    ) -> Result<CompiledCondition, Problems> {
        let module = schema.module(self.module);
        let mut problems = Problems::default();
        if self.name.trim().is_empty() || self.name.chars().count() > 255 {
            problems.push("/name", "is required, at most 255 characters");
        }
        if self.description.chars().count() > 4000 {
            problems.push("/description", "at most 4000 characters");
        }
        problems.extend(self.trigger.validate(module, "/trigger"));
        let condition = CompiledCondition::compile(
            &self.condition,
            module,
            self.condition_scope(),
            "/condition",
        );
        let condition = condition.map_err(|p| problems.extend(p)).ok();
        if self.kind() == WorkflowKind::Scoring {
            if !self.actions.is_empty() || !self.attached.is_empty() {
                problems.push(
                    "/actions",
                    "a scoring rule has no actions: a work workflow acts on the score it writes",
                );
            }
        } else if let Trigger::Approval(spec) = &self.trigger {
            // Each outcome may run nothing: a definition that only locks and records decisions
            // is a whole one.
            if self.actions.len() > MAX_ACTIONS {
                problems.push("/actions", format!("at most {MAX_ACTIONS} actions"));
            }
            problems.extend(spec.validate_references(&self.actions, catalog, "/trigger"));
        } else if self.actions.is_empty() || self.actions.len() > MAX_ACTIONS {
            problems.push(
                "/actions",
                format!("a workflow has 1 to {MAX_ACTIONS} actions"),
            );
        }
        let mut checker = crate::action::validate_with(schema, self.module, catalog);
        for (i, action) in self.actions.iter().enumerate() {
            if self.actions[..i].iter().any(|a| a.id() == action.id()) {
                checker.problems.push(
                    format!("/actions/{i}/id"),
                    format!("action id '{}' is used twice", action.id()),
                );
            }
            checker.action(action, &format!("/actions/{i}"));
        }
        problems.extend(checker.problems);
        if let Some(written) = self.fields_that_retrigger_it() {
            problems.push(
                "/trigger/watched_fields",
                format!(
                    "this workflow runs on every edit and its actions write {} of the record it \
                     runs on, so its own change would set it off again: watch only fields its \
                     actions do not write, or run it only the first time a record matches",
                    written.join(", ")
                ),
            );
        }
        match condition {
            Some(condition) if problems.is_empty() => Ok(condition),
            _ => Err(problems),
        }
    }

    /// The fields of the record itself a work workflow running on every edit writes and listens
    /// to: its own change would set it off again (the stream's guard stops it at run time; a
    /// definition like this is refused when saved). `None` when it cannot set itself off.
    pub fn fields_that_retrigger_it(&self) -> Option<Vec<String>> {
        use crate::trigger::{RecordEvent, WatchMode};
        let Trigger::RecordEvent(trigger) = &self.trigger else {
            return None;
        };
        if trigger.on == RecordEvent::Created || !trigger.repeat_on_every_edit {
            return None;
        }
        let mut written: Vec<String> = Vec::new();
        for action in &self.actions {
            match action {
                crate::action::Action::UpdateFields(a) if a.via.is_none() => {
                    written.extend(a.values.iter().map(|v| v.field.clone()));
                }
                crate::action::Action::Handover(_) => written.push("Owner".into()),
                _ => {}
            }
        }
        if written.is_empty() {
            return None;
        }
        // Every write of the executor also stamps the record's UpdatedAt.
        written.push("UpdatedAt".into());
        written.sort();
        written.dedup();
        let watched = &trigger.watched_fields;
        let listens = match trigger.watch {
            _ if watched.is_empty() => true,
            WatchMode::Any => watched.iter().any(|f| written.contains(f)),
            WatchMode::All => watched.iter().all(|f| written.contains(f)),
        };
        listens.then(|| {
            written.retain(|f| f != "UpdatedAt" || watched.contains(f));
            written
        })
    }

    /// An approval workflow's steps and outcomes (none for the other kinds).
    pub fn approval_spec(&self) -> Option<&crate::approval::ApprovalSpec> {
        match &self.trigger {
            Trigger::Approval(spec) => Some(spec),
            _ => None,
        }
    }

    /// Every setting the definition names: its actions', its attached library actions and its
    /// trigger's (an approval's email sender).
    pub fn setting_refs(&self) -> Vec<(crate::action::SettingKind, crate::ids::SettingId)> {
        let mut refs = Vec::new();
        for action in &self.actions {
            action.settings(&mut refs);
        }
        for attached in &self.attached {
            refs.push((
                crate::action::SettingKind::LibraryAction,
                attached.action.clone(),
            ));
        }
        if let Some(spec) = self.approval_spec() {
            spec.references(&mut refs, &mut Vec::new());
        }
        refs
    }

    /// The compiled condition of a definition already validated when it was stored.
    pub fn compile_condition(&self, schema: &Schema) -> Result<CompiledCondition, Problems> {
        CompiledCondition::compile(
            &self.condition,
            schema.module(self.module),
            self.condition_scope(),
            "/condition",
        )
    }
}

/// Who changed a workflow, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    pub by: UserId,
    pub at: DateTime<Utc>,
}

/// A workflow as stored: its current version's definition and its lifecycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workflow {
    pub id: WorkflowId,
    pub tenant: TenantId,
    pub kind: WorkflowKind,
    pub status: WorkflowStatus,
    /// The current version; every earlier one stays readable.
    pub version: u32,
    /// Set once the workflow has been active: from then on every edit is a new version, since
    /// runs are pinned to the version that scheduled them.
    pub ever_activated: bool,
    pub definition: WorkflowDefinition,
    pub created: Stamp,
    pub updated: Stamp,
    /// What the executor does with jobs of this workflow still queued while it is inactive (or
    /// once it is deleted): cancel them (the default) or let them finish. Set on deactivation.
    #[serde(default)]
    pub queued_jobs: QueuedJobs,
}

/// The kill switch's setting: what becomes of a workflow's queued jobs once it is deactivated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueuedJobs {
    /// Not carried out: each shows as cancelled in the run history.
    #[default]
    Cancel,
    /// Carried out as if the workflow were still active.
    Finish,
}

/// A lifecycle change that is not allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("the workflow is already {0:?}")]
    AlreadyInStatus(WorkflowStatus),
    #[error("a workflow's module cannot change (create a new workflow instead)")]
    ModuleChanged,
    #[error("a workflow's kind cannot change (create a new workflow instead)")]
    KindChanged,
}

impl Workflow {
    pub fn new(
        id: WorkflowId,
        tenant: TenantId,
        definition: WorkflowDefinition,
        stamp: Stamp,
    ) -> Self {
        Self {
            id,
            tenant,
            kind: definition.kind(),
            status: WorkflowStatus::Draft,
            version: 1,
            ever_activated: false,
            definition,
            created: stamp.clone(),
            updated: stamp,
            queued_jobs: QueuedJobs::default(),
        }
    }

    /// The workflow after an edit. A draft never activated is edited in place; otherwise the
    /// edit becomes a new version (returned `true`).
    pub fn edit(
        &self,
        definition: WorkflowDefinition,
        stamp: Stamp,
    ) -> Result<(Workflow, bool), TransitionError> {
        if definition.module != self.definition.module {
            return Err(TransitionError::ModuleChanged);
        }
        if definition.kind() != self.kind {
            return Err(TransitionError::KindChanged);
        }
        let new_version = self.ever_activated;
        let mut next = self.clone();
        next.definition = definition;
        next.updated = stamp;
        if new_version {
            next.version += 1;
        }
        Ok((next, new_version))
    }

    /// Activation. The limit of active care workflows per module is enforced where it can be
    /// atomic: by the store, in the same write ([`Workflow::active_change`]).
    pub fn activate(&self, stamp: Stamp) -> Result<Workflow, TransitionError> {
        if self.status == WorkflowStatus::Active {
            return Err(TransitionError::AlreadyInStatus(WorkflowStatus::Active));
        }
        let mut next = self.clone();
        next.status = WorkflowStatus::Active;
        next.ever_activated = true;
        next.queued_jobs = QueuedJobs::default();
        next.updated = stamp;
        Ok(next)
    }

    /// How saving `next` over `self` changes the module's count of active workflows of its kind.
    pub fn active_change(&self, next: &Workflow) -> ActiveChange {
        let (kind, module) = (self.kind, self.definition.module);
        match (
            self.status == WorkflowStatus::Active,
            next.status == WorkflowStatus::Active,
        ) {
            (false, true) => ActiveChange::Activate {
                kind,
                module,
                limit: kind.max_active_per_module(),
            },
            (true, false) => ActiveChange::Deactivate { kind, module },
            _ => ActiveChange::None,
        }
    }

    /// The workflow stopped: nothing new is scheduled, and its queued jobs are cancelled or
    /// finish as `queued_jobs` says.
    pub fn deactivate(
        &self,
        stamp: Stamp,
        queued_jobs: QueuedJobs,
    ) -> Result<Workflow, TransitionError> {
        if self.status != WorkflowStatus::Active {
            return Err(TransitionError::AlreadyInStatus(self.status));
        }
        let mut next = self.clone();
        next.status = WorkflowStatus::Inactive;
        next.queued_jobs = queued_jobs;
        next.updated = stamp;
        Ok(next)
    }
}

/// How a save changes the module's count of active workflows of one kind (each kind counts
/// apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActiveChange {
    None,
    /// Activation: fails with `LimitReached` when the module is at its limit.
    Activate {
        kind: WorkflowKind,
        module: Module,
        limit: usize,
    },
    /// Deactivation: a count already at zero (workflows active before it was kept) stays there.
    Deactivate {
        kind: WorkflowKind,
        module: Module,
    },
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
