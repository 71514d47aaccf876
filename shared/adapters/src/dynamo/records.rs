//! CRM records in the records table, one partition per record (no hot tenant partition on bulk
//! imports), listed per module through gsi1 and per referenced customer through gsi2.
//!
//! | item   | pk                       | sk       | gsi1pk                   | gsi1sk              | gsi2pk                        | gsi2sk             |
//! |--------|--------------------------|----------|--------------------------|---------------------|-------------------------------|--------------------|
//! | record | `T#<tenant>#R#<id>`      | `RECORD` | `T#<tenant>#M#<module>`  | `<UpdatedAt>#<id>`  | `T#<tenant>#REF#<customer>`   | `<module>#<id>`    |
//!
//! | identity | `T#<tenant>#ID#<key>`  | `<id>`   | – | – | – | – |
//! | merge    | `T#<tenant>#R#<survivor>` | `MERGED#<duplicate>` | – | – | – | – |
//!
//! gsi2 keys exist only on records with a Customer reference (sparse). Identity items (a
//! customer's normalised phone, email, tax code: `crm_model::identity`) are written before the
//! customer and removed after it changes; a lookup re-checks the customers it finds, so an item
//! left behind by a failure in between only costs a read.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};
use serde::{Deserialize, Serialize};

use super::errors::{corrupt, unavailable};
use super::{Item, batch_get, n, put_revisioned, query_page, s};
use crm_model::ids::{RecordId, TenantId};
use crm_model::ports::{
    MergeMarker, Page, PageRequest, RecordFilter, RecordStore, Revisioned, StoreError, StoredRecord,
};
use crm_model::schema::Module;

pub const RECORD_SK: &str = "RECORD";

/// The stored shape of a record; also what the table's stream carries.
#[derive(Debug, Serialize, Deserialize)]
pub struct RecordItem {
    pub pk: String,
    pub sk: String,
    pub tenant: TenantId,
    pub id: RecordId,
    pub module: Module,
    pub revision: u64,
    pub fields: serde_json::Map<String, serde_json::Value>,
    pub gsi1pk: String,
    pub gsi1sk: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi2pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi2sk: Option<String>,
}

impl RecordItem {
    pub fn new(tenant: &TenantId, record: &StoredRecord, revision: u64) -> Self {
        let updated = record
            .fields
            .get("UpdatedAt")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        let customer = record.fields.get("Customer").and_then(|v| v.as_str());
        Self {
            pk: record_pk(tenant, &record.id),
            sk: RECORD_SK.to_owned(),
            tenant: tenant.clone(),
            id: record.id.clone(),
            module: record.module,
            revision,
            fields: record.fields.clone(),
            gsi1pk: format!("T#{tenant}#M#{}", record.module),
            gsi1sk: format!("{updated}#{}", record.id),
            gsi2pk: customer.map(|c| format!("T#{tenant}#REF#{c}")),
            gsi2sk: customer.map(|_| format!("{}#{}", record.module, record.id)),
        }
    }

    pub fn into_stored(self) -> Revisioned<StoredRecord> {
        Revisioned {
            value: StoredRecord {
                id: self.id,
                module: self.module,
                fields: self.fields,
            },
            revision: self.revision,
        }
    }
}

pub fn record_pk(tenant: &TenantId, id: &RecordId) -> String {
    format!("T#{tenant}#R#{id}")
}

fn identity_pk(tenant: &TenantId, key: &str) -> String {
    format!("T#{tenant}#ID#{key}")
}

fn identity_item(tenant: &TenantId, key: &str, id: &RecordId) -> Item {
    [
        ("pk".to_owned(), s(identity_pk(tenant, key))),
        ("sk".to_owned(), s(id.as_str())),
    ]
    .into_iter()
    .collect()
}

/// The identity items of a record (none unless it is a customer with a phone, email or tax code).
pub fn identity_items(tenant: &TenantId, record: &StoredRecord) -> Vec<Item> {
    crm_model::identity::keys(record.module, &record.fields)
        .iter()
        .map(|key| identity_item(tenant, key, &record.id))
        .collect()
}

/// The identity keys a stored item had.
fn stored_keys(item: Option<Item>) -> Vec<String> {
    item.and_then(|item| serde_dynamo::from_item::<_, RecordItem>(item).ok())
        .map(|r| crm_model::identity::keys(r.module, &r.fields))
        .unwrap_or_default()
}

