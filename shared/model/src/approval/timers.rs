//! A step's timers: its reminder, and its deadline with the escalation to the undecided
//! approvers' managers. The executor applies them when the due schedule says so, each once.

use chrono::{DateTime, Utc};

use super::MAX_STEP_APPROVERS;
use super::request::{ApprovalRequest, Entry, Event};
use crate::ids::UserId;

impl ApprovalRequest {
    /// The reminder of the current step, when due at `now` and not sent yet; `false` when there
    /// is nothing to remind of.
    pub fn remind(&mut self, now: DateTime<Utc>) -> bool {
        let Ok(step) = self.pending_step() else {
            return false;
        };
        let due = step.remind_at.is_some_and(|at| at <= now) && !step.reminded;
        if !due {
            return false;
        }
        let mut step = step.clone();
        step.reminded = true;
        let mut entry = Entry::new(now, Event::Reminded);
        entry.step = Some(step.name.clone());
        entry.users = step.undecided();
        entry.deadline = step.deadline_at;
        self.current = Some(step);
        self.log(entry);
        true
    }

    /// The deadline of the current step, when passed at `now` and not handled yet: the managers
    /// (`managers`, of the undecided approvers, resolved by the caller) join the step when it
    /// escalates; otherwise it is marked overdue. `false` when there is nothing to do.
    pub fn pass_deadline(&mut self, managers: Vec<UserId>, now: DateTime<Utc>) -> bool {
        let Ok(step) = self.pending_step() else {
            return false;
        };
        let due = step.deadline_at.is_some_and(|at| at <= now) && !step.deadline_passed;
        if !due {
            return false;
        }
        let mut step = step.clone();
        step.deadline_passed = true;
        // A reminder not sent by the deadline is not sent after it.
        step.reminded = true;
        let added: Vec<UserId> = if step.escalate {
            let mut added: Vec<UserId> = Vec::new();
            for manager in managers {
                let room = step.approvers.len() + added.len() < MAX_STEP_APPROVERS;
                if room && !step.approvers.contains(&manager) && !added.contains(&manager) {
                    added.push(manager);
                }
            }
            added
        } else {
            Vec::new()
        };
        let mut entry = Entry::new(
            now,
            if added.is_empty() {
                Event::Overdue
            } else {
                Event::Escalated
            },
        );
        entry.step = Some(step.name.clone());
        entry.users = if added.is_empty() {
            step.undecided()
        } else {
            added.clone()
        };
        step.approvers.extend(added.iter().cloned());
        step.escalated_to.extend(added);
        self.current = Some(step);
        self.log(entry);
        true
    }
}
