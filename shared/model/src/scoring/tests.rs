use super::*;
use crate::ids::RecordId;
use crate::record::{ParseMode, parse_fields};
use crate::schema::{CustomField, Module, Schema};
use serde_json::json;

fn schema() -> Schema {
    Schema::with_custom_fields(&[CustomField {
        module: Module::Customer,
        name: "Score".into(),
        label_vi: "Điểm".into(),
        label_en: "Score".into(),
        kind: FieldKind::Number,
        required: false,
    }])
    .unwrap()
}

fn spec(value: serde_json::Value) -> ScoringSpec {
    serde_json::from_value(value).unwrap()
}

fn customer(fields: serde_json::Value) -> Record {
    let schema = schema();
    Record {
        id: RecordId::new("c1").unwrap(),
        module: Module::Customer,
        fields: parse_fields(
            schema.module(Module::Customer),
            fields.as_object().unwrap(),
            "",
            ParseMode::Stored,
        )
        .unwrap(),
    }
}

fn ctx() -> EvalContext<'static> {
    EvalContext {
        now: "2026-11-22T03:00:00Z".parse().unwrap(),
        tz: chrono_tz::Asia::Ho_Chi_Minh,
        previous: None,
    }
}

fn hanoi_buyers() -> ScoringSpec {
    spec(json!({
        "score_field": "Score", "min": 0, "max": 100,
        "criteria": [
            {"name": "Ở Hà Nội", "points": 20,
             "condition": {"type": "formula", "formula": "1", "clauses": [
                 {"field": "Province", "op": "equals", "value": "Hà Nội"}]}},
            {"name": "Mua gần đây", "points": 30,
             "condition": {"type": "matching", "group": {"combine": "and", "rules": [
                 {"field": "LastPurchaseDate", "op": "within_last_days", "value": 90}]}}},
            {"name": "Mỗi điểm tích lũy", "points": 5, "per": "LoyaltyPoints", "cap": 40,
             "condition": {"type": "all_records"}},
            {"name": "Không có email", "points": -15,
             "condition": {"type": "matching", "group": {"combine": "and", "rules": [
                 {"field": "Email", "op": "is_empty"}]}}}
        ]
    }))
}

#[test]
fn a_score_adds_the_points_of_the_criteria_that_hold_within_caps_and_range() {
    let schema = schema();
    let compiled = hanoi_buyers()
        .compile(schema.module(Module::Customer), "/trigger")
        .unwrap();
    let scored = compiled.score(
        &customer(
            json!({"Province": "Hà Nội", "LastPurchaseDate": "2026-10-01", "LoyaltyPoints": 3}),
        ),
        &ctx(),
    );
    assert_eq!(scored.score, 20 + 30 + 15 - 15);
    let names: Vec<(&str, i64)> = scored
        .criteria
        .iter()
        .map(|c| (c.name.as_str(), c.points))
        .collect();
    assert_eq!(
        names,
        [
            ("Ở Hà Nội", 20),
            ("Mua gần đây", 30),
            ("Mỗi điểm tích lũy", 15),
            ("Không có email", -15)
        ]
    );
    let loyal = compiled.score(
        &customer(
            json!({"Province": "Hà Nội", "LastPurchaseDate": "2026-10-01",
                          "LoyaltyPoints": 30, "Email": "a@b.vn"}),
        ),
        &ctx(),
    );
    assert_eq!(loyal.score, 90, "20 + 30 + the capped 40");
    let nobody = compiled.score(&customer(json!({})), &ctx());
    assert_eq!(nobody.score, 0, "-15 kept at the range's minimum");
}

#[test]
fn a_spec_names_each_mistake_by_pointer() {
    let schema = schema();
    let wrong = spec(json!({
        "score_field": "Name", "min": 10, "max": 5,
        "criteria": [
            {"name": "a", "points": 0, "condition": {"type": "all_records"}},
            {"name": "a", "points": 5, "cap": -1, "per": "Province",
             "condition": {"type": "all_records"}},
            {"name": "b", "points": 5, "condition": {"type": "matching", "group": {
                "combine": "and", "rules": [{"field": "Nope", "op": "is_empty"}]}}}
        ]
    }));
    let problems = wrong.validate(schema.module(Module::Customer), "/trigger");
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/trigger/score_field",
            "/trigger/max",
            "/trigger/criteria/0/points",
            "/trigger/criteria/1/name",
            "/trigger/criteria/1/cap",
            "/trigger/criteria/1/per",
            "/trigger/criteria/2/condition/group/rules/0/field",
        ],
        "{problems:?}"
    );
    let own = spec(json!({"score_field": "Score", "criteria": [
        {"name": "high", "points": 5, "condition": {"type": "matching", "group": {
            "combine": "and", "rules": [{"field": "Score", "op": "greater_than", "value": 5}]}}}
    ]}));
    let problems = own.validate(schema.module(Module::Customer), "/trigger");
    assert!(
        problems.as_slice()[0]
            .message
            .contains("cannot test the score"),
        "{problems:?}"
    );
}

#[test]
fn rescoring_writes_only_when_the_score_or_its_reasons_change() {
    let now: DateTime<Utc> = "2026-11-22T03:00:00Z".parse().unwrap();
    let scored = || Scored {
        score: 35,
        criteria: vec![CriterionPoints {
            name: "Ở Hà Nội".into(),
            points: 35,
        }],
    };
    let first = rescored_fields(&Map::new(), "hot", 1, "Score", Some(scored()), now).unwrap();
    assert_eq!(first["Score"], json!(35));
    assert_eq!(
        first[BREAKDOWN_FIELD]["hot"]["criteria"][0]["points"],
        json!(35)
    );
    let later = now + chrono::Duration::hours(5);
    assert_eq!(
        rescored_fields(&first, "hot", 1, "Score", Some(scored()), later),
        None,
        "the same score for the same reasons is not written again"
    );
    let next_version = rescored_fields(&first, "hot", 2, "Score", Some(scored()), later).unwrap();
    assert_eq!(next_version[BREAKDOWN_FIELD]["hot"]["version"], json!(2));
    let mut edited = first.clone();
    edited.insert("Score".into(), json!(99));
    assert!(
        rescored_fields(&edited, "hot", 1, "Score", Some(scored()), later).is_some(),
        "a score typed over is put right"
    );
    let cleared = rescored_fields(&first, "hot", 1, "Score", None, later).unwrap();
    assert_eq!(cleared["Score"], json!(null));
    assert_eq!(cleared[BREAKDOWN_FIELD], json!({}));
    assert_eq!(
        rescored_fields(&Map::new(), "hot", 1, "Score", None, later),
        None
    );
}
