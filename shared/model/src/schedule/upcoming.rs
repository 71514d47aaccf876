//! A record's coming care occurrences: for each active care workflow of its module, the
//! occurrence its schedule entry holds armed for the record (at most one each). Read from the
//! entries themselves, one read per active workflow (ten at most), never from the due index.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::ids::{RecordId, TenantId, WorkflowId};
use crate::schedule::ports::ScheduleEntries;
use crate::schema::Module;
use crate::store::StoreError;
use crate::workflow::store::{WorkflowCatalog, WorkflowFilter, every_workflow};
use crate::workflow::{WorkflowKind, WorkflowStatus};

/// One coming occurrence of a care workflow for a record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Upcoming {
    pub workflow: WorkflowId,
    pub name: String,
    /// The version that armed it: its run is pinned to it.
    pub version: u32,
    /// `Y<year>` or `O<local anchor>`, as the run history's cause shows it.
    pub occurrence: String,
    pub fire_at: DateTime<Utc>,
}

/// The record's armed occurrences, soonest first. A workflow with nothing armed for the record
/// (its condition or date rules it out, or its occurrence already fired) is left out.
pub async fn upcoming(
    catalog: &dyn WorkflowCatalog,
    entries: &dyn ScheduleEntries,
    tenant: &TenantId,
    module: Module,
    record: &RecordId,
) -> Result<Vec<Upcoming>, StoreError> {
    let filter = WorkflowFilter {
        module: Some(module),
    };
    let mut found = Vec::new();
    for workflow in every_workflow(catalog, tenant, filter).await? {
        if workflow.kind != WorkflowKind::Care || workflow.status != WorkflowStatus::Active {
            continue;
        }
        let Some(entry) = entries.get(tenant, &workflow.id, record).await? else {
            continue;
        };
        if let Some(next) = entry.next {
            found.push(Upcoming {
                name: workflow.definition.name.clone(),
                workflow: workflow.id,
                version: entry.version,
                occurrence: next.key.to_string(),
                fire_at: next.fire_at,
            });
        }
    }
    found.sort_by(|a, b| (a.fire_at, &a.workflow).cmp(&(b.fire_at, &b.workflow)));
    Ok(found)
}
