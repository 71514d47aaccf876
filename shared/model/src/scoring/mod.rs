//! Scoring rules (Quy tắc chấm điểm): criteria, each a condition and points, whose sum is
//! written to a number field of the record with its breakdown, so that a salesperson sees why a
//! customer scores 75. A scoring rule is a workflow of its own kind (versions, activation, the
//! records stream, the due schedule and the backfill are the workflows'); its "when" is every
//! change of a record and each day a criterion relative to today flips.

pub mod preview;
pub mod rescore;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::condition::{CompiledCondition, Condition, ConditionScope, EvalContext};
use crate::record::{FieldValue, Record};
use crate::schema::{FieldKind, ModuleSchema};
use crate::validation::Problems;

/// The action a scoring rule's job names (a rule has no actions of its own), and the kind its
/// runs show.
pub const RESCORE_KIND: &str = "score";

pub fn rescore_action() -> crate::ids::ActionId {
    crate::ids::ActionId::new(RESCORE_KIND).unwrap_or_else(|_| unreachable!("a valid action id"))
}

/// The field every record keeps its breakdowns in, by scoring rule.
pub const BREAKDOWN_FIELD: &str = "ScoreBreakdown";
/// More criteria than this in one rule is a configuration smell; with [`MAX_CRITERION_NAME`]
/// it bounds a breakdown (5 rules' at most take about 20 KB of a record's 40).
pub const MAX_CRITERIA: usize = 20;
/// A criterion's name, as the breakdown repeats it on every record.
pub const MAX_CRITERION_NAME: usize = 80;
/// The largest points (either sign) of a criterion, a cap or a bound of the range.
pub const MAX_POINTS: i64 = 1_000_000;

/// What an administrator writes: the criteria and the field the score goes to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoringSpec {
    /// A number field of the module (a custom one): the score is written there.
    pub score_field: String,
    pub criteria: Vec<Criterion>,
    /// The score never goes below this (for example 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    /// The score never goes above this (for example 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
}

/// One criterion: points when its condition holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    pub name: String,
    pub condition: Condition,
    /// Positive or negative.
    pub points: i64,
    /// A number or money field: the points count once per unit of it (per order placed, per
    /// million spent); without it, once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per: Option<String>,
    /// The most the criterion adds (or, for negative points, takes away).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap: Option<i64>,
}

/// One criterion's share of a score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CriterionPoints {
    pub name: String,
    pub points: i64,
}

/// Why a record scores what it does under one rule, as kept on the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breakdown {
    /// The rule's version that computed it.
    pub version: u32,
    pub score: i64,
    /// The criteria that matched, in the rule's order.
    pub criteria: Vec<CriterionPoints>,
    pub computed_at: DateTime<Utc>,
}

impl Breakdown {
    /// The same score for the same reasons, whenever computed.
    fn says_the_same(&self, other: &Breakdown) -> bool {
        self.version == other.version
            && self.score == other.score
            && self.criteria == other.criteria
    }
}

impl ScoringSpec {
    /// Every problem of the spec under `path` (the trigger's).
    pub fn validate(&self, module: &ModuleSchema, path: &str) -> Problems {
        self.compile(module, path).err().unwrap_or_default()
    }

