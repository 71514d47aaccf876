//! The records stream over the in-memory stores: care workflows' schedule entries follow the
//! record (armed, re-planned, disarmed) once per batch's reading of the active workflows, and a
//! stream event fires its work workflows exactly once: a redelivery publishes nothing, a failed
//! publish is left in the outbox for the scan, a store outage fails the event for a retry.

mod support;

use crm_model::ids::{RecordId, WorkflowId};
use crm_model::ports::{FixedClock, StoredRecord};
use crm_model::schedule::record_events::{BatchCache, Change, Handled, RecordEventError};
use crm_model::schema::Module;
use crm_model::testing::memory::PublishFault;
use serde_json::json;
use support::stream::{Stream, birthday_note, customer, edit, gold_note, note_on, silver_to_gold};
use support::{admin, at};

#[tokio::test]
async fn a_new_customer_arms_its_birthday_entry_at_eight_in_its_time_zone() {
    let w = Stream::new().await;
    let workflow = w.workflow("wf-care", birthday_note()).await;
    let hanoi = customer("c1", json!({"Name": "An", "Birthday": "1990-05-17"}));
    let tokyo = customer(
        "c2",
        json!({"Name": "Bình", "Birthday": "1990-05-17", "TimeZone": "Asia/Tokyo"}),
    );
    let created = w
        .handle("e1", &Change::Inserted(hanoi), "2027-03-01T00:00:00Z")
        .await;
    assert_eq!(
        created,
        Handled {
            entries_armed: 1,
            ..Handled::default()
        }
    );
    w.handle("e2", &Change::Inserted(tokyo), "2027-03-01T00:00:00Z")
        .await;
    let entry = w.entry(&workflow, "c1").await.unwrap();
    assert_eq!(entry.version, 1);
    let next = entry.next.unwrap();
    assert_eq!(
        (next.key.to_string(), next.fire_at),
        ("Y2027".to_owned(), at("2027-05-17T01:00:00Z"))
    );
    let tokyo_next = w.entry(&workflow, "c2").await.unwrap().next.unwrap();
    assert_eq!(tokyo_next.fire_at, at("2027-05-16T23:00:00Z"));
}

#[tokio::test]
async fn an_edited_birthday_re_plans_the_entry_and_other_edits_leave_it_alone() {
    let w = Stream::new().await;
    let workflow = w.workflow("wf-care", birthday_note()).await;
    let born = customer("c1", json!({"Name": "An", "Birthday": "1990-05-17"}));
    w.handle(
        "e1",
        &Change::Inserted(born.clone()),
        "2027-03-01T00:00:00Z",
    )
    .await;
    let armed = w.entry(&workflow, "c1").await.unwrap();

    let renamed = customer("c1", json!({"Name": "An Nguyễn", "Birthday": "1990-05-17"}));
    let untouched = w
        .handle("e2", &edit(&born, &renamed), "2027-03-02T00:00:00Z")
        .await;
    assert_eq!(untouched, Handled::default());
    assert_eq!(
        w.entry(&workflow, "c1").await.unwrap(),
        armed,
        "not rewritten"
    );

    let moved = customer("c1", json!({"Name": "An Nguyễn", "Birthday": "1990-06-01"}));
    let replanned = w
        .handle("e3", &edit(&renamed, &moved), "2027-03-03T00:00:00Z")
        .await;
    assert_eq!(replanned.entries_armed, 1);
    let entry = w.entry(&workflow, "c1").await.unwrap();
    assert_eq!(entry.next.unwrap().fire_at, at("2027-06-01T01:00:00Z"));
    assert_eq!(entry.revision, armed.revision + 1);
}

#[tokio::test]
async fn a_cleared_date_disarms_the_entry_and_a_deleted_record_removes_it() {
    let w = Stream::new().await;
    let workflow = w.workflow("wf-care", birthday_note()).await;
    let born = customer("c1", json!({"Name": "An", "Birthday": "1990-05-17"}));
    w.handle(
        "e1",
        &Change::Inserted(born.clone()),
        "2027-03-01T00:00:00Z",
    )
    .await;
    let cleared = customer("c1", json!({"Name": "An"}));
    let disarmed = w
        .handle("e2", &edit(&born, &cleared), "2027-03-02T00:00:00Z")
        .await;
    assert_eq!(disarmed.entries_disarmed, 1);
    assert!(w.entry(&workflow, "c1").await.unwrap().next.is_none());

    let removed = w
        .handle("e3", &Change::Removed(cleared), "2027-03-03T00:00:00Z")
        .await;
    assert_eq!(removed.entries_disarmed, 1);
    assert!(w.entry(&workflow, "c1").await.is_none());
}

