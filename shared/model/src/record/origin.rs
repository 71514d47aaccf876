//! Who made a record write: a person (no origin), or an automation, named with the workflow that
//! wrote and how many automation writes led to it. The records stream hands the origin to the
//! work workflows, so that a workflow never runs on its own write and a chain of workflows setting
//! each other off stops.

use serde::{Deserialize, Serialize};

use crate::ids::WorkflowId;

/// How many automation writes a chain may make: a change made by the third automation write in a
/// row sets off no further workflow (each one that would have run records a failed run saying
/// why).
pub const MAX_CHAIN_DEPTH: u8 = 3;

/// A record write made by the executor on behalf of a workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutomationWrite {
    pub workflow: WorkflowId,
    /// 1 for a write by a job a person's change (or the schedule) set off, 2 for a write by a job
    /// that a write of depth 1 set off, and so on.
    pub depth: u8,
}

impl AutomationWrite {
    /// Whether a change this write made may set off more workflows.
    pub fn chain_may_go_on(&self) -> bool {
        self.depth < MAX_CHAIN_DEPTH
    }
}
