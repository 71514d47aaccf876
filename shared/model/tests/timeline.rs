//! A customer's timeline over the in-memory stores: calls, meetings and notes beside tasks,
//! care cards and the automation's runs, each at when it happened or is planned, newest first,
//! paged by cursor; the open activities; and nothing of another customer's.

mod support;

use crm_model::record::service::{Activity, ActivityCursor};
use crm_model::schema::Module;
use serde_json::json;
use support::crm::{Crm, rid};

fn ids(items: &[Activity]) -> Vec<String> {
    items
        .iter()
        .map(|a| match a {
            Activity::Record(r) => r.value.id.to_string(),
            Activity::Run(run) => format!("run on {}", run.record),
        })
        .collect()
}

/// Lan (`c1`) with a note, a call made on 20 May, a meeting planned for 10 June (at 10:00 in
/// Hanoi) and an open task; Minh (`c2`) with a note of his own.
async fn lan() -> Crm {
    let crm = Crm::new().await; // the clock: 1 June 02:00 UTC, a minute more per record
    crm.create(Module::Customer, "c1", json!({"Name": "Lan"}))
        .await;
    let activities = [
        (
            Module::Note,
            "n1",
            json!({"Title": "Lần đầu gặp", "Content": "Thích trà sen", "Customer": "c1"}),
        ),
        (
            Module::Call,
            "call1",
            json!({"Subject": "Tư vấn", "Customer": "c1", "Direction": "Outbound",
            "Status": "Ended", "StartedAt": "2026-05-20T09:00:00+07:00", "DurationSeconds": 180}),
        ),
        (
            Module::Meeting,
            "m1",
            json!({"Subject": "Thử trà", "Customer": "c1", "Status": "Planned",
            "StartsAt": "2026-06-10T10:00:00+07:00", "Attendees": ["u-sales"]}),
        ),
        (
            Module::Task,
            "t1",
            json!({"Title": "Gửi báo giá", "Customer": "c1", "Status": "Open"}),
        ),
    ];
    for (module, id, fields) in activities {
        crm.create(module, id, fields).await;
    }
    crm.create(Module::Customer, "c2", json!({"Name": "Minh"}))
        .await;
    crm.create(
        Module::Note,
        "n2",
        json!({"Title": "Khác", "Content": "Của Minh", "Customer": "c2"}),
    )
    .await;
    crm
}

#[tokio::test]
async fn the_timeline_pages_every_kind_of_activity_newest_first() {
    let crm = lan().await;
    let records = crm.records();
    let first = records
        .activities(&crm.sales(), Module::Customer, &rid("c1"), false, 2, None)
        .await
        .unwrap();
    assert_eq!(ids(&first.items), ["m1", "t1"]);
    let next = first.next.expect("a second page");
    // The cursor survives its text form, as the API hands it out and takes it back.
    let next = ActivityCursor::decode(&next.encode()).unwrap();
    let second = records
        .activities(
            &crm.sales(),
            Module::Customer,
            &rid("c1"),
            false,
            2,
            Some(&next),
        )
        .await
        .unwrap();
    assert_eq!(ids(&second.items), ["n1", "call1"]);
    assert!(second.next.is_none(), "{:?}", second.next);
    assert_eq!(second.items[1].at(), "2026-05-20T02:00:00.000Z");
}

#[tokio::test]
async fn open_activities_are_the_planned_meetings_and_unfinished_tasks() {
    let crm = lan().await;
    let open = crm
        .records()
        .activities(&crm.sales(), Module::Customer, &rid("c1"), true, 10, None)
        .await
        .unwrap();
    assert_eq!(ids(&open.items), ["m1", "t1"]);
    crm.patch(Module::Meeting, "m1", json!({"Status": "Held"}))
        .await;
    let open = crm
        .records()
        .activities(&crm.sales(), Module::Customer, &rid("c1"), true, 10, None)
        .await
        .unwrap();
    assert_eq!(ids(&open.items), ["t1"]);
}

#[tokio::test]
async fn a_meeting_needs_its_start_and_a_note_its_content() {
    let crm = lan().await;
    let refused = crm
        .records()
        .create(
            &crm.sales(),
            Module::Meeting,
            rid("m2"),
            &support::crm::fields(json!({"Subject": "Không giờ", "Customer": "c1"})),
        )
        .await;
    let Err(crm_model::record::service::RecordError::Invalid(problems)) = refused else {
        panic!("expected problems, got {refused:?}");
    };
    assert!(problems.has("/fields/StartsAt"), "{problems}");
    let refused = crm
        .records()
        .create(
            &crm.sales(),
            Module::Note,
            rid("n3"),
            &support::crm::fields(json!({"Title": "Trống", "Customer": "c1"})),
        )
        .await;
    let Err(crm_model::record::service::RecordError::Invalid(problems)) = refused else {
        panic!("expected problems, got {refused:?}");
    };
    assert!(problems.has("/fields/Content"), "{problems}");
}

#[tokio::test]
async fn runs_past_one_page_of_the_history_are_in_the_timeline() {
    let crm = lan().await;
    for i in 0..130 {
        let job = crm_model::schedule::ActionJob {
            depth: 0,
            tenant: crm.w.tenant.clone(),
            workflow: crm_model::ids::WorkflowId::new("wf-care").unwrap(),
            version: 1,
            record: rid("c1"),
            cause: format!("E{i:03}"),
            action: crm_model::ids::ActionId::new("sms").unwrap(),
            due_at: support::at("2026-04-01T00:00:00Z"),
            snapshot: None,
        };
        let at = support::at("2026-04-01T00:00:00Z") + chrono::Duration::minutes(i);
        let mut run = crm_model::run::RunRecord::start(&job, "sms", at);
        run.status = crm_model::run::RunStatus::Succeeded;
        crm_model::ports::RunLedger::record(&crm.w.stores.runs, &run)
            .await
            .unwrap();
    }
    let records = crm.records();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = records
            .activities(
                &crm.sales(),
                Module::Customer,
                &rid("c1"),
                false,
                100,
                after.as_ref(),
            )
            .await
            .unwrap();
        seen.extend(ids(&page.items));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 134, "four records and 130 runs");
    assert_eq!(seen.iter().filter(|s| s.starts_with("run on")).count(), 130);
    assert_eq!(seen[..2], ["m1", "t1"]);
}

#[tokio::test]
async fn a_hand_over_takes_the_planned_meetings_asked_for_and_leaves_calls_that_happened() {
    let crm = lan().await;
    let request = crm_model::record::service::HandOver {
        to: crm_model::ids::UserId::new("u-manager").unwrap(),
        activities: vec![
            crm_model::action::ActivityKind::Meeting,
            crm_model::action::ActivityKind::Call,
        ],
    };
    let (_, moved) = crm
        .records()
        .hand_over(&crm.sales(), &rid("c1"), &request)
        .await
        .unwrap();
    assert_eq!(moved, [rid("m1")]);
    assert_eq!(crm.field("m1", "Owner").await, json!("u-manager"));
    assert_eq!(
        crm.field("call1", "Owner").await,
        json!("u-sales"),
        "it happened"
    );
    assert_eq!(
        crm.field("t1", "Owner").await,
        json!("u-sales"),
        "not asked for"
    );
}
