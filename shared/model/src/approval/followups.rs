//! What a request's change sets off, read from the records stream: the actions of an outcome
//! (as jobs for the executor, once each by their keys), in-app notifications to the users a
//! step asks to decide and to the submitter, the approvers' emails with decision links, and the
//! step's next reminder or deadline in the due schedule. Everything here is keyed by the
//! request and the history line it comes from, so a redelivered stream record repeats nothing.

use chrono::{DateTime, Utc};

use super::request::{ApprovalRequest, Entry, Event};
use super::{email_action, timer_action};
use crate::ids::{RecordId, UserId};
use crate::schedule::ActionJob;
use crate::schedule::ports::{DueLane, JobPublisher, PublishError, ScheduleEntries, ScheduleEntry};
use crate::store::{ClaimOutcome, StoreError};
use crate::trigger::{Occurrence, OccurrenceKey};
use crate::user::Notification;
use crate::user::notifications::NotificationInbox;
use crate::workflow::store::WorkflowStore;

/// Why following up a change failed (the stream retries it).
#[derive(Debug, thiserror::Error)]
pub enum FollowupError {
    #[error("storage failed")]
    Store(#[from] StoreError),
    #[error("publishing failed")]
    Publish(#[from] PublishError),
}

/// What one change set off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FollowedUp {
    pub jobs_published: u32,
    pub notifications: u32,
    pub timers_armed: u32,
}

pub struct Followups<'a> {
    pub workflows: &'a dyn WorkflowStore,
    pub schedule: &'a dyn ScheduleEntries,
    pub publisher: &'a dyn JobPublisher,
    pub inbox: &'a dyn NotificationInbox,
}

fn message(request: &ApprovalRequest, entry: &Entry, submitter: bool) -> String {
    let step = entry.step.as_deref().unwrap_or("");
    let deadline = entry
        .deadline
        .map(|d| format!(", hạn {}", d.format("%Y-%m-%d %H:%M UTC")))
        .unwrap_or_default();
    let what = match entry.event {
        Event::StepStarted | Event::Reassigned => "cần bạn phê duyệt",
        Event::Escalated => "quá hạn, chuyển lên bạn phê duyệt",
        Event::Reminded => "nhắc: vẫn chờ bạn phê duyệt",
        Event::Overdue if submitter => "đã quá hạn phê duyệt",
        Event::Completed => "đã được phê duyệt",
        Event::Rejected => "đã bị từ chối",
        _ => "có thay đổi",
    };
    format!(
        "{} {} ({}{}{deadline})",
        request.name,
        what,
        request.record,
        if step.is_empty() {
            String::new()
        } else {
            format!(", bước {step}")
        }
    )
}

/// The instant a schedule entry keys a timer by.
fn occurrence(at: DateTime<Utc>) -> Occurrence {
    Occurrence {
        key: OccurrenceKey::Once(at.naive_utc()),
        fire_at: at,
    }
}

/// The cause of an email job: the request, the history line and the approver.
pub fn email_cause(request: &RecordId, entry: usize, user: &UserId) -> String {
    format!("{request}.{entry}.{user}")
}

/// What an email job's cause names.
pub fn parse_email_cause(cause: &str) -> Option<(RecordId, usize, UserId)> {
    let mut parts = cause.split('.');
    let request = RecordId::new(parts.next()?).ok()?;
    let entry = parts.next()?.parse().ok()?;
    let user = UserId::new(parts.next()?).ok()?;
    parts.next().is_none().then_some((request, entry, user))
}

