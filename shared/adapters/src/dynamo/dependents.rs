//! A customer's dependents (its orders, quotes and opportunities), counted beside it, so that
//! deleting a customer is atomic with its guard: every write that makes a record depend on a
//! customer checks in the same transaction that the customer exists and counts it up, and the
//! customer's delete removes the count only while it is zero. Whichever of the two commits first,
//! the other fails; no order is left pointing at a deleted customer.
//!
//! | item | pk                      | sk     | attributes          |
//! |------|-------------------------|--------|---------------------|
//! | deps | `T#<tenant>#R#<customer>` | `DEPS` | `dependents` (number) |
//!
//! Records written before the count existed are not in it; the records service also reads the
//! customer's related records before a delete, which sees them.

use aws_sdk_dynamodb::types::{ConditionCheck, Delete, TransactWriteItem, Update};

use super::errors::built;
use super::record_item::{key, record_pk};
use super::{Item, n, s};
use crm_model::ids::{RecordId, TenantId};
use crm_model::ports::StoreError;

const DEPS_SK: &str = "DEPS";

fn deps_key(tenant: &TenantId, customer: &RecordId) -> Item {
    [
        ("pk".to_owned(), s(record_pk(tenant, customer))),
        ("sk".to_owned(), s(DEPS_SK)),
    ]
    .into_iter()
    .collect()
}

/// The transaction items that move a dependent from the `old` customer to the `new` one: a
/// check that the new customer exists (first, when there is one) and the two counts, the old
/// one's last. None when the customer does not change. The old count goes down only while it is
/// above zero (its condition fails otherwise): a dependent written before the counts existed was
/// never counted, and a count below zero would let its customer go with a later one.
pub(super) fn moves(
    table: &str,
    tenant: &TenantId,
    old: Option<&str>,
    new: Option<&str>,
) -> Result<Vec<TransactWriteItem>, StoreError> {
    if old == new {
        return Ok(Vec::new());
    }
    let id = |text: &str| RecordId::new(text).map_err(|e| StoreError::Corrupt(e.to_string()));
    let mut items = Vec::new();
    if let Some(new) = new {
        let new = id(new)?;
        let check = ConditionCheck::builder()
            .table_name(table)
            .set_key(Some(key(tenant, &new)))
            .condition_expression("#module = :customer")
            .expression_attribute_names("#module", "module")
            .expression_attribute_values(":customer", s("Customer"));
        items.push(
            TransactWriteItem::builder()
                .condition_check(built(check.build())?)
                .build(),
        );
        items.push(count(table, tenant, &new, 1)?);
    }
    if let Some(old) = old {
        let update = Update::builder()
            .table_name(table)
            .set_key(Some(deps_key(tenant, &id(old)?)))
            .update_expression("SET dependents = dependents - :one")
            .condition_expression("dependents >= :one")
            .expression_attribute_values(":one", n(1));
        items.push(
            TransactWriteItem::builder()
                .update(built(update.build())?)
                .build(),
        );
    }
    Ok(items)
}

fn count(
    table: &str,
    tenant: &TenantId,
    customer: &RecordId,
    step: i64,
) -> Result<TransactWriteItem, StoreError> {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(deps_key(tenant, customer)))
        .update_expression("ADD dependents :step")
        .expression_attribute_values(":step", n(step));
    Ok(TransactWriteItem::builder()
        .update(built(update.build())?)
        .build())
}

/// The delete of a customer's count, refused while it counts any dependent.
pub(super) fn guard(
    table: &str,
    tenant: &TenantId,
    customer: &RecordId,
) -> Result<TransactWriteItem, StoreError> {
    let delete = Delete::builder()
        .table_name(table)
        .set_key(Some(deps_key(tenant, customer)))
        .condition_expression("attribute_not_exists(dependents) OR dependents = :zero")
        .expression_attribute_values(":zero", n(0));
    Ok(TransactWriteItem::builder()
        .delete(built(delete.build())?)
        .build())
}
