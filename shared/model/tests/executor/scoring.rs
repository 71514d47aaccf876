//! A scoring rule's job, sent by the scan on the day one of its criteria relative to today
//! flips: the record is scored again, the run shows the new score, and a redelivery writes
//! nothing.

use super::*;

#[tokio::test]
async fn the_day_a_purchase_leaves_the_window_the_score_drops_once() {
    let w = World::new().await;
    crm_model::testing::add_number_fields(
        &w.stores.settings,
        &w.tenant,
        Module::Customer,
        &["Score"],
    )
    .await;
    // Scored 30 while the purchase of New Year's Day was within the last 90 days.
    let customer = w
        .customer(
            "c1",
            json!({"Name": "Chi", "LastPurchaseDate": "2027-01-01", "Score": 30,
                   "ScoreBreakdown": {"recent": {"version": 1, "score": 30,
                       "criteria": [{"name": "Mua trong 90 ngày", "points": 30}],
                       "computed_at": "2027-01-02T00:00:00Z"}}}),
        )
        .await;
    let workflow = w
        .workflow(
            "recent",
            json!({"module": "Customer", "name": "Mua gần đây",
                "trigger": {"type": "score", "score_field": "Score", "criteria": [
                    {"name": "Mua trong 90 ngày", "points": 30, "condition": {"type": "matching",
                        "group": {"combine": "and", "rules": [
                            {"field": "LastPurchaseDate", "op": "within_last_days", "value": 90}]}}}]}}),
        )
        .await;
    let mut job = w.job(&workflow, &customer, "score");
    job.cause = "O20270402T0000".into();
    let outcome = w.execute(&job).await.unwrap();
    assert_eq!(outcome, JobOutcome::Succeeded(vec!["Score = 0".into()]));
    let stored = w.stored(&customer).await;
    assert_eq!(stored.value.fields["Score"], json!(0));
    assert_eq!(
        stored.value.fields["ScoreBreakdown"]["recent"]["criteria"],
        json!([])
    );
    let run = w.run(&job.idempotency_key()).await;
    assert_eq!(
        (run.kind.as_str(), run.status),
        ("score", RunStatus::Succeeded)
    );

    assert_eq!(w.execute(&job).await.unwrap(), JobOutcome::Duplicate);
    assert_eq!(w.stored(&customer).await.revision, stored.revision);

    // A late job of another version than the active one writes nothing.
    let mut stale = w.job(&workflow, &customer, "score");
    stale.version = 7;
    stale.cause = "O20270403T0000".into();
    let outcome = w.execute(&stale).await.unwrap();
    assert_eq!(
        outcome,
        JobOutcome::Succeeded(vec!["not scored: the rule is at version 1 now".into()])
    );
}
