use super::*;
use crate::condition::{Condition, ConditionScope};
use crate::ids::RecordId;
use crate::record::{ParseMode, parse_fields};
use crate::schema::{Module, Schema};
use proptest::prelude::*;
use serde_json::{Value, json};

fn customer(fields: Value) -> Record {
    let schema = Schema::builtin();
    let fields = parse_fields(
        schema.module(Module::Customer),
        fields.as_object().unwrap(),
        "",
        ParseMode::Stored,
    )
    .unwrap();
    Record {
        id: RecordId::new("c1").unwrap(),
        module: Module::Customer,
        fields,
    }
}

fn compile(
    condition: Value,
    scope: ConditionScope,
) -> Result<CompiledCondition, crate::validation::Problems> {
    let condition: Condition = serde_json::from_value(condition).unwrap();
    let schema = Schema::builtin();
    CompiledCondition::compile(
        &condition,
        schema.module(Module::Customer),
        scope,
        "/condition",
    )
}

fn clause(field: &str, op: &str, value: Value) -> Value {
    json!({"type": "matching", "group": {"combine": "and", "rules": [
        {"field": field, "op": op, "value": value}
    ]}})
}

fn ctx(now: &str) -> EvalContext<'static> {
    EvalContext {
        now: DateTime::parse_from_rfc3339(now)
            .unwrap()
            .with_timezone(&Utc),
        tz: chrono_tz::Asia::Ho_Chi_Minh,
        previous: None,
    }
}

fn check(field: &str, op: &str, value: Value, record: &Record) -> bool {
    compile(clause(field, op, value), ConditionScope::RecordState)
        .unwrap()
        .matches(record, &ctx("2026-11-22T03:00:00Z"))
}

#[test]
fn all_records_matches_everything() {
    let c = compile(json!({"type": "all_records"}), ConditionScope::RecordState).unwrap();
    assert!(c.matches(&customer(json!({})), &ctx("2026-11-22T03:00:00Z")));
}

#[test]
fn text_operators_are_case_insensitive_with_vietnamese_letters() {
    let r = customer(
        json!({"Name": "Đặng Thị Hồng", "Email": "Hong@Example.VN", "Province": "Hà Nội"}),
    );
    assert!(check("Name", "equals", json!("đặng thị hồng"), &r));
    assert!(check("Name", "contains", json!("THỊ"), &r));
    assert!(check("Name", "starts_with", json!("đặng"), &r));
    assert!(!check("Name", "starts_with", json!("hồng"), &r));
    assert!(check("Name", "not_contains", json!("Văn"), &r));
    assert!(check("Email", "equals", json!("hong@example.vn"), &r));
    assert!(check(
        "Province",
        "in_list",
        json!(["Hà Nội", "Hải Phòng"]),
        &r
    ));
    assert!(check("Province", "not_in_list", json!(["Đà Nẵng"]), &r));
    assert!(
        check("Address", "not_equals", json!("x"), &r),
        "empty is not equal to a value"
    );
    assert!(check("Address", "is_empty", Value::Null, &r));
    assert!(check("Name", "is_not_empty", Value::Null, &r));
}

#[test]
fn pick_list_values_compare_exactly() {
    let r = customer(json!({"CustomerType": "Individual"}));
    assert!(check("CustomerType", "equals", json!("Individual"), &r));
    assert!(check(
        "CustomerType",
        "in_list",
        json!(["Organization", "Individual"]),
        &r
    ));
    assert!(
        compile(
            clause("CustomerType", "equals", json!("individual")),
            ConditionScope::RecordState
        )
        .is_err()
    );
}

#[test]
fn number_and_money_comparisons() {
    let r = customer(json!({"LoyaltyPoints": 1500}));
    assert!(check("LoyaltyPoints", "greater_than", json!(1000), &r));
    assert!(check("LoyaltyPoints", "greater_or_equal", json!(1500), &r));
    assert!(!check("LoyaltyPoints", "less_than", json!(1500), &r));
    assert!(check("LoyaltyPoints", "less_or_equal", json!(1500), &r));
    assert!(check("LoyaltyPoints", "between", json!([1000, 2000]), &r));
    assert!(check("LoyaltyPoints", "equals", json!(1500), &r));
    assert!(check("LoyaltyPoints", "not_equals", json!(1), &r));
}

#[test]
fn dates_and_relative_dates_in_the_context_time_zone() {
    // 2026-11-22T03:00Z is 10:00 on Nov 22 in Ho Chi Minh City.
    let r = customer(
        json!({"LastPurchaseDate": "2026-08-20", "Birthday": "1990-11-25",
                           "ContractEndDate": "2026-12-01"}),
    );
    assert!(check(
        "LastPurchaseDate",
        "more_than_days_ago",
        json!(90),
        &r
    ));
    assert!(!check(
        "LastPurchaseDate",
        "more_than_days_ago",
        json!(94),
        &r
    ));
    assert!(check("LastPurchaseDate", "within_last_days", json!(94), &r));
    assert!(!check(
        "LastPurchaseDate",
        "within_last_days",
        json!(93),
        &r
    ));
    assert!(check("ContractEndDate", "within_next_days", json!(9), &r));
    assert!(!check("ContractEndDate", "within_next_days", json!(8), &r));
    assert!(check("Birthday", "less_than", json!("2000-01-01"), &r));
    assert!(check(
        "Birthday",
        "between",
        json!(["1990-01-01", "1990-12-31"]),
        &r
    ));
    assert!(check("Birthday", "equals", json!("1990-11-25"), &r));
}