#[tokio::test]
async fn only_active_workflows_of_the_records_module_take_part() {
    let w = Stream::new().await;
    let clock = FixedClock(at("2027-01-01T00:00:00Z"));
    let draft = WorkflowId::new("wf-draft").unwrap();
    let definition = serde_json::from_value(birthday_note()).unwrap();
    w.use_cases(&clock)
        .create(&w.tenant, &admin(), draft.clone(), definition)
        .await
        .unwrap();
    let lead = StoredRecord {
        id: RecordId::new("l1").unwrap(),
        module: Module::Lead,
        fields: json!({"Name": "Chi", "Birthday": "1990-05-17"})
            .as_object()
            .unwrap()
            .clone(),
    };
    let born = customer("c1", json!({"Name": "An", "Birthday": "1990-05-17"}));
    assert_eq!(
        w.handle(
            "e1",
            &Change::Inserted(born.clone()),
            "2027-03-01T00:00:00Z"
        )
        .await,
        Handled::default(),
        "a draft schedules nothing"
    );
    assert!(w.entry(&draft, "c1").await.is_none());

    let active = w.workflow("wf-care", birthday_note()).await;
    assert_eq!(
        w.handle("e2", &Change::Inserted(lead), "2027-03-01T00:00:00Z")
            .await,
        Handled::default(),
        "a lead is not a customer"
    );
    assert!(w.entry(&active, "l1").await.is_none());
    assert_eq!(
        w.handle("e3", &Change::Inserted(born), "2027-03-01T00:00:00Z")
            .await
            .entries_armed,
        1
    );
}

#[tokio::test]
async fn the_active_workflows_are_read_once_per_batch() {
    let w = Stream::new().await;
    w.workflow("wf-care", birthday_note()).await;
    let clock = FixedClock(at("2027-03-01T00:00:00Z"));
    let events = w.events(&clock);
    let mut batch = BatchCache::default();
    let before = w.stores.workflows.calls().reads;
    for id in ["c1", "c2", "c3"] {
        let born = customer(id, json!({"Name": id, "Birthday": "1990-05-17"}));
        let handled = events
            .handle(&w.tenant, id, &Change::Inserted(born), None, &mut batch)
            .await
            .unwrap();
        assert_eq!(handled.entries_armed, 1);
    }
    assert_eq!(w.stores.workflows.calls().reads - before, 1);
    // A workflow activated mid-batch applies from the next batch on.
    let late = w.workflow("wf-late", birthday_note()).await;
    let born = customer("c4", json!({"Name": "Dũng", "Birthday": "1990-05-17"}));
    let change = Change::Inserted(born);
    events
        .handle(&w.tenant, "c4", &change, None, &mut batch)
        .await
        .unwrap();
    assert!(w.entry(&late, "c4").await.is_none());
    let next_batch = events
        .handle(
            &w.tenant,
            "c4-again",
            &change,
            None,
            &mut BatchCache::default(),
        )
        .await
        .unwrap();
    assert_eq!(next_batch.entries_armed, 1, "wf-care's entry is unchanged");
    assert!(w.entry(&late, "c4").await.is_some());
}

#[tokio::test]
async fn a_redelivered_stream_event_publishes_its_jobs_once_per_workflow() {
    let w = Stream::new().await;
    let trigger = json!({"type": "record_event", "on": "updated", "watched_fields": ["Rank"], "repeat_on_every_edit": true});
    w.workflow("wf-gold", gold_note(trigger.clone())).await;
    w.workflow("wf-rank", note_on(trigger)).await;
    let first = w
        .handle("evt-1", &silver_to_gold(), "2027-03-01T01:00:00Z")
        .await;
    assert_eq!(
        (
            first.work_workflows_fired,
            first.jobs_published,
            first.redeliveries_ignored
        ),
        (2, 2, 0)
    );
    let again = w
        .handle("evt-1", &silver_to_gold(), "2027-03-01T01:00:05Z")
        .await;
    assert_eq!(
        (
            again.work_workflows_fired,
            again.jobs_published,
            again.redeliveries_ignored
        ),
        (0, 0, 2)
    );
    let mut keys = w.publisher.idempotency_keys();
    keys.sort();
    assert_eq!(
        keys,
        [
            w.job_key("wf-gold", "c1", "evt-1", "tell"),
            w.job_key("wf-rank", "c1", "evt-1", "tell")
        ]
    );
    assert!(
        w.stores.schedule.outboxes(&w.tenant).is_empty(),
        "published outboxes are cleared"
    );
}

#[tokio::test]
async fn external_sends_carry_the_records_fields_and_in_app_actions_do_not() {
    let w = Stream::new().await;
    w.workflow("wf-welcome", json!({
        "module": "Customer", "name": "Chào mừng",
        "trigger": {"type": "record_event", "on": "created"},
        "actions": [
            {"kind": "sms", "id": "sms", "name": "SMS", "provider": "sms", "recipient_fields": [{"field": "Phone"}], "template": "sms-birthday"},
            {"kind": "notification", "id": "tell", "name": "Báo", "users": ["u-admin"], "message": "Khách mới #Name"}
        ]
    }))
    .await;
    let an = customer("c1", json!({"Name": "An", "Phone": "0912345678"}));
    w.handle("e1", &Change::Inserted(an.clone()), "2027-03-01T01:00:00Z")
        .await;
    let jobs = w.publisher.jobs();
    assert_eq!(jobs.len(), 2);
    assert_eq!(jobs[0].snapshot.as_ref(), Some(&an.fields));
    assert_eq!(jobs[1].snapshot, None);
    assert!(
        jobs.iter()
            .all(|j| j.due_at == at("2027-03-01T01:00:00Z") && j.version == 1)
    );
}

