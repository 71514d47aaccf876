//! DynamoDB stores. Key design: docs/key-design.md. Every key starts with the tenant, so no
//! request can read across tenants.

mod errors;
mod workflows;

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