#[test]
fn datetime_fields_compare_by_local_date() {
    let r = customer(json!({"CreatedAt": "2026-11-21T18:30:00Z"})); // 01:30 on Nov 22 local
    assert!(check("CreatedAt", "equals", json!("2026-11-22"), &r));
    assert!(check("CreatedAt", "within_last_days", json!(0), &r));
}

#[test]
fn nested_groups_combine_with_and_or() {
    let condition = json!({"type": "matching", "group": {"combine": "and", "rules": [
        {"field": "CustomerType", "op": "equals", "value": "Individual"},
        {"combine": "or", "rules": [
            {"field": "Province", "op": "equals", "value": "Hà Nội"},
            {"field": "LoyaltyPoints", "op": "greater_than", "value": 1000}
        ]}
    ]}});
    let c = compile(condition, ConditionScope::RecordState).unwrap();
    let now = ctx("2026-11-22T03:00:00Z");
    assert!(c.matches(
        &customer(json!({"CustomerType": "Individual", "Province": "Hà Nội"})),
        &now
    ));
    assert!(c.matches(
        &customer(json!({"CustomerType": "Individual", "LoyaltyPoints": 2000})),
        &now
    ));
    assert!(!c.matches(
        &customer(json!({"CustomerType": "Individual", "LoyaltyPoints": 5})),
        &now
    ));
    assert!(!c.matches(
        &customer(json!({"CustomerType": "Organization", "Province": "Hà Nội"})),
        &now
    ));
}

#[test]
fn changed_operators_see_the_previous_record() {
    let cond = compile(
        clause("Rank", "changed_to", json!("Gold")),
        ConditionScope::RecordChange,
    )
    .unwrap();
    let changed = compile(
        clause("Rank", "changed", Value::Null),
        ConditionScope::RecordChange,
    )
    .unwrap();
    let old = customer(json!({"Rank": "Silver"}));
    let new = customer(json!({"Rank": "Gold"}));
    let mut c = ctx("2026-11-22T03:00:00Z");
    assert!(!cond.matches(&new, &c), "no previous record: not a change");
    c.previous = Some(&old);
    assert!(cond.matches(&new, &c));
    assert!(changed.matches(&new, &c));
    c.previous = Some(&new);
    assert!(
        !cond.matches(&new, &c),
        "unchanged Gold is not a change to Gold"
    );
    assert!(!changed.matches(&new, &c));
}

#[test]
fn every_problem_is_named_with_its_path() {
    let condition = json!({"type": "matching", "group": {"combine": "and", "rules": [
        {"field": "Nope", "op": "equals", "value": "x"},
        {"field": "Birthday", "op": "contains", "value": "x"},
        {"field": "LoyaltyPoints", "op": "greater_than", "value": "many"},
        {"combine": "or", "rules": [
            {"field": "Rank", "op": "changed", "value": null},
            {"field": "Birthday", "op": "between", "value": ["2000-01-01", "1999-01-01"]}
        ]},
        {"combine": "or", "rules": []}
    ]}});
    let problems = compile(condition, ConditionScope::RecordState).unwrap_err();
    for path in [
        "/condition/group/rules/0/field",
        "/condition/group/rules/1/op",
        "/condition/group/rules/2/value",
        "/condition/group/rules/3/rules/0/op",
        "/condition/group/rules/3/rules/1/value",
        "/condition/group/rules/4/rules",
    ] {
        assert!(problems.has(path), "no problem at {path}: {problems}");
    }
    assert_eq!(problems.len(), 6);
}

#[test]
fn unknown_keys_in_a_clause_are_rejected_when_parsing() {
    let bad: Result<Condition, _> =
        serde_json::from_value(json!({"type": "all_records", "extra": 1}));
    assert!(bad.is_err());
}

