//! Approval requests in memory, as `DynamoApprovalStore` keeps them in the records table: each
//! request in its record's partition (`APPROVAL#<id>`, ids time-ordered, read newest first), a
//! line per undecided approver of a pending request (`T#<tenant>#APPROVER#<user>`, by submission
//! time), and the record's lock written in the same step as the request, both conditional.

use async_trait::async_trait;

use super::MemoryApprovalStore;
use super::paging::{Query, SortKey};
use super::world::{Access, StoreKind};
use crate::approval::request::ApprovalRequest;
use crate::approval::store::{ApprovalStore, PendingApproval};
use crate::ids::{RecordId, TenantId, UserId};
use crate::record::stored::StoredRecord;
use crate::store::{Page, PageRequest, Revisioned, StoreError};

impl MemoryApprovalStore {
    /// Replaces the record at `expected` in the same step, checking only (when `apply` is off).
    fn put_record(
        state: &mut super::world::State,
        tenant: &TenantId,
        record: &StoredRecord,
        expected: u64,
        apply: bool,
    ) -> Result<(), StoreError> {
        let t = state.records.tenant_mut(tenant);
        match t.records.get(&record.id) {
            Some(old) if old.revision == expected => {}
            Some(_) => return Err(StoreError::Conflict { expected }),
            None => return Err(StoreError::NotFound),
        }
        if apply {
            t.records.insert(
                record.id.clone(),
                Revisioned {
                    value: record.clone(),
                    revision: expected + 1,
                },
            );
            t.origins.remove(&record.id);
        }
        Ok(())
    }

    fn relist(
        state: &mut super::world::State,
        tenant: &TenantId,
        before: Option<&ApprovalRequest>,
        after: &ApprovalRequest,
    ) {
        let lists = &mut state.records.tenant_mut(tenant).pending;
        for (user, line) in before.map(PendingApproval::of).unwrap_or_default() {
            lists.remove(&(user, line.sort_key()));
        }
        for (user, line) in PendingApproval::of(after) {
            lists.insert((user, line.sort_key()), line);
        }
    }
}

#[async_trait]
impl ApprovalStore for MemoryApprovalStore {
    async fn get(
        &self,
        tenant: &TenantId,
        record: &RecordId,
        id: &RecordId,
    ) -> Result<Option<Revisioned<ApprovalRequest>>, StoreError> {
        self.world.call(StoreKind::Records, Access::Read, |s| {
            Ok(s.records
                .tenant(tenant)
                .and_then(|t| t.approvals.get(&(record.clone(), id.clone())).cloned()))
        })
    }

    async fn submit(
        &self,
        request: &ApprovalRequest,
        record: &StoredRecord,
        record_revision: u64,
    ) -> Result<Revisioned<ApprovalRequest>, StoreError> {
        let tenant = &request.tenant;
        self.world.call(StoreKind::Records, Access::Write, |s| {
            let key = (request.record.clone(), request.id.clone());
            if s.records.tenant_mut(tenant).approvals.contains_key(&key) {
                return Err(StoreError::AlreadyExists);
            }
            // Nothing to lock (every step skipped): the record is only checked.
            Self::put_record(s, tenant, record, record_revision, false)?;
            if request.is_pending() {
                Self::put_record(s, tenant, record, record_revision, true)?;
            }
            let stored = Revisioned {
                value: request.clone(),
                revision: 1,
            };
            s.records
                .tenant_mut(tenant)
                .approvals
                .insert(key, stored.clone());
            Self::relist(s, tenant, None, request);
            Ok(stored)
        })
    }

    async fn save(
        &self,
        before: &Revisioned<ApprovalRequest>,
        next: &ApprovalRequest,
        record: Option<(&StoredRecord, u64)>,
    ) -> Result<Revisioned<ApprovalRequest>, StoreError> {
        let tenant = &next.tenant;
        self.world.call(StoreKind::Records, Access::Write, |s| {
            let key = (next.record.clone(), next.id.clone());
            match s.records.tenant_mut(tenant).approvals.get(&key) {
                Some(stored) if stored.revision == before.revision => {}
                Some(_) => {
                    return Err(StoreError::Conflict {
                        expected: before.revision,
                    });
                }
                None => return Err(StoreError::NotFound),
            }
            if let Some((record, revision)) = record {
                Self::put_record(s, tenant, record, revision, false)?;
                Self::put_record(s, tenant, record, revision, true)?;
            }
            let stored = Revisioned {
                value: next.clone(),
                revision: before.revision + 1,
            };
            s.records
                .tenant_mut(tenant)
                .approvals
                .insert(key, stored.clone());
            Self::relist(s, tenant, Some(&before.value), next);
            Ok(stored)
        })
    }

    async fn of_record(
        &self,
        tenant: &TenantId,
        record: &RecordId,
        page: &PageRequest,
    ) -> Result<Page<ApprovalRequest>, StoreError> {
        let query = Query::new("pk", format!("T#{tenant}#R#{record}"))
            .sort(SortKey::Prefix("APPROVAL#".into()))
            .descending();
        self.world.call(StoreKind::Records, Access::Read, |s| {
            let items: Vec<_> = s
                .records
                .tenant(tenant)
                .into_iter()
                .flat_map(|t| t.approvals.iter())
                .filter(|((r, _), _)| r == record)
                .map(|((_, id), stored)| (vec![format!("APPROVAL#{id}")], stored.value.clone()))
                .collect();
            let found = query.page(items, page, |_| true)?;
            Ok(Page {
                items: found.items,
                next: found.next,
            })
        })
    }

    async fn pending_for(
        &self,
        tenant: &TenantId,
        user: &UserId,
        page: &PageRequest,
    ) -> Result<Page<PendingApproval>, StoreError> {
        let query = Query::new("pk", format!("T#{tenant}#APPROVER#{user}"));
        self.world.call(StoreKind::Records, Access::Read, |s| {
            let items: Vec<_> = s
                .records
                .tenant(tenant)
                .into_iter()
                .flat_map(|t| t.pending.iter())
                .filter(|((u, _), _)| u == user)
                .map(|((_, sk), line)| (vec![sk.clone()], line.clone()))
                .collect();
            let found = query.page(items, page, |_| true)?;
            Ok(Page {
                items: found.items,
                next: found.next,
            })
        })
    }
}