    /// Checks the spec against the module and compiles its criteria.
    pub fn compile(&self, module: &ModuleSchema, path: &str) -> Result<CompiledScoring, Problems> {
        let mut problems = Problems::default();
        match module.field(&self.score_field) {
            None => problems.push(
                format!("{path}/score_field"),
                format!("{} has no field '{}'", module.module(), self.score_field),
            ),
            Some(def) if def.kind != FieldKind::Number || def.read_only || !def.custom => problems
                .push(
                    format!("{path}/score_field"),
                    "the score goes to a number field of your own: add one to the module",
                ),
            Some(_) => {}
        }
        let bound = |n: i64| n.abs() <= MAX_POINTS;
        for (name, value) in [("min", self.min), ("max", self.max)] {
            if value.is_some_and(|v| !bound(v)) {
                problems.push(
                    format!("{path}/{name}"),
                    format!("at most {MAX_POINTS} either way"),
                );
            }
        }
        if let (Some(min), Some(max)) = (self.min, self.max) {
            if min > max {
                problems.push(format!("{path}/max"), "is below min");
            }
        }
        if self.criteria.is_empty() || self.criteria.len() > MAX_CRITERIA {
            problems.push(
                format!("{path}/criteria"),
                format!("a scoring rule has 1 to {MAX_CRITERIA} criteria"),
            );
        }
        let mut criteria = Vec::with_capacity(self.criteria.len());
        for (i, criterion) in self.criteria.iter().enumerate() {
            let at = format!("{path}/criteria/{i}");
            let name = criterion.name.trim();
            if name.is_empty() || name.chars().count() > MAX_CRITERION_NAME {
                problems.push(
                    format!("{at}/name"),
                    format!("is required, at most {MAX_CRITERION_NAME} characters"),
                );
            } else if self.criteria[..i].iter().any(|c| c.name.trim() == name) {
                problems.push(format!("{at}/name"), format!("'{name}' is used twice"));
            }
            if criterion.points == 0 || !bound(criterion.points) {
                problems.push(
                    format!("{at}/points"),
                    format!("not 0, and at most {MAX_POINTS} either way"),
                );
            }
            if criterion.cap.is_some_and(|cap| cap <= 0 || !bound(cap)) {
                problems.push(
                    format!("{at}/cap"),
                    format!("a cap is a positive number of points, at most {MAX_POINTS}"),
                );
            }
            if let Some(per) = &criterion.per {
                let countable = module
                    .field(per)
                    .is_some_and(|f| matches!(f.kind, FieldKind::Number | FieldKind::Money));
                if !countable {
                    problems.push(
                        format!("{at}/per"),
                        format!(
                            "'{per}' is not a number or money field of {}",
                            module.module()
                        ),
                    );
                } else if *per == self.score_field {
                    problems.push(format!("{at}/per"), "a score cannot count itself");
                }
            }
            let condition = CompiledCondition::compile(
                &criterion.condition,
                module,
                ConditionScope::RecordState,
                &format!("{at}/condition"),
            );
            let tests_own_score = criterion
                .condition
                .clauses()
                .any(|c| c.field == self.score_field);
            match condition {
                Ok(_) if tests_own_score => problems.push(
                    format!("{at}/condition"),
                    "a criterion cannot test the score it adds to",
                ),
                Ok(condition) => criteria.push(CompiledCriterion {
                    name: name.to_owned(),
                    condition,
                    points: criterion.points,
                    per: criterion.per.clone(),
                    cap: criterion.cap,
                }),
                Err(p) => problems.extend(p),
            }
        }
        problems.into_result(CompiledScoring {
            score_field: self.score_field.clone(),
            criteria,
            min: self.min,
            max: self.max,
        })
    }
}

/// Whether a condition has a clause relative to today ("within the last 90 days").
fn relative_to_today(condition: &Condition) -> bool {
    use crate::condition::Operator::*;
    condition
        .clauses()
        .any(|c| matches!(c.op, WithinLastDays | WithinNextDays | MoreThanDaysAgo))
}

/// Whether a scoring rule's score can change on a day nothing else does: a criterion, or the
/// condition of the records it scores, relative to today.
pub fn depends_on_today(definition: &crate::workflow::WorkflowDefinition) -> bool {
    let crate::trigger::Trigger::Score(spec) = &definition.trigger else {
        return false;
    };
    relative_to_today(&definition.condition)
        || spec
            .criteria
            .iter()
            .any(|c| relative_to_today(&c.condition))
}

/// What a scoring rule writes, and every field whose change makes it score again (its criteria
/// and the condition of the records it scores): what two active rules may not share in a circle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoreFlow {
    pub writes: String,
    pub reads: std::collections::BTreeSet<String>,
}

impl ScoreFlow {
    pub fn of(definition: &crate::workflow::WorkflowDefinition) -> Option<ScoreFlow> {
        let crate::trigger::Trigger::Score(spec) = &definition.trigger else {
            return None;
        };
        let mut reads: std::collections::BTreeSet<String> = spec
            .criteria
            .iter()
            .flat_map(|c| {
                c.condition
                    .clauses()
                    .map(|clause| clause.field.clone())
                    .chain(c.per.clone())
            })
            .collect();
        reads.extend(definition.condition.clauses().map(|c| c.field.clone()));
        Some(ScoreFlow {
            writes: spec.score_field.clone(),
            reads,
        })
    }
}

