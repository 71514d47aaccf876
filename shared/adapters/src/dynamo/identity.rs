//! The identity index of customers in the records table: one item per normalised phone, email,
//! tax code, name (as written and unaccented) or code (`crm_model::record::identity`), and of
//! contacts by email, written in the same transaction as the record, so that the index and the
//! records never disagree.
//!
//! | item | pk | sk |
//! |------|----|----|
//! | identity | `T#<tenant>#ID#<key>` | `<customer id>` |

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem};

use super::errors::{built, condition_failed, corrupt, unavailable};
use super::record_item::{RecordItem, key};
use super::{Item, n, s};
use crm_model::ids::{RecordId, TenantId};
use crm_model::ports::{StoreError, StoredRecord};

fn identity_pk(tenant: &TenantId, key: &str) -> String {
    format!("T#{tenant}#ID#{key}")
}

fn item(tenant: &TenantId, key: &str, id: &RecordId) -> Item {
    [
        ("pk".to_owned(), s(identity_pk(tenant, key))),
        ("sk".to_owned(), s(id.as_str())),
    ]
    .into_iter()
    .collect()
}

/// The identity items of a record (none unless it is a customer with a phone, email or tax code).
pub fn identity_items(tenant: &TenantId, record: &StoredRecord) -> Vec<Item> {
    crm_model::record::identity::keys(record.module, &record.fields)
        .iter()
        .map(|key| item(tenant, key, &record.id))
        .collect()
}

async fn commit(
    client: &Client,
    items: Vec<TransactWriteItem>,
    expected: Option<u64>,
) -> Result<(), StoreError> {
    match client
        .transact_write_items()
        .set_transact_items(Some(items))
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(error) => Err(match error.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(e))
                if condition_failed(e.cancellation_reasons(), 0) =>
            {
                match expected {
                    None => StoreError::AlreadyExists,
                    Some(expected) => StoreError::Conflict { expected },
                }
            }
            // Identity items carry no condition: another failed one is the dependents' guard.
            Some(TransactWriteItemsError::TransactionCanceledException(e))
                if (1..e.cancellation_reasons().len())
                    .any(|i| condition_failed(e.cancellation_reasons(), i)) =>
            {
                StoreError::InUse
            }
            _ => unavailable(error),
        }),
    }
}

/// Writes a customer or contact (`expected`: the revision it replaces, none for a new one) with its identity
/// items, removing the `old` keys of that revision it no longer has, in one transaction. The
/// revision condition guarantees `old` is what the replaced revision had.
pub(super) async fn put_customer(
    client: &Client,
    table: &str,
    tenant: &TenantId,
    record: &StoredRecord,
    expected: Option<u64>,
    old: &[String],
) -> Result<(), StoreError> {
    let new = crm_model::record::identity::keys(record.module, &record.fields);
    let revision = expected.map_or(1, |r| r + 1);
    let record_item: Item =
        serde_dynamo::to_item(RecordItem::new(tenant, record, revision)).map_err(corrupt)?;
    let put = Put::builder().table_name(table).set_item(Some(record_item));
    let put = match expected {
        None => put.condition_expression("attribute_not_exists(pk)"),
        Some(expected) => put
            .condition_expression("revision = :expected")
            .expression_attribute_values(":expected", n(expected)),
    };
    let mut items = vec![
        TransactWriteItem::builder()
            .put(built(put.build())?)
            .build(),
    ];
    for k in &new {
        let put = Put::builder()
            .table_name(table)
            .set_item(Some(item(tenant, k, &record.id)));
        items.push(
            TransactWriteItem::builder()
                .put(built(put.build())?)
                .build(),
        );
    }
    for k in old.iter().filter(|k| !new.contains(k)) {
        let delete = Delete::builder()
            .table_name(table)
            .set_key(Some(item(tenant, k, &record.id)));
        items.push(
            TransactWriteItem::builder()
                .delete(built(delete.build())?)
                .build(),
        );
    }
    commit(client, items, expected).await
}

/// Deletes a customer and the identity items of its revision `expected` (`old`) in one
/// transaction, if still at that revision and nothing depends on it.
pub(super) async fn delete_customer(
    client: &Client,
    table: &str,
    tenant: &TenantId,
    id: &RecordId,
    expected: u64,
    old: &[String],
) -> Result<(), StoreError> {
    let mut items = deletes(table, tenant, id, expected, old)?;
    items.push(super::dependents::guard(table, tenant, id)?);
    commit(client, items, Some(expected)).await
}

/// Deletes a record of another identified module (a contact) with its identity items.
pub(super) async fn delete_identified(
    client: &Client,
    table: &str,
    tenant: &TenantId,
    id: &RecordId,
    expected: u64,
    old: &[String],
) -> Result<(), StoreError> {
    commit(
        client,
        deletes(table, tenant, id, expected, old)?,
        Some(expected),
    )
    .await
}

/// The record's delete at revision `expected`, and its identity items'.
fn deletes(
    table: &str,
    tenant: &TenantId,
    id: &RecordId,
    expected: u64,
    old: &[String],
) -> Result<Vec<TransactWriteItem>, StoreError> {
    let delete = Delete::builder()
        .table_name(table)
        .set_key(Some(key(tenant, id)))
        .condition_expression("revision = :expected")
        .expression_attribute_values(":expected", n(expected));
    let mut items = vec![
        TransactWriteItem::builder()
            .delete(built(delete.build())?)
            .build(),
    ];
    for k in old {
        let delete = Delete::builder()
            .table_name(table)
            .set_key(Some(item(tenant, k, id)));
        items.push(
            TransactWriteItem::builder()
                .delete(built(delete.build())?)
                .build(),
        );
    }
    Ok(items)
}

/// The customers that have one of `keys` (all pages, read consistently).
pub(super) async fn find(
    client: &Client,
    table: &str,
    tenant: &TenantId,
    keys: &[String],
) -> Result<Vec<RecordId>, StoreError> {
    use crm_model::record::identity::MAX_MATCHES_PER_KEY;
    let mut ids = Vec::new();
    for k in keys {
        let mut start = None;
        let mut matched = 0;
        loop {
            let output = client
                .query()
                .table_name(table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(identity_pk(tenant, k)))
                // No more read than the cap keeps (a common name fills a 1 MB page).
                .limit((MAX_MATCHES_PER_KEY - matched) as i32)
                .set_exclusive_start_key(start)
                .consistent_read(true)
                .send()
                .await
                .map_err(unavailable)?;
            for found in output.items.unwrap_or_default() {
                if matched == MAX_MATCHES_PER_KEY {
                    break;
                }
                matched += 1;
                if let Some(id) = found.get("sk").and_then(|v| v.as_s().ok()) {
                    ids.push(
                        RecordId::new(id.as_str())
                            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    );
                }
            }
            start = output.last_evaluated_key;
            if start.is_none() || matched == MAX_MATCHES_PER_KEY {
                break;
            }
        }
    }
    Ok(ids)
}