#[tokio::test]
async fn a_failed_publish_leaves_the_outbox_for_the_scan_which_publishes_it_once() {
    let w = Stream::new().await;
    let once = json!({"type": "record_event", "on": "updated"});
    w.workflow("wf-once", gold_note(once)).await;
    w.publisher.fail_next(1, PublishFault::DOWN);
    let failed = w
        .try_handle("evt-1", &silver_to_gold(), "2027-03-01T01:00:00Z")
        .await;
    assert!(
        matches!(failed, Err(RecordEventError::Publish(_))),
        "{failed:?}"
    );
    let outboxes = w.stores.schedule.outboxes(&w.tenant);
    assert_eq!(outboxes.len(), 1);
    assert_eq!(
        (outboxes[0].cause.as_str(), outboxes[0].retry_after),
        ("Eevt-1", at("2027-03-01T01:01:00Z"))
    );
    // Lambda retries the batch, and a later edit comes: the claim counts as this customer's run,
    // and its outbox is the scan's to publish.
    for (event, now) in [
        ("evt-1", "2027-03-01T01:00:10Z"),
        ("evt-2", "2027-03-01T01:00:20Z"),
    ] {
        let handled = w.handle(event, &silver_to_gold(), now).await;
        assert_eq!(
            (handled.work_workflows_fired, handled.jobs_published),
            (0, 0)
        );
    }
    assert!(w.publisher.jobs().is_empty());

    assert_eq!(
        w.scan("2027-03-01T01:00:30Z").await.outboxes_replayed,
        0,
        "still leased"
    );
    let recovery = w.scan("2027-03-01T01:05:00Z").await;
    assert_eq!(
        (recovery.outboxes_replayed, recovery.jobs_published),
        (1, 1)
    );
    assert_eq!(w.scan("2027-03-01T01:10:00Z").await.jobs_published, 0);
    assert_eq!(
        w.publisher.idempotency_keys(),
        [w.job_key("wf-once", "c1", "evt-1", "tell")]
    );
    assert!(w.stores.schedule.outboxes(&w.tenant).is_empty());
}

#[tokio::test]
async fn a_store_outage_fails_the_event_and_its_retry_fires_once() {
    let w = Stream::new().await;
    let trigger = json!({"type": "record_event", "on": "updated", "repeat_on_every_edit": true});
    w.workflow("wf-gold", gold_note(trigger)).await;
    w.stores.schedule.fail_next_writes(1);
    let failed = w
        .try_handle("evt-1", &silver_to_gold(), "2027-03-01T01:00:00Z")
        .await;
    assert!(
        matches!(failed, Err(RecordEventError::Store(_))),
        "{failed:?}"
    );
    assert!(w.publisher.jobs().is_empty());
    assert!(w.stores.schedule.outboxes(&w.tenant).is_empty());
    let retried = w
        .handle("evt-1", &silver_to_gold(), "2027-03-01T01:00:10Z")
        .await;
    assert_eq!(
        (retried.work_workflows_fired, retried.redeliveries_ignored),
        (1, 0)
    );
    assert_eq!(
        w.publisher.idempotency_keys(),
        [w.job_key("wf-gold", "c1", "evt-1", "tell")]
    );
}

#[tokio::test]
async fn a_record_tells_its_coming_care_occurrences_soonest_first() {
    use crm_model::schedule::upcoming::upcoming;
    let w = Stream::new().await;
    let workflow = w.workflow("wf-care", birthday_note()).await;
    let born = customer("c1", json!({"Name": "An", "Birthday": "1990-05-17"}));
    let undated = customer("c2", json!({"Name": "Bình"}));
    for (event, change) in [("e1", born), ("e2", undated)] {
        w.handle(event, &Change::Inserted(change), "2027-03-01T00:00:00Z")
            .await;
    }
    let record = RecordId::new("c1").unwrap();
    let coming = upcoming(
        &w.stores.workflows,
        &w.stores.schedule,
        &w.tenant,
        Module::Customer,
        &record,
    )
    .await
    .unwrap();
    assert_eq!(coming.len(), 1);
    assert_eq!(coming[0].workflow, workflow);
    assert_eq!(
        (coming[0].occurrence.as_str(), coming[0].fire_at),
        ("Y2027", at("2027-05-17T01:00:00Z"))
    );
    let nothing = upcoming(
        &w.stores.workflows,
        &w.stores.schedule,
        &w.tenant,
        Module::Customer,
        &RecordId::new("c2").unwrap(),
    )
    .await
    .unwrap();
    assert!(nothing.is_empty(), "no birthday, nothing armed");
}
