//! The dry-run preview of a care workflow over the in-memory stores: the occurrences of the next
//! days in firing order with their condition result, the messages of the first ones rendered,
//! nothing written anywhere, and what it refuses (a work workflow, a missing one).

mod support;

use crm_model::action::SettingKind;
use crm_model::ids::{SettingId, TenantId, WorkflowId};
use crm_model::ports::{FixedClock, SettingsStore};
use crm_model::workflow::preview::{PREVIEW_OCCURRENCE_LIMIT, Preview, PreviewError, Previews};
use serde_json::json;
use support::definitions::{noon, welcome};
use support::{World, admin, at};

const TODAY: &str = "2027-05-10T00:00:00Z";

/// The birthday greeting: an SMS, a call task and a note to the administrator, for customers
/// with a phone.
async fn birthday_workflow(w: &World, id: &str) -> WorkflowId {
    let definition = serde_json::from_value(json!({
        "module": "Customer", "name": "Sinh nhật",
        "trigger": {"type": "time", "date_field": "Birthday", "recurrence": "yearly", "time_of_day": "08:00:00"},
        "condition": {"type": "matching", "group": {"combine": "and", "rules": [{"field": "Phone", "op": "is_not_empty"}]}},
        "actions": [
            {"kind": "sms", "id": "sms", "name": "SMS", "provider": "sms", "recipient_fields": [{"field": "Phone"}], "template": "sms-birthday"},
            {"kind": "task", "id": "call", "name": "Gọi", "title": "Gọi chúc mừng sinh nhật #Name",
             "description": "Khách hàng #Name (#Phone)", "due": {"days_after": 0, "time_of_day": "17:00:00"},
             "task_type": "Call", "priority": "High", "assignee": {"type": "record_owner"}},
            {"kind": "notification", "id": "tell", "name": "Báo", "users": ["u-admin"], "message": "Sinh nhật #Name"}
        ]
    }))
    .unwrap();
    let id = WorkflowId::new(id).unwrap();
    let clock = noon();
    w.use_cases(&clock)
        .create(&w.tenant, &admin(), id.clone(), definition)
        .await
        .unwrap();
    id
}

async fn preview(
    w: &World,
    tenant: &TenantId,
    id: &WorkflowId,
    days: u32,
    render: usize,
) -> Result<Preview, PreviewError> {
    preview_as_of(w, tenant, id, days, render, None).await
}

