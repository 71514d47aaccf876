//! Record changes against the emulator: care workflow entries follow the record, work workflows
//! fire on the right events exactly once per stream event, with the repeat toggle and throttle.

mod support;

use chrono::{DateTime, Utc};
use crm_adapters::dynamo::{DynamoScheduleStore, Stores};
use crm_adapters::events::EventBridgeJobPublisher;
use crm_model::ids::{RecordId, TenantId, UserId, WorkflowId};
use crm_model::ports::{FixedClock, RecordStore, ScheduleEntries, StoredRecord, UserDirectory};
use crm_model::schedule::record_events::{BatchCache, Change, RecordEvents};
use crm_model::schema::Module;
use crm_model::user::{Role, User};
use crm_model::workflow::service::Workflows;
use serde_json::{Value, json};
use support::JobProbe;

struct World {
    stores: Stores,
    /// The record-events function's own wiring (`record_events::Deps::aws`) over the emulator.
    deps: record_events::Deps,
    schedule: DynamoScheduleStore,
    tenant: TenantId,
    probe: JobProbe,
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

async fn world() -> World {
    let clients = support::clients().await;
    let stores = Stores::new(&clients.dynamodb, &support::tables());
    let schedule = DynamoScheduleStore::new(
        clients.dynamodb.clone(),
        support::fresh_schedule_table(&clients.dynamodb).await,
    );
    let publisher =
        EventBridgeJobPublisher::new(clients.eventbridge.clone(), support::automation_bus());
    let tenant = support::fresh_tenant();
    let probe = JobProbe::new(&clients, &tenant).await;
    let admin = User {
        id: UserId::new("u-admin").unwrap(),
        name: "Quản trị".into(),
        email: "admin@example.vn".into(),
        phone: None,
        team: None,
        role: Role::Administrator,
        manager: None,
        active: true,
    };
    stores.users.put(&tenant, &admin).await.unwrap();
    let deps = record_events::Deps::aws(
        Stores {
            schedule: schedule.clone(),
            ..stores.clone()
        },
        publisher,
    );
    World {
        stores,
        deps,
        schedule,
        tenant,
        probe,
    }
}

impl World {
    async fn workflow(&self, id: &str, definition: Value) -> WorkflowId {
        let clock = FixedClock(at("2027-01-01T00:00:00Z"));
        let cases = Workflows {
            workflows: &self.stores.workflows,
            settings: &self.stores.settings,
            users: &self.stores.users,
            schedule: &self.schedule,
            clock: &clock,
        };
        let id = WorkflowId::new(id).unwrap();
        let admin = UserId::new("u-admin").unwrap();
        cases
            .create(
                &self.tenant,
                &admin,
                id.clone(),
                serde_json::from_value(definition).unwrap(),
            )
            .await
            .unwrap();
        cases
            .activate(&self.tenant, &admin, &id, None)
            .await
            .unwrap();
        id
    }

