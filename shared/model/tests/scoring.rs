//! Scoring rules over the in-memory stores: the backfill scores existing records when a rule is
//! activated or edited, the records stream rescores a record once per change (never on its own
//! score write), the day a criterion relative to today flips is scheduled and fired, another
//! active rule may not write the same field, and a work workflow acts on the score.

mod support;

use crm_model::ids::{RecordId, WorkflowId};
use crm_model::ports::{FixedClock, RecordStore};
use crm_model::record::origin::AutomationWrite;
use crm_model::schedule::record_events::Change;
use crm_model::schema::Module;
use crm_model::workflow::service::WorkflowError;
use serde_json::{Value, json};
use support::stream::{Stream, customer, edit};
use support::{admin, at};

const ACTIVATED: &str = "2026-11-22T03:00:00Z";

async fn with_score_fields(w: &Stream) {
    crm_model::testing::add_number_fields(
        &w.stores.settings,
        &w.tenant,
        Module::Customer,
        &["Score", "Engagement"],
    )
    .await;
}

fn rule(score_field: &str) -> Value {
    json!({
        "module": "Customer", "name": "Khách tiềm năng",
        "trigger": {"type": "score", "score_field": score_field, "min": 0, "max": 100, "criteria": [
            {"name": "Ở Hà Nội", "points": 20, "condition": {"type": "formula", "formula": "1 OR 2",
                "clauses": [{"field": "Province", "op": "equals", "value": "Hà Nội"},
                            {"field": "Province", "op": "equals", "value": "Hanoi"}]}},
            {"name": "Mua trong 90 ngày", "points": 30, "condition": {"type": "matching", "group": {
                "combine": "and", "rules": [{"field": "LastPurchaseDate", "op": "within_last_days", "value": 90}]}}}
        ]}
    })
}

/// A rule created and activated at [`ACTIVATED`].
async fn activated(w: &Stream, id: &str, definition: Value) -> WorkflowId {
    let clock = FixedClock(at(ACTIVATED));
    let cases = w.use_cases(&clock);
    let id = WorkflowId::new(id).unwrap();
    let definition = serde_json::from_value(definition).unwrap();
    cases
        .create(&w.tenant, &admin(), id.clone(), definition)
        .await
        .unwrap();
    cases
        .activate(&w.tenant, &admin(), &id, None)
        .await
        .unwrap();
    id
}

async fn stored(
    w: &Stream,
    id: &str,
) -> crm_model::ports::Revisioned<crm_model::ports::StoredRecord> {
    w.stores
        .records
        .get(&w.tenant, &RecordId::new(id).unwrap())
        .await
        .unwrap()
        .unwrap()
}

