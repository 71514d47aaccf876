//! The DynamoDB workflow store against the local emulator: tenant scoping, conditional creates,
//! optimistic concurrency, versions, and the active care workflow limit under concurrency.

mod support;

use chrono::{DateTime, Utc};
use crm_adapters::dynamo::DynamoWorkflowStore;
use crm_model::ids::{TenantId, UserId, WorkflowId};
use crm_model::ports::{ActiveChange, StoreError, WorkflowStore};
use crm_model::schema::Module;
use crm_model::workflow::{
    MAX_ACTIVE_CARE_WORKFLOWS_PER_MODULE, Stamp, Workflow, WorkflowDefinition, WorkflowStatus,
};
use serde_json::json;

async fn store() -> DynamoWorkflowStore {
    let clients = support::clients().await;
    DynamoWorkflowStore::new(clients.dynamodb, support::tables().settings)
}

fn stamp() -> Stamp {
    Stamp {
        by: UserId::new("u-admin").unwrap(),
        at: DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap(),
    }
}

fn birthday_sms(name: &str) -> WorkflowDefinition {
    serde_json::from_value(json!({
        "module": "Customer",
        "name": name,
        "trigger": {"type": "time", "date_field": "Birthday", "recurrence": "yearly",
                    "time_of_day": "08:00:00", "feb29": "mar1"},
        "condition": {"type": "matching", "group": {"combine": "and", "rules": [
            {"field": "Phone", "op": "is_not_empty"},
            {"field": "LoyaltyPoints", "op": "between", "value": [100, 2000]}
        ]}},
        "actions": [{"kind": "sms", "id": "a1", "name": "SMS", "provider": "sms-main",
                     "recipient_fields": [{"field": "Phone"}], "template": "sms-birthday"},
                    {"kind": "update_fields", "id": "a2", "name": "Ghi chú", "values": [
                        {"field": "Rank", "value": {"type": "literal", "value": "Silver"}},
                        {"field": "Description", "value": {"type": "clear"}}]}]
    }))
    .unwrap()
}

fn new_workflow(tenant: &TenantId, id: &str) -> Workflow {
    Workflow::new(
        WorkflowId::new(id).unwrap(),
        tenant.clone(),
        birthday_sms("Chúc mừng sinh nhật"),
        stamp(),
    )
}

#[tokio::test]
async fn a_created_workflow_reads_back_identically_for_its_tenant_only() {
    let store = store().await;
    let tenant = support::fresh_tenant();
    let workflow = new_workflow(&tenant, "wf-1");
    let created = store.create(&workflow).await.unwrap();
    assert_eq!(created.revision, 1);

    let read = store.get(&tenant, &workflow.id).await.unwrap().unwrap();
    assert_eq!(read.value, workflow);
    assert_eq!(read.revision, 1);

    let stranger = support::fresh_tenant();
    assert!(store.get(&stranger, &workflow.id).await.unwrap().is_none());
    assert!(
        store
            .get_version(&stranger, &workflow.id, 1)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn creating_the_same_id_twice_is_refused_and_changes_nothing() {
    let store = store().await;
    let tenant = support::fresh_tenant();
    let first = new_workflow(&tenant, "wf-dup");
    store.create(&first).await.unwrap();
    let mut second = new_workflow(&tenant, "wf-dup");
    second.definition.name = "Khác".into();
    assert!(matches!(
        store.create(&second).await,
        Err(StoreError::AlreadyExists)
    ));
    let read = store.get(&tenant, &first.id).await.unwrap().unwrap();
    assert_eq!(read.value.definition.name, "Chúc mừng sinh nhật");
}

#[tokio::test]
async fn a_stale_revision_is_a_conflict_and_a_missing_workflow_is_not_found() {
    let store = store().await;
    let tenant = support::fresh_tenant();
    let workflow = new_workflow(&tenant, "wf-occ");
    store.create(&workflow).await.unwrap();
    let (edited, _) = workflow.edit(birthday_sms("Lần 1"), stamp()).unwrap();
    let saved = store.save(&edited, 1, ActiveChange::None).await.unwrap();
    assert_eq!(saved.revision, 2);
    let (stale, _) = workflow.edit(birthday_sms("Lần 2"), stamp()).unwrap();
    let err = store.save(&stale, 1, ActiveChange::None).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { expected: 1 }),
        "{err:?}"
    );
    let read = store.get(&tenant, &workflow.id).await.unwrap().unwrap();
    assert_eq!(
        (read.value.definition.name.as_str(), read.revision),
        ("Lần 1", 2)
    );

    let ghost = new_workflow(&tenant, "wf-ghost");
    let err = store.save(&ghost, 1, ActiveChange::None).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
}

