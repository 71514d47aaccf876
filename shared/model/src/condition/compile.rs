//! Checking a condition against the schema and compiling it into typed tests.

use chrono::NaiveDate;
use serde_json::Value;

use super::{Clause, Combine, Condition, Group, Operator, Rule};
use crate::schema::{FieldKind, ModuleSchema};
use crate::validation::Problems;

/// Which operators a condition may use: "changed" needs an edit to compare with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionScope {
    /// Care workflows and previews: the record as it is.
    RecordState,
    /// Work workflows: the record and the edit that produced it.
    RecordChange,
}

/// A condition checked against the schema, ready to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledCondition {
    pub(super) root: Option<Node>,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Node {
    All(Vec<Node>),
    Any(Vec<Node>),
    Clause { field: String, test: Test },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Cmp {
    Gt,
    Ge,
    Lt,
    Le,
}

/// A typed test of one field value. Texts are stored lower-cased for case-insensitive matching.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Test {
    IsEmpty,
    IsNotEmpty,
    /// Exact for codes (pick-list values, user and record ids), else case-insensitive.
    TextEq {
        value: String,
        exact: bool,
    },
    TextNe {
        value: String,
        exact: bool,
    },
    TextContains(String),
    TextNotContains(String),
    TextStartsWith(String),
    TextIn {
        values: Vec<String>,
        exact: bool,
    },
    TextNotIn {
        values: Vec<String>,
        exact: bool,
    },
    NumEq(f64),
    NumNe(f64),
    NumCmp(Cmp, f64),
    NumBetween(f64, f64),
    DateEq(NaiveDate),
    DateNe(NaiveDate),
    DateCmp(Cmp, NaiveDate),
    DateBetween(NaiveDate, NaiveDate),
    WithinLastDays(i64),
    WithinNextDays(i64),
    MoreThanDaysAgo(i64),
    BoolEq(bool),
    ListHas(String),
    ListLacks(String),
    Changed,
    ChangedTo(Box<Test>),
}

/// The largest N of the relative-date operators: ten years.
const MAX_RELATIVE_DAYS: u64 = 3660;
/// Nesting deeper than this is certainly a mistake, and would make evaluation recurse deeply.
const MAX_DEPTH: usize = 8;

impl CompiledCondition {
    pub fn all_records() -> Self {
        Self { root: None }
    }

    /// Checks `condition` against the module schema, reporting every problem at once under
    /// `path`, and compiles it.
    pub fn compile(
        condition: &Condition,
        schema: &ModuleSchema,
        scope: ConditionScope,
        path: &str,
    ) -> Result<Self, Problems> {
        let mut problems = Problems::default();
        let root = match condition {
            Condition::AllRecords {} => None,
            Condition::Matching { group } => compile_group(
                group,
                schema,
                scope,
                &format!("{path}/group"),
                1,
                &mut problems,
            ),
            Condition::Formula { clauses, formula } => {
                super::formula::compile(clauses, formula, schema, scope, path, &mut problems)
            }
        };
        problems.into_result(Self { root })
    }
}

fn compile_group(
    group: &Group,
    schema: &ModuleSchema,
    scope: ConditionScope,
    path: &str,
    depth: usize,
    problems: &mut Problems,
) -> Option<Node> {
    if depth > MAX_DEPTH {
        problems.push(path, format!("groups nest at most {MAX_DEPTH} deep"));
        return None;
    }
    if group.rules.is_empty() {
        problems.push(format!("{path}/rules"), "a group needs at least one rule");
        return None;
    }
    let mut nodes = Vec::with_capacity(group.rules.len());
    for (i, rule) in group.rules.iter().enumerate() {
        let at = format!("{path}/rules/{i}");
        let node = match rule {
            Rule::Group(inner) => compile_group(inner, schema, scope, &at, depth + 1, problems),
            Rule::Clause(clause) => compile_clause(clause, schema, scope, &at, problems),
        };
        nodes.extend(node);
    }
    Some(match group.combine {
        Combine::And => Node::All(nodes),
        Combine::Or => Node::Any(nodes),
    })
}