async fn score(w: &Stream, id: &str) -> Value {
    stored(w, id)
        .await
        .value
        .fields
        .get("Score")
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn activating_a_rule_scores_the_existing_records_with_their_breakdown() {
    let w = Stream::new().await;
    with_score_fields(&w).await;
    w.customer(
        "c1",
        json!({"Name": "An", "Province": "Hà Nội", "LastPurchaseDate": "2026-10-01"}),
    )
    .await;
    w.customer("c2", json!({"Name": "Bình", "Province": "Huế"}))
        .await;
    let id = activated(&w, "hot", rule("Score")).await;
    let report = w.scan(ACTIVATED).await;
    assert_eq!(report.backfill_scores_written, 2, "{report:?}");
    assert_eq!(score(&w, "c1").await, json!(50));
    assert_eq!(
        score(&w, "c2").await,
        json!(0),
        "scored, with nothing matched"
    );
    let breakdown = &stored(&w, "c1").await.value.fields["ScoreBreakdown"]["hot"];
    assert_eq!(breakdown["score"], json!(50));
    assert_eq!(
        breakdown["criteria"],
        json!([{"name": "Ở Hà Nội", "points": 20}, {"name": "Mua trong 90 ngày", "points": 30}])
    );
    assert_eq!(breakdown["version"], json!(1));
    let written_by = w
        .stores
        .records
        .origin(&w.tenant, &RecordId::new("c1").unwrap())
        .unwrap();
    assert_eq!(written_by.workflow, id);

    // An edit of the active rule makes a version whose backfill scores everything again.
    let clock = FixedClock(at("2026-11-23T03:00:00Z"));
    let mut edited = rule("Score");
    edited["trigger"]["criteria"][0]["points"] = json!(25);
    let current = w.use_cases(&clock).get(&w.tenant, &id).await.unwrap();
    w.use_cases(&clock)
        .update(
            &w.tenant,
            &admin(),
            &id,
            serde_json::from_value(edited).unwrap(),
            Some(current.revision),
        )
        .await
        .unwrap();
    w.scan("2026-11-23T03:00:00Z").await;
    assert_eq!(score(&w, "c1").await, json!(55));
    assert_eq!(
        stored(&w, "c1").await.value.fields["ScoreBreakdown"]["hot"]["version"],
        json!(2)
    );
}

#[tokio::test]
async fn a_change_rescores_once_and_the_score_write_itself_sets_nothing_off() {
    let w = Stream::new().await;
    with_score_fields(&w).await;
    let id = activated(&w, "hot", rule("Score")).await;
    let before = customer("c1", json!({"Name": "An", "Province": "Huế"}));
    w.customer("c1", json!({"Name": "An", "Province": "Hà Nội"}))
        .await;
    let after = customer("c1", json!({"Name": "An", "Province": "Hà Nội"}));
    let change = edit(&before, &after);
    let handled = w.handle("e1", &change, ACTIVATED).await;
    assert_eq!((handled.records_scored, handled.scores_written), (1, 1));
    assert_eq!(score(&w, "c1").await, json!(20));
    let revision = stored(&w, "c1").await.revision;

    let redelivered = w.handle("e1", &change, ACTIVATED).await;
    assert_eq!(
        redelivered.scores_written, 0,
        "already right: nothing written"
    );

    // The stream then carries the score write, made by the rule itself.
    let scored = stored(&w, "c1").await.value;
    let own = AutomationWrite {
        workflow: id.clone(),
        depth: 1,
    };
    let echo = w
        .try_handle_written_by("e2", &edit(&after, &scored), Some(&own), ACTIVATED)
        .await
        .unwrap();
    assert_eq!(
        (echo.own_writes_ignored, echo.records_scored),
        (1, 0),
        "{echo:?}"
    );
    assert_eq!(stored(&w, "c1").await.revision, revision);

    let gone = w.handle("e3", &Change::Removed(scored), ACTIVATED).await;
    assert_eq!(gone.records_scored, 0);
}

#[tokio::test]
async fn the_day_a_criterion_flips_is_scheduled_and_the_scan_sends_the_rescoring_job() {
    let w = Stream::new().await;
    with_score_fields(&w).await;
    w.customer(
        "c1",
        json!({"Name": "An", "LastPurchaseDate": "2026-10-01"}),
    )
    .await;
    let id = activated(&w, "hot", rule("Score")).await;
    w.scan(ACTIVATED).await;
    assert_eq!(score(&w, "c1").await, json!(30));
    // Bought on 2026-10-01: "within the last 90 days" holds until 2026-12-30, Hanoi time.
    let entry = w.entry(&id, "c1").await.expect("the flip is scheduled");
    assert_eq!(
        entry.next.unwrap().fire_at,
        at("2026-12-30T17:00:00Z"),
        "midnight of 2026-12-31 in Hanoi"
    );
    w.publisher.take_jobs();
    w.scan("2026-12-30T16:59:00Z").await;
    assert!(w.publisher.jobs().is_empty(), "not before its day");
    w.scan("2026-12-30T17:01:00Z").await;
    let jobs = w.publisher.take_jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].action.as_str(), "score");
    assert_eq!(jobs[0].record.as_str(), "c1");
    assert!(
        w.entry(&id, "c1").await.unwrap().next.is_none(),
        "no later flip"
    );
}

#[tokio::test]
async fn two_active_rules_never_write_the_same_field_nor_read_each_other() {
    let w = Stream::new().await;
    with_score_fields(&w).await;
    activated(&w, "hot", rule("Score")).await;
    let clock = FixedClock(at(ACTIVATED));
    let cases = w.use_cases(&clock);
    let twin = WorkflowId::new("twin").unwrap();
    cases
        .create(
            &w.tenant,
            &admin(),
            twin.clone(),
            serde_json::from_value(rule("Score")).unwrap(),
        )
        .await
        .unwrap();
    let refused = cases.activate(&w.tenant, &admin(), &twin, None).await;
    let Err(WorkflowError::Invalid(problems)) = refused else {
        panic!("{refused:?}");
    };
    assert_eq!(problems.as_slice()[0].path, "/trigger/score_field");
    assert!(
        problems.as_slice()[0]
            .message
            .contains("already writes Score")
    );

    // "Engagement" counts the hot score, and the hot rule would score only engaged customers:
    // each write would set the other off.
    let engagement = WorkflowId::new("engagement").unwrap();
    let reads_hot = json!({"module": "Customer", "name": "Tương tác",
        "trigger": {"type": "score", "score_field": "Engagement", "criteria": [
            {"name": "Nóng", "points": 5, "condition": {"type": "formula", "formula": "1",
                "clauses": [{"field": "Score", "op": "greater_than", "value": 40}]}}]}});
    cases
        .create(
            &w.tenant,
            &admin(),
            engagement.clone(),
            serde_json::from_value(reads_hot).unwrap(),
        )
        .await
        .unwrap();
    cases
        .activate(&w.tenant, &admin(), &engagement, None)
        .await
        .unwrap();
    let mut circular = rule("Score");
    circular["condition"] = json!({"type": "formula", "formula": "1", "clauses": [
        {"field": "Engagement", "op": "greater_than", "value": 0}]});
    let hot = WorkflowId::new("hot").unwrap();
    let current = cases.get(&w.tenant, &hot).await.unwrap();
    let refused = cases
        .update(
            &w.tenant,
            &admin(),
            &hot,
            serde_json::from_value(circular).unwrap(),
            Some(current.revision),
        )
        .await;
    let Err(WorkflowError::Invalid(problems)) = refused else {
        panic!("{refused:?}");
    };
    assert!(
        problems.as_slice()[0]
            .message
            .contains("comes back to it through Tương tác"),
        "{problems:?}"
    );
}