#[tokio::test]
async fn editing_after_activation_keeps_every_version_readable() {
    let store = store().await;
    let tenant = support::fresh_tenant();
    let workflow = new_workflow(&tenant, "wf-versions");
    store.create(&workflow).await.unwrap();
    let active = workflow.activate(stamp()).unwrap();
    let activate = ActiveChange::Activate {
        kind: crm_model::workflow::WorkflowKind::Care,
        module: Module::Customer,
        limit: 10,
    };
    store.save(&active, 1, activate).await.unwrap();
    let (v2, new_version) = active.edit(birthday_sms("Phiên bản 2"), stamp()).unwrap();
    assert!(new_version);
    store.save(&v2, 2, ActiveChange::None).await.unwrap();

    let v1 = store
        .get_version(&tenant, &workflow.id, 1)
        .await
        .unwrap()
        .unwrap();
    let v2_read = store
        .get_version(&tenant, &workflow.id, 2)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v1.name, "Chúc mừng sinh nhật");
    assert_eq!(v2_read.name, "Phiên bản 2");
    let head = store.get(&tenant, &workflow.id).await.unwrap().unwrap();
    assert_eq!(
        (head.value.version, head.value.status),
        (2, WorkflowStatus::Active)
    );
}

#[tokio::test]
async fn fifty_concurrent_activations_leave_exactly_ten_active() {
    let store = store().await;
    let tenant = support::fresh_tenant();
    let mut workflows = Vec::new();
    for i in 0..50 {
        let workflow = new_workflow(&tenant, &format!("wf-race-{i:02}"));
        store.create(&workflow).await.unwrap();
        workflows.push(workflow);
    }
    let activations = workflows.iter().map(|workflow| {
        let store = store.clone();
        let active = workflow.activate(stamp()).unwrap();
        tokio::spawn(async move {
            let change = ActiveChange::Activate {
                kind: crm_model::workflow::WorkflowKind::Care,
                module: Module::Customer,
                limit: MAX_ACTIVE_CARE_WORKFLOWS_PER_MODULE,
            };
            store.save(&active, 1, change).await
        })
    });
    let mut activated = 0;
    let mut refused = 0;
    for handle in activations.collect::<Vec<_>>() {
        match handle.await.unwrap() {
            Ok(_) => activated += 1,
            Err(StoreError::LimitReached { .. }) => refused += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((activated, refused), (10, 40));
    let mut active_now = 0;
    for workflow in &workflows {
        let read = store.get(&tenant, &workflow.id).await.unwrap().unwrap();
        if read.value.status == WorkflowStatus::Active {
            active_now += 1;
        }
    }
    assert_eq!(active_now, 10);

    // Deactivating one frees exactly one place.
    let mut active = Vec::new();
    let mut inactive = Vec::new();
    for workflow in &workflows {
        let read = store.get(&tenant, &workflow.id).await.unwrap().unwrap();
        if read.value.status == WorkflowStatus::Active {
            active.push(read);
        } else {
            inactive.push(read);
        }
    }
    let leaving = &active[0];
    let deactivate = ActiveChange::Deactivate {
        kind: crm_model::workflow::WorkflowKind::Care,
        module: Module::Customer,
    };
    let off = leaving
        .value
        .deactivate(stamp(), crm_model::workflow::QueuedJobs::Cancel)
        .unwrap();
    store
        .save(&off, leaving.revision, deactivate)
        .await
        .unwrap();
    let activate = ActiveChange::Activate {
        kind: crm_model::workflow::WorkflowKind::Care,
        module: Module::Customer,
        limit: 10,
    };
    let first = &inactive[0];
    let on = first.value.activate(stamp()).unwrap();
    store.save(&on, first.revision, activate).await.unwrap();
    let second = &inactive[1];
    let on = second.value.activate(stamp()).unwrap();
    let err = store
        .save(&on, second.revision, activate)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::LimitReached { .. }), "{err:?}");
}
