//! "When" a workflow fires: a time relative to a date field of the record (care workflows), or a
//! record event (work workflows).

mod catch_up;
mod event;
mod occurrence;
mod time;

pub use catch_up::{CatchUp, CatchUpPolicy, Disposition};
pub use event::{EventDecision, RecordChange, RecordEvent, RecordEventTrigger, WatchMode};
pub use occurrence::{Occurrence, OccurrenceKey};
pub use time::{Anchor, Direction, Feb29Policy, Offset, OffsetUnit, Recurrence, TimeTrigger};

use serde::{Deserialize, Serialize};

use crate::schema::ModuleSchema;
use crate::validation::Problems;

/// The moment a workflow fires for a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Trigger {
    /// Care workflow: relative to a date or date-time field.
    Time(TimeTrigger),
    /// Work workflow: on record creation or edit.
    RecordEvent(RecordEventTrigger),
    /// Scoring rule: on every change of a record, and on each day one of its criteria relative
    /// to today flips; what it computes is part of it.
    Score(crate::scoring::ScoringSpec),
    /// Approval (or sales-recording) workflow: when a record is submitted; its steps and the
    /// actions of each outcome are part of it.
    Approval(crate::approval::ApprovalSpec),
}

impl Trigger {
    pub fn validate(&self, schema: &ModuleSchema, path: &str) -> Problems {
        match self {
            Trigger::Time(t) => t.validate(schema, path),
            Trigger::RecordEvent(t) => t.validate(schema, path),
            Trigger::Score(spec) => spec.validate(schema, path),
            Trigger::Approval(spec) => spec.validate(schema, path),
        }
    }
}

/// The product's default time zone when neither record nor tenant names one.
pub const DEFAULT_TIME_ZONE: chrono_tz::Tz = chrono_tz::Asia::Ho_Chi_Minh;
