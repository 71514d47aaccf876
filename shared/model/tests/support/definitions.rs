//! Workflow definitions the workflow tests start from, and the use cases at a fixed instant.

use crm_model::ids::WorkflowId;
use crm_model::ports::FixedClock;
use crm_model::store::{Page, Revisioned};
use crm_model::workflow::service::Workflows;
use crm_model::workflow::{Workflow, WorkflowDefinition};
use serde_json::{Value, json};

use super::{World, at, birthday_definition};

pub fn wid(id: &str) -> WorkflowId {
    WorkflowId::new(id).unwrap()
}

pub fn named(name: &str) -> WorkflowDefinition {
    let mut definition = birthday_definition();
    definition.name = name.into();
    definition
}

pub fn definition(value: Value) -> WorkflowDefinition {
    serde_json::from_value(value).unwrap()
}

/// A work workflow telling the owner about every new customer.
pub fn welcome() -> WorkflowDefinition {
    definition(json!({
        "module": "Customer", "name": "Khách mới",
        "trigger": {"type": "record_event", "on": "created"},
        "actions": [{"kind": "notification", "id": "tell", "name": "Báo", "notify_owner": true, "message": "Khách mới #Name"}]
    }))
}

pub const NOON: &str = "2027-03-01T05:00:00Z";

pub fn noon() -> FixedClock {
    FixedClock(at(NOON))
}

pub fn ids(page: Page<Revisioned<Workflow>>) -> Vec<String> {
    page.items
        .into_iter()
        .map(|w| w.value.id.to_string())
        .collect()
}

pub fn cases<'a>(w: &'a World, clock: &'a FixedClock) -> Workflows<'a> {
    w.use_cases(clock)
}
