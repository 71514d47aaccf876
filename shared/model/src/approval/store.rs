//! The approval requests port.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::request::ApprovalRequest;
use crate::ids::{RecordId, TenantId, UserId};
use crate::record::stored::StoredRecord;
use crate::schema::Module;
use crate::store::{Page, PageRequest, Revisioned, StoreError};

/// A request waiting on a user, as their "pending approvals" list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingApproval {
    pub request: RecordId,
    pub record: RecordId,
    pub module: Module,
    pub name: String,
    pub step: String,
    pub submitter: UserId,
    pub submitted_at: chrono::DateTime<chrono::Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl PendingApproval {
    /// Where the line sits on its approver's list: by submission, then request.
    pub fn sort_key(&self) -> String {
        format!(
            "{}#{}",
            self.submitted_at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            self.request
        )
    }

    /// The lines `request` puts on its undecided approvers' lists (none once it is over).
    pub fn of(request: &ApprovalRequest) -> Vec<(UserId, PendingApproval)> {
        let Some(step) = request.current.as_ref().filter(|_| request.is_pending()) else {
            return Vec::new();
        };
        step.undecided()
            .into_iter()
            .map(|user| {
                let line = PendingApproval {
                    request: request.id.clone(),
                    record: request.record.clone(),
                    module: request.module,
                    name: request.name.clone(),
                    step: step.name.clone(),
                    submitter: request.submitter.clone(),
                    submitted_at: request.submitted_at,
                    deadline_at: step.deadline_at,
                };
                (user, line)
            })
            .collect()
    }
}

/// Approval requests, kept with their record, and each user's pending list.
#[async_trait]
pub trait ApprovalStore: Send + Sync {
    async fn get(
        &self,
        tenant: &TenantId,
        record: &RecordId,
        id: &RecordId,
    ) -> Result<Option<Revisioned<ApprovalRequest>>, StoreError>;

    /// Stores a new request and `record` (carrying its lock) in one write, if the record is still
    /// at `record_revision`: `Conflict` otherwise, `AlreadyExists` when the id is taken.
    async fn submit(
        &self,
        request: &ApprovalRequest,
        record: &StoredRecord,
        record_revision: u64,
    ) -> Result<Revisioned<ApprovalRequest>, StoreError>;

    /// Saves `next` over `before` if the request is still at `before`'s revision (and, with
    /// `record`, replaces the record too if still at its revision), keeping the approvers'
    /// pending lists in step: `Conflict` when either moved on.
    async fn save(
        &self,
        before: &Revisioned<ApprovalRequest>,
        next: &ApprovalRequest,
        record: Option<(&StoredRecord, u64)>,
    ) -> Result<Revisioned<ApprovalRequest>, StoreError>;

    /// A record's requests, newest first.
    async fn of_record(
        &self,
        tenant: &TenantId,
        record: &RecordId,
        page: &PageRequest,
    ) -> Result<Page<ApprovalRequest>, StoreError>;

    /// The requests waiting on `user`, oldest first.
    async fn pending_for(
        &self,
        tenant: &TenantId,
        user: &UserId,
        page: &PageRequest,
    ) -> Result<Page<PendingApproval>, StoreError>;
}