#[tokio::test]
async fn a_score_write_sets_off_only_the_work_workflows_that_name_the_score() {
    let w = Stream::new().await;
    with_score_fields(&w).await;
    let scoring = activated(&w, "hot", rule("Score")).await;
    w.workflow(
        "any-edit",
        json!({"module": "Customer", "name": "Mọi thay đổi",
            "trigger": {"type": "record_event", "on": "updated", "repeat_on_every_edit": true},
            "actions": [{"kind": "notification", "id": "tell", "name": "Báo", "users": ["u-admin"], "message": "#Name"}]}),
    )
    .await;
    let before = customer("c1", json!({"Name": "An"}));
    let after = customer("c1", json!({"Name": "An", "Score": 20}));
    let by_rule = AutomationWrite {
        workflow: scoring,
        depth: 1,
    };
    let handled = w
        .try_handle_written_by("e1", &edit(&before, &after), Some(&by_rule), ACTIVATED)
        .await
        .unwrap();
    assert_eq!(
        (
            handled.work_workflows_fired,
            handled.score_writes_passed_over
        ),
        (0, 1),
        "{handled:?}"
    );
    let by_person = w.handle("e2", &edit(&before, &after), ACTIVATED).await;
    assert_eq!(
        by_person.work_workflows_fired, 1,
        "a person's edit of any field"
    );
}

#[tokio::test]
async fn a_rule_with_actions_or_a_score_field_of_the_wrong_kind_is_refused_by_pointer() {
    let w = Stream::new().await;
    with_score_fields(&w).await;
    let clock = FixedClock(at(ACTIVATED));
    let mut wrong = rule("Name");
    wrong["actions"] = json!([{"kind": "notification", "id": "tell", "name": "Báo", "users": ["u-admin"], "message": "x"}]);
    let refused = w
        .use_cases(&clock)
        .create(
            &w.tenant,
            &admin(),
            WorkflowId::new("bad").unwrap(),
            serde_json::from_value(wrong).unwrap(),
        )
        .await;
    let Err(WorkflowError::Invalid(problems)) = refused else {
        panic!("{refused:?}");
    };
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["/trigger/score_field", "/actions"]);
}

#[tokio::test]
async fn a_work_workflow_acts_when_the_score_crosses_a_threshold() {
    let w = Stream::new().await;
    with_score_fields(&w).await;
    let scoring = activated(&w, "hot", rule("Score")).await;
    w.workflow(
        "tell-hot",
        json!({
            "module": "Customer", "name": "Khách nóng",
            "trigger": {"type": "record_event", "on": "updated", "watched_fields": ["Score"]},
            "condition": {"type": "formula", "formula": "1 AND 2", "clauses": [
                {"field": "Score", "op": "changed"},
                {"field": "Score", "op": "greater_or_equal", "value": 50}]},
            "actions": [{"kind": "notification", "id": "tell", "name": "Báo", "users": ["u-admin"], "message": "#Name: #Score điểm"}]
        }),
    )
    .await;
    let before = customer("c1", json!({"Name": "An"}));
    let after = customer("c1", json!({"Name": "An", "Score": 50}));
    let by_rule = AutomationWrite {
        workflow: scoring,
        depth: 1,
    };
    let handled = w
        .try_handle_written_by("e1", &edit(&before, &after), Some(&by_rule), ACTIVATED)
        .await
        .unwrap();
    assert_eq!(handled.work_workflows_fired, 1, "{handled:?}");
    let jobs = w.publisher.take_jobs();
    assert_eq!(
        jobs[0].depth, 1,
        "one write deep: the chain guard counts it"
    );
}