impl Followups<'_> {
    /// Follows up the change of a request from `old` (none: just submitted) to `new`; `depth`
    /// is how many automation writes led to the change.
    pub async fn handle(
        &self,
        old: Option<&ApprovalRequest>,
        new: &ApprovalRequest,
    ) -> Result<FollowedUp, FollowupError> {
        let mut done = FollowedUp::default();
        let seen = old.map_or(0, |o| o.history.len());
        if new.history.len() <= seen && old.map(|o| &o.current) == Some(&new.current) {
            return Ok(done);
        }
        let definition = self
            .workflows
            .get_version(&new.tenant, &new.workflow, new.version)
            .await?;
        let Some(spec) = definition.as_ref().and_then(|d| d.approval_spec()) else {
            tracing::warn!(request = %new.id, "the approval workflow version is gone; nothing followed up");
            return Ok(done);
        };
        let mut jobs = Vec::new();
        for (index, entry) in new.history.iter().enumerate().skip(seen) {
            if let Some(outcome) = entry.outcome() {
                jobs.extend(spec.actions_on(outcome).iter().map(|action| ActionJob {
                    tenant: new.tenant.clone(),
                    workflow: new.workflow.clone(),
                    version: new.version,
                    record: new.record.clone(),
                    cause: format!("{}.{}", new.id, outcome.as_str()),
                    action: action.clone(),
                    due_at: entry.at,
                    snapshot: None,
                    depth: 0,
                }));
            }
            let asked = new.asked_by(index);
            let mut told: Vec<(UserId, bool)> = asked.iter().map(|u| (u.clone(), false)).collect();
            if matches!(
                entry.event,
                Event::Completed | Event::Rejected | Event::Overdue
            ) {
                told.push((new.submitter.clone(), true));
            }
            for (user, submitter) in told {
                let notification = Notification {
                    id: format!("apr-{}-{index}-{user}", new.id),
                    user,
                    message: message(new, entry, submitter),
                    record: Some(new.record.clone()),
                    at: entry.at,
                    read: false,
                };
                self.inbox.deliver(&new.tenant, &notification).await?;
                done.notifications += 1;
            }
            if spec.email_sender.is_some() {
                jobs.extend(asked.iter().map(|user| ActionJob {
                    tenant: new.tenant.clone(),
                    workflow: new.workflow.clone(),
                    version: new.version,
                    record: new.record.clone(),
                    cause: email_cause(&new.id, index, user),
                    action: email_action(),
                    due_at: entry.at,
                    snapshot: None,
                    depth: 0,
                }));
            }
        }
        if !jobs.is_empty() {
            crate::schedule::publish::publish_all(self.publisher, &jobs).await?;
            done.jobs_published = jobs.len() as u32;
        }
        if self.arm(new).await? {
            done.timers_armed = 1;
        }
        Ok(done)
    }

    /// Keeps the request's entry in the due schedule at its step's next timer (none once it is
    /// over); `true` when it armed one.
    async fn arm(&self, request: &ApprovalRequest) -> Result<bool, StoreError> {
        let next = request
            .current
            .as_ref()
            .filter(|_| request.is_pending())
            .and_then(|step| step.next_timer())
            .map(occurrence);
        for _ in 0..5 {
            let current = self
                .schedule
                .get(&request.tenant, &request.workflow, &request.record)
                .await?;
            if current.as_ref().map(|c| &c.next) == Some(&next)
                || (current.is_none() && next.is_none())
            {
                return Ok(false);
            }
            let entry = ScheduleEntry {
                tenant: request.tenant.clone(),
                workflow: request.workflow.clone(),
                version: request.version,
                record: request.record.clone(),
                next: next.clone(),
                last_fired: current.as_ref().and_then(|c| c.last_fired.clone()),
                revision: current.as_ref().map_or(0, |c| c.revision),
                failure: None,
                lane: DueLane::Instant,
            };
            if self.schedule.put(&entry).await? == ClaimOutcome::Claimed {
                return Ok(next.is_some());
            }
        }
        Err(StoreError::Conflict { expected: 0 })
    }
}

/// The job the scan sends when a request's timer is due.
pub fn timer_job(entry: &ScheduleEntry, due: &Occurrence) -> ActionJob {
    ActionJob {
        tenant: entry.tenant.clone(),
        workflow: entry.workflow.clone(),
        version: entry.version,
        record: entry.record.clone(),
        cause: due.key.to_string(),
        action: timer_action(),
        due_at: due.fire_at,
        snapshot: None,
        depth: 0,
    }
}
