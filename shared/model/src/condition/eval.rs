//! Evaluating a compiled condition against a record. Allocation-free: texts are compared
//! case-insensitively char by char, dates converted on the stack.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use super::compile::{Cmp, CompiledCondition, Node, Test};
use crate::record::{FieldValue, Record};

/// What a condition is evaluated against besides the record.
#[derive(Debug, Clone, Copy)]
pub struct EvalContext<'a> {
    pub now: DateTime<Utc>,
    /// Dates and relative dates are read in this zone (the record's, else the tenant's).
    pub tz: Tz,
    /// The record before the edit, for "changed" operators.
    pub previous: Option<&'a Record>,
}

impl CompiledCondition {
    pub fn matches(&self, record: &Record, ctx: &EvalContext<'_>) -> bool {
        self.root
            .as_ref()
            .is_none_or(|node| node.matches(record, ctx))
    }
}

impl Node {
    fn matches(&self, record: &Record, ctx: &EvalContext<'_>) -> bool {
        match self {
            Node::All(nodes) => nodes.iter().all(|n| n.matches(record, ctx)),
            Node::Any(nodes) => nodes.iter().any(|n| n.matches(record, ctx)),
            Node::Clause { field, test } => match test {
                Test::Changed => ctx
                    .previous
                    .is_some_and(|old| old.get(field) != record.get(field)),
                Test::ChangedTo(inner) => {
                    ctx.previous
                        .is_some_and(|old| old.get(field) != record.get(field))
                        && inner.holds(record.get(field), ctx)
                }
                test => test.holds(record.get(field), ctx),
            },
        }
    }
}

fn is_empty(value: Option<&FieldValue>) -> bool {
    match value {
        None => true,
        Some(FieldValue::Text(s)) => s.trim().is_empty(),
        Some(FieldValue::List(items)) => items.is_empty(),
        Some(FieldValue::Lines(lines)) => lines.is_empty(),
        Some(_) => false,
    }
}

impl Test {
    fn holds(&self, value: Option<&FieldValue>, ctx: &EvalContext<'_>) -> bool {
        let text = value.and_then(FieldValue::as_text);
        let number = value.and_then(FieldValue::as_number);
        let date = value.and_then(|v| local_date(v, ctx.tz));
        let today = || ctx.now.with_timezone(&ctx.tz).date_naive();
        match self {
            Test::IsEmpty => is_empty(value),
            Test::IsNotEmpty => !is_empty(value),
            Test::TextEq { value, exact } => text.is_some_and(|t| text_eq(t, value, *exact)),
            Test::TextNe { value, exact } => !text.is_some_and(|t| text_eq(t, value, *exact)),
            Test::TextContains(needle) => text.is_some_and(|t| contains_ci(t, needle)),
            Test::TextNotContains(needle) => !text.is_some_and(|t| contains_ci(t, needle)),
            Test::TextStartsWith(prefix) => text.is_some_and(|t| starts_with_ci(t, prefix)),
            Test::TextIn { values, exact } => {
                text.is_some_and(|t| values.iter().any(|v| text_eq(t, v, *exact)))
            }
            Test::TextNotIn { values, exact } => {
                !text.is_some_and(|t| values.iter().any(|v| text_eq(t, v, *exact)))
            }
            Test::NumEq(x) => number.is_some_and(|n| n == *x),
            Test::NumNe(x) => number.is_none_or(|n| n != *x),
            Test::NumCmp(cmp, x) => number.is_some_and(|n| compare(*cmp, n, *x)),
            Test::NumBetween(low, high) => number.is_some_and(|n| *low <= n && n <= *high),
            Test::DateEq(d) => date == Some(*d),
            Test::DateNe(d) => date != Some(*d),
            Test::DateCmp(cmp, d) => date.is_some_and(|v| compare(*cmp, v, *d)),
            Test::DateBetween(low, high) => date.is_some_and(|v| *low <= v && v <= *high),
            Test::WithinLastDays(n) => date.is_some_and(|v| {
                let today = today();
                today - Duration::days(*n) <= v && v <= today
            }),
            Test::WithinNextDays(n) => date.is_some_and(|v| {
                let today = today();
                today <= v && v <= today + Duration::days(*n)
            }),
            Test::MoreThanDaysAgo(n) => date.is_some_and(|v| v < today() - Duration::days(*n)),
            Test::BoolEq(b) => matches!(value, Some(FieldValue::Bool(v)) if v == b),
            Test::ListHas(option) => value
                .and_then(FieldValue::as_list)
                .is_some_and(|l| l.iter().any(|o| o == option)),
            Test::ListLacks(option) => !value
                .and_then(FieldValue::as_list)
                .is_some_and(|l| l.iter().any(|o| o == option)),
            // Handled by the node, which sees the previous record.
            Test::Changed | Test::ChangedTo(_) => false,
        }
    }
}

