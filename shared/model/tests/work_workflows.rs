//! Work workflows on the records stream over the in-memory stores: which events they listen to
//! (creation, edits of watched fields, any or all of them), "changed to", the repeat toggle, the
//! throttle per record, and what their jobs carry.

mod support;

use crm_model::schedule::record_events::{Change, Handled};
use serde_json::json;
use support::stream::{Stream, customer, edit, gold_note, note_on, silver_to_gold};

#[tokio::test]
async fn a_work_workflow_on_creation_fires_for_new_records_and_never_for_edits_or_deletions() {
    let w = Stream::new().await;
    w.workflow(
        "wf-new",
        note_on(json!({"type": "record_event", "on": "created"})),
    )
    .await;
    let an = customer("c1", json!({"Name": "An"}));
    let renamed = customer("c1", json!({"Name": "An Nguyễn"}));
    let created = w
        .handle("e1", &Change::Inserted(an.clone()), "2027-03-01T01:00:00Z")
        .await;
    assert_eq!(
        (created.work_workflows_fired, created.jobs_published),
        (1, 1)
    );
    let edited = w
        .handle("e2", &edit(&an, &renamed), "2027-03-01T02:00:00Z")
        .await;
    let deleted = w
        .handle("e3", &Change::Removed(renamed), "2027-03-01T03:00:00Z")
        .await;
    assert_eq!(
        (edited.work_workflows_fired, deleted.work_workflows_fired),
        (0, 0)
    );
    assert_eq!(
        w.publisher.idempotency_keys(),
        [w.job_key("wf-new", "c1", "e1", "tell")]
    );
}

#[tokio::test]
async fn an_edit_fires_only_when_the_watched_fields_change_any_or_all_of_them() {
    let w = Stream::new().await;
    let watch = |mode: &str| {
        note_on(
            json!({"type": "record_event", "on": "updated", "watched_fields": ["Phone", "Email"],
                       "watch": mode, "repeat_on_every_edit": true}),
        )
    };
    w.workflow("wf-any", watch("any")).await;
    w.workflow("wf-all", watch("all")).await;
    let v1 = customer(
        "c1",
        json!({"Name": "An", "Phone": "0912345678", "Email": "an@a.vn"}),
    );
    let renamed = customer(
        "c1",
        json!({"Name": "Ân", "Phone": "0912345678", "Email": "an@a.vn"}),
    );
    let new_phone = customer(
        "c1",
        json!({"Name": "Ân", "Phone": "0987654321", "Email": "an@a.vn"}),
    );
    let both = customer(
        "c1",
        json!({"Name": "Ân", "Phone": "0911111111", "Email": "an@b.vn"}),
    );
    let fired = |h: Handled| h.work_workflows_fired;
    assert_eq!(
        fired(
            w.handle("e1", &edit(&v1, &renamed), "2027-03-01T01:00:00Z")
                .await
        ),
        0
    );
    assert_eq!(
        fired(
            w.handle("e2", &edit(&renamed, &new_phone), "2027-03-01T02:00:00Z")
                .await
        ),
        1
    );
    assert_eq!(
        fired(
            w.handle("e3", &edit(&new_phone, &both), "2027-03-01T03:00:00Z")
                .await
        ),
        2
    );
    assert_eq!(
        w.publisher.idempotency_keys(),
        [
            w.job_key("wf-any", "c1", "e2", "tell"),
            w.job_key("wf-all", "c1", "e3", "tell"),
            w.job_key("wf-any", "c1", "e3", "tell"),
        ]
    );
}

