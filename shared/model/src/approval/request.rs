//! An approval request: one record's way through a definition's steps, pinned to the version it
//! was submitted under, with its history. Every transition here is pure; the store saves it on
//! the condition that the request is still at the revision it was read at, so two deciders, a
//! double click or a recall racing an approval leave exactly one outcome.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{Deadline, Decide, MAX_STEP_APPROVERS, Outcome};
use crate::ids::{RecordId, TenantId, UserId, WorkflowId};
use crate::schema::Module;

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    Pending,
    Approved,
    Rejected,
    Recalled,
}

/// One line of a request's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    Submitted,
    /// A step began; `users` are its approvers.
    StepStarted,
    /// A step's condition did not hold for the record.
    StepSkipped,
    /// One approver approved (with "all must approve", the step waits for the others).
    Approved,
    /// The order's revenue was recorded (`revenue`).
    Recorded,
    /// The last step was approved or recorded: the request is approved.
    Completed,
    Rejected,
    Recalled,
    /// An administrator gave an approver's part to someone else (`users`: from, to).
    Reassigned,
    /// The step's reminder went to its undecided approvers (`users`).
    Reminded,
    /// The deadline passed; the undecided approvers' managers (`users`) joined the step.
    Escalated,
    /// The deadline passed with nobody to escalate to.
    Overdue,
}

/// One line of a request's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub at: DateTime<Utc>,
    pub event: Event,
    /// Who did it (none for the system: steps, reminders, deadlines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The users the event concerns (a step's approvers, the managers escalated to, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revenue: Option<i64>,
}

impl Entry {
    pub fn new(at: DateTime<Utc>, event: Event) -> Self {
        Self {
            at,
            event,
            by: None,
            step: None,
            comment: None,
            users: Vec::new(),
            deadline: None,
            revenue: None,
        }
    }

    /// The outcome whose actions the entry runs, if any.
    pub fn outcome(&self) -> Option<Outcome> {
        match self.event {
            Event::Submitted => Some(Outcome::Submitted),
            Event::Completed => Some(Outcome::Approved),
            Event::Rejected => Some(Outcome::Rejected),
            Event::Recalled => Some(Outcome::Recalled),
            _ => None,
        }
    }
}

/// The step a pending request waits on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentStep {
    /// Its index in the pinned definition.
    pub index: usize,
    pub name: String,
    /// Increases each time the request enters a step: what decision links and timers name.
    pub round: u32,
    pub decide: Decide,
    pub approvers: Vec<UserId>,
    /// Who approved already (with "all must approve").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approved: Vec<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remind_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub escalate: bool,
    /// Set once the reminder went out.
    #[serde(default)]
    pub reminded: bool,
    /// Set once the deadline was handled (escalated or marked overdue).
    #[serde(default)]
    pub deadline_passed: bool,
    /// The managers the deadline escalated to: each decides the step alone, in the stead of
    /// those who did not (whatever the step's `decide`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub escalated_to: Vec<UserId>,
}

impl CurrentStep {
    /// The approvers who have not decided yet.
    pub fn undecided(&self) -> Vec<UserId> {
        self.approvers
            .iter()
            .filter(|u| !self.approved.contains(u))
            .cloned()
            .collect()
    }

    /// The next timer of the step: its reminder, then its deadline.
    pub fn next_timer(&self) -> Option<DateTime<Utc>> {
        match (self.remind_at, self.deadline_at) {
            (Some(remind), _) if !self.reminded => Some(remind),
            (_, Some(deadline)) if !self.deadline_passed => Some(deadline),
            _ => None,
        }
    }
}

/// A record's request for approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRequest {
    pub id: RecordId,
    pub tenant: TenantId,
    pub record: RecordId,
    pub module: Module,
    pub workflow: WorkflowId,
    /// The definition's version it was submitted under: it runs to its end under it.
    pub version: u32,
    /// The workflow's name when submitted.
    pub name: String,
    pub submitter: UserId,
    pub submitted_at: DateTime<Utc>,
    pub status: RequestStatus,
    /// While pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<CurrentStep>,
    pub history: Vec<Entry>,
    /// The key the request's decision links are signed with (random, made at submission):
    /// stored, never shown ([`ApprovalRequest::shown`]).
    #[serde(default)]
    pub link_key: String,
}