proptest! {
    #[test]
    fn case_insensitive_contains_agrees_with_lowercasing(text in "[a-zA-ZàáảãạăđĐÁÀÂÊÔƠƯ ]{0,20}", needle in "[a-zA-Zàáảãạđ]{1,4}") {
        let lowered = needle.to_lowercase();
        prop_assert_eq!(contains_ci(&text, &lowered), text.to_lowercase().contains(&lowered));
        prop_assert_eq!(starts_with_ci(&text, &lowered), text.to_lowercase().starts_with(&lowered));
    }

    #[test]
    fn or_of_clauses_is_the_or_of_their_results(points in proptest::option::of(0i64..3000), a in 0i64..3000, b in 0i64..3000) {
        let record = match points {
            Some(p) => customer(json!({"LoyaltyPoints": p})),
            None => customer(json!({})),
        };
        let gt = |x| check("LoyaltyPoints", "greater_than", json!(x), &record);
        let lt = |x| check("LoyaltyPoints", "less_than", json!(x), &record);
        let either = compile(json!({"type": "matching", "group": {"combine": "or", "rules": [
            {"field": "LoyaltyPoints", "op": "greater_than", "value": a},
            {"field": "LoyaltyPoints", "op": "less_than", "value": b}
        ]}}), ConditionScope::RecordState).unwrap().matches(&record, &ctx("2026-11-22T03:00:00Z"));
        let both = compile(json!({"type": "matching", "group": {"combine": "and", "rules": [
            {"field": "LoyaltyPoints", "op": "greater_than", "value": a},
            {"field": "LoyaltyPoints", "op": "less_than", "value": b}
        ]}}), ConditionScope::RecordState).unwrap().matches(&record, &ctx("2026-11-22T03:00:00Z"));
        prop_assert_eq!(either, gt(a) || lt(b));
        prop_assert_eq!(both, gt(a) && lt(b));
        let eq = check("LoyaltyPoints", "equals", json!(a), &record);
        let ne = check("LoyaltyPoints", "not_equals", json!(a), &record);
        prop_assert_eq!(eq, !ne);
    }
}

#[test]
fn a_formula_combines_its_numbered_clauses_as_written_and_reads_back_the_same() {
    let formula = json!({"type": "formula", "formula": "(1 AND 2) OR 3", "clauses": [
        {"field": "Province", "op": "equals", "value": "Hà Nội"},
        {"field": "Name", "op": "contains", "value": "Hồng"},
        {"field": "Email", "op": "is_not_empty"}
    ]});
    let c = compile(formula.clone(), ConditionScope::RecordState).unwrap();
    let now = ctx("2026-11-22T03:00:00Z");
    assert!(c.matches(
        &customer(json!({"Province": "Hà Nội", "Name": "Hồng"})),
        &now
    ));
    assert!(!c.matches(
        &customer(json!({"Province": "Hà Nội", "Name": "Lan"})),
        &now
    ));
    assert!(c.matches(&customer(json!({"Email": "a@b.vn"})), &now));
    let read: Condition = serde_json::from_value(formula.clone()).unwrap();
    assert_eq!(serde_json::to_value(&read).unwrap(), formula);
}

#[test]
fn a_formula_names_its_wrong_clause_and_its_wrong_formula_by_pointer() {
    let problems = compile(
        json!({"type": "formula", "formula": "(1 AND 2 OR 3", "clauses": [
            {"field": "Province", "op": "equals", "value": "Hà Nội"},
            {"field": "Nope", "op": "equals", "value": 1}
        ]}),
        ConditionScope::RecordState,
    )
    .unwrap_err();
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        ["/condition/clauses/1/field", "/condition/formula"],
        "{problems:?}"
    );
    let unknown = compile(
        json!({"type": "formula", "formula": "1 OR 3", "clauses": [
            {"field": "Province", "op": "equals", "value": "Hà Nội"},
        ]}),
        ConditionScope::RecordState,
    )
    .unwrap_err();
    assert!(
        unknown.as_slice()[0].message.contains("no clause 3"),
        "{unknown:?}"
    );
}

#[test]
fn the_next_change_day_is_when_a_relative_clause_flips_for_the_record() {
    let c = compile(
        json!({"type": "formula", "formula": "1 OR 2", "clauses": [
            {"field": "LastPurchaseDate", "op": "within_last_days", "value": 90},
            {"field": "Birthday", "op": "within_next_days", "value": 7}
        ]}),
        ConditionScope::RecordState,
    )
    .unwrap();
    // 2026-11-22 in Hanoi: bought on 2026-10-01, so true until 2026-12-30 and false from 12-31;
    // the birthday on 2027-01-10 enters its 7-day window on 2027-01-03.
    let record = customer(json!({"LastPurchaseDate": "2026-10-01", "Birthday": "2027-01-10"}));
    let now = ctx("2026-11-22T03:00:00Z");
    assert_eq!(
        c.next_change_day(&record, &now),
        NaiveDate::from_ymd_opt(2026, 12, 31)
    );
    let later = ctx("2027-01-01T03:00:00Z");
    assert_eq!(
        c.next_change_day(&record, &later),
        NaiveDate::from_ymd_opt(2027, 1, 3)
    );
    assert_eq!(c.next_change_day(&customer(json!({})), &now), None);
    let day_after = ctx("2026-12-30T17:30:00Z");
    assert!(
        !c.matches(&record, &day_after),
        "flipped on 2026-12-31 local"
    );
    assert!(
        c.matches(&record, &ctx("2026-12-30T16:30:00Z")),
        "still 2026-12-30 local"
    );
}
