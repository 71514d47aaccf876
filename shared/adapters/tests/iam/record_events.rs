//! record-events through `record_events::handle`: stream batches of a customer created, edited
//! (care entry re-planned, work workflows fired, one throttled), delivered again, and deleted,
//! each record shaped as the DynamoDB event source hands it over.

use std::collections::HashMap;

use aws_lambda_events::event::dynamodb::Event;
use aws_sdk_dynamodb::types::AttributeValue;
use crm_model::ports::{FixedClock, RecordStore, StoredRecord};
use crm_model::schema::Module;
use serde_json::{Map, Value, json};

use super::harness::Audited;
use super::scan::{birthday_sms_and_notification, sms_settings};
use super::seed::{Seed, at};
use super::support;

/// DynamoDB's typed JSON (`{"S": "…"}`), which stream events carry.
fn typed(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::S(s) => json!({"S": s}),
        AttributeValue::N(n) => json!({"N": n}),
        AttributeValue::Bool(b) => json!({"BOOL": b}),
        AttributeValue::Ss(v) => json!({"SS": v}),
        AttributeValue::Ns(v) => json!({"NS": v}),
        AttributeValue::L(items) => json!({"L": items.iter().map(typed).collect::<Vec<_>>()}),
        AttributeValue::M(map) => json!({"M": image(map)}),
        _ => json!({"NULL": true}),
    }
}

fn image(item: &HashMap<String, AttributeValue>) -> Map<String, Value> {
    item.iter().map(|(k, v)| (k.clone(), typed(v))).collect()
}

