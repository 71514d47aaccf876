//! Runs: what the executor did with each action job, keyed by the job's idempotency key. The
//! ledger that makes effects happen once, and the history users read.

pub mod execute;
pub mod ledger;
pub mod providers;
pub mod service;

use crate::ids::{ActionId, RecordId, TenantId, WorkflowId};
use crate::record::stored::StoredRecord;
use crate::schedule::ActionJob;
use crate::user::Notification;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Claimed by a delivery that holds a lease.
    InProgress,
    Succeeded,
    Failed,
    /// A send may or may not have reached the provider (the executor stopped in between);
    /// shown for review, never retried under the at-most-once guarantee.
    Unknown,
    /// Waiting for its next delivery: a transient failure, a batch out of time, or an
    /// administrator's retry. Recipients already sent to are not sent to again.
    Retrying,
    /// Not carried out: the workflow was deactivated or deleted before the job ran.
    Cancelled,
}

impl RunStatus {
    /// The status as the run history shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::InProgress => "in_progress",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Unknown => "unknown",
            RunStatus::Retrying => "retrying",
            RunStatus::Cancelled => "cancelled",
        }
    }

    /// What an administrator may ask to try again: a failed, unknown or cancelled run, or one
    /// waiting for a redelivery that may never come (its job dead-lettered). A succeeded one
    /// would send twice; one in progress is someone else's. A retry only ever sends to the
    /// recipients not sent to yet.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            RunStatus::Failed | RunStatus::Unknown | RunStatus::Retrying | RunStatus::Cancelled
        )
    }

    /// Whether a delivery finding the run settled does nothing more.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            RunStatus::Succeeded | RunStatus::Failed | RunStatus::Unknown | RunStatus::Cancelled
        )
    }
}

/// One action job's run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub key: String,
    pub tenant: TenantId,
    pub workflow: WorkflowId,
    pub version: u32,
    pub record: RecordId,
    pub action: ActionId,
    pub kind: String,
    pub cause: String,
    pub status: RunStatus,
    pub attempts: u32,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until: Option<DateTime<Utc>>,
    /// What the action produced: provider message ids, created record ids.
    #[serde(default)]
    pub output: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// SMS and ZNS recipients not sent to, each with why (absent when none was skipped; runs
    /// stored before the field existed read as none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<SkippedRecipient>,
    /// An external send's recipients in the order they are sent to, each with its own state:
    /// the ledger of exactly once per recipient (absent for effects, and in runs stored before).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<RecipientRun>,
    /// The job's depth in a chain of automation writes (0 when a person or the schedule set it
    /// off).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub depth: u8,
    /// Set when the queue gave up on the job (every delivery failed): nothing retries it until
    /// an administrator does; listed by the dead-letter route, cleared by a retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter: Option<DeadLetter>,
}

/// When and after how many deliveries the queue gave up on a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub at: DateTime<Utc>,
    pub deliveries: u32,
}

fn is_zero(n: &u8) -> bool {
    *n == 0
}

/// One recipient of an external send: an E.164 number, a Zalo phone, or an email's addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientRun {
    pub to: String,
    pub state: RecipientState,
    /// The provider's message id, once sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl RecipientRun {
    pub fn pending(to: impl Into<String>) -> Self {
        Self {
            to: to.into(),
            state: RecipientState::Pending,
            id: None,
            error: None,
        }
    }
}

/// Where one recipient of a send stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientState {
    /// Not sent yet. Sends go in list order and every outcome is stored before the next send,
    /// so in a run found abandoned mid-send only the first pending recipient may have been sent.
    Pending,
    Sent,
    /// Refused by the provider for good.
    Failed,
    /// May or may not have been sent (the executor stopped during its send); never sent again
    /// under the at-most-once guarantee unless an administrator retries.
    Unknown,
}

/// A recipient a send left out: never sent to, recorded in the run for the tenant to see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedRecipient {
    /// The number as entered on the record or the user (the run history is the tenant's own;
    /// logs never carry it).
    pub recipient: String,
    pub reason: SkipReason,
    /// The reason in words, with the country or the type that decided it.
    pub detail: String,
}

