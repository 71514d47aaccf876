//! The workflow store: conditional creates, optimistic concurrency, versions, the active care
//! limit applied atomically with the save, listing and deletion.

use serde_json::json;

use super::{Tenants, all_pages, at, second_page, user};
use crate::ids::{TenantId, WorkflowId};
use crate::schema::Module;
use crate::store::{PageRequest, Revisioned, StoreError};
use crate::workflow::ActiveChange;
use crate::workflow::store::{WorkflowCatalog, WorkflowFilter};
use crate::workflow::{Stamp, Workflow, WorkflowDefinition, WorkflowKind, WorkflowStatus};

fn stamp() -> Stamp {
    Stamp {
        by: user("u-admin"),
        at: at(0),
    }
}

fn definition(module: Module, name: &str) -> WorkflowDefinition {
    let mut definition: WorkflowDefinition = serde_json::from_value(json!({
        "module": "Customer",
        "name": name,
        "trigger": {"type": "time", "date_field": "Birthday", "recurrence": "yearly",
                    "time_of_day": "08:00:00"},
        "actions": [{"kind": "notification", "id": "a1", "name": "Báo", "notify_owner": true,
                     "message": "Sinh nhật #Name"}]
    }))
    .expect("a valid workflow definition");
    definition.module = module;
    definition
}

fn workflow(tenant: &TenantId, id: &str, module: Module) -> Workflow {
    let id = WorkflowId::new(id).expect("a valid workflow id");
    Workflow::new(id, tenant.clone(), definition(module, "Sinh nhật"), stamp())
}

async fn version_of(
    store: &dyn WorkflowCatalog,
    tenant: &TenantId,
    id: &WorkflowId,
    version: u32,
) -> Option<WorkflowDefinition> {
    let read = store.get_version(tenant, id, version).await;
    read.expect("get a workflow version")
}

async fn created(store: &dyn WorkflowCatalog, workflow: &Workflow) -> Revisioned<Workflow> {
    store
        .create(workflow)
        .await
        .unwrap_or_else(|e| panic!("creating {} failed: {e:?}", workflow.id))
}

async fn stored(store: &dyn WorkflowCatalog, workflow: &Workflow) -> Revisioned<Workflow> {
    store
        .get(&workflow.tenant, &workflow.id)
        .await
        .expect("get a workflow")
        .unwrap_or_else(|| panic!("{} should be stored", workflow.id))
}

/// A work workflow (record events) of `module`.
fn work_workflow(tenant: &TenantId, id: &str, module: Module) -> Workflow {
    let mut definition = definition(module, "Khách mới");
    definition.trigger = serde_json::from_value(json!({"type": "record_event", "on": "created"}))
        .expect("a valid record-event trigger");
    let id = WorkflowId::new(id).expect("a valid workflow id");
    Workflow::new(id, tenant.clone(), definition, stamp())
}

/// Activates the stored `workflow` against `limit`.
async fn try_activate(
    store: &dyn WorkflowCatalog,
    current: &Revisioned<Workflow>,
    limit: usize,
) -> Result<Revisioned<Workflow>, StoreError> {
    let next = current.value.activate(stamp()).expect("a draft activates");
    let change = ActiveChange::Activate {
        kind: current.value.kind,
        module: current.value.definition.module,
        limit,
    };
    store.save(&next, current.revision, change).await
}

pub async fn a_created_workflow_reads_back_for_its_tenant_only(
    store: &dyn WorkflowCatalog,
    t: &Tenants,
) {
    let wf = workflow(&t.tenant, "wf-read", Module::Customer);
    let created = created(store, &wf).await;
    assert_eq!(created.revision, 1, "a new workflow is at revision 1");
    assert_eq!(created.value, wf, "create returns what it stored");
    let read = stored(store, &wf).await;
    assert_eq!((read.value, read.revision), (wf.clone(), 1));
    let version = version_of(store, &t.tenant, &wf.id, 1).await;
    assert_eq!(
        version,
        Some(wf.definition.clone()),
        "version 1 is stored with it"
    );
    let missing = version_of(store, &t.tenant, &wf.id, 2).await;
    assert_eq!(missing, None, "a version never saved is absent");
    let stranger = store.get(&t.other, &wf.id).await.expect("get");
    assert!(
        stranger.is_none(),
        "another tenant must not see the workflow"
    );
    let stranger = version_of(store, &t.other, &wf.id, 1).await;
    assert!(
        stranger.is_none(),
        "another tenant must not see its versions"
    );
}