pub(super) fn compile_clause(
    clause: &Clause,
    schema: &ModuleSchema,
    scope: ConditionScope,
    path: &str,
    problems: &mut Problems,
) -> Option<Node> {
    let Some(def) = schema.field(&clause.field) else {
        problems.push(
            format!("{path}/field"),
            format!("{} has no field '{}'", schema.module(), clause.field),
        );
        return None;
    };
    if def.kind == FieldKind::Approval {
        problems.push(
            format!("{path}/field"),
            "a record's pending approval cannot be tested: approval workflows lock the record",
        );
        return None;
    }
    if def.kind == FieldKind::ScoreBreakdown {
        problems.push(
            format!("{path}/field"),
            "the score breakdown cannot be tested: test the score field a scoring rule writes",
        );
        return None;
    }
    let value_path = format!("{path}/value");
    match build_test(&def.kind, clause.op, &clause.value, scope) {
        Ok(test) => Some(Node::Clause {
            field: clause.field.clone(),
            test,
        }),
        Err(Wrong::Operator) => {
            problems.push(
                format!("{path}/op"),
                format!(
                    "{:?} does not apply to '{}', a {} field",
                    clause.op,
                    clause.field,
                    def.kind.name()
                )
                .to_lowercase(),
            );
            None
        }
        Err(Wrong::ChangeOutsideWorkWorkflow) => {
            problems.push(
                format!("{path}/op"),
                "'changed' and 'changed to' apply only to work workflows (record events)",
            );
            None
        }
        Err(Wrong::Value(message)) => {
            problems.push(value_path, message);
            None
        }
    }
}

enum Wrong {
    Operator,
    ChangeOutsideWorkWorkflow,
    Value(String),
}

/// The kinds of comparison a field kind supports.
#[derive(Clone, Copy, PartialEq)]
enum Family {
    FreeText,
    Code,
    Number,
    Temporal,
    Boolean,
    MultiChoice,
    /// Order lines, users, files: only "empty" and "not empty" apply.
    Lines,
}

fn family(kind: &FieldKind) -> Family {
    match kind {
        FieldKind::Text | FieldKind::Phone | FieldKind::Email => Family::FreeText,
        FieldKind::PickList { .. }
        | FieldKind::User
        | FieldKind::Reference { .. }
        | FieldKind::TimeZone => Family::Code,
        FieldKind::Number | FieldKind::Money => Family::Number,
        FieldKind::Date | FieldKind::DateTime => Family::Temporal,
        FieldKind::Boolean => Family::Boolean,
        FieldKind::MultiPickList { .. } => Family::MultiChoice,
        FieldKind::LineItems
        | FieldKind::Users
        | FieldKind::Files
        | FieldKind::ScoreBreakdown
        | FieldKind::Approval => Family::Lines,
    }
}

fn build_test(
    kind: &FieldKind,
    op: Operator,
    value: &Value,
    scope: ConditionScope,
) -> Result<Test, Wrong> {
    use Family::*;
    use Operator::*;
    let fam = family(kind);
    let exact = fam == Code;
    Ok(match (op, fam) {
        (IsEmpty, _) => Test::IsEmpty,
        (IsNotEmpty, _) => Test::IsNotEmpty,
        (Changed | ChangedTo, _) if scope == ConditionScope::RecordState => {
            return Err(Wrong::ChangeOutsideWorkWorkflow);
        }
        (Changed, _) => Test::Changed,
        (ChangedTo, MultiChoice) => return Err(Wrong::Operator),
        (ChangedTo, _) => Test::ChangedTo(Box::new(build_test(kind, Equals, value, scope)?)),
        (Equals, FreeText | Code) => Test::TextEq {
            value: text_operand(kind, value, exact)?,
            exact,
        },
        (NotEquals, FreeText | Code) => Test::TextNe {
            value: text_operand(kind, value, exact)?,
            exact,
        },
        (Contains, FreeText) => Test::TextContains(text_operand(kind, value, false)?),
        (NotContains, FreeText) => Test::TextNotContains(text_operand(kind, value, false)?),
        (StartsWith, FreeText) => Test::TextStartsWith(text_operand(kind, value, false)?),
        (InList, FreeText | Code) => Test::TextIn {
            values: list_operand(kind, value, exact)?,
            exact,
        },
        (NotInList, FreeText | Code) => Test::TextNotIn {
            values: list_operand(kind, value, exact)?,
            exact,
        },
        (Equals, Number) => Test::NumEq(number_operand(value)?),
        (NotEquals, Number) => Test::NumNe(number_operand(value)?),
        (GreaterThan | GreaterOrEqual | LessThan | LessOrEqual, Number) => {
            Test::NumCmp(cmp(op), number_operand(value)?)
        }
        (Between, Number) => {
            let [low, high] = pair(value)?;
            let (low, high) = (number_operand(low)?, number_operand(high)?);
            ordered(low, high)?;
            Test::NumBetween(low, high)
        }
        (Equals, Temporal) => Test::DateEq(date_operand(value)?),
        (NotEquals, Temporal) => Test::DateNe(date_operand(value)?),
        (GreaterThan | GreaterOrEqual | LessThan | LessOrEqual, Temporal) => {
            Test::DateCmp(cmp(op), date_operand(value)?)
        }
        (Between, Temporal) => {
            let [low, high] = pair(value)?;
            let (low, high) = (date_operand(low)?, date_operand(high)?);
            ordered(low, high)?;
            Test::DateBetween(low, high)
        }
        (WithinLastDays, Temporal) => Test::WithinLastDays(days_operand(value)?),
        (WithinNextDays, Temporal) => Test::WithinNextDays(days_operand(value)?),
        (MoreThanDaysAgo, Temporal) => Test::MoreThanDaysAgo(days_operand(value)?),
        (Equals, Boolean) => Test::BoolEq(bool_operand(value)?),
        (NotEquals, Boolean) => Test::BoolEq(!bool_operand(value)?),
        (Contains, MultiChoice) => Test::ListHas(option_operand(kind, value)?),
        (NotContains, MultiChoice) => Test::ListLacks(option_operand(kind, value)?),
        _ => return Err(Wrong::Operator),
    })
}