/// Why a transition is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("the request is already {0:?}")]
    NotPending(RequestStatus),
    #[error("you are not an approver of step '{0}' of this request")]
    NotAnApprover(String),
    #[error("you already decided step '{0}' of this request")]
    AlreadyDecided(String),
    #[error("only whoever submitted the request may recall it")]
    NotTheSubmitter,
    #[error("step '{0}' records revenue: record it (or reject) rather than approve")]
    RecordStep(String),
    #[error("step '{0}' approves: only a record step records revenue")]
    NotARecordStep(String),
    #[error("'{0}' is already an approver of step '{1}'")]
    AlreadyAnApprover(UserId, String),
    #[error("'{0}' has no part in step '{1}' to give away")]
    NotOnTheStep(UserId, String),
    #[error("step '{0}' would have more than {MAX_STEP_APPROVERS} approvers")]
    TooManyApprovers(String),
}

/// What an approver decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject,
    /// Record the order's revenue (the record step).
    Record {
        revenue: i64,
    },
}

/// What a decision did to the step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decided {
    /// Others of the step still have to approve.
    Waiting,
    /// The step is done: the next one begins (or the request completes).
    StepDone,
    /// Rejected: the request is over.
    Rejected,
}

/// The largest a pending request may grow (its history, mostly): DynamoDB keeps at most 400 KB
/// an item, and the rejection or recall that ends a request must always fit after it.
pub const MAX_PENDING_BYTES: usize = 256 * 1024;

impl ApprovalRequest {
    /// Whether the request, still pending, leaves room for what ends it.
    pub fn fits(&self) -> bool {
        !self.is_pending()
            || serde_json::to_vec(self).is_ok_and(|bytes| bytes.len() <= MAX_PENDING_BYTES)
    }

    /// The request as the API shows it: everything but its link key.
    pub fn shown(&self) -> serde_json::Value {
        let mut shown = serde_json::to_value(self).unwrap_or_default();
        if let Some(fields) = shown.as_object_mut() {
            fields.remove("link_key");
        }
        shown
    }

    pub fn is_pending(&self) -> bool {
        self.status == RequestStatus::Pending
    }

    pub(super) fn pending_step(&self) -> Result<&CurrentStep, TransitionError> {
        match (&self.current, self.status) {
            (Some(step), RequestStatus::Pending) => Ok(step),
            (_, status) => Err(TransitionError::NotPending(status)),
        }
    }

    pub(super) fn log(&mut self, entry: Entry) {
        self.history.push(entry);
    }

    /// Enters step `index` with its approvers (already resolved) at `now`.
    pub fn enter_step(
        &mut self,
        index: usize,
        name: &str,
        decide: Decide,
        approvers: Vec<UserId>,
        deadline: Option<&Deadline>,
        now: DateTime<Utc>,
    ) {
        let round = self.current.as_ref().map_or(0, |c| c.round) + 1;
        let deadline_at = deadline.map(|d| now + Duration::hours(i64::from(d.hours)));
        let remind_at = deadline.and_then(|d| {
            d.remind_before_hours
                .map(|r| now + Duration::hours(i64::from(d.hours) - i64::from(r)))
        });
        let mut entry = Entry::new(now, Event::StepStarted);
        entry.step = Some(name.to_owned());
        entry.users = approvers.clone();
        entry.deadline = deadline_at;
        self.log(entry);
        self.current = Some(CurrentStep {
            index,
            name: name.to_owned(),
            round,
            decide,
            approvers,
            approved: Vec::new(),
            deadline_at,
            remind_at,
            escalate: deadline.is_some_and(|d| d.escalate),
            reminded: false,
            deadline_passed: false,
            escalated_to: Vec::new(),
        });
    }