pub async fn creating_an_existing_workflow_is_refused(store: &dyn WorkflowCatalog, t: &Tenants) {
    let first = workflow(&t.tenant, "wf-twice", Module::Customer);
    created(store, &first).await;
    let mut second = first.clone();
    second.definition.name = "Khác".into();
    let result = store.create(&second).await;
    refused!(result, StoreError::AlreadyExists, "creating a taken id");
    let read = stored(store, &first).await;
    assert_eq!(
        (read.value, read.revision),
        (first, 1),
        "the first one is untouched"
    );
    // The same id in another tenant is another workflow.
    created(store, &workflow(&t.other, "wf-twice", Module::Customer)).await;
}

pub async fn a_stale_revision_is_refused(store: &dyn WorkflowCatalog, t: &Tenants) {
    let wf = workflow(&t.tenant, "wf-stale", Module::Customer);
    created(store, &wf).await;
    let (first, _) = wf
        .edit(definition(Module::Customer, "Lần 1"), stamp())
        .unwrap();
    let saved = store.save(&first, 1, ActiveChange::None).await;
    let saved = saved.expect("saving at the current revision");
    assert_eq!(saved.revision, 2, "a save moves the revision on by one");
    let (late, _) = wf
        .edit(definition(Module::Customer, "Lần 2"), stamp())
        .unwrap();
    let result = store.save(&late, 1, ActiveChange::None).await;
    refused!(
        result,
        StoreError::Conflict { expected: 1 },
        "saving at a stale revision"
    );
    let read = stored(store, &wf).await;
    assert_eq!(
        (read.value, read.revision),
        (first, 2),
        "the refused save changed nothing"
    );
}

pub async fn saving_a_missing_workflow_is_not_found(store: &dyn WorkflowCatalog, t: &Tenants) {
    let ghost = workflow(&t.tenant, "wf-ghost", Module::Customer);
    let result = store.save(&ghost, 1, ActiveChange::None).await;
    refused!(
        result,
        StoreError::NotFound,
        "saving a workflow never created"
    );
    let read = store.get(&t.tenant, &ghost.id).await.expect("get");
    assert!(
        read.is_none(),
        "a refused save must not create the workflow"
    );
}

pub async fn an_edited_draft_rewrites_its_current_version(
    store: &dyn WorkflowCatalog,
    t: &Tenants,
) {
    // A draft never activated is edited in place; when it is activated later, its runs read
    // version 1, which must be the edited definition.
    let wf = workflow(&t.tenant, "wf-draft", Module::Customer);
    created(store, &wf).await;
    let (edited, new_version) = wf
        .edit(definition(Module::Customer, "Sửa"), stamp())
        .unwrap();
    assert!(!new_version, "a draft is edited in place");
    store
        .save(&edited, 1, ActiveChange::None)
        .await
        .expect("save the edit");
    let version = version_of(store, &t.tenant, &wf.id, 1).await;
    assert_eq!(
        version,
        Some(edited.definition),
        "the current version reads as the saved definition"
    );
    let versions = store.versions(&t.tenant, &wf.id).await.expect("versions");
    assert_eq!(versions, vec![1], "an edit in place adds no version");
}

pub async fn every_saved_version_stays_readable(store: &dyn WorkflowCatalog, t: &Tenants) {
    let wf = workflow(&t.tenant, "wf-versions", Module::Customer);
    let current = created(store, &wf).await;
    let active = try_activate(store, &current, 10).await.expect("activate");
    let (v2, new_version) = active
        .value
        .edit(definition(Module::Customer, "V2"), stamp())
        .unwrap();
    assert!(new_version, "an edit after activation is a new version");
    store
        .save(&v2, active.revision, ActiveChange::None)
        .await
        .expect("save v2");
    let (v3, _) = v2
        .edit(definition(Module::Customer, "V3"), stamp())
        .unwrap();
    store
        .save(&v3, active.revision + 1, ActiveChange::None)
        .await
        .expect("save v3");
    for (version, name) in [(1, "Sinh nhật"), (2, "V2"), (3, "V3")] {
        let read = version_of(store, &t.tenant, &wf.id, version).await;
        let read = read.unwrap_or_else(|| panic!("version {version} must stay readable"));
        assert_eq!(
            read.name, name,
            "version {version} keeps its own definition"
        );
    }
    let versions = store.versions(&t.tenant, &wf.id).await.expect("versions");
    assert_eq!(versions, vec![1, 2, 3], "versions are listed oldest first");
    let head = stored(store, &wf).await;
    assert_eq!((head.value.version, head.revision), (3, 4));
}

