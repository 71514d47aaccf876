//! The trigger scan against the emulator, through the function's own wiring: what only AWS
//! shows. Backfill on activation and one firing at eight read back from an SQS queue fed by the
//! real bus, overlapping scans racing on real conditional writes (a job published again only
//! under its own key), recovery from a scan that died before claiming, and an item of the due
//! index that reads as nothing set aside while the rest fires. The scan's rules (re-scheduling after an edit, deactivation,
//! catch-up, activation at noon) are tested over the in-memory stores in
//! `shared/model/tests/scan.rs`.

mod support;

use chrono::{DateTime, Utc};
use crm_adapters::dynamo::{DynamoScheduleStore, Stores};
use crm_adapters::events::EventBridgeJobPublisher;
use crm_model::ids::{RecordId, SettingId, TenantId, UserId, WorkflowId};
use crm_model::ports::{
    BatchOutcome, DueIndex, FixedClock, JobPublisher, PageRequest, PublishError, RecordStore,
    RunLedger, ScheduleEntries, SettingsStore, StoredRecord, UserDirectory,
};
use crm_model::schedule::scan::{ScanReport, Scanner, ShardGroup};
use crm_model::schedule::{ActionJob, due_shard};
use crm_model::settings::{Setting, SmsGateway, SmsProvider};
use crm_model::template::SmsTemplate;
use crm_model::user::{Role, User};
use crm_model::workflow::WorkflowDefinition;
use crm_model::workflow::service::Workflows;
use serde_json::json;
use support::JobProbe;

struct World {
    stores: Stores,
    /// The scan function's own wiring (`trigger_scan::Deps::aws`) over the emulator.
    deps: trigger_scan::Deps,
    schedule: DynamoScheduleStore,
    schedule_table: String,
    dynamodb: aws_sdk_dynamodb::Client,
    publisher: EventBridgeJobPublisher,
    tenant: TenantId,
    probe: JobProbe,
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn admin() -> UserId {
    UserId::new("u-admin").unwrap()
}

async fn world() -> World {
    let clients = support::clients().await;
    let tables = support::tables();
    let stores = Stores::new(&clients.dynamodb, &tables);
    let schedule_table = support::fresh_schedule_table(&clients.dynamodb).await;
    let schedule = DynamoScheduleStore::new(clients.dynamodb.clone(), &schedule_table);
    let publisher =
        EventBridgeJobPublisher::new(clients.eventbridge.clone(), support::automation_bus());
    let tenant = support::fresh_tenant();
    let probe = JobProbe::new(&clients, &tenant).await;
    let user = User {
        id: admin(),
        name: "Quản trị".into(),
        email: "admin@example.vn".into(),
        phone: None,
        team: None,
        role: Role::Administrator,
        manager: None,
        active: true,
    };
    stores.users.put(&tenant, &user).await.unwrap();
    let provider = Setting::SmsProvider(SmsProvider {
        name: "SNS".into(),
        gateway: SmsGateway::Sns {
            sender_id: "CRM".into(),
        },
    });
    let template = Setting::SmsTemplate(SmsTemplate {
        name: "Sinh nhật".into(),
        module: crm_model::schema::Module::Customer,
        body: "Chúc mừng sinh nhật #Name".into(),
    });
    stores
        .settings
        .create(&tenant, &SettingId::new("sms").unwrap(), &provider)
        .await
        .unwrap();
    stores
        .settings
        .create(&tenant, &SettingId::new("sms-birthday").unwrap(), &template)
        .await
        .unwrap();
    let deps = trigger_scan::Deps::aws(
        Stores {
            schedule: schedule.clone(),
            ..stores.clone()
        },
        publisher.clone(),
    );
    World {
        stores,
        deps,
        schedule,
        schedule_table,
        dynamodb: clients.dynamodb.clone(),
        publisher,
        tenant,
        probe,
    }
}

fn birthday_definition() -> WorkflowDefinition {
    serde_json::from_value(json!({
        "module": "Customer", "name": "Sinh nhật",
        "trigger": {"type": "time", "date_field": "Birthday", "recurrence": "yearly", "time_of_day": "08:00:00",
                    "catch_up": {"policy": "latest_only", "max_lateness_minutes": 720}},
        "condition": {"type": "matching", "group": {"combine": "and", "rules": [{"field": "Phone", "op": "is_not_empty"}]}},
        "actions": [
            {"kind": "sms", "id": "sms", "name": "SMS", "provider": "sms", "recipient_fields": [{"field": "Phone"}], "template": "sms-birthday"},
            {"kind": "notification", "id": "tell", "name": "Báo", "notify_owner": true, "message": "Sinh nhật #Name"}
        ]
    }))
    .unwrap()
}

impl World {
    fn use_cases<'a>(&'a self, clock: &'a FixedClock) -> Workflows<'a> {
        Workflows {
            workflows: &self.stores.workflows,
            settings: &self.stores.settings,
            users: &self.stores.users,
            schedule: &self.schedule,
            clock,
        }
    }

