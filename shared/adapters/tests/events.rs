//! The sample events in events/ (usable with `sam local invoke -e`) read the way the functions
//! read them.

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::sqs::SqsEvent;
use crm_adapters::dynamo::record_change;
use crm_model::schedule::ActionJob;
use crm_model::schedule::record_events::Change;

fn sample(name: &str) -> String {
    let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_stream_sample_is_a_customer_edit_of_the_demo_tenant() {
    let event: Event = serde_json::from_str(&sample("record-events.json")).unwrap();
    assert_eq!(event.records.len(), 1);
    let record = &event.records[0];
    let (tenant, change, origin) =
        record_change(&record.change.old_image, &record.change.new_image).unwrap();
    assert_eq!(origin, None, "a person's edit");
    assert_eq!(tenant.as_str(), "demo-tenant");
    let Change::Modified { old, new } = change else {
        panic!("a modification")
    };
    assert_eq!(old.fields["Birthday"], "1990-05-17");
    assert_eq!(new.fields["Birthday"], "1990-05-20");
    assert_eq!(new.fields["Rank"], "Gold");
}

#[test]
fn items_that_are_not_records_are_not_record_changes() {
    let user: serde_dynamo::Item = serde_json::from_value(serde_json::json!({
        "pk": {"S": "T#demo-tenant"}, "sk": {"S": "USER#u-admin"}
    }))
    .unwrap();
    let empty: serde_dynamo::Item = serde_json::from_value(serde_json::json!({})).unwrap();
    assert!(record_change(&empty, &user).is_none());
}

#[test]
fn the_queue_sample_carries_one_action_job() {
    let event: SqsEvent = serde_json::from_str(&sample("action-executor.json")).unwrap();
    let job = ActionJob::from_event_json(event.records[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(
        job.idempotency_key(),
        "demo-tenant/wf-birthday/cus-00000/Y2027/greeting-sms"
    );
    assert!(ActionJob::from_event_json("{\"detail\": {}}").is_none());
}

#[test]
fn the_schedule_sample_is_a_scheduled_event_without_a_clock_override() {
    let event: serde_json::Value = serde_json::from_str(&sample("trigger-scan.json")).unwrap();
    assert_eq!(event["detail-type"], "Scheduled Event");
    assert!(event.pointer("/detail/scan_at").is_none());
}