    async fn handle(
        &self,
        event_id: &str,
        change: Change,
        now: &str,
    ) -> crm_model::schedule::record_events::Handled {
        let clock = FixedClock(at(now));
        let events = RecordEvents {
            clock: &clock,
            ..self.deps.record_events()
        };
        events
            .handle(
                &self.tenant,
                event_id,
                &change,
                None,
                &mut BatchCache::default(),
            )
            .await
            .unwrap()
    }
}

fn customer(id: &str, fields: Value) -> StoredRecord {
    StoredRecord {
        id: RecordId::new(id).unwrap(),
        module: Module::Customer,
        fields: fields.as_object().unwrap().clone(),
    }
}

fn notify_on(trigger: Value) -> Value {
    json!({
        "module": "Customer", "name": "Báo khi lên hạng",
        "trigger": trigger,
        "condition": {"type": "matching", "group": {"combine": "and", "rules": [
            {"field": "Rank", "op": "changed_to", "value": "Gold"}]}},
        "actions": [{"kind": "notification", "id": "tell", "name": "Báo", "users": ["u-admin"], "message": "#Name lên hạng Vàng"}]
    })
}

#[tokio::test]
async fn a_work_workflow_fires_once_per_event_even_when_the_batch_is_redelivered() {
    let w = world().await;
    w.workflow("wf-gold", notify_on(json!({"type": "record_event", "on": "updated", "watched_fields": ["Rank"], "repeat_on_every_edit": true}))).await;
    let silver = customer("c1", json!({"Name": "An", "Rank": "Silver"}));
    let gold = customer("c1", json!({"Name": "An", "Rank": "Gold"}));
    let change = Change::Modified {
        old: silver.clone(),
        new: gold.clone(),
    };
    let first = w
        .handle("evt-1", change.clone(), "2027-03-01T01:00:00Z")
        .await;
    assert_eq!((first.work_workflows_fired, first.jobs_published), (1, 1));
    let again = w.handle("evt-1", change, "2027-03-01T01:00:05Z").await;
    assert_eq!(
        (again.work_workflows_fired, again.redeliveries_ignored),
        (0, 1)
    );
    // An edit that leaves the rank alone is not this event.
    let renamed = customer("c1", json!({"Name": "An Nguyễn", "Rank": "Gold"}));
    let other = w
        .handle(
            "evt-2",
            Change::Modified {
                old: gold,
                new: renamed,
            },
            "2027-03-01T02:00:00Z",
        )
        .await;
    assert_eq!(other.work_workflows_fired, 0);
    let jobs = w.probe.jobs().await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        jobs[0].idempotency_key(),
        format!("{}/wf-gold/c1/Eevt-1/tell", w.tenant)
    );
    w.probe.remove().await;
}

#[tokio::test]
async fn without_repeat_a_record_runs_a_work_workflow_only_once_and_throttles_hold() {
    let w = world().await;
    w.workflow(
        "wf-once",
        notify_on(json!({"type": "record_event", "on": "updated"})),
    )
    .await;
    w.workflow("wf-throttled", notify_on(json!({"type": "record_event", "on": "updated", "repeat_on_every_edit": true, "throttle_minutes": 60}))).await;
    let silver = customer("c1", json!({"Name": "An", "Rank": "Silver"}));
    let gold = customer("c1", json!({"Name": "An", "Rank": "Gold"}));
    let up = || Change::Modified {
        old: silver.clone(),
        new: gold.clone(),
    };
    assert_eq!(
        w.handle("e1", up(), "2027-03-01T01:00:00Z")
            .await
            .work_workflows_fired,
        2
    );
    // Back to Gold 30 minutes later: "once" has run already, the throttle holds the other.
    assert_eq!(
        w.handle("e2", up(), "2027-03-01T01:30:00Z")
            .await
            .work_workflows_fired,
        0
    );
    // Two hours later the throttled one runs again; "once" never does.
    assert_eq!(
        w.handle("e3", up(), "2027-03-01T03:00:00Z")
            .await
            .work_workflows_fired,
        1
    );
    assert_eq!(w.probe.jobs().await.len(), 3);
    w.probe.remove().await;
}

#[tokio::test]
async fn record_changes_keep_care_entries_in_step() {
    let w = world().await;
    let workflow = w.workflow("wf-care", json!({
        "module": "Customer", "name": "Sinh nhật",
        "trigger": {"type": "time", "date_field": "Birthday", "recurrence": "yearly", "time_of_day": "08:00:00"},
        "actions": [{"kind": "notification", "id": "tell", "name": "Báo", "users": ["u-admin"], "message": "Sinh nhật #Name"}]
    })).await;
    let id = RecordId::new("c1").unwrap();
    let born = customer("c1", json!({"Name": "An", "Birthday": "1990-05-17"}));
    let created = w
        .handle("e1", Change::Inserted(born.clone()), "2027-03-01T00:00:00Z")
        .await;
    assert_eq!(created.entries_armed, 1);
    let entry = w
        .schedule
        .get(&w.tenant, &workflow, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.next.unwrap().fire_at, at("2027-05-17T01:00:00Z"));

    let moved = customer("c1", json!({"Name": "An", "Birthday": "1990-06-01"}));
    w.handle(
        "e2",
        Change::Modified {
            old: born,
            new: moved.clone(),
        },
        "2027-03-02T00:00:00Z",
    )
    .await;
    let entry = w
        .schedule
        .get(&w.tenant, &workflow, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.next.unwrap().fire_at, at("2027-06-01T01:00:00Z"));

    let cleared = customer("c1", json!({"Name": "An"}));
    let disarmed = w
        .handle(
            "e3",
            Change::Modified {
                old: moved,
                new: cleared.clone(),
            },
            "2027-03-03T00:00:00Z",
        )
        .await;
    assert_eq!(disarmed.entries_disarmed, 1);
    assert!(
        w.schedule
            .get(&w.tenant, &workflow, &id)
            .await
            .unwrap()
            .unwrap()
            .next
            .is_none()
    );

    w.handle("e4", Change::Removed(cleared), "2027-03-04T00:00:00Z")
        .await;
    assert!(
        w.schedule
            .get(&w.tenant, &workflow, &id)
            .await
            .unwrap()
            .is_none()
    );
    w.probe.remove().await;
}