    /// Notes that step `name` was skipped (its condition does not hold).
    pub fn skip_step(&mut self, name: &str, now: DateTime<Utc>) {
        let mut entry = Entry::new(now, Event::StepSkipped);
        entry.step = Some(name.to_owned());
        self.log(entry);
    }

    /// The last step is done: approved.
    pub fn complete(&mut self, now: DateTime<Utc>) {
        self.status = RequestStatus::Approved;
        self.current = None;
        self.log(Entry::new(now, Event::Completed));
    }

    /// `user`'s decision on the current step. `record_step` says whether the step records
    /// revenue (a record step takes `Record` or `Reject` only).
    pub fn decide(
        &mut self,
        user: &UserId,
        decision: Decision,
        record_step: bool,
        comment: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Decided, TransitionError> {
        let step = self.pending_step()?.clone();
        if !step.approvers.contains(user) {
            return Err(TransitionError::NotAnApprover(step.name));
        }
        if step.approved.contains(user) {
            return Err(TransitionError::AlreadyDecided(step.name));
        }
        match decision {
            Decision::Approve if record_step => return Err(TransitionError::RecordStep(step.name)),
            Decision::Record { .. } if !record_step => {
                return Err(TransitionError::NotARecordStep(step.name));
            }
            _ => {}
        }
        let event = match decision {
            Decision::Approve => Event::Approved,
            Decision::Reject => Event::Rejected,
            Decision::Record { .. } => Event::Recorded,
        };
        let mut entry = Entry::new(now, event);
        entry.by = Some(user.clone());
        entry.step = Some(step.name.clone());
        entry.comment = comment;
        if let Decision::Record { revenue } = decision {
            entry.revenue = Some(revenue);
        }
        self.log(entry);
        if decision == Decision::Reject {
            self.status = RequestStatus::Rejected;
            self.current = None;
            return Ok(Decided::Rejected);
        }
        let mut step = step;
        step.approved.push(user.clone());
        let done = step.decide == Decide::First
            || step.escalated_to.contains(user)
            || step.undecided().is_empty();
        self.current = Some(step);
        Ok(if done {
            Decided::StepDone
        } else {
            Decided::Waiting
        })
    }

    /// The submitter takes the request back.
    pub fn recall(
        &mut self,
        user: &UserId,
        comment: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(), TransitionError> {
        self.pending_step()?;
        if user != &self.submitter {
            return Err(TransitionError::NotTheSubmitter);
        }
        self.status = RequestStatus::Recalled;
        self.current = None;
        let mut entry = Entry::new(now, Event::Recalled);
        entry.by = Some(user.clone());
        entry.comment = comment;
        self.log(entry);
        Ok(())
    }

    /// An administrator gives `from`'s part of the current step to `to`.
    pub fn reassign(
        &mut self,
        admin: &UserId,
        from: &UserId,
        to: &UserId,
        comment: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(), TransitionError> {
        let mut step = self.pending_step()?.clone();
        if !step.undecided().contains(from) {
            return Err(TransitionError::NotOnTheStep(from.clone(), step.name));
        }
        if step.approvers.contains(to) {
            return Err(TransitionError::AlreadyAnApprover(to.clone(), step.name));
        }
        for approver in step
            .approvers
            .iter_mut()
            .chain(step.escalated_to.iter_mut())
        {
            if approver == from {
                *approver = to.clone();
            }
        }
        let mut entry = Entry::new(now, Event::Reassigned);
        entry.by = Some(admin.clone());
        entry.step = Some(step.name.clone());
        entry.users = vec![from.clone(), to.clone()];
        entry.deadline = step.deadline_at;
        entry.comment = comment;
        self.current = Some(step);
        self.log(entry);
        Ok(())
    }

    /// The users `entry` (the `index`th of the history) asks to decide: those to notify.
    pub fn asked_by(&self, index: usize) -> Vec<UserId> {
        let Some(entry) = self.history.get(index) else {
            return Vec::new();
        };
        match entry.event {
            Event::StepStarted | Event::Escalated | Event::Reminded => entry.users.clone(),
            Event::Reassigned => entry.users.get(1).cloned().into_iter().collect(),
            _ => Vec::new(),
        }
    }
}
