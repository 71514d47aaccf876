//! CRM records in the records table, one partition per record (no hot tenant partition on bulk
//! imports), listed per module through gsi1 and per referenced customer through gsi2.
//!
//! | item   | pk                       | sk       | gsi1pk                   | gsi1sk              | gsi2pk                        | gsi2sk             |
//! |--------|--------------------------|----------|--------------------------|---------------------|-------------------------------|--------------------|
//! | record | `T#<tenant>#R#<id>`      | `RECORD` | `T#<tenant>#M#<module>`  | `<UpdatedAt>#<id>`  | `T#<tenant>#REF#<customer>`   | `<module>#<id>`    |
//!
//! | merge    | `T#<tenant>#R#<survivor>` | `MERGED#<duplicate>` | – | – | – | – |
//! | redemption | `T#<tenant>#R#<customer>` | `REDEEM#<key>` | – | – | – | – |  (`redemptions.rs`)
//!
//! gsi2 keys exist only on records with a Customer reference (sparse). Customers are written with
//! their identity items in one transaction (`identity.rs`).

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};
use crm_model::record::{blocks_customer_delete, depended_customer};
use serde::{Deserialize, Serialize};

use super::dependents;
use super::errors::{built, condition_failed, corrupt, unavailable};
use super::paging::Scope;
use super::record_item::{RecordItem, key, record_pk};
use super::{Item, batch_get, n, put_revisioned, query_page, s};
use crm_model::ids::{RecordId, TenantId};
use crm_model::ports::{
    MergeMarker, Page, PageRequest, RecordFilter, RecordStore, Revisioned, StoreError, StoredRecord,
};
use crm_model::schema::Module;

/// The table keys (pk, sk) of the first `wanted` items a keys-only index query finds, page by
/// page.
async fn index_keys(
    query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    wanted: usize,
) -> Result<Vec<Item>, StoreError> {
    let mut keys = Vec::new();
    let mut start = None;
    while keys.len() < wanted {
        let left = i32::try_from(wanted - keys.len()).unwrap_or(i32::MAX);
        let output = query
            .clone()
            .limit(left.min(1000))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(unavailable)?;
        for item in output.items.unwrap_or_default() {
            keys.push(
                item.into_iter()
                    .filter(|(k, _)| k == "pk" || k == "sk")
                    .collect(),
            );
        }
        start = output.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    Ok(keys)
}

/// A stored item read back as a record with its revision.
fn stored(item: Item) -> Result<Revisioned<StoredRecord>, StoreError> {
    serde_dynamo::from_item::<_, RecordItem>(item)
        .map(RecordItem::into_stored)
        .map_err(corrupt)
}

#[derive(Debug, Clone)]
pub struct DynamoRecordStore {
    client: Client,
    table: String,
}

impl DynamoRecordStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    async fn put(
        &self,
        tenant: &TenantId,
        record: &StoredRecord,
        expected: Option<u64>,
    ) -> Result<Revisioned<StoredRecord>, StoreError> {
        let revision = expected.map_or(1, |r| r + 1);
        if crm_model::record::identity::is_identified(record.module) {
            let old = match expected {
                None => Vec::new(),
                Some(expected) => match self.get(tenant, &record.id).await? {
                    None => return Err(StoreError::NotFound),
                    Some(old) if old.revision != expected => {
                        return Err(StoreError::Conflict { expected });
                    }
                    Some(old) => {
                        crm_model::record::identity::keys(old.value.module, &old.value.fields)
                    }
                },
            };
            super::identity::put_customer(
                &self.client,
                &self.table,
                tenant,
                record,
                expected,
                &old,
            )
            .await?;
        } else {
            let item: Item = serde_dynamo::to_item(RecordItem::new(tenant, record, revision))
                .map_err(corrupt)?;
            // An order, quote or opportunity: its customer's count moves with it.
            let old_customer = match expected {
                Some(expected) if blocks_customer_delete(record.module) => {
                    match self.get(tenant, &record.id).await? {
                        None => return Err(StoreError::NotFound),
                        Some(old) if old.revision != expected => {
                            return Err(StoreError::Conflict { expected });
                        }
                        Some(old) => depended_customer(old.value.module, &old.value.fields)
                            .map(str::to_owned),
                    }
                }
                _ => None,
            };
            let new_customer = depended_customer(record.module, &record.fields);
            if old_customer.as_deref() == new_customer {
                put_revisioned(&self.client, &self.table, item, expected).await?;
            } else {
                self.put_moving(
                    tenant,
                    item,
                    expected,
                    old_customer.as_deref(),
                    new_customer,
                )
                .await?;
            }
        }
        Ok(Revisioned {
            value: record.clone(),
            revision,
        })
    }

    /// The records a sparse index (`index`, keys only) lists under `pk`: pages of keys, then
    /// BatchGetItem; `TooMany` as soon as there are more than `limit`.
    async fn referencing(
        &self,
        index: &str,
        pk: &str,
        limit: usize,
    ) -> Result<Vec<Revisioned<StoredRecord>>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", format!("{index}pk"))
            .expression_attribute_values(":pk", s(pk));
        // One more than the limit tells.
        let keys = index_keys(query, limit + 1).await?;
        if keys.len() > limit {
            return Err(StoreError::TooMany { limit });
        }
        self.records_of(keys).await
    }

    /// The records `keys` name (BatchGetItem, consistent; in no particular order).
    async fn records_of(
        &self,
        keys: Vec<Item>,
    ) -> Result<Vec<Revisioned<StoredRecord>>, StoreError> {
        batch_get(&self.client, &self.table, keys, None, true)
            .await?
            .into_iter()
            .map(stored)
            .collect()
    }

    /// A dependent's put with the moves of its customer's count, in one transaction.
    async fn put_moving(
        &self,
        tenant: &TenantId,
        item: Item,
        expected: Option<u64>,
        old: Option<&str>,
        new: Option<&str>,
    ) -> Result<(), StoreError> {
        let put = Put::builder().table_name(&self.table).set_item(Some(item));
        let put = match expected {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some(expected) => put
                .condition_expression("revision = :expected")
                .expression_attribute_values(":expected", n(expected)),
        };
        let write = TransactWriteItem::builder()
            .put(built(put.build())?)
            .build();
        self.write_moving(tenant, write, expected, old, new).await
    }

    /// A record's write (item 0) with the moves of its customer's count: a failed check on the
    /// new customer (item 1) means it is gone; a failed decrement of the old one (the last item)
    /// means that count never counted this record (written before the counts existed), and the
    /// write goes again without it.
    async fn write_moving(
        &self,
        tenant: &TenantId,
        write: TransactWriteItem,
        expected: Option<u64>,
        old: Option<&str>,
        new: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut old = old;
        loop {
            let mut items = vec![write.clone()];
            items.extend(dependents::moves(&self.table, tenant, old, new)?);
            let last = items.len() - 1;
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items))
                .send()
                .await;
            let Err(error) = result else {
                return Ok(());
            };
            let Some(TransactWriteItemsError::TransactionCanceledException(e)) =
                error.as_service_error()
            else {
                return Err(unavailable(error));
            };
            let reasons = e.cancellation_reasons();
            if condition_failed(reasons, 0) {
                return Err(match expected {
                    None => StoreError::AlreadyExists,
                    Some(expected) => StoreError::Conflict { expected },
                });
            }
            if new.is_some() && condition_failed(reasons, 1) {
                return Err(StoreError::ReferenceGone {
                    field: "Customer".into(),
                });
            }
            if old.is_some() && condition_failed(reasons, last) {
                old = None;
                continue;
            }
            return Err(unavailable(error));
        }
    }
}