async fn preview_as_of(
    w: &World,
    tenant: &TenantId,
    id: &WorkflowId,
    days: u32,
    render: usize,
    as_of: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Preview, PreviewError> {
    let clock = FixedClock(at(TODAY));
    Previews {
        workflows: &w.stores.workflows,
        records: &w.stores.records,
        settings: &w.stores.settings,
        users: &w.stores.users,
        clock: &clock,
    }
    .preview(tenant, id, days, render, as_of)
    .await
}

async fn customers(w: &World) {
    for (id, fields) in [
        (
            "c1",
            json!({"Name": "Lan", "Phone": "0912345678", "Birthday": "1990-05-20"}),
        ),
        ("c2", json!({"Name": "Minh", "Birthday": "1991-05-22"})),
        (
            "c3",
            json!({"Name": "Hoa", "Phone": "0987654321", "Birthday": "1992-07-09"}),
        ),
        ("c4", json!({"Name": "Dũng", "Phone": "0987654322"})),
        (
            "c5",
            json!({"Name": "Yến", "Phone": "0987654323", "Birthday": "1993-05-20", "TimeZone": "Asia/Tokyo"}),
        ),
        (
            "c0",
            json!({"Name": "An", "Phone": "0987654324", "Birthday": "1994-05-20"}),
        ),
    ] {
        w.customer(id, fields).await;
    }
}

#[tokio::test]
async fn a_draft_lists_the_coming_occurrences_in_firing_order_with_their_condition() {
    let w = World::new().await;
    customers(&w).await;
    let id = birthday_workflow(&w, "wf-preview").await;
    let seen = preview(&w, &w.tenant, &id, 30, 5).await.unwrap();
    assert_eq!(
        (seen.from, seen.to),
        (at(TODAY), at("2027-06-09T00:00:00Z"))
    );
    assert_eq!((seen.records_examined, seen.truncated), (6, false));
    let listed: Vec<(&str, &str, &str, _, bool)> = seen
        .occurrences
        .iter()
        .map(|o| {
            (
                o.record.as_str(),
                o.record_name.as_str(),
                o.occurrence.as_str(),
                o.fire_at,
                o.condition_met,
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("c5", "Yến", "Y2027", at("2027-05-19T23:00:00Z"), true),
            ("c0", "An", "Y2027", at("2027-05-20T01:00:00Z"), true),
            ("c1", "Lan", "Y2027", at("2027-05-20T01:00:00Z"), true),
            ("c2", "Minh", "Y2027", at("2027-05-22T01:00:00Z"), false),
        ]
    );
}

#[tokio::test]
async fn a_preview_as_of_another_instant_lists_what_fires_from_then_on() {
    let w = World::new().await;
    customers(&w).await;
    let id = birthday_workflow(&w, "wf-preview").await;
    // From 21 May: this year's 20 May birthdays are past, Minh's 22 May is still to come, and
    // Hoa's 9 July comes within the 60 days.
    let later = at("2027-05-21T00:00:00Z");
    let seen = preview_as_of(&w, &w.tenant, &id, 60, 0, Some(later))
        .await
        .unwrap();
    assert_eq!(seen.from, later);
    let listed: Vec<&str> = seen.occurrences.iter().map(|o| o.record.as_str()).collect();
    assert_eq!(listed, ["c2", "c3"]);
}

#[tokio::test]
async fn a_preview_as_of_a_past_instant_still_reads_every_page() {
    let w = World::new().await;
    customers(&w).await;
    for i in 0..150 {
        w.customer(&format!("x{i:03}"), json!({"Name": format!("Khách {i}")}))
            .await;
    }
    let id = birthday_workflow(&w, "wf-preview").await;
    // A month before "now": the time budget counts from when the preview started, not from
    // the instant it is asked about.
    let earlier = at("2027-04-10T00:00:00Z");
    let seen = preview_as_of(&w, &w.tenant, &id, 60, 0, Some(earlier))
        .await
        .unwrap();
    assert_eq!((seen.records_examined, seen.truncated), (156, false));
}

#[tokio::test]
async fn the_first_matching_occurrences_have_their_messages_rendered() {
    let w = World::new().await;
    customers(&w).await;
    let id = birthday_workflow(&w, "wf-preview").await;
    let seen = preview(&w, &w.tenant, &id, 30, 5).await.unwrap();
    let rendered: Vec<&str> = seen.rendered.iter().map(|r| r.record.as_str()).collect();
    assert_eq!(rendered, ["c5", "c0", "c1"], "Minh has no phone");
    let lan = &seen.rendered[2];
    assert_eq!(lan.fire_at, at("2027-05-20T01:00:00Z"));
    let actions: Vec<(&str, &str, Option<&str>, &str)> = lan
        .actions
        .iter()
        .map(|a| {
            (
                a.action.as_str(),
                a.kind,
                a.subject.as_deref(),
                a.text.as_str(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("sms", "sms", None, "Chúc mừng sinh nhật Lan"),
            (
                "call",
                "task",
                Some("Gọi chúc mừng sinh nhật Lan"),
                "Khách hàng Lan (0912345678)"
            ),
            ("tell", "notification", None, "Sinh nhật Lan"),
        ]
    );
    let fewer = preview(&w, &w.tenant, &id, 30, 1).await.unwrap();
    assert_eq!((fewer.rendered.len(), fewer.occurrences.len()), (1, 4));
    let none = preview(&w, &w.tenant, &id, 30, 0).await.unwrap();
    assert!(none.rendered.is_empty());
}

#[tokio::test]
async fn a_preview_writes_nothing_and_publishes_nothing() {
    let w = World::new().await;
    customers(&w).await;
    let id = birthday_workflow(&w, "wf-preview").await;
    w.use_cases(&noon())
        .activate(&w.tenant, &admin(), &id, None)
        .await
        .unwrap();
    let before = w.stores.total_calls();
    let seen = preview(&w, &w.tenant, &id, 30, 5).await.unwrap();
    assert_eq!(
        seen.occurrences.len(),
        4,
        "an active workflow previews alike"
    );
    let after = w.stores.total_calls();
    assert_eq!(after.writes, before.writes);
    assert!(after.reads > before.reads);
    assert!(w.publisher.jobs().is_empty());
}

#[tokio::test]
async fn a_template_gone_since_is_shown_as_missing_rather_than_failing_the_preview() {
    let w = World::new().await;
    customers(&w).await;
    let id = birthday_workflow(&w, "wf-preview").await;
    let template = SettingId::new("sms-birthday").unwrap();
    w.stores
        .settings
        .delete(&w.tenant, SettingKind::SmsTemplate, &template, 1)
        .await
        .unwrap();
    let seen = preview(&w, &w.tenant, &id, 30, 1).await.unwrap();
    assert_eq!(
        seen.rendered[0].actions[0].text,
        "(SMS template 'sms-birthday' is missing)"
    );
}

#[tokio::test]
async fn at_most_five_hundred_occurrences_are_listed_the_earliest_first() {
    let w = World::new().await;
    // One more customer than the limit, the last of them with the earliest birthday.
    for i in 0..=PREVIEW_OCCURRENCE_LIMIT {
        let birthday = if i == PREVIEW_OCCURRENCE_LIMIT {
            "1990-05-11"
        } else {
            "1990-05-20"
        };
        let fields = json!({"Name": "Khách", "Phone": "0912345678", "Birthday": birthday});
        w.customer(&format!("c{i:04}"), fields).await;
    }
    let id = birthday_workflow(&w, "wf-big").await;
    let seen = preview(&w, &w.tenant, &id, 30, 5).await.unwrap();
    assert_eq!(seen.records_examined, PREVIEW_OCCURRENCE_LIMIT + 1);
    assert!(!seen.truncated, "all records were examined");
    assert_eq!(seen.occurrences.len(), PREVIEW_OCCURRENCE_LIMIT);
    let first = &seen.occurrences[0];
    assert_eq!(
        (first.record.as_str(), first.fire_at),
        ("c0500", at("2027-05-11T01:00:00Z"))
    );
    assert_eq!(seen.occurrences[1].record.as_str(), "c0000");
    assert_eq!(seen.rendered.len(), 5);
}

#[tokio::test]
async fn a_work_workflow_has_no_occurrences_to_preview_and_a_missing_one_is_not_found() {
    let w = World::new().await;
    let work = WorkflowId::new("wf-work").unwrap();
    w.use_cases(&noon())
        .create(&w.tenant, &admin(), work.clone(), welcome())
        .await
        .unwrap();
    let refused = preview(&w, &w.tenant, &work, 30, 5).await;
    assert!(
        matches!(refused, Err(PreviewError::NotTimeTriggered)),
        "{refused:?}"
    );
    let missing = preview(&w, &w.tenant, &WorkflowId::new("wf-none").unwrap(), 30, 5).await;
    assert!(
        matches!(missing, Err(PreviewError::NotFound)),
        "{missing:?}"
    );
    let care = birthday_workflow(&w, "wf-care").await;
    let stranger = TenantId::new("stranger").unwrap();
    let foreign = preview(&w, &stranger, &care, 30, 5).await;
    assert!(
        matches!(foreign, Err(PreviewError::NotFound)),
        "{foreign:?}"
    );
}