#[tokio::test]
async fn a_scoring_rule_writes_the_score_once_per_change_and_schedules_its_flip() {
    use crm_model::ports::RecordStore;
    let w = world().await;
    crm_model::testing::add_number_fields(
        &w.stores.settings,
        &w.tenant,
        Module::Customer,
        &["Score"],
    )
    .await;
    let rule = w
        .workflow(
            "hot",
            json!({"module": "Customer", "name": "Khách tiềm năng",
                "trigger": {"type": "score", "score_field": "Score", "criteria": [
                    {"name": "Ở Hà Nội", "points": 20, "condition": {"type": "formula", "formula": "1",
                        "clauses": [{"field": "Province", "op": "equals", "value": "Hà Nội"}]}},
                    {"name": "Mua trong 90 ngày", "points": 30, "condition": {"type": "matching",
                        "group": {"combine": "and", "rules": [
                            {"field": "LastPurchaseDate", "op": "within_last_days", "value": 90}]}}}]}}),
        )
        .await;
    let an = customer(
        "c1",
        json!({"Name": "An", "Province": "Hà Nội", "LastPurchaseDate": "2027-02-01"}),
    );
    w.stores.records.create(&w.tenant, &an).await.unwrap();
    let handled = w
        .handle("e1", Change::Inserted(an.clone()), "2027-03-01T01:00:00Z")
        .await;
    assert_eq!((handled.records_scored, handled.scores_written), (1, 1));
    let id = RecordId::new("c1").unwrap();
    let stored = w.stores.records.get(&w.tenant, &id).await.unwrap().unwrap();
    assert_eq!(stored.value.fields["Score"], json!(50));
    assert_eq!(
        stored.value.fields["ScoreBreakdown"]["hot"]["criteria"][1],
        json!({"name": "Mua trong 90 ngày", "points": 30})
    );
    assert_eq!(stored.revision, 1, "a score is no one's edit");
    let again = w
        .handle("e1", Change::Inserted(an), "2027-03-01T01:00:00Z")
        .await;
    assert_eq!(
        again.scores_written, 0,
        "a redelivery finds the score right"
    );
    let entry = w
        .schedule
        .get(&w.tenant, &rule, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        entry.next.unwrap().fire_at,
        at("2027-05-02T17:00:00Z"),
        "bought on 2027-02-01: out of the last 90 days from 2027-05-03, Hanoi time"
    );
}

/// The stream record DynamoDB writes for an item: `old` and `new` images as stored.
fn stream_batch(
    sequence: &str,
    old: Option<serde_dynamo::Item>,
    new: serde_dynamo::Item,
) -> aws_lambda_events::event::dynamodb::Event {
    let mut record = aws_lambda_events::event::dynamodb::EventRecord::default();
    record.event_id = format!("ev-{sequence}");
    record.change.sequence_number = Some(sequence.to_owned());
    record.change.old_image = old.unwrap_or_default();
    record.change.new_image = new;
    let mut event = aws_lambda_events::event::dynamodb::Event::default();
    event.records = vec![record];
    event
}