#[derive(Serialize, Deserialize)]
struct MergeItem {
    pk: String,
    sk: String,
    merge: MergeMarker,
}

#[async_trait]
impl RecordStore for DynamoRecordStore {
    async fn create(
        &self,
        tenant: &TenantId,
        record: &StoredRecord,
    ) -> Result<Revisioned<StoredRecord>, StoreError> {
        self.put(tenant, record, None).await
    }

    async fn get(
        &self,
        tenant: &TenantId,
        id: &RecordId,
    ) -> Result<Option<Revisioned<StoredRecord>>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant, id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        let Some(item) = output.item else {
            return Ok(None);
        };
        stored(item).map(Some)
    }

    async fn get_many(
        &self,
        tenant: &TenantId,
        ids: &[RecordId],
    ) -> Result<Vec<Revisioned<StoredRecord>>, StoreError> {
        let keys = ids.iter().map(|id| key(tenant, id)).collect();
        batch_get(&self.client, &self.table, keys, None, true)
            .await?
            .into_iter()
            .map(stored)
            .collect()
    }

    async fn related(
        &self,
        tenant: &TenantId,
        record: &RecordId,
        limit: usize,
    ) -> Result<Vec<Revisioned<StoredRecord>>, StoreError> {
        self.referencing("gsi2", &format!("T#{tenant}#REF#{record}"), limit)
            .await
    }

    async fn messages(
        &self,
        tenant: &TenantId,
        customer: &RecordId,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Revisioned<StoredRecord>>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("gsi2")
            .expression_attribute_values(":pk", s(format!("T#{tenant}#MSG#{customer}")))
            .scan_index_forward(false);
        let query = match before {
            Some(before) => query
                .key_condition_expression("gsi2pk = :pk AND gsi2sk < :before")
                .expression_attribute_values(":before", s(before)),
            None => query.key_condition_expression("gsi2pk = :pk"),
        };
        let keys = index_keys(query, limit).await?;
        // A batch read answers in no order: the history's is the index's.
        let mut found = self.records_of(keys).await?;
        found.sort_by_cached_key(|m| {
            std::cmp::Reverse(crm_model::record::store::message_key(&m.value))
        });
        Ok(found)
    }

    async fn linked(
        &self,
        tenant: &TenantId,
        record: &RecordId,
        limit: usize,
    ) -> Result<Vec<Revisioned<StoredRecord>>, StoreError> {
        self.referencing("gsi3", &format!("T#{tenant}#LINK#{record}"), limit)
            .await
    }

    async fn replace(
        &self,
        tenant: &TenantId,
        record: &StoredRecord,
        expected: u64,
    ) -> Result<Revisioned<StoredRecord>, StoreError> {
        self.put(tenant, record, Some(expected)).await
    }

    async fn count_open(
        &self,
        tenant: &TenantId,
        module: Module,
        owner: &crm_model::ids::UserId,
    ) -> Result<u64, StoreError> {
        // A COUNT query reads the keys of the owner's partition of the sparse index, a page
        // (1 MB of keys) at a time.
        let mut count = 0u64;
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("gsi4")
                .key_condition_expression("gsi4pk = :pk")
                .expression_attribute_values(
                    ":pk",
                    s(super::record_item::open_pk(tenant, module, owner.as_str())),
                )
                .select(aws_sdk_dynamodb::types::Select::Count)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            count += u64::try_from(output.count).unwrap_or(0);
            start = output.last_evaluated_key;
            if start.is_none() {
                return Ok(count);
            }
        }
    }

    async fn set_computed(
        &self,
        tenant: &TenantId,
        id: &RecordId,
        fields: &serde_json::Map<String, serde_json::Value>,
        expected: u64,
        origin: &crm_model::record::origin::AutomationWrite,
    ) -> Result<u64, StoreError> {
        // One UpdateItem of the named fields: the keys, the indexed attributes and the identity
        // items stay as they are, since nothing they derive from changes.
        if fields.is_empty() {
            return Ok(expected);
        }
        let mut sets = vec!["automation = :origin".to_owned()];
        let mut removes = Vec::new();
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant, id)))
            .condition_expression("revision = :expected")
            .expression_attribute_names("#fields", "fields")
            .expression_attribute_values(":expected", n(expected))
            .expression_attribute_values(
                ":origin",
                serde_dynamo::to_attribute_value(origin).map_err(corrupt)?,
            );
        for (i, (name, value)) in fields.iter().enumerate() {
            let alias = format!("#f{i}");
            request = request.expression_attribute_names(&alias, name);
            if value.is_null() {
                removes.push(format!("#fields.{alias}"));
            } else {
                let placeholder = format!(":f{i}");
                request = request.expression_attribute_values(
                    &placeholder,
                    serde_dynamo::to_attribute_value(value).map_err(corrupt)?,
                );
                sets.push(format!("#fields.{alias} = {placeholder}"));
            }
        }
        let mut expression = format!("SET {}", sets.join(", "));
        if !removes.is_empty() {
            expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        match request.update_expression(expression).send().await {
            // The revision stays: a computed field is no one's edit.
            Ok(_) => Ok(expected),
            // Gone or moved on: the caller reads it again.
            Err(e) => Err(match e.as_service_error() {
                Some(
                    aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(_),
                ) => StoreError::Conflict { expected },
                _ => unavailable(e),
            }),
        }
    }

    async fn delete(
        &self,
        tenant: &TenantId,
        id: &RecordId,
        expected: u64,
    ) -> Result<(), StoreError> {
        // One read tells a customer (a transaction with its identity items and the guard on its
        // dependents) and a dependent (with its customer's count) from the rest.
        let old = self.get(tenant, id).await?;
        if let Some(old) = old.as_ref().filter(|r| r.value.module == Module::Customer) {
            if old.revision != expected {
                return Err(StoreError::Conflict { expected });
            }
            let keys = crm_model::record::identity::keys(old.value.module, &old.value.fields);
            return super::identity::delete_customer(
                &self.client,
                &self.table,
                tenant,
                id,
                expected,
                &keys,
            )
            .await;
        }
        if let Some(old) = old.as_ref().filter(|r| r.value.module == Module::Contact) {
            let keys = crm_model::record::identity::keys(old.value.module, &old.value.fields);
            return super::identity::delete_identified(
                &self.client,
                &self.table,
                tenant,
                id,
                expected,
                &keys,
            )
            .await;
        }
        if let Some(customer) = old
            .as_ref()
            .and_then(|r| depended_customer(r.value.module, &r.value.fields))
        {
            let delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key(tenant, id)))
                .condition_expression("revision = :expected")
                .expression_attribute_values(":expected", n(expected));
            let write = TransactWriteItem::builder()
                .delete(built(delete.build())?)
                .build();
            return self
                .write_moving(tenant, write, Some(expected), Some(customer), None)
                .await;
        }
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant, id)))
            .condition_expression("revision = :expected")
            .expression_attribute_values(":expected", n(expected))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) => Err(match error.as_service_error() {
                Some(DeleteItemError::ConditionalCheckFailedException(e)) if e.item().is_none() => {
                    StoreError::NotFound
                }
                Some(DeleteItemError::ConditionalCheckFailedException(_)) => {
                    StoreError::Conflict { expected }
                }
                _ => unavailable(error),
            }),
        }
    }

    async fn list(
        &self,
        tenant: &TenantId,
        module: Module,
        filter: &RecordFilter,
        page: &PageRequest,
    ) -> Result<Page<Revisioned<StoredRecord>>, StoreError> {
        let gsi1pk = format!("T#{tenant}#M#{module}");
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("gsi1")
            .key_condition_expression("gsi1pk = :pk")
            .expression_attribute_values(":pk", s(&gsi1pk))
            .scan_index_forward(false);
        if !filter.equals.is_empty() || !filter.any_of.is_empty() {
            let mut conditions = Vec::new();
            query = query.expression_attribute_names("#fields", "fields");
            for (i, (field, value)) in filter.equals.iter().enumerate() {
                let value = serde_dynamo::to_attribute_value(value).map_err(corrupt)?;
                query = query
                    .expression_attribute_names(format!("#f{i}"), field)
                    .expression_attribute_values(format!(":v{i}"), value);
                conditions.push(format!("#fields.#f{i} = :v{i}"));
            }
            for (i, (field, values)) in filter.any_of.iter().enumerate() {
                query = query.expression_attribute_names(format!("#a{i}"), field);
                // IN takes at most 100 operands: longer lists become ORed groups.
                let mut groups = Vec::new();
                for (g, chunk) in values.chunks(100).enumerate() {
                    let mut names = Vec::new();
                    for (j, value) in chunk.iter().enumerate() {
                        let name = format!(":a{i}_{g}_{j}");
                        let value = serde_dynamo::to_attribute_value(value).map_err(corrupt)?;
                        query = query.expression_attribute_values(&name, value);
                        names.push(name);
                    }
                    groups.push(format!("#fields.#a{i} IN ({})", names.join(", ")));
                }
                if groups.is_empty() {
                    // Nothing matches an empty list.
                    groups.push(
                        "(attribute_exists(#fields) AND attribute_not_exists(#fields))".into(),
                    );
                }
                conditions.push(format!("({})", groups.join(" OR ")));
            }
            query = query.filter_expression(conditions.join(" AND "));
        }
        let (items, next) = query_page(query, page, Scope::partition("gsi1pk", &gsi1pk)).await?;
        let items = items
            .into_iter()
            .map(stored)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page { items, next })
    }

    async fn find_by_identity(
        &self,
        tenant: &TenantId,
        keys: &[String],
    ) -> Result<Vec<RecordId>, StoreError> {
        super::identity::find(&self.client, &self.table, tenant, keys).await
    }

    async fn put_merge(&self, tenant: &TenantId, marker: &MergeMarker) -> Result<(), StoreError> {
        let item = serde_dynamo::to_item(MergeItem {
            pk: record_pk(tenant, &marker.survivor),
            sk: format!("MERGED#{}", marker.duplicate),
            merge: marker.clone(),
        })
        .map_err(corrupt)?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn merges(
        &self,
        tenant: &TenantId,
        survivor: &RecordId,
    ) -> Result<Vec<MergeMarker>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :merged)")
            .expression_attribute_values(":pk", s(record_pk(tenant, survivor)))
            .expression_attribute_values(":merged", s("MERGED#"))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        let mut merges = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| {
                serde_dynamo::from_item::<_, MergeItem>(item)
                    .map(|m| m.merge)
                    .map_err(corrupt)
            })
            .collect::<Result<Vec<_>, _>>()?;
        merges.sort_by_key(|m| m.started_at);
        Ok(merges)
    }

    async fn redeem(
        &self,
        tenant: &TenantId,
        customer: &StoredRecord,
        expected: u64,
        redemption: &crm_model::ports::Redemption,
    ) -> Result<u64, StoreError> {
        super::redemptions::redeem(
            &self.client,
            &self.table,
            tenant,
            customer,
            expected,
            redemption,
        )
        .await
    }

    async fn redemptions(
        &self,
        tenant: &TenantId,
        customer: &RecordId,
    ) -> Result<Vec<crm_model::ports::Redemption>, StoreError> {
        super::redemptions::ledger(&self.client, &self.table, tenant, customer).await
    }
}
