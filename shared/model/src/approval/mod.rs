//! Approval workflows (Quy trình phê duyệt) and sales-recording workflows (Quy trình ghi doanh
//! số): one engine. A record is submitted, passes through ordered steps where chosen people
//! decide, and each outcome (submitted, approved, rejected, recalled) runs the actions the
//! definition names, once. A sales-recording workflow is the same definition on orders whose
//! last step records the order's revenue.
//!
//! A definition is a workflow of its own kind (versions, activation, validation and run history
//! are the workflows'); a request is pinned to the version it was submitted under.

mod decisions;
pub mod followups;
pub mod links;
pub mod request;
pub mod resolve;
pub mod samples;
pub mod service;
pub mod store;

use serde::{Deserialize, Serialize};

use crate::action::{Action, Catalog, SettingKind};
use crate::condition::{CompiledCondition, Condition, ConditionScope};
use crate::ids::{ActionId, SettingId, UserId};
use crate::schema::{FieldKind, Module, ModuleSchema};
use crate::user::Role;
use crate::validation::Problems;

/// At most this many steps in one definition.
pub const MAX_STEPS: usize = 10;
/// At most this many approver entries in one step (each may stand for several users).
pub const MAX_APPROVER_ENTRIES: usize = 10;
/// At most this many users decide one step (a role may stand for many): what a request stores
/// and notifies per step.
pub const MAX_STEP_APPROVERS: usize = 25;
/// The longest deadline of a step.
pub const MAX_DEADLINE_HOURS: u32 = 24 * 90;
/// At most this many users named as submitters (roles name the rest).
pub const MAX_SUBMITTER_USERS: usize = 50;
/// The field every record keeps its pending approval in (absent when none is pending).
pub const APPROVAL_FIELD: &str = "Approval";
/// The fields a sales-recording step writes on the order.
pub const RECORDED_REVENUE: &str = "RecordedRevenue";
pub const RECORDED_BY: &str = "RecordedBy";
pub const RECORDED_AT: &str = "RecordedAt";

/// What an administrator writes as the "when" of an approval workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalSpec {
    /// When several active definitions of a module match a record, the lowest priority applies
    /// (then the workflow id, in byte order).
    #[serde(default)]
    pub priority: u32,
    /// Who may submit a record.
    #[serde(default)]
    pub submitters: Submitters,
    pub steps: Vec<Step>,
    /// The actions (ids of the workflow's `actions`) run when a record is submitted, finally
    /// approved (or recorded), rejected and recalled.
    #[serde(default)]
    pub on_submit: Vec<ActionId>,
    #[serde(default)]
    pub on_approve: Vec<ActionId>,
    #[serde(default)]
    pub on_reject: Vec<ActionId>,
    #[serde(default)]
    pub on_recall: Vec<ActionId>,
    /// An email sender setting: approvers also get an email with approve and reject links that
    /// work without logging in. Without it, in-app notifications only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_sender: Option<SettingId>,
}

/// Who may submit a record for approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Submitters {
    /// The record's owner (on by default).
    #[serde(default = "yes")]
    pub owner: bool,
    #[serde(default)]
    pub users: Vec<UserId>,
    #[serde(default)]
    pub roles: Vec<Role>,
}

fn yes() -> bool {
    true
}

impl Default for Submitters {
    fn default() -> Self {
        Self {
            owner: true,
            users: Vec::new(),
            roles: Vec::new(),
        }
    }
}

/// What a step asks of its approvers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// Approve or reject.
    #[default]
    Approve,
    /// Record the order's revenue (or reject): the last step of a sales-recording workflow.
    Record,
}

/// How a step's approvers decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decide {
    /// The first approval (or rejection) decides.
    #[default]
    First,
    /// Every approver must approve; one rejection rejects.
    All,
}

/// One step of a definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub name: String,
    #[serde(default)]
    pub kind: StepKind,
    pub approvers: Vec<Approver>,
    #[serde(default)]
    pub decide: Decide,
    /// The step applies only to records matching it; otherwise it is skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<Deadline>,
}

/// Who decides a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Approver {
    User {
        user: UserId,
    },
    /// Every active user of the role.
    Role {
        role: Role,
    },
    /// The manager of whoever submitted the record.
    SubmitterManager,
    /// The manager of the record's owner.
    OwnerManager,
    /// The user a user field of the record names (an order's Salesperson, …).
    UserField {
        field: String,
    },
}

/// How long a step's approvers have, and what happens when they take longer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deadline {
    pub hours: u32,
    /// A reminder this many hours before the deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remind_before_hours: Option<u32>,
    /// At the deadline, each undecided approver's manager becomes an approver of the step too.
    #[serde(default)]
    pub escalate: bool,
}

/// Which outcome of a request runs which actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Submitted,
    Approved,
    Rejected,
    Recalled,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Submitted => "submitted",
            Outcome::Approved => "approved",
            Outcome::Rejected => "rejected",
            Outcome::Recalled => "recalled",
        }
    }
}

impl ApprovalSpec {
    /// The actions an outcome runs.
    pub fn actions_on(&self, outcome: Outcome) -> &[ActionId] {
        match outcome {
            Outcome::Submitted => &self.on_submit,
            Outcome::Approved => &self.on_approve,
            Outcome::Rejected => &self.on_reject,
            Outcome::Recalled => &self.on_recall,
        }
    }

    fn outcome_lists(&self) -> [(&'static str, &[ActionId]); 4] {
        [
            ("on_submit", &self.on_submit),
            ("on_approve", &self.on_approve),
            ("on_reject", &self.on_reject),
            ("on_recall", &self.on_recall),
        ]
    }

    /// The settings and users the definition names, for the catalog validation reads.
    pub fn references(
        &self,
        settings: &mut Vec<(SettingKind, SettingId)>,
        users: &mut Vec<UserId>,
    ) {
        if let Some(sender) = &self.email_sender {
            settings.push((SettingKind::EmailSender, sender.clone()));
        }
        users.extend(self.submitters.users.iter().cloned());
        for step in &self.steps {
            for approver in &step.approvers {
                if let Approver::User { user } = approver {
                    users.push(user.clone());
                }
            }
        }
    }

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

    /// Whether the last step records revenue.
    pub fn records_revenue(&self) -> bool {
        self.steps
            .last()
            .is_some_and(|s| s.kind == StepKind::Record)
    }
}

/// The action id the executor's approval timers (reminders, deadlines) go under: reserved, no
/// action of a definition may take it.
pub const TIMER_KIND: &str = "approval-timer";
/// The action id of an approver's email with its decision links.
pub const EMAIL_KIND: &str = "approval-email";

pub fn timer_action() -> ActionId {
    ActionId::new(TIMER_KIND).unwrap_or_else(|_| unreachable!("a valid action id"))
}

pub fn email_action() -> ActionId {
    ActionId::new(EMAIL_KIND).unwrap_or_else(|_| unreachable!("a valid action id"))
}