fn key(tenant: &TenantId, id: &RecordId) -> Item {
    [
        ("pk".to_owned(), s(record_pk(tenant, id))),
        ("sk".to_owned(), s(RECORD_SK)),
    ]
    .into_iter()
    .collect()
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
        let item: Item =
            serde_dynamo::to_item(RecordItem::new(tenant, record, revision)).map_err(corrupt)?;
        let keys = crm_model::identity::keys(record.module, &record.fields);
        for key in &keys {
            self.put_plain(identity_item(tenant, key, &record.id))
                .await?;
        }
        let old = put_revisioned(&self.client, &self.table, item, expected).await?;
        let stale: Vec<Item> = stored_keys(old)
            .iter()
            .filter(|k| !keys.contains(k))
            .map(|k| identity_item(tenant, k, &record.id))
            .collect();
        super::batch_delete(&self.client, &self.table, stale).await?;
        Ok(Revisioned {
            value: record.clone(),
            revision,
        })
    }
}

impl DynamoRecordStore {
    async fn put_plain(&self, item: Item) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
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
        let item: RecordItem = serde_dynamo::from_item(item).map_err(corrupt)?;
        Ok(Some(item.into_stored()))
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
            .map(|item| {
                serde_dynamo::from_item::<_, RecordItem>(item)
                    .map(RecordItem::into_stored)
                    .map_err(corrupt)
            })
            .collect()
    }

    async fn related(
        &self,
        tenant: &TenantId,
        record: &RecordId,
    ) -> Result<Vec<Revisioned<StoredRecord>>, StoreError> {
        let gsi2pk = format!("T#{tenant}#REF#{record}");
        let mut keys = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("gsi2")
                .key_condition_expression("gsi2pk = :pk")
                .expression_attribute_values(":pk", s(&gsi2pk))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            for item in output.items.unwrap_or_default() {
                let key: Item = item
                    .into_iter()
                    .filter(|(k, _)| k == "pk" || k == "sk")
                    .collect();
                keys.push(key);
            }
            start = output.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        batch_get(&self.client, &self.table, keys, None, true)
            .await?
            .into_iter()
            .map(|item| {
                serde_dynamo::from_item::<_, RecordItem>(item)
                    .map(RecordItem::into_stored)
                    .map_err(corrupt)
            })
            .collect()
    }

    async fn replace(
        &self,
        tenant: &TenantId,
        record: &StoredRecord,
        expected: u64,
    ) -> Result<Revisioned<StoredRecord>, StoreError> {
        self.put(tenant, record, Some(expected)).await
    }

    async fn delete(
        &self,
        tenant: &TenantId,
        id: &RecordId,
        expected: u64,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant, id)))
            .condition_expression("revision = :expected")
            .expression_attribute_values(":expected", n(expected))
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => {
                let stale = stored_keys(output.attributes)
                    .iter()
                    .map(|k| identity_item(tenant, k, id))
                    .collect();
                super::batch_delete(&self.client, &self.table, stale).await
            }
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
        if !filter.equals.is_empty() {
            let mut conditions = Vec::new();
            query = query.expression_attribute_names("#fields", "fields");
            for (i, (field, value)) in filter.equals.iter().enumerate() {
                let value = serde_dynamo::to_attribute_value(value).map_err(corrupt)?;
                query = query
                    .expression_attribute_names(format!("#f{i}"), field)
                    .expression_attribute_values(format!(":v{i}"), value);
                conditions.push(format!("#fields.#f{i} = :v{i}"));
            }
            query = query.filter_expression(conditions.join(" AND "));
        }
        let (items, next) = query_page(query, page, "gsi1pk", &gsi1pk).await?;
        let items = items
            .into_iter()
            .map(|item| {
                serde_dynamo::from_item::<_, RecordItem>(item)
                    .map(RecordItem::into_stored)
                    .map_err(corrupt)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page { items, next })
    }
    async fn find_by_identity(
        &self,
        tenant: &TenantId,
        keys: &[String],
    ) -> Result<Vec<RecordId>, StoreError> {
        let mut ids = Vec::new();
        for key in keys {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(identity_pk(tenant, key)))
                .limit(100)
                .send()
                .await
                .map_err(unavailable)?;
            for item in output.items.unwrap_or_default() {
                if let Some(id) = item.get("sk").and_then(|v| v.as_s().ok()) {
                    ids.push(
                        RecordId::new(id.as_str())
                            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    );
                }
            }
        }
        Ok(ids)
    }

    async fn put_merge(&self, tenant: &TenantId, marker: &MergeMarker) -> Result<(), StoreError> {
        let item = serde_dynamo::to_item(MergeItem {
            pk: record_pk(tenant, &marker.survivor),
            sk: format!("MERGED#{}", marker.duplicate),
            merge: marker.clone(),
        })
        .map_err(corrupt)?;
        self.put_plain(item).await
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
}
