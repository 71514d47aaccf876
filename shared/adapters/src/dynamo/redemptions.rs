//! Customers' loyalty ledgers in the records table, in the customer's partition: a redemption
//! and the customer's lowered balance are written in one transaction, the customer at its
//! revision and the redemption only if its id (the client's key) is new.
//!
//! | item       | pk                        | sk              |
//! |------------|---------------------------|-----------------|
//! | redemption | `T#<tenant>#R#<customer>` | `REDEEM#<id>`   |

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use serde::{Deserialize, Serialize};

use super::errors::{built, condition_failed, corrupt, unavailable};
use super::record_item::{RecordItem, record_pk};
use super::{Item, n, s};
use crm_model::ids::{RecordId, TenantId};
use crm_model::ports::{Redemption, StoreError, StoredRecord};

#[derive(Serialize, Deserialize)]
struct RedemptionItem {
    pk: String,
    sk: String,
    redemption: Redemption,
}

/// The customer over revision `expected` and the new redemption, both or neither.
pub(super) async fn redeem(
    client: &Client,
    table: &str,
    tenant: &TenantId,
    customer: &StoredRecord,
    expected: u64,
    redemption: &Redemption,
) -> Result<u64, StoreError> {
    let revision = expected + 1;
    // Only computed fields change: the customer's identity items stay as they are.
    let record: Item =
        serde_dynamo::to_item(RecordItem::new(tenant, customer, revision)).map_err(corrupt)?;
    let put_customer = Put::builder()
        .table_name(table)
        .set_item(Some(record))
        .condition_expression("revision = :expected")
        .expression_attribute_values(":expected", n(expected));
    let entry: Item = serde_dynamo::to_item(RedemptionItem {
        pk: record_pk(tenant, &customer.id),
        sk: format!("REDEEM#{}", redemption.id),
        redemption: redemption.clone(),
    })
    .map_err(corrupt)?;
    let put_entry = Put::builder()
        .table_name(table)
        .set_item(Some(entry))
        .condition_expression("attribute_not_exists(pk)");
    let items = vec![
        TransactWriteItem::builder()
            .put(built(put_customer.build())?)
            .build(),
        TransactWriteItem::builder()
            .put(built(put_entry.build())?)
            .build(),
    ];
    match client
        .transact_write_items()
        .set_transact_items(Some(items))
        .send()
        .await
    {
        Ok(_) => Ok(revision),
        Err(error) => Err(match error.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(e)) => {
                let reasons = e.cancellation_reasons();
                // Another transaction on the customer at the same moment: a race lost, read
                // again like a failed condition.
                let raced = reasons
                    .iter()
                    .any(|r| r.code() == Some("TransactionConflict"));
                if condition_failed(reasons, 0) || raced {
                    StoreError::Conflict { expected }
                } else if condition_failed(reasons, 1) {
                    StoreError::AlreadyExists
                } else {
                    unavailable(error)
                }
            }
            _ => unavailable(error),
        }),
    }
}

/// The ledger of `customer`, oldest first.
pub(super) async fn ledger(
    client: &Client,
    table: &str,
    tenant: &TenantId,
    customer: &RecordId,
) -> Result<Vec<Redemption>, StoreError> {
    let mut found = Vec::new();
    let mut start = None;
    loop {
        let output = client
            .query()
            .table_name(table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :redeem)")
            .expression_attribute_values(":pk", s(record_pk(tenant, customer)))
            .expression_attribute_values(":redeem", s("REDEEM#"))
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(unavailable)?;
        for item in output.items.unwrap_or_default() {
            let entry: RedemptionItem = serde_dynamo::from_item(item).map_err(corrupt)?;
            found.push(entry.redemption);
        }
        match output.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => break,
        }
    }
    found.sort_by_key(|r| r.at);
    Ok(found)
}
