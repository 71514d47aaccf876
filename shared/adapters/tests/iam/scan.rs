//! trigger-scan through `trigger_scan::handle`: a backfill, a scan whose jobs the bus refuses
//! (the entry held, its failed runs written), a scan that dies with the bus down, the next scan
//! firing what is due, and the cleanup after a deactivation.

use crm_model::ports::{BatchOutcome, FixedClock, JobPublisher, PublishError};
use crm_model::schedule::ActionJob;
use crm_model::schedule::scan::ShardGroup;
use crm_model::schema::Module;
use serde_json::json;

use super::harness::Audited;
use super::seed::{Seed, at};

/// A bus that is down: the scan stops before claiming anything.
struct DownBus;

#[async_trait::async_trait]
impl JobPublisher for DownBus {
    async fn publish_batch(&self, _: &[ActionJob]) -> Result<BatchOutcome, PublishError> {
        Err(PublishError::Unavailable("the bus did not answer".into()))
    }
}

/// A bus that refuses every entry: the scan holds the entry and records why.
struct RefusingBus;

#[async_trait::async_trait]
impl JobPublisher for RefusingBus {
    async fn publish_batch(&self, batch: &[ActionJob]) -> Result<BatchOutcome, PublishError> {
        Ok(BatchOutcome {
            calls: 1,
            refused: (0..batch.len())
                .map(|i| (i, "InternalException: refused".to_owned()))
                .collect(),
        })
    }
}

pub fn birthday_sms_and_notification() -> serde_json::Value {
    json!({
        "module": "Customer", "name": "Sinh nhật",
        "trigger": {"type": "time", "date_field": "Birthday", "recurrence": "yearly", "time_of_day": "08:00:00"},
        "condition": {"type": "matching", "group": {"combine": "and", "rules": [{"field": "Phone", "op": "is_not_empty"}]}},
        "actions": [
            {"kind": "sms", "id": "sms", "name": "SMS", "provider": "sms", "recipient_fields": [{"field": "Phone"}], "template": "sms-birthday"},
            {"kind": "notification", "id": "tell", "name": "Báo", "notify_owner": true, "message": "Sinh nhật #Name"}
        ]
    })
}

pub async fn sms_settings(seed: &Seed) {
    seed.setting(
        "sms",
        json!({"kind": "sms_provider", "name": "SNS", "gateway": {"type": "sns", "sender_id": "CRM"}}),
    )
    .await;
    seed.setting("sms-birthday", json!({"kind": "sms_template", "name": "HPBD", "module": "Customer", "body": "Chúc mừng sinh nhật #Name!"})).await;
}

fn scan_at(instant: &str) -> serde_json::Value {
    json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {"scan_at": instant}})
}

pub async fn exercise(audited: &mut Audited) {
    let seed = Seed::new().await;
    sms_settings(&seed).await;
    let phone = seed.phone();
    for (id, birthday) in [("c-today", "1990-05-17"), ("c-other", "1991-05-18")] {
        let fields = json!({"Name": id, "Phone": phone, "Birthday": birthday, "Owner": "u-owner"});
        seed.record(id, Module::Customer, fields).await;
    }
    seed.record(
        "c-no-phone",
        Module::Customer,
        json!({"Name": "Chi", "Birthday": "1992-05-17"}),
    )
    .await;
    let workflow = seed
        .active_workflow(
            "wf-birthday",
            birthday_sms_and_notification(),
            "2027-05-16T12:00:00Z",
        )
        .await;
    // Its backfill scores the customers.
    seed.scoring_rule("2027-05-16T12:00:00Z").await;

    let stores = audited.stores(&seed.schedule_table);
    let mut deps = trigger_scan::Deps::aws(stores, audited.publisher());
    // The event's `scan_at` picks the scan's instant, as local runs do.
    deps.allow_clock_override = true;

    let backfill = trigger_scan::handle(&deps, &scan_at("2027-05-16T12:05:00Z"))
        .await
        .unwrap();
    assert_eq!(backfill.entries_armed, 3, "{backfill:?}");

    let eight = FixedClock(at("2027-05-17T01:00:00Z"));
    let refused = crm_model::schedule::scan::Scanner {
        publisher: &RefusingBus,
        ..deps.scanner(&eight, ShardGroup::ALL)
    }
    .run()
    .await
    .unwrap();
    assert_eq!(refused.entries_held, 1, "{refused:?}");
    let retry = FixedClock(at("2027-05-17T01:05:00Z"));
    let killed = crm_model::schedule::scan::Scanner {
        publisher: &DownBus,
        ..deps.scanner(&retry, ShardGroup::ALL)
    }
    .run()
    .await;
    assert!(killed.is_err(), "the bus is down");
    let recovery = trigger_scan::handle(&deps, &scan_at("2027-05-17T01:05:00Z"))
        .await
        .unwrap();
    assert_eq!(
        (recovery.occurrences_fired, recovery.jobs_published),
        (1, 2),
        "{recovery:?}"
    );

    seed.deactivate(&workflow, "2027-05-17T02:00:00Z").await;
    let cleanup = trigger_scan::handle(&deps, &scan_at("2027-05-17T02:05:00Z"))
        .await
        .unwrap();
    assert_eq!(cleanup.maintenance_finished, 1, "{cleanup:?}");
}