/// The item of request r1 of quote q1 as the records table holds it.
async fn request_item(tenant: &TenantId) -> serde_dynamo::Item {
    use aws_sdk_dynamodb::types::AttributeValue;
    let item = support::clients()
        .await
        .dynamodb
        .get_item()
        .table_name(support::tables().records)
        .key("pk", AttributeValue::S(format!("T#{tenant}#R#q1")))
        .key("sk", AttributeValue::S("APPROVAL#r1".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    serde_dynamo::Item::from(item)
}

#[tokio::test]
async fn an_approval_request_written_to_the_table_is_followed_up_once_from_its_stream_images() {
    use crm_model::approval::service::{Approvals, DecisionInput, Verdict};
    use crm_model::ports::NotificationInbox;
    use crm_model::record::service::Actor;
    let w = world().await;
    for (id, manager) in [("u-sales", Some("u-lead")), ("u-lead", None)] {
        let user = User {
            id: UserId::new(id).unwrap(),
            name: id.into(),
            email: format!("{id}@example.vn"),
            phone: None,
            team: None,
            role: Role::Salesperson,
            manager: manager.map(|m| UserId::new(m).unwrap()),
            active: true,
        };
        w.stores.users.put(&w.tenant, &user).await.unwrap();
    }
    let workflow = w
        .workflow(
            "wf-discount",
            json!({"module": "Quote", "name": "Duyệt chiết khấu",
                "trigger": {"type": "approval",
                    "steps": [{"name": "Trưởng nhóm", "approvers": [{"type": "submitter_manager"}],
                               "deadline": {"hours": 24, "escalate": true}}],
                    "on_submit": ["tell"], "on_approve": ["tell"]},
                "actions": [{"kind": "notification", "id": "tell", "name": "Báo", "notify_owner": true, "message": "#Code"}]}),
        )
        .await;
    let quote = StoredRecord {
        id: RecordId::new("q1").unwrap(),
        module: Module::Quote,
        fields: json!({"Code": "BG1", "Owner": "u-sales"})
            .as_object()
            .unwrap()
            .clone(),
    };
    w.stores.records.create(&w.tenant, &quote).await.unwrap();
    let clock = FixedClock(at("2027-03-01T01:00:00Z"));
    let approvals = Approvals {
        approvals: &w.stores.approvals,
        records: &w.stores.records,
        workflows: &w.stores.workflows,
        settings: &w.stores.settings,
        users: &w.stores.users,
        clock: &clock,
    };
    let sales = Actor {
        tenant: w.tenant.clone(),
        user: UserId::new("u-sales").unwrap(),
        role: Role::Salesperson,
        access: crm_model::user::access::Access::everything(),
    };
    let request = RecordId::new("r1").unwrap();
    approvals
        .submit(
            &sales,
            Module::Quote,
            &quote.id,
            None,
            request.clone(),
            "key".into(),
        )
        .await
        .unwrap();
    let submitted = request_item(&w.tenant).await;
    let event = stream_batch("100", None, submitted.clone());
    for _ in 0..2 {
        // Delivered twice, as the stream may.
        let response = record_events::handle(&w.deps, &event).await;
        assert!(response.batch_item_failures.is_empty(), "{response:?}");
    }
    let lead = UserId::new("u-lead").unwrap();
    let inbox = w
        .stores
        .inbox
        .list(
            &w.tenant,
            &lead,
            false,
            &crm_model::ports::PageRequest::first(10),
        )
        .await
        .unwrap();
    assert_eq!(inbox.items.len(), 1, "told once: {:?}", inbox.items);
    let entry = w
        .schedule
        .get(&w.tenant, &workflow, &quote.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        entry.next.unwrap().fire_at,
        at("2027-03-02T01:00:00Z"),
        "the deadline armed"
    );

    let lead_actor = Actor {
        user: lead.clone(),
        ..sales.clone()
    };
    let input = DecisionInput {
        verdict: Verdict::Approve,
        revenue: None,
        comment: None,
    };
    approvals
        .decide(&lead_actor, Module::Quote, &quote.id, &request, input)
        .await
        .unwrap();
    let approved = request_item(&w.tenant).await;
    let event = stream_batch("200", Some(submitted), approved);
    let response = record_events::handle(&w.deps, &event).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let entry = w
        .schedule
        .get(&w.tenant, &workflow, &quote.id)
        .await
        .unwrap()
        .unwrap();
    assert!(entry.next.is_none(), "decided: the deadline disarmed");
    let mut causes: Vec<String> = w.probe.jobs().await.into_iter().map(|j| j.cause).collect();
    causes.sort();
    causes.dedup();
    assert_eq!(causes, ["r1.approved", "r1.submitted"]);
}