pub async fn activation_beyond_the_limit_is_refused_and_saves_nothing(
    store: &dyn WorkflowCatalog,
    t: &Tenants,
) {
    let mut drafts = Vec::new();
    for i in 0..3 {
        let wf = workflow(&t.tenant, &format!("wf-limit-{i}"), Module::Customer);
        drafts.push(created(store, &wf).await);
    }
    try_activate(store, &drafts[0], 2)
        .await
        .expect("first activation within the limit");
    try_activate(store, &drafts[1], 2)
        .await
        .expect("second activation within the limit");
    let result = try_activate(store, &drafts[2], 2).await;
    refused!(
        result,
        StoreError::LimitReached { .. },
        "a third activation with a limit of 2"
    );
    let read = stored(store, &drafts[2].value).await;
    assert_eq!(read, drafts[2], "a refused activation saves nothing");
    // The refusal took no slot: with a limit of 3 the third fits.
    let result = try_activate(store, &drafts[2], 3).await;
    result.expect("with a limit of 3 the third activation fits");
}

pub async fn deactivation_frees_a_slot(store: &dyn WorkflowCatalog, t: &Tenants) {
    let first = created(store, &workflow(&t.tenant, "wf-slot-a", Module::Customer)).await;
    let second = created(store, &workflow(&t.tenant, "wf-slot-b", Module::Customer)).await;
    let active = try_activate(store, &first, 1)
        .await
        .expect("activate the first");
    let result = try_activate(store, &second, 1).await;
    refused!(
        result,
        StoreError::LimitReached { .. },
        "the module is full"
    );
    let off = active
        .value
        .deactivate(stamp(), crate::workflow::QueuedJobs::Cancel)
        .unwrap();
    let change = ActiveChange::Deactivate {
        kind: WorkflowKind::Care,
        module: Module::Customer,
    };
    let off = store
        .save(&off, active.revision, change)
        .await
        .expect("deactivate");
    assert_eq!(off.value.status, WorkflowStatus::Inactive);
    try_activate(store, &second, 1)
        .await
        .expect("the freed slot takes the second");
    let result = try_activate(store, &off, 1).await;
    refused!(
        result,
        StoreError::LimitReached { .. },
        "the slot was taken again"
    );
}

pub async fn the_limit_counts_each_module_and_tenant_apart(
    store: &dyn WorkflowCatalog,
    t: &Tenants,
) {
    let customer = created(store, &workflow(&t.tenant, "wf-m-cus", Module::Customer)).await;
    let contact = created(store, &workflow(&t.tenant, "wf-m-con", Module::Contact)).await;
    let elsewhere = created(store, &workflow(&t.other, "wf-m-cus", Module::Customer)).await;
    try_activate(store, &customer, 1)
        .await
        .expect("Customer has room");
    let result = try_activate(store, &contact, 1).await;
    result.expect("Contact's limit does not count Customer's workflows");
    let result = try_activate(store, &elsewhere, 1).await;
    result.expect("another tenant's limit does not count this tenant's workflows");
}

pub async fn each_kind_counts_apart_and_a_deactivation_at_zero_still_saves(
    store: &dyn WorkflowCatalog,
    t: &Tenants,
) {
    let care = created(store, &workflow(&t.tenant, "wf-k-care", Module::Customer)).await;
    let work = created(
        store,
        &work_workflow(&t.tenant, "wf-k-work", Module::Customer),
    )
    .await;
    let second = created(
        store,
        &work_workflow(&t.tenant, "wf-k-work2", Module::Customer),
    )
    .await;
    assert_eq!(work.value.kind, WorkflowKind::Work);
    try_activate(store, &care, 1)
        .await
        .expect("a care workflow takes the care slot");
    let active = try_activate(store, &work, 1)
        .await
        .expect("the work slot is its own");
    let result = try_activate(store, &second, 1).await;
    refused!(
        result,
        StoreError::LimitReached {
            kind: WorkflowKind::Work,
            ..
        },
        "the work slot is full"
    );
    // Deactivating twice over what was counted (a workflow active before the count was kept):
    // the count stays at zero and the save goes through.
    let off = active
        .value
        .deactivate(stamp(), crate::workflow::QueuedJobs::Cancel)
        .unwrap();
    let change = ActiveChange::Deactivate {
        kind: WorkflowKind::Work,
        module: Module::Customer,
    };
    let off = store
        .save(&off, active.revision, change)
        .await
        .expect("deactivate");
    let mut again = off.value.clone();
    again.status = WorkflowStatus::Active;
    let on = store
        .save(&again, off.revision, ActiveChange::None)
        .await
        .expect("an uncounted activation, as before the count was kept");
    let off_again = on
        .value
        .deactivate(stamp(), crate::workflow::QueuedJobs::Cancel)
        .unwrap();
    let saved = store
        .save(&off_again, on.revision, change)
        .await
        .expect("a deactivation at zero saves");
    assert_eq!(saved.value.status, WorkflowStatus::Inactive);
    try_activate(store, &second, 1)
        .await
        .expect("one work slot, free");
}

