//! DynamoDB stores. Key design: docs/key-design.md. Every key starts with the tenant, so no
//! request can read across tenants.

mod approvals;
mod dependents;
mod errors;
mod identity;
mod mailboxes;
mod notifications;
mod paging;
mod record_item;
mod records;
mod redemptions;
mod runs;
mod schedule;
mod settings;
mod stream;
mod tables;
mod users;
mod workflows;

pub use approvals::DynamoApprovalStore;
pub use identity::identity_items;
pub use mailboxes::DynamoSyncStatus;
pub use notifications::DynamoNotificationInbox;
pub use record_item::{RECORD_SK, RecordItem, record_pk};
pub use records::DynamoRecordStore;
pub use runs::DynamoRunLedger;
pub use schedule::DynamoScheduleStore;
pub use settings::DynamoSettingsStore;
pub use stream::{approval_change, record_change};
pub use tables::copy_table_schema;
pub use users::DynamoUserDirectory;
pub use workflows::DynamoWorkflowStore;

use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

pub(crate) type Item = HashMap<String, AttributeValue>;

/// The partition of a tenant's settings.
pub(crate) fn tenant_pk(tenant: &crm_model::ids::TenantId) -> String {
    format!("T#{tenant}")
}

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// Deletes `keys` with BatchWriteItem, 25 at a time (DynamoDB's limit, which moto does not
/// enforce), retrying what comes back unprocessed.
pub(crate) async fn batch_delete(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    keys: Vec<Item>,
) -> Result<(), crm_model::ports::StoreError> {
    use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};
    for chunk in keys.chunks(25) {
        let mut requests = chunk
            .iter()
            .map(|key| {
                let delete = DeleteRequest::builder().set_key(Some(key.clone())).build();
                delete.map(|d| WriteRequest::builder().delete_request(d).build())
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| crm_model::ports::StoreError::Unavailable(Box::new(e)))?;
        for attempt in 0..8u32 {
            if requests.is_empty() {
                break;
            }
            let output = client
                .batch_write_item()
                .request_items(table, requests)
                .send()
                .await
                .map_err(errors::unavailable)?;
            requests = output
                .unprocessed_items
                .and_then(|mut m| m.remove(table))
                .unwrap_or_default();
            if !requests.is_empty() {
                tokio::time::sleep(std::time::Duration::from_millis(25 << attempt)).await;
            }
        }
        if !requests.is_empty() {
            return Err(crm_model::ports::StoreError::Unavailable(
                "batch delete left items unprocessed after retries".into(),
            ));
        }
    }
    Ok(())
}

/// The DynamoDB stores, built from one client.
#[derive(Debug, Clone)]
pub struct Stores {
    pub workflows: DynamoWorkflowStore,
    pub settings: DynamoSettingsStore,
    pub users: DynamoUserDirectory,
    pub records: DynamoRecordStore,
    pub schedule: DynamoScheduleStore,
    pub runs: DynamoRunLedger,
    pub inbox: DynamoNotificationInbox,
    pub approvals: DynamoApprovalStore,
    /// Each mailbox's sync status (records table).
    pub mailbox_sync: DynamoSyncStatus,
}

impl Stores {
    /// The stores on the tables the template names in the function's environment.
    pub fn from_env(sdk: &aws_config::SdkConfig) -> Result<Self, crate::ConfigError> {
        let mut stores = Self::new(
            &aws_sdk_dynamodb::Client::new(sdk),
            &crate::Tables::from_env()?,
        );
        // The due index's shard count (template parameter DueShards): every function that
        // arms an entry must spread it the way the scan reads it.
        let shards = crate::config::number(
            "DUE_SHARDS",
            crm_model::schedule::DUE_SHARDS,
            crm_model::schedule::DUE_SHARDS,
            1000,
        )?;
        stores.schedule = stores.schedule.with_shards(shards);
        Ok(stores)
    }