/// The stored item of a record, read without auditing (the event source reads the stream).
async fn item(seed: &Seed, id: &str) -> Option<HashMap<String, AttributeValue>> {
    seed.clients
        .dynamodb
        .get_item()
        .table_name(support::tables().records)
        .key("pk", AttributeValue::S(format!("T#{}#R#{id}", seed.tenant)))
        .key("sk", AttributeValue::S("RECORD".into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
}

/// One stream record of a change from `old` to `new` (either may be absent).
fn change(
    sequence: u64,
    old: Option<&HashMap<String, AttributeValue>>,
    new: Option<&HashMap<String, AttributeValue>>,
) -> Value {
    let name = match (old, new) {
        (None, Some(_)) => "INSERT",
        (Some(_), Some(_)) => "MODIFY",
        _ => "REMOVE",
    };
    let keys: Map<String, Value> = image(old.or(new).expect("an image"))
        .into_iter()
        .filter(|(k, _)| k == "pk" || k == "sk")
        .collect();
    let mut data = json!({"Keys": keys, "SequenceNumber": sequence.to_string(), "SizeBytes": 300,
        "StreamViewType": "NEW_AND_OLD_IMAGES", "ApproximateCreationDateTime": 1810429200});
    if let Some(old) = old {
        data["OldImage"] = Value::Object(image(old));
    }
    if let Some(new) = new {
        data["NewImage"] = Value::Object(image(new));
    }
    json!({"eventID": format!("ev-{}", uuid::Uuid::new_v4().simple()), "eventName": name,
        "eventVersion": "1.1", "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/crm-local-records/stream/2027",
        "dynamodb": data})
}

fn batch(records: Vec<Value>) -> Event {
    serde_json::from_value(json!({ "Records": records })).expect("a stream batch")
}

fn notify_on(trigger: Value) -> Value {
    json!({"module": "Customer", "name": "Báo", "trigger": trigger,
        "actions": [{"kind": "notification", "id": "tell", "name": "Báo", "notify_owner": true, "message": "#Name"}]})
}

pub async fn exercise(audited: &mut Audited) {
    let seed = Seed::new().await;
    sms_settings(&seed).await;
    let now = "2027-03-01T00:00:00Z";
    seed.active_workflow("wf-care", birthday_sms_and_notification(), now)
        .await;
    seed.active_workflow(
        "wf-created",
        notify_on(json!({"type": "record_event", "on": "created"})),
        now,
    )
    .await;
    let watched = json!({"type": "record_event", "on": "updated", "watched_fields": ["Rank"], "repeat_on_every_edit": true});
    seed.active_workflow("wf-gold", notify_on(watched), now)
        .await;
    let throttled = json!({"type": "record_event", "on": "updated", "repeat_on_every_edit": true, "throttle_minutes": 60});
    seed.active_workflow("wf-throttled", notify_on(throttled), now)
        .await;
    // Scores are read again and written on each change.
    seed.scoring_rule(now).await;

    let stores = audited.stores(&seed.schedule_table);
    let mut deps = record_events::Deps::aws(stores, audited.publisher());
    deps.clock = std::sync::Arc::new(FixedClock(at(now)));

    let fields = json!({"Name": "An", "Phone": seed.phone(), "Birthday": "1990-05-17", "Owner": "u-owner", "Rank": "Silver"});
    let id = seed.record("c1", Module::Customer, fields.clone()).await;
    let created = item(&seed, "c1").await;
    let inserted = batch(vec![change(100, None, created.as_ref())]);
    assert!(
        record_events::handle(&deps, &inserted)
            .await
            .batch_item_failures
            .is_empty()
    );
    // Lambda delivers a batch again after a timeout: handled once.
    record_events::handle(&deps, &inserted).await;

    let mut edited = fields;
    edited["Rank"] = json!("Gold");
    edited["Birthday"] = json!("1990-06-01");
    let record = StoredRecord {
        id: id.clone(),
        module: Module::Customer,
        fields: edited.as_object().expect("fields").clone(),
    };
    seed.stores
        .records
        .replace(&seed.tenant, &record, 1)
        .await
        .unwrap();
    let modified = item(&seed, "c1").await;
    seed.stores
        .records
        .delete(&seed.tenant, &id, 2)
        .await
        .unwrap();
    let events = batch(vec![
        change(200, created.as_ref(), modified.as_ref()),
        change(300, modified.as_ref(), None),
    ]);
    let response = record_events::handle(&deps, &events).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    approval_request(&seed, &deps).await;
}

/// A quote submitted for approval: the request's stream record notifies the approver, arms the
/// step's deadline and publishes the submission's action.
async fn approval_request(seed: &Seed, deps: &record_events::Deps) {
    use crm_model::approval::service::Approvals;
    let definition = json!({"module": "Quote", "name": "Duyệt chiết khấu",
        "trigger": {"type": "approval", "on_submit": ["tell"],
            "steps": [{"name": "Quản lý", "approvers": [{"type": "user", "user": "u-manager"}],
                       "deadline": {"hours": 12}}]},
        "actions": [{"kind": "notification", "id": "tell", "name": "Báo", "notify_owner": true, "message": "#Code"}]});
    seed.active_workflow("wf-approval", definition, "2027-01-01T00:00:00Z")
        .await;
    seed.record(
        "q1",
        Module::Quote,
        json!({"Code": "BG1", "Owner": "u-owner"}),
    )
    .await;
    let clock = FixedClock(at("2027-03-01T00:00:00Z"));
    let approvals = Approvals {
        approvals: &seed.stores.approvals,
        records: &seed.stores.records,
        workflows: &seed.stores.workflows,
        settings: &seed.stores.settings,
        users: &seed.stores.users,
        clock: &clock,
    };
    let owner = crm_model::record::service::Actor {
        tenant: seed.tenant.clone(),
        user: crm_model::ids::UserId::new("u-owner").unwrap(),
        role: crm_model::user::Role::Salesperson,
        access: crm_model::user::access::Access::everything(),
    };
    let quote = crm_model::ids::RecordId::new("q1").unwrap();
    let request = crm_model::ids::RecordId::new("r1").unwrap();
    approvals
        .submit(&owner, Module::Quote, &quote, None, request, "key".into())
        .await
        .unwrap();
    let submitted = seed
        .clients
        .dynamodb
        .get_item()
        .table_name(support::tables().records)
        .key("pk", AttributeValue::S(format!("T#{}#R#q1", seed.tenant)))
        .key("sk", AttributeValue::S("APPROVAL#r1".into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item;
    let events = batch(vec![change(400, None, submitted.as_ref())]);
    let response = record_events::handle(deps, &events).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
}
