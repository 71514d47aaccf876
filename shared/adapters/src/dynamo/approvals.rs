//! Approval requests in the records table, beside their record, and each approver's list of
//! requests waiting on them.
//!
//! | item | pk | sk |
//! |------|----|----|
//! | request | `T#<tenant>#R#<record>` | `APPROVAL#<request>` |
//! | pending line | `T#<tenant>#APPROVER#<user>` | `<submitted at>#<request>` |
//!
//! Request ids are time-ordered (UUID v7), so a record's requests read newest first by sort key.
//! A transition is one TransactWriteItems: the request on its revision, the record (its lock
//! set or freed, its revenue recorded) on its revision, and the pending lines that change. The
//! stream carries the request's images to record-events, which follows them up.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{ConditionCheck, Delete, Put, TransactWriteItem};
use serde::{Deserialize, Serialize};

use super::errors::{built, condition_failed, corrupt, unavailable};
use super::paging::Scope;
use super::record_item::{RecordItem, record_pk};
use super::{Item, n, query_page, s};
use crm_model::approval::request::ApprovalRequest;
use crm_model::approval::store::{ApprovalStore, PendingApproval};
use crm_model::ids::{RecordId, TenantId, UserId};
use crm_model::ports::{Page, PageRequest, Revisioned, StoreError, StoredRecord};

pub const APPROVAL_SK_PREFIX: &str = "APPROVAL#";

/// The stored shape of a request; also what the table's stream carries.
#[derive(Debug, Serialize, Deserialize)]
pub struct ApprovalItem {
    pub pk: String,
    pub sk: String,
    pub revision: u64,
    pub request: ApprovalRequest,
}

#[derive(Serialize, Deserialize)]
struct PendingItem {
    pk: String,
    sk: String,
    line: PendingApproval,
}

fn approver_pk(tenant: &TenantId, user: &UserId) -> String {
    format!("T#{tenant}#APPROVER#{user}")
}

fn request_key(tenant: &TenantId, record: &RecordId, id: &RecordId) -> Item {
    [
        ("pk".to_owned(), s(record_pk(tenant, record))),
        ("sk".to_owned(), s(format!("{APPROVAL_SK_PREFIX}{id}"))),
    ]
    .into()
}

#[derive(Debug, Clone)]
pub struct DynamoApprovalStore {
    client: Client,
    table: String,
}

impl DynamoApprovalStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn request_put(
        &self,
        request: &ApprovalRequest,
        revision: u64,
        expected: Option<u64>,
    ) -> Result<TransactWriteItem, StoreError> {
        let item: Item = serde_dynamo::to_item(ApprovalItem {
            pk: record_pk(&request.tenant, &request.record),
            sk: format!("{APPROVAL_SK_PREFIX}{}", request.id),
            revision,
            request: request.clone(),
        })
        .map_err(corrupt)?;
        let put = Put::builder().table_name(&self.table).set_item(Some(item));
        let put = match expected {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some(expected) => put
                .condition_expression("revision = :expected")
                .expression_attribute_values(":expected", n(expected)),
        };
        Ok(TransactWriteItem::builder()
            .put(built(put.build())?)
            .build())
    }

    fn record_put(
        &self,
        tenant: &TenantId,
        record: &StoredRecord,
        expected: u64,
    ) -> Result<TransactWriteItem, StoreError> {
        let item: Item = serde_dynamo::to_item(RecordItem::new(tenant, record, expected + 1))
            .map_err(corrupt)?;
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("revision = :expected")
            .expression_attribute_values(":expected", n(expected));
        Ok(TransactWriteItem::builder()
            .put(built(put.build())?)
            .build())
    }

    /// The writes that bring the approvers' lists from `before` to `after`.
    fn relist(
        &self,
        tenant: &TenantId,
        before: Option<&ApprovalRequest>,
        after: &ApprovalRequest,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let old = before.map(PendingApproval::of).unwrap_or_default();
        let new = PendingApproval::of(after);
        let mut writes = Vec::new();
        for (user, line) in &old {
            if !new.iter().any(|(u, _)| u == user) {
                let key: Item = [
                    ("pk".to_owned(), s(approver_pk(tenant, user))),
                    ("sk".to_owned(), s(line.sort_key())),
                ]
                .into();
                let delete = Delete::builder().table_name(&self.table).set_key(Some(key));
                writes.push(
                    TransactWriteItem::builder()
                        .delete(built(delete.build())?)
                        .build(),
                );
            }
        }
        for (user, line) in new {
            let same = old.iter().any(|(u, l)| u == &user && l == &line);
            if same {
                continue;
            }
            let item: Item = serde_dynamo::to_item(PendingItem {
                pk: approver_pk(tenant, &user),
                sk: line.sort_key(),
                line,
            })
            .map_err(corrupt)?;
            let put = Put::builder().table_name(&self.table).set_item(Some(item));
            writes.push(
                TransactWriteItem::builder()
                    .put(built(put.build())?)
                    .build(),
            );
        }
        Ok(writes)
    }

    /// Sends one transition; the first item is the request, the second (with a record) the
    /// record, whose refusals become `AlreadyExists` (a new request) or `Conflict`.
    async fn transact(
        &self,
        writes: Vec<TransactWriteItem>,
        new: bool,
        expected: u64,
    ) -> Result<(), StoreError> {
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(error) => Err(match error.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(e)) => {
                    let reasons = e.cancellation_reasons();
                    // Another transaction on the same items at the same moment: a race lost,
                    // read again like a failed condition.
                    let raced = reasons
                        .iter()
                        .any(|r| r.code() == Some("TransactionConflict"));
                    if condition_failed(reasons, 0) && new {
                        StoreError::AlreadyExists
                    } else if condition_failed(reasons, 0) || condition_failed(reasons, 1) || raced
                    {
                        StoreError::Conflict { expected }
                    } else {
                        unavailable(error)
                    }
                }
                _ => unavailable(error),
            }),
        }
    }
}

