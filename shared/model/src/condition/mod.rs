//! "Condition": all records, or nested AND/OR groups of (field, operator, value) clauses with
//! operators typed by field kind. A condition is compiled once against the schema (typed
//! operands, lower-cased texts) so that evaluating it per record allocates nothing.

mod compile;
mod eval;
mod formula;

pub use compile::{CompiledCondition, ConditionScope};
pub use eval::EvalContext;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A condition as an administrator writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Condition {
    /// Every record of the module.
    AllRecords {},
    /// Records that satisfy the group.
    Matching { group: Group },
    /// Numbered clauses (1, 2, …) combined by a formula such as "(1 AND 2) OR 3", as the
    /// screens write it; kept as written, so it reads back the same.
    Formula {
        clauses: Vec<Clause>,
        formula: String,
    },
}

impl Condition {
    /// Every clause, however grouped.
    pub fn clauses(&self) -> Box<dyn Iterator<Item = &Clause> + '_> {
        fn group(g: &Group) -> Box<dyn Iterator<Item = &Clause> + '_> {
            Box::new(g.rules.iter().flat_map(|rule| match rule {
                Rule::Group(inner) => group(inner),
                Rule::Clause(clause) => Box::new(std::iter::once(clause)),
            }))
        }
        match self {
            Condition::AllRecords {} => Box::new(std::iter::empty()),
            Condition::Matching { group: g } => group(g),
            Condition::Formula { clauses, .. } => Box::new(clauses.iter()),
        }
    }
}

impl Default for Condition {
    fn default() -> Self {
        Condition::AllRecords {}
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Combine {
    And,
    Or,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub combine: Combine,
    pub rules: Vec<Rule>,
}

/// A clause, or a nested group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Rule {
    Group(Group),
    Clause(Clause),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Clause {
    pub field: String,
    pub op: Operator,
    /// Absent for operators without an operand (empty, not empty, changed).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub value: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    Equals,
    NotEquals,
    Contains,
    NotContains,
    StartsWith,
    IsEmpty,
    IsNotEmpty,
    GreaterThan,
    GreaterOrEqual,
    LessThan,
    LessOrEqual,
    /// Inclusive; the value is `[low, high]`.
    Between,
    InList,
    NotInList,
    /// The date lies in the last N days, today included.
    WithinLastDays,
    /// The date lies in the next N days, today included.
    WithinNextDays,
    /// The date is more than N days before today.
    MoreThanDaysAgo,
    /// Work workflows only: the edit changed the field.
    Changed,
    /// Work workflows only: the edit changed the field to the value.
    ChangedTo,
}
