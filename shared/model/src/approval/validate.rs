//! What a definition must be: checked against the module's fields alone (`validate`, called
//! with the trigger's pointer by the workflows' validation), and against the workflow's
//! actions and the tenant's settings and users (`validate_references`).

use super::{
    ApprovalSpec, Approver, Decide, EMAIL_KIND, MAX_APPROVER_ENTRIES, MAX_DEADLINE_HOURS,
    MAX_STEPS, MAX_SUBMITTER_USERS, StepKind, TIMER_KIND,
};
use crate::action::{Action, Catalog, SettingKind};
use crate::condition::{CompiledCondition, ConditionScope};
use crate::schema::{FieldKind, Module, ModuleSchema};
use crate::validation::Problems;

impl ApprovalSpec {
    /// What the schema alone can check, under `path` (the trigger's pointer).
    pub fn validate(&self, module: &ModuleSchema, path: &str) -> Problems {
        let mut problems = Problems::default();
        if self.submitters.users.len() > MAX_SUBMITTER_USERS {
            problems.push(
                format!("{path}/submitters/users"),
                format!("at most {MAX_SUBMITTER_USERS} users (name a role for more)"),
            );
        }
        if self.steps.is_empty() || self.steps.len() > MAX_STEPS {
            problems.push(format!("{path}/steps"), format!("1 to {MAX_STEPS} steps"));
        }
        for (i, step) in self.steps.iter().enumerate() {
            let at = format!("{path}/steps/{i}");
            if step.name.trim().is_empty() || step.name.chars().count() > 120 {
                problems.push(format!("{at}/name"), "is required, at most 120 characters");
            } else if self.steps[..i].iter().any(|s| s.name == step.name) {
                problems.push(
                    format!("{at}/name"),
                    format!("'{}' names two steps", step.name),
                );
            }
            if step.approvers.is_empty() || step.approvers.len() > MAX_APPROVER_ENTRIES {
                problems.push(
                    format!("{at}/approvers"),
                    format!("1 to {MAX_APPROVER_ENTRIES} approvers"),
                );
            }
            for (j, approver) in step.approvers.iter().enumerate() {
                if step.approvers[..j].contains(approver) {
                    problems.push(format!("{at}/approvers/{j}"), "is listed twice");
                }
                if let Approver::UserField { field } = approver {
                    match module.field(field) {
                        Some(def) if def.kind == FieldKind::User => {}
                        Some(_) => problems.push(
                            format!("{at}/approvers/{j}/field"),
                            format!("'{field}' is not a user field"),
                        ),
                        None => problems.push(
                            format!("{at}/approvers/{j}/field"),
                            format!("no field '{field}' in {}", module.module().as_str()),
                        ),
                    }
                }
            }
            if let Some(condition) = &step.condition {
                if let Err(p) = CompiledCondition::compile(
                    condition,
                    module,
                    ConditionScope::RecordState,
                    &format!("{at}/condition"),
                ) {
                    problems.extend(p);
                }
            }
            if let Some(deadline) = &step.deadline {
                if deadline.hours == 0 || deadline.hours > MAX_DEADLINE_HOURS {
                    problems.push(
                        format!("{at}/deadline/hours"),
                        format!("1 to {MAX_DEADLINE_HOURS} hours"),
                    );
                }
                if deadline
                    .remind_before_hours
                    .is_some_and(|r| r == 0 || r >= deadline.hours)
                {
                    problems.push(
                        format!("{at}/deadline/remind_before_hours"),
                        "at least 1 hour, and less than the deadline",
                    );
                }
            }
            if step.kind == StepKind::Record {
                if module.module() != Module::Order {
                    problems.push(
                        format!("{at}/kind"),
                        "only orders have revenue to record: a record step is for the Order module",
                    );
                }
                if i + 1 != self.steps.len() {
                    problems.push(
                        format!("{at}/kind"),
                        "the record step is the last step (recording ends the workflow)",
                    );
                }
                if step.condition.is_some() {
                    problems.push(
                        format!("{at}/condition"),
                        "the record step is never skipped: it is what the workflow is for",
                    );
                }
                if step.decide == Decide::All {
                    problems.push(
                        format!("{at}/decide"),
                        "revenue is recorded once, by one of the step's approvers",
                    );
                }
            }
        }
        problems
    }

    /// What needs the workflow's actions and the tenant's settings and users.
    pub fn validate_references(
        &self,
        actions: &[Action],
        catalog: &dyn Catalog,
        path: &str,
    ) -> Problems {
        let mut problems = Problems::default();
        for (name, list) in self.outcome_lists() {
            for (i, id) in list.iter().enumerate() {
                if list[..i].contains(id) {
                    problems.push(
                        format!("{path}/{name}/{i}"),
                        format!("'{id}' is listed twice"),
                    );
                } else if !actions.iter().any(|a| a.id() == id) {
                    problems.push(
                        format!("{path}/{name}/{i}"),
                        format!("the workflow has no action '{id}'"),
                    );
                }
            }
        }
        for (i, action) in actions.iter().enumerate() {
            if [TIMER_KIND, EMAIL_KIND].contains(&action.id().as_str()) {
                problems.push(
                    format!("/actions/{i}/id"),
                    format!("'{}' is reserved for the approval's own jobs", action.id()),
                );
            }
            if !self
                .outcome_lists()
                .iter()
                .any(|(_, list)| list.contains(action.id()))
            {
                problems.push(
                    format!("/actions/{i}"),
                    format!(
                        "action '{}' runs on no outcome: name it in on_submit, on_approve, \
                         on_reject or on_recall",
                        action.id()
                    ),
                );
            }
        }
        if let Some(sender) = &self.email_sender {
            if catalog.setting(SettingKind::EmailSender, sender).is_none() {
                problems.push(
                    format!("{path}/email_sender"),
                    format!("no email sender '{sender}'"),
                );
            }
        }
        for (i, user) in self.submitters.users.iter().enumerate() {
            if !catalog.user_exists(user) {
                problems.push(
                    format!("{path}/submitters/users/{i}"),
                    format!("no user '{user}'"),
                );
            }
        }
        for (i, step) in self.steps.iter().enumerate() {
            for (j, approver) in step.approvers.iter().enumerate() {
                if let Approver::User { user } = approver {
                    if !catalog.user_exists(user) {
                        problems.push(
                            format!("{path}/steps/{i}/approvers/{j}/user"),
                            format!("no user '{user}'"),
                        );
                    }
                }
            }
        }
        problems
    }
}
