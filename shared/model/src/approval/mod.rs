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
mod submit;
mod timers;
mod validate;

use serde::{Deserialize, Serialize};

use crate::action::SettingKind;
use crate::condition::Condition;
use crate::ids::{ActionId, SettingId, UserId};
use crate::user::Role;

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