/// The rules (by index into `others`) through which `mine`'s score comes back to it, each
/// reading the score the one before writes; `None` when no such circle exists.
pub fn circle_through(mine: &ScoreFlow, others: &[ScoreFlow]) -> Option<Vec<usize>> {
    fn visit(writes: &str, mine: &ScoreFlow, others: &[ScoreFlow], path: &mut Vec<usize>) -> bool {
        if mine.reads.contains(writes) {
            return true;
        }
        for (i, other) in others.iter().enumerate() {
            if !path.contains(&i) && other.reads.contains(writes) {
                path.push(i);
                if visit(&other.writes, mine, others, path) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = Vec::new();
    visit(&mine.writes, mine, others, &mut path).then_some(path)
}

/// A scoring spec checked against the schema, ready to score records.
#[derive(Debug, Clone)]
pub struct CompiledScoring {
    score_field: String,
    criteria: Vec<CompiledCriterion>,
    min: Option<i64>,
    max: Option<i64>,
}

#[derive(Debug, Clone)]
struct CompiledCriterion {
    name: String,
    condition: CompiledCondition,
    points: i64,
    per: Option<String>,
    cap: Option<i64>,
}

/// A record's score under one rule, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scored {
    pub score: i64,
    pub criteria: Vec<CriterionPoints>,
}

impl CompiledScoring {
    pub fn score_field(&self) -> &str {
        &self.score_field
    }

    /// The record's score: the points of every criterion that holds (per unit of its `per`
    /// field, within its cap), the sum kept within the rule's range.
    pub fn score(&self, record: &Record, ctx: &EvalContext<'_>) -> Scored {
        let mut criteria = Vec::new();
        let mut total: i64 = 0;
        for c in &self.criteria {
            if !c.condition.matches(record, ctx) {
                continue;
            }
            let units = match &c.per {
                None => 1.0,
                Some(field) => match record.get(field) {
                    Some(FieldValue::Number(n)) => *n,
                    Some(FieldValue::Integer(n)) => *n as f64,
                    _ => 0.0,
                },
            };
            let raw = (c.points as f64 * units).round();
            let limit = c.cap.unwrap_or(MAX_POINTS * 1_000) as f64;
            let points = raw.clamp(-limit, limit) as i64;
            if points != 0 {
                total = total.saturating_add(points);
                criteria.push(CriterionPoints {
                    name: c.name.clone(),
                    points,
                });
            }
        }
        let total = total
            .max(self.min.unwrap_or(i64::MIN))
            .min(self.max.unwrap_or(i64::MAX));
        Scored {
            score: total,
            criteria,
        }
    }

    /// The first day after today on which a criterion relative to today can flip for the
    /// record: when it is scored again without any change.
    pub fn next_change_day(&self, record: &Record, ctx: &EvalContext<'_>) -> Option<NaiveDate> {
        self.criteria
            .iter()
            .filter_map(|c| c.condition.next_change_day(record, ctx))
            .min()
    }
}

/// The fields a rescoring writes into `fields` (the record as stored): the score field and the
/// breakdown of rule `rule`. `scored` is `None` when the record is outside the rule's records,
/// which clears both. `None` when the record already says the same.
pub fn rescored_fields(
    fields: &Map<String, Value>,
    rule: &str,
    version: u32,
    score_field: &str,
    scored: Option<Scored>,
    now: DateTime<Utc>,
) -> Option<Map<String, Value>> {
    let mut breakdowns = match fields.get(BREAKDOWN_FIELD) {
        Some(Value::Object(map)) => map.clone(),
        _ => Map::new(),
    };
    let stored: Option<Breakdown> = breakdowns
        .get(rule)
        .and_then(|b| serde_json::from_value(b.clone()).ok());
    let stored_score = fields.get(score_field).and_then(Value::as_f64);
    let fresh = scored.map(|s| Breakdown {
        version,
        score: s.score,
        criteria: s.criteria,
        computed_at: now,
    });
    let same = match (&stored, &fresh) {
        (Some(old), Some(new)) => old.says_the_same(new) && stored_score == Some(new.score as f64),
        (None, None) => stored_score.is_none(),
        _ => false,
    };
    if same {
        return None;
    }
    let mut out = Map::new();
    match fresh {
        Some(fresh) => {
            out.insert(score_field.to_owned(), Value::from(fresh.score));
            breakdowns.insert(rule.to_owned(), serde_json::to_value(&fresh).ok()?);
        }
        None => {
            out.insert(score_field.to_owned(), Value::Null);
            breakdowns.remove(rule);
        }
    }
    out.insert(BREAKDOWN_FIELD.to_owned(), Value::Object(breakdowns));
    Some(out)
}

#[cfg(test)]
mod tests;