#[tokio::test]
async fn changed_to_gold_fires_when_the_rank_becomes_gold_not_when_it_stays_or_goes_elsewhere() {
    let w = Stream::new().await;
    let trigger = json!({"type": "record_event", "on": "updated", "repeat_on_every_edit": true});
    w.workflow("wf-gold", gold_note(trigger)).await;
    let member = customer("c1", json!({"Name": "An", "Rank": "Member"}));
    let silver = customer("c1", json!({"Name": "An", "Rank": "Silver"}));
    let gold = customer("c1", json!({"Name": "An", "Rank": "Gold"}));
    let gold_renamed = customer("c1", json!({"Name": "An Nguyễn", "Rank": "Gold"}));
    let fired = |h: Handled| h.work_workflows_fired;
    assert_eq!(
        fired(
            w.handle("e1", &edit(&member, &silver), "2027-03-01T01:00:00Z")
                .await
        ),
        0
    );
    assert_eq!(
        fired(
            w.handle("e2", &edit(&silver, &gold), "2027-03-01T02:00:00Z")
                .await
        ),
        1
    );
    assert_eq!(
        fired(
            w.handle("e3", &edit(&gold, &gold_renamed), "2027-03-01T03:00:00Z")
                .await
        ),
        0
    );
    assert_eq!(
        w.publisher.idempotency_keys(),
        [w.job_key("wf-gold", "c1", "e2", "tell")]
    );
}

#[tokio::test]
async fn without_repeat_a_work_workflow_runs_only_the_first_time_a_record_matches() {
    let w = Stream::new().await;
    let once = json!({"type": "record_event", "on": "updated"});
    w.workflow("wf-once", gold_note(once)).await;
    let first = w
        .handle("e1", &silver_to_gold(), "2027-03-01T01:00:00Z")
        .await;
    assert_eq!(first.work_workflows_fired, 1);
    // Down to Silver and back to Gold a month later: it has run for this customer already.
    let again = w
        .handle("e2", &silver_to_gold(), "2027-04-01T01:00:00Z")
        .await;
    assert_eq!(again.work_workflows_fired, 0);
    // Another customer still gets their first time.
    let other = edit(
        &customer("c2", json!({"Name": "Bình", "Rank": "Silver"})),
        &customer("c2", json!({"Name": "Bình", "Rank": "Gold"})),
    );
    assert_eq!(
        w.handle("e3", &other, "2027-04-01T01:00:00Z")
            .await
            .work_workflows_fired,
        1
    );
    assert_eq!(
        w.publisher.idempotency_keys(),
        [
            w.job_key("wf-once", "c1", "e1", "tell"),
            w.job_key("wf-once", "c2", "e3", "tell")
        ]
    );
}

#[tokio::test]
async fn a_throttle_holds_repeats_for_one_record_until_its_period_has_passed() {
    let w = Stream::new().await;
    let throttled = json!({"type": "record_event", "on": "updated", "repeat_on_every_edit": true, "throttle_minutes": 60});
    w.workflow("wf-throttled", gold_note(throttled)).await;
    let fired = |h: Handled| h.work_workflows_fired;
    assert_eq!(
        fired(
            w.handle("e1", &silver_to_gold(), "2027-03-01T01:00:00Z")
                .await
        ),
        1
    );
    assert_eq!(
        fired(
            w.handle("e2", &silver_to_gold(), "2027-03-01T01:59:59Z")
                .await
        ),
        0
    );
    let other = edit(
        &customer("c2", json!({"Name": "Bình", "Rank": "Silver"})),
        &customer("c2", json!({"Name": "Bình", "Rank": "Gold"})),
    );
    assert_eq!(
        fired(w.handle("e3", &other, "2027-03-01T01:30:00Z").await),
        1,
        "per record"
    );
    assert_eq!(
        fired(
            w.handle("e4", &silver_to_gold(), "2027-03-01T02:00:00Z")
                .await
        ),
        1
    );
    assert_eq!(
        w.publisher.idempotency_keys(),
        [
            w.job_key("wf-throttled", "c1", "e1", "tell"),
            w.job_key("wf-throttled", "c2", "e3", "tell"),
            w.job_key("wf-throttled", "c1", "e4", "tell"),
        ]
    );
}