fn local_date(value: &FieldValue, tz: Tz) -> Option<NaiveDate> {
    match value {
        FieldValue::Date(d) => Some(*d),
        FieldValue::DateTime(dt) => Some(dt.with_timezone(&tz).date_naive()),
        _ => None,
    }
}

fn compare<T: PartialOrd>(cmp: Cmp, a: T, b: T) -> bool {
    match cmp {
        Cmp::Gt => a > b,
        Cmp::Ge => a >= b,
        Cmp::Lt => a < b,
        Cmp::Le => a <= b,
    }
}

/// `lowered` is already lower-case (compiled operands are).
fn text_eq(text: &str, lowered: &str, exact: bool) -> bool {
    if exact {
        text == lowered
    } else {
        text.chars()
            .flat_map(char::to_lowercase)
            .eq(lowered.chars())
    }
}

fn starts_with_ci(text: &str, lowered_prefix: &str) -> bool {
    let mut text = text.chars().flat_map(char::to_lowercase);
    lowered_prefix.chars().all(|p| text.next() == Some(p))
}

fn contains_ci(text: &str, lowered_needle: &str) -> bool {
    if lowered_needle.is_empty() {
        return true;
    }
    // Try each char boundary; texts in a CRM are short, so the quadratic worst case is fine.
    text.char_indices()
        .any(|(i, _)| starts_with_ci(&text[i..], lowered_needle))
}

#[cfg(test)]
#[path = "eval_tests.rs"]
mod tests;

impl CompiledCondition {
    /// The first day after today on which a clause relative to today ("within the last 90
    /// days", "more than 30 days ago") can give this record another answer: the day to evaluate
    /// it again. `None` when no such clause applies to the record.
    pub fn next_change_day(&self, record: &Record, ctx: &EvalContext<'_>) -> Option<NaiveDate> {
        let today = ctx.now.with_timezone(&ctx.tz).date_naive();
        let mut next: Option<NaiveDate> = None;
        if let Some(root) = &self.root {
            root.change_days(record, ctx.tz, &mut |day| {
                if day > today && next.is_none_or(|n| day < n) {
                    next = Some(day);
                }
            });
        }
        next
    }
}

impl Node {
    /// Calls `found` with each day a relative clause of the node turns true or false.
    fn change_days(&self, record: &Record, tz: Tz, found: &mut dyn FnMut(NaiveDate)) {
        match self {
            Node::All(nodes) | Node::Any(nodes) => {
                nodes.iter().for_each(|n| n.change_days(record, tz, found));
            }
            Node::Clause { field, test } => {
                let Some(date) = record.get(field).and_then(|v| local_date(v, tz)) else {
                    return;
                };
                let days = |n: i64| date + Duration::days(n);
                match test {
                    // True from the date for n days after it.
                    Test::WithinLastDays(n) => {
                        found(date);
                        found(days(n + 1));
                    }
                    // True from n days before the date until the date.
                    Test::WithinNextDays(n) => {
                        found(days(-n));
                        found(days(1));
                    }
                    // True from n + 1 days after the date.
                    Test::MoreThanDaysAgo(n) => found(days(n + 1)),
                    _ => {}
                }
            }
        }
    }
}