fn ids(items: &[Revisioned<Workflow>]) -> Vec<String> {
    items.iter().map(|w| w.value.id.to_string()).collect()
}

pub async fn listing_orders_by_module_then_id(store: &dyn WorkflowCatalog, t: &Tenants) {
    // By the module's name: Contact before Customer, whatever the modules' declaration order.
    for (id, module) in [
        ("wf-b", Module::Customer),
        ("wf-a", Module::Order),
        ("wf-c", Module::Contact),
        ("wf-a", Module::Customer),
        ("wf-d", Module::Contact),
    ] {
        let id = format!("{id}-{}", module.as_str().to_lowercase());
        created(store, &workflow(&t.tenant, &id, module)).await;
    }
    created(store, &workflow(&t.other, "wf-0-contact", Module::Contact)).await;
    let all = all_pages("workflows", 100, |page| async move {
        store
            .list(&t.tenant, WorkflowFilter::default(), &page)
            .await
    })
    .await;
    let expected = [
        "wf-c-contact",
        "wf-d-contact",
        "wf-a-customer",
        "wf-b-customer",
        "wf-a-order",
    ];
    assert_eq!(ids(&all), expected, "ordered by module name, then id");
    assert!(
        all.iter().all(|w| w.revision == 1),
        "listed with their revisions"
    );
}

pub async fn listing_filters_by_module_and_pages_with_cursors(
    store: &dyn WorkflowCatalog,
    t: &Tenants,
) {
    for i in 0..5 {
        created(
            store,
            &workflow(&t.tenant, &format!("wf-p{i}"), Module::Customer),
        )
        .await;
    }
    created(store, &workflow(&t.tenant, "wf-lead", Module::Lead)).await;
    let customers = WorkflowFilter {
        module: Some(Module::Customer),
    };
    let paged = all_pages("customer workflows", 2, |page| async move {
        store.list(&t.tenant, customers, &page).await
    })
    .await;
    assert_eq!(ids(&paged), ["wf-p0", "wf-p1", "wf-p2", "wf-p3", "wf-p4"]);
    let leads = WorkflowFilter {
        module: Some(Module::Lead),
    };
    let first = store.list(&t.tenant, leads, &PageRequest::first(10)).await;
    assert_eq!(ids(&first.expect("list leads").items), ["wf-lead"]);
    let page = second_page("workflows", 2, |p| async move {
        store.list(&t.tenant, customers, &p).await
    })
    .await;
    let result = store.list(&t.other, customers, &page).await;
    refused!(result, StoreError::BadCursor, "another tenant's cursor");
    let result = store.list(&t.tenant, leads, &page).await;
    refused!(
        result,
        StoreError::BadCursor,
        "a cursor of another module's listing"
    );
}

pub async fn deleting_needs_the_current_revision_and_removes_every_version(
    store: &dyn WorkflowCatalog,
    t: &Tenants,
) {
    let wf = workflow(&t.tenant, "wf-delete", Module::Customer);
    let current = created(store, &wf).await;
    let active = try_activate(store, &current, 10).await.expect("activate");
    let (v2, _) = active
        .value
        .edit(definition(Module::Customer, "V2"), stamp())
        .unwrap();
    let saved = store.save(&v2, active.revision, ActiveChange::None).await;
    let saved = saved.expect("save v2");
    let result = store.delete(&t.tenant, &wf.id, 1).await;
    refused!(
        result,
        StoreError::Conflict { expected: 1 },
        "deleting at a stale revision"
    );
    assert_eq!(
        stored(store, &wf).await,
        saved,
        "the refused delete changed nothing"
    );
    store
        .delete(&t.tenant, &wf.id, saved.revision)
        .await
        .expect("delete at the current revision");
    assert!(
        store.get(&t.tenant, &wf.id).await.expect("get").is_none(),
        "the workflow is gone"
    );
    for version in [1, 2] {
        let read = version_of(store, &t.tenant, &wf.id, version).await;
        assert!(read.is_none(), "version {version} goes with the workflow");
    }
    let versions = store.versions(&t.tenant, &wf.id).await.expect("versions");
    assert!(versions.is_empty(), "no version is left, got {versions:?}");
    let listed = all_pages("workflows", 100, |page| async move {
        store
            .list(&t.tenant, WorkflowFilter::default(), &page)
            .await
    })
    .await;
    assert!(listed.is_empty(), "the deleted workflow is not listed");
}