    pub fn new(client: &aws_sdk_dynamodb::Client, tables: &crate::Tables) -> Self {
        Self {
            workflows: DynamoWorkflowStore::new(client.clone(), &tables.settings),
            settings: DynamoSettingsStore::new(client.clone(), &tables.settings),
            users: DynamoUserDirectory::new(client.clone(), &tables.records),
            records: DynamoRecordStore::new(client.clone(), &tables.records),
            schedule: DynamoScheduleStore::new(client.clone(), &tables.schedule),
            runs: DynamoRunLedger::new(client.clone(), &tables.runs, &tables.records),
            inbox: DynamoNotificationInbox::new(client.clone(), &tables.records),
            approvals: DynamoApprovalStore::new(client.clone(), &tables.records),
            mailbox_sync: DynamoSyncStatus::new(client.clone(), &tables.records),
        }
    }
}

/// Reads `keys` with BatchGetItem, 100 at a time (DynamoDB's limit), retrying what comes back
/// unprocessed; `projection` limits the attributes read. Absent items are left out.
pub(crate) async fn batch_get(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    keys: Vec<Item>,
    projection: Option<&str>,
    consistent: bool,
) -> Result<Vec<Item>, crm_model::ports::StoreError> {
    use aws_sdk_dynamodb::types::KeysAndAttributes;
    use crm_model::ports::StoreError;
    let mut found = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(100) {
        let mut pending = chunk.to_vec();
        for attempt in 0..8u32 {
            if pending.is_empty() {
                break;
            }
            let request = KeysAndAttributes::builder()
                .set_keys(Some(pending))
                .set_projection_expression(projection.map(str::to_owned))
                .consistent_read(consistent)
                .build()
                .map_err(|e| StoreError::Unavailable(Box::new(e)))?;
            let output = client
                .batch_get_item()
                .request_items(table, request)
                .send()
                .await
                .map_err(errors::unavailable)?;
            found.extend(
                output
                    .responses
                    .and_then(|mut r| r.remove(table))
                    .unwrap_or_default(),
            );
            pending = output
                .unprocessed_keys
                .and_then(|mut u| u.remove(table))
                .map(|k| k.keys)
                .unwrap_or_default();
            if !pending.is_empty() {
                tokio::time::sleep(std::time::Duration::from_millis(25 << attempt)).await;
            }
        }
        if !pending.is_empty() {
            return Err(StoreError::Unavailable(
                "batch get left keys unprocessed after retries".into(),
            ));
        }
    }
    Ok(found)
}

/// Puts an item that carries a `revision`: new (`expected` is `None`, the item must not exist)
/// or replacing revision `expected`. Translates the refusals: `AlreadyExists`, `NotFound`,
/// `Conflict`.
pub(crate) async fn put_revisioned(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    item: Item,
    expected: Option<u64>,
) -> Result<(), crm_model::ports::StoreError> {
    use aws_sdk_dynamodb::operation::put_item::PutItemError;
    use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
    use crm_model::ports::StoreError;
    let request = client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
    let request = match expected {
        None => request.condition_expression("attribute_not_exists(pk)"),
        Some(expected) => request
            .condition_expression("revision = :expected")
            .expression_attribute_values(":expected", n(expected)),
    };
    match request.send().await {
        Ok(_) => Ok(()),
        Err(error) => Err(match error.as_service_error() {
            Some(PutItemError::ConditionalCheckFailedException(e)) => match expected {
                None => StoreError::AlreadyExists,
                Some(_) if e.item().is_none() => StoreError::NotFound,
                Some(expected) => StoreError::Conflict { expected },
            },
            _ => errors::unavailable(error),
        }),
    }
}

/// One page of a Query: its items and the cursor of the next page. A cursor given in `page` must
/// lie in `scope`: the caller's partition, and the listing's sort-key prefix.
pub(crate) async fn query_page(
    query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    page: &crm_model::ports::PageRequest,
    scope: paging::Scope<'_>,
) -> Result<(Vec<Item>, Option<String>), crm_model::ports::StoreError> {
    let start = match &page.cursor {
        Some(cursor) => Some(paging::decode(cursor, scope)?),
        None => None,
    };
    let limit = page
        .limit
        .clamp(1, crm_model::ports::PageRequest::MAX_LIMIT) as i32;
    let output = query
        .limit(limit)
        .set_exclusive_start_key(start)
        .send()
        .await
        .map_err(errors::unavailable)?;
    Ok((
        output.items.unwrap_or_default(),
        paging::encode(output.last_evaluated_key.as_ref()),
    ))
}
