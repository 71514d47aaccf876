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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Claimed by a delivery that holds a lease.
    InProgress,
    Succeeded,
    Failed,
    /// A send may or may not have reached the provider (the executor stopped in between);
    /// shown for review, never retried under the at-most-once guarantee.
    Unknown,
    /// An administrator asked for this failed or unknown run to be tried again.
    Retrying,
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
        }
    }

    /// Only a run that failed, or whose send may not have happened, is tried again on request:
    /// a succeeded one would send twice, one in progress is someone else's.
    pub fn is_retryable(self) -> bool {
        matches!(self, RunStatus::Failed | RunStatus::Unknown)
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
        }
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