/// Why a recipient was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// Not a valid phone number (libphonenumber's metadata).
    InvalidNumber,
    /// A type that never receives texts (premium rate, toll free, …; see
    /// [`crate::phone::NumberType::receives_messages`]).
    NumberType,
    /// A country the tenant does not send to (`TenantSettings::message_countries`).
    Country,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::InvalidNumber => "invalid_number",
            SkipReason::NumberType => "number_type",
            SkipReason::Country => "country",
        }
    }
}

impl RunRecord {
    pub fn start(job: &ActionJob, kind: &str, now: DateTime<Utc>) -> Self {
        Self {
            key: job.idempotency_key(),
            tenant: job.tenant.clone(),
            workflow: job.workflow.clone(),
            version: job.version,
            record: job.record.clone(),
            action: job.action.clone(),
            kind: kind.to_owned(),
            cause: job.cause.clone(),
            status: RunStatus::InProgress,
            attempts: 1,
            started_at: now,
            updated_at: now,
            lease_until: None,
            output: Vec::new(),
            error: None,
            skipped: Vec::new(),
            recipients: Vec::new(),
            depth: job.depth,
            dead_letter: None,
        }
    }

    /// The origin of the record writes this run commits: its workflow, one deeper than its job.
    pub fn write_origin(&self) -> crate::record::origin::AutomationWrite {
        crate::record::origin::AutomationWrite {
            workflow: self.workflow.clone(),
            depth: self.depth.saturating_add(1),
        }
    }

    /// The run as an administrator's retry leaves it: every recipient not sent to (failed,
    /// unknown or pending) is pending again; those sent to stay sent.
    pub fn retried(&self, now: DateTime<Utc>) -> Self {
        let mut retry = self.clone();
        retry.status = RunStatus::Retrying;
        retry.updated_at = now;
        retry.lease_until = None;
        retry.dead_letter = None;
        for recipient in &mut retry.recipients {
            if recipient.state != RecipientState::Sent {
                recipient.state = RecipientState::Pending;
            }
        }
        retry
    }
}

impl RunRecord {
    /// The job this run carries out, to hand to the executor again.
    pub fn job(&self, due_at: DateTime<Utc>) -> ActionJob {
        ActionJob {
            tenant: self.tenant.clone(),
            workflow: self.workflow.clone(),
            version: self.version,
            record: self.record.clone(),
            cause: self.cause.clone(),
            action: self.action.clone(),
            due_at,
            // A retry reads the record as it is now.
            snapshot: None,
            depth: self.depth,
        }
    }
}

/// A change inside DynamoDB, committed in one transaction with the run that caused it.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// A new record (a task, a care card).
    Create(StoredRecord),
    /// A record replaced with new field values, if still at `expected` revision.
    Replace {
        record: StoredRecord,
        expected: u64,
    },
    Notify(Notification),
    /// Moves a named counter (an allocation rule's round robin) from `expected` to `expected + 1`,
    /// so that concurrent hand-overs each take the next user.
    Advance {
        counter: String,
        expected: u64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_run_stored_before_skipped_recipients_were_recorded_reads_with_none() {
        let stored = json!({
            "key": "acme/wf/c1/Y2027/sms", "tenant": "acme", "workflow": "wf", "version": 1,
            "record": "c1", "action": "sms", "kind": "sms", "cause": "Y2027",
            "status": "succeeded", "attempts": 1,
            "started_at": "2027-05-17T01:00:00Z", "updated_at": "2027-05-17T01:00:00Z",
            "output": ["sms-1"]
        });
        let run: RunRecord = serde_json::from_value(stored.clone()).unwrap();
        assert!(run.skipped.is_empty());
        assert_eq!(
            serde_json::to_value(&run).unwrap(),
            stored,
            "written back unchanged"
        );
        let mut skipped = run;
        skipped.skipped.push(SkippedRecipient {
            recipient: "1900 1234".into(),
            reason: SkipReason::NumberType,
            detail: "a premium-rate number".into(),
        });
        let written = serde_json::to_value(&skipped).unwrap();
        assert_eq!(
            written["skipped"],
            json!([{"recipient": "1900 1234", "reason": "number_type", "detail": "a premium-rate number"}])
        );
        assert_eq!(
            serde_json::from_value::<RunRecord>(written).unwrap(),
            skipped
        );
    }
}