fn cmp(op: Operator) -> Cmp {
    match op {
        Operator::GreaterThan => Cmp::Gt,
        Operator::GreaterOrEqual => Cmp::Ge,
        Operator::LessThan => Cmp::Lt,
        _ => Cmp::Le,
    }
}

fn text_operand(kind: &FieldKind, value: &Value, exact: bool) -> Result<String, Wrong> {
    let s = value
        .as_str()
        .ok_or_else(|| Wrong::Value("expected a text value".into()))?;
    if let FieldKind::PickList { .. } = kind {
        return option_operand(kind, value);
    }
    if s.is_empty() {
        return Err(Wrong::Value(
            "must not be empty (use 'is empty' to test for an empty field)".into(),
        ));
    }
    Ok(if exact {
        s.to_owned()
    } else {
        s.to_lowercase()
    })
}

fn option_operand(kind: &FieldKind, value: &Value) -> Result<String, Wrong> {
    let s = value
        .as_str()
        .ok_or_else(|| Wrong::Value("expected one of the field's options".into()))?;
    if !kind.options().iter().any(|o| o.value == s) {
        return Err(Wrong::Value(format!(
            "'{s}' is not one of the field's options"
        )));
    }
    Ok(s.to_owned())
}

fn list_operand(kind: &FieldKind, value: &Value, exact: bool) -> Result<Vec<String>, Wrong> {
    let items = value
        .as_array()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| Wrong::Value("expected a non-empty list".into()))?;
    items
        .iter()
        .map(|item| text_operand(kind, item, exact))
        .collect()
}

fn number_operand(value: &Value) -> Result<f64, Wrong> {
    value
        .as_f64()
        .filter(|n| n.is_finite())
        .ok_or_else(|| Wrong::Value("expected a number".into()))
}

fn date_operand(value: &Value) -> Result<NaiveDate, Wrong> {
    match value.as_str() {
        Some(text) => crate::record::parse_date(text).map_err(Wrong::Value),
        None => Err(Wrong::Value("expected a date as YYYY-MM-DD".into())),
    }
}

fn days_operand(value: &Value) -> Result<i64, Wrong> {
    match value.as_u64() {
        Some(n) if n <= MAX_RELATIVE_DAYS => Ok(n as i64),
        _ => Err(Wrong::Value(format!(
            "expected a whole number of days from 0 to {MAX_RELATIVE_DAYS}"
        ))),
    }
}

fn bool_operand(value: &Value) -> Result<bool, Wrong> {
    value
        .as_bool()
        .ok_or_else(|| Wrong::Value("expected true or false".into()))
}

fn pair(value: &Value) -> Result<[&Value; 2], Wrong> {
    match value.as_array().map(Vec::as_slice) {
        Some([low, high]) => Ok([low, high]),
        _ => Err(Wrong::Value("expected [low, high]".into())),
    }
}

fn ordered<T: PartialOrd>(low: T, high: T) -> Result<(), Wrong> {
    if low <= high {
        Ok(())
    } else {
        Err(Wrong::Value("low must not exceed high".into()))
    }
}