#[async_trait]
impl ApprovalStore for DynamoApprovalStore {
    async fn get(
        &self,
        tenant: &TenantId,
        record: &RecordId,
        id: &RecordId,
    ) -> Result<Option<Revisioned<ApprovalRequest>>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(request_key(tenant, record, id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        let Some(item) = output.item else {
            return Ok(None);
        };
        let stored: ApprovalItem = serde_dynamo::from_item(item).map_err(corrupt)?;
        // Keys carry the tenant; the request must say the same, or it is not this tenant's.
        if &stored.request.tenant != tenant {
            return Err(StoreError::Corrupt(
                "a request under another tenant's key".into(),
            ));
        }
        Ok(Some(Revisioned {
            value: stored.request,
            revision: stored.revision,
        }))
    }

    async fn submit(
        &self,
        request: &ApprovalRequest,
        record: &StoredRecord,
        record_revision: u64,
    ) -> Result<Revisioned<ApprovalRequest>, StoreError> {
        // Nothing to lock (every step skipped): the record is only checked, not written.
        let record = if request.is_pending() {
            self.record_put(&request.tenant, record, record_revision)?
        } else {
            let check = ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(super::record_item::key(&request.tenant, &record.id)))
                .condition_expression("revision = :expected")
                .expression_attribute_values(":expected", n(record_revision));
            TransactWriteItem::builder()
                .condition_check(built(check.build())?)
                .build()
        };
        let mut writes = vec![self.request_put(request, 1, None)?, record];
        writes.extend(self.relist(&request.tenant, None, request)?);
        self.transact(writes, true, record_revision).await?;
        Ok(Revisioned {
            value: request.clone(),
            revision: 1,
        })
    }

    async fn save(
        &self,
        before: &Revisioned<ApprovalRequest>,
        next: &ApprovalRequest,
        record: Option<(&StoredRecord, u64)>,
    ) -> Result<Revisioned<ApprovalRequest>, StoreError> {
        let mut writes =
            vec![self.request_put(next, before.revision + 1, Some(before.revision))?];
        if let Some((record, revision)) = record {
            writes.push(self.record_put(&next.tenant, record, revision)?);
        }
        writes.extend(self.relist(&next.tenant, Some(&before.value), next)?);
        self.transact(writes, false, before.revision).await?;
        Ok(Revisioned {
            value: next.clone(),
            revision: before.revision + 1,
        })
    }

    async fn of_record(
        &self,
        tenant: &TenantId,
        record: &RecordId,
        page: &PageRequest,
    ) -> Result<Page<ApprovalRequest>, StoreError> {
        let pk = record_pk(tenant, record);
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :a)")
            .expression_attribute_values(":pk", s(&pk))
            .expression_attribute_values(":a", s(APPROVAL_SK_PREFIX))
            .scan_index_forward(false);
        let scope = Scope::partition("pk", &pk).prefixed("sk", APPROVAL_SK_PREFIX);
        let (items, next) = query_page(query, page, scope).await?;
        let items = items
            .into_iter()
            .map(|item| {
                serde_dynamo::from_item::<_, ApprovalItem>(item)
                    .map(|i| i.request)
                    .map_err(corrupt)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page { items, next })
    }

    async fn pending_for(
        &self,
        tenant: &TenantId,
        user: &UserId,
        page: &PageRequest,
    ) -> Result<Page<PendingApproval>, StoreError> {
        let pk = approver_pk(tenant, user);
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(&pk));
        let (items, next) = query_page(query, page, Scope::partition("pk", &pk)).await?;
        let items = items
            .into_iter()
            .map(|item| {
                serde_dynamo::from_item::<_, PendingItem>(item)
                    .map(|i| i.line)
                    .map_err(corrupt)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page { items, next })
    }
}