    async fn active_workflow(&self, id: &str, now: &str) -> WorkflowId {
        let clock = FixedClock(at(now));
        let id = WorkflowId::new(id).unwrap();
        let cases = self.use_cases(&clock);
        cases
            .create(&self.tenant, &admin(), id.clone(), birthday_definition())
            .await
            .unwrap();
        cases
            .activate(&self.tenant, &admin(), &id, None)
            .await
            .unwrap();
        id
    }

    async fn customer(&self, id: &str, fields: serde_json::Value) -> RecordId {
        let record = StoredRecord {
            id: RecordId::new(id).unwrap(),
            module: crm_model::schema::Module::Customer,
            fields: fields.as_object().unwrap().clone(),
        };
        self.stores
            .records
            .create(&self.tenant, &record)
            .await
            .unwrap();
        record.id
    }

    async fn scan_with(
        &self,
        now: &str,
        publisher: &dyn JobPublisher,
    ) -> Result<ScanReport, crm_model::schedule::scan::ScanError> {
        let clock = FixedClock(at(now));
        Scanner {
            publisher,
            maintenance_pages: 20,
            ..self.deps.scanner(&clock, ShardGroup::ALL)
        }
        .run()
        .await
    }

    async fn scan(&self, now: &str) -> ScanReport {
        self.scan_with(now, &self.publisher).await.unwrap()
    }
}

#[tokio::test]
async fn a_birthday_fires_once_at_eight_for_matching_records_only() {
    let w = world().await;
    w.customer(
        "c-today",
        json!({"Name": "An", "Phone": "0912345678", "Birthday": "1990-05-17"}),
    )
    .await;
    w.customer(
        "c-tomorrow",
        json!({"Name": "Bình", "Phone": "0912345679", "Birthday": "1991-05-18"}),
    )
    .await;
    w.customer(
        "c-no-phone",
        json!({"Name": "Chi", "Birthday": "1992-05-17"}),
    )
    .await;
    w.customer(
        "c-no-birthday",
        json!({"Name": "Dũng", "Phone": "0912345670"}),
    )
    .await;
    // Activated the evening before; its backfill runs with the next scan.
    w.active_workflow("wf-birthday", "2027-05-16T12:00:00Z")
        .await;
    let backfill = w.scan("2027-05-16T12:05:00Z").await;
    assert_eq!(
        (backfill.entries_armed, backfill.maintenance_finished),
        (3, 1),
        "{backfill:?}"
    );
    assert_eq!(backfill.occurrences_fired, 0);

    // 07:59 local (00:59 UTC): nothing yet.
    assert_eq!(w.scan("2027-05-17T00:59:00Z").await.due_pairs, 0);
    // 08:00 local: An fires; Chi is due but has no phone.
    let eight = w.scan("2027-05-17T01:00:00Z").await;
    assert_eq!(
        (
            eight.due_pairs,
            eight.occurrences_fired,
            eight.condition_not_met
        ),
        (2, 1, 1),
        "{eight:?}"
    );
    assert_eq!(eight.jobs_published, 2);
    assert_eq!(eight.index_items_read, 2);
    assert_eq!(eight.records_read, 2);
    // Scanning again (overlap, retry) fires nothing more.
    let again = w.scan("2027-05-17T01:05:00Z").await;
    assert_eq!((again.due_pairs, again.occurrences_fired), (0, 0));

    let jobs = w.probe.jobs().await;
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    let mut keys: Vec<String> = jobs.iter().map(ActionJob::idempotency_key).collect();
    keys.sort();
    let t = &w.tenant;
    assert_eq!(
        keys,
        [
            format!("{t}/wf-birthday/c-today/Y2027/sms"),
            format!("{t}/wf-birthday/c-today/Y2027/tell")
        ]
    );

    // The next day Bình's turn comes; An is armed for 2028.
    let next_day = w.scan("2027-05-18T01:00:00Z").await;
    assert_eq!(next_day.occurrences_fired, 1);
    let an = w
        .schedule
        .get(
            t,
            &WorkflowId::new("wf-birthday").unwrap(),
            &RecordId::new("c-today").unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(an.next.unwrap().key.to_string(), "Y2028");
    w.probe.remove().await;
}

#[tokio::test]
async fn racing_scans_fire_each_occurrence_once() {
    let w = world().await;
    for i in 0..20 {
        w.customer(
            &format!("c{i:02}"),
            json!({"Name": format!("Khách {i}"), "Phone": "0912345678", "Birthday": "1990-05-17"}),
        )
        .await;
    }
    w.active_workflow("wf-race", "2027-05-16T12:00:00Z").await;
    w.scan("2027-05-16T12:05:00Z").await;
    // Three scans at once (clocks a few seconds apart, as overlapping invocations would be).
    let (a, b, c) = tokio::join!(
        w.scan("2027-05-17T01:00:00Z"),
        w.scan("2027-05-17T01:00:05Z"),
        w.scan("2027-05-17T01:00:10Z")
    );
    assert_eq!(
        a.occurrences_fired + b.occurrences_fired + c.occurrences_fired,
        20,
        "{a:?}\n{b:?}\n{c:?}"
    );
    // Publish first, claim after: a scan that loses a claim has published that occurrence's
    // jobs too, under the same keys, which the executor's ledger runs once.
    let lost = a.lost_races + b.lost_races + c.lost_races;
    let jobs = w.probe.jobs().await;
    assert_eq!(jobs.len() as u64, 40 + 2 * lost, "{a:?}\n{b:?}\n{c:?}");
    let mut keys: Vec<String> = jobs.iter().map(ActionJob::idempotency_key).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 40, "two keys per occurrence, no other");
    w.probe.remove().await;
}

/// A bus that does not answer: the scan stops before claiming anything.
struct DownBus;

#[async_trait::async_trait]
impl JobPublisher for DownBus {
    async fn publish_batch(&self, _: &[ActionJob]) -> Result<BatchOutcome, PublishError> {
        Err(PublishError::Unavailable("the bus did not answer".into()))
    }
}

#[tokio::test]
async fn a_scan_that_dies_before_claiming_loses_nothing_and_the_next_one_fires_once() {
    let w = world().await;
    w.customer(
        "c1",
        json!({"Name": "An", "Phone": "0912345678", "Birthday": "1990-05-17"}),
    )
    .await;
    w.active_workflow("wf-crash", "2027-05-16T12:00:00Z").await;
    w.scan("2027-05-16T12:05:00Z").await;
    assert!(w.scan_with("2027-05-17T01:00:00Z", &DownBus).await.is_err());
    assert!(w.probe.jobs().await.is_empty());
    let recovery = w.scan("2027-05-17T01:05:00Z").await;
    assert_eq!(
        (recovery.occurrences_fired, recovery.jobs_published),
        (1, 2),
        "{recovery:?}"
    );
    assert_eq!(w.probe.jobs().await.len(), 2);
    let later = w.scan("2027-05-17T01:10:00Z").await;
    assert_eq!((later.due_pairs, later.jobs_published), (0, 0));
    w.probe.remove().await;
}

#[tokio::test]
async fn an_unreadable_index_item_is_set_aside_and_shown_while_the_rest_fires() {
    let w = world().await;
    let an = w
        .customer(
            "c1",
            json!({"Name": "An", "Phone": "0912345678", "Birthday": "1990-05-17"}),
        )
        .await;
    let workflow = w.active_workflow("wf-poison", "2027-05-16T12:00:00Z").await;
    w.scan("2027-05-16T12:05:00Z").await;
    // In An's shard, due first: an entry whose revision is text, as a hand edit leaves it.
    let shard = due_shard(&w.tenant, &workflow, &an, w.schedule.shards());
    let t = &w.tenant;
    let s = |v: String| aws_sdk_dynamodb::types::AttributeValue::S(v);
    w.dynamodb
        .put_item()
        .table_name(&w.schedule_table)
        .item("pk", s(format!("T#{t}#W#{workflow}")))
        .item("sk", s("R#c-broken".into()))
        .item("tenant", s(t.to_string()))
        .item("workflow", s(workflow.to_string()))
        .item("record", s("c-broken".into()))
        .item("version", s("one".into()))
        .item("revision", s("two".into()))
        .item("due_shard", s(format!("S{shard:02}")))
        .item(
            "due_at",
            s(format!("2027-05-17T00:00:00Z#E#{t}/{workflow}/c-broken")),
        )
        .send()
        .await
        .unwrap();
    let eight = w.scan("2027-05-17T01:00:00Z").await;
    assert_eq!(
        (
            eight.items_set_aside,
            eight.occurrences_fired,
            eight.jobs_published
        ),
        (1, 1, 2),
        "{eight:?}"
    );
    assert_eq!(w.probe.jobs().await.len(), 2, "An is greeted at eight");
    let runs = w
        .stores
        .runs
        .history(t, &workflow, &PageRequest::first(10))
        .await
        .unwrap()
        .items;
    assert!(
        runs.iter().any(|run| run.record.as_str() == "c-broken"
            && run
                .error
                .as_deref()
                .is_some_and(|e| e.contains("set aside"))),
        "shown in the run history: {runs:?}"
    );
    let next = w.scan("2027-05-17T01:05:00Z").await;
    assert_eq!(
        (next.due_pairs, next.items_set_aside),
        (0, 0),
        "out of the index"
    );
    w.probe.remove().await;
}
