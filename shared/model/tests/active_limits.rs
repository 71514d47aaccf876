//! At most ten active care workflows and ten active work workflows per module, enforced in the
//! same atomic step as the save: the eleventh activation is refused whole (its backfill request is
//! dropped by the scan), deactivating one frees one place, other modules and the other kind do
//! not count, and a race of fifty activations leaves exactly ten active.

mod support;

use crm_model::ports::{FixedClock, ScheduleEntries, WorkflowFilter, WorkflowStore};
use crm_model::schema::Module;
use crm_model::store::PageRequest;
use crm_model::testing::memory::MemoryStores;
use crm_model::workflow::service::{WorkflowError, Workflows};
use crm_model::workflow::{MAX_ACTIVE_CARE_WORKFLOWS_PER_MODULE, WorkflowKind, WorkflowStatus};
use serde_json::json;
use support::definitions::{NOON, cases, definition, noon, welcome, wid};
use support::scanning::{maintenance, scan};
use support::{World, admin, at, birthday_definition};

fn limit_reached(result: &Result<impl std::fmt::Debug, WorkflowError>, module: Module) -> bool {
    matches!(result, Err(WorkflowError::LimitReached { module: m, limit: 10, .. }) if *m == module)
}

/// Creates `count` birthday workflows `wf-00`, `wf-01`, … as drafts.
async fn drafts(w: &World, count: usize) {
    let clock = noon();
    for i in 0..count {
        cases(w, &clock)
            .create(
                &w.tenant,
                &admin(),
                wid(&format!("wf-{i:02}")),
                birthday_definition(),
            )
            .await
            .unwrap();
    }
}

async fn activate(w: &World, id: &str) -> Result<u64, WorkflowError> {
    let clock = noon();
    let cases = cases(w, &clock);
    cases
        .activate(&w.tenant, &admin(), &wid(id), None)
        .await
        .map(|saved| saved.revision)
}

#[tokio::test]
async fn the_eleventh_active_care_workflow_of_a_module_is_refused_and_nothing_of_it_is_kept() {
    assert_eq!(MAX_ACTIVE_CARE_WORKFLOWS_PER_MODULE, 10);
    let w = World::new().await;
    w.customer(
        "c1",
        json!({"Name": "An", "Phone": "0912345678", "Birthday": "1990-05-17"}),
    )
    .await;
    drafts(&w, 11).await;
    for i in 0..10 {
        activate(&w, &format!("wf-{i:02}")).await.unwrap();
    }
    let eleventh = activate(&w, "wf-10").await;
    assert!(limit_reached(&eleventh, Module::Customer), "{eleventh:?}");
    let clock = noon();
    let head = cases(&w, &clock)
        .get(&w.tenant, &wid("wf-10"))
        .await
        .unwrap();
    assert_eq!(
        (head.value.status, head.value.ever_activated, head.revision),
        (WorkflowStatus::Draft, false, 1)
    );
    assert_eq!(
        w.stores
            .workflows
            .active_count(&w.tenant, WorkflowKind::Care, Module::Customer),
        Some(10)
    );

    // Its backfill was requested before the save; the scan drops it and arms nothing for it.
    let backfill = scan(&w, "2027-03-01T05:05:00Z").await;
    assert_eq!(
        (backfill.entries_armed, backfill.maintenance_finished),
        (10, 10),
        "{backfill:?}"
    );
    assert!(maintenance(&w).await.is_empty());
    let c1 = support::crm::rid("c1");
    let entry = w
        .stores
        .schedule
        .get(&w.tenant, &wid("wf-10"), &c1)
        .await
        .unwrap();
    assert!(entry.is_none());
}

#[tokio::test]
async fn deactivating_one_frees_exactly_one_place() {
    let w = World::new().await;
    drafts(&w, 12).await;
    for i in 0..10 {
        activate(&w, &format!("wf-{i:02}")).await.unwrap();
    }
    let clock = noon();
    cases(&w, &clock)
        .deactivate(
            &w.tenant,
            &admin(),
            &wid("wf-03"),
            None,
            crm_model::workflow::QueuedJobs::Cancel,
        )
        .await
        .unwrap();
    assert_eq!(
        w.stores
            .workflows
            .active_count(&w.tenant, WorkflowKind::Care, Module::Customer),
        Some(9)
    );
    activate(&w, "wf-10").await.unwrap();
    let twelfth = activate(&w, "wf-11").await;
    assert!(limit_reached(&twelfth, Module::Customer), "{twelfth:?}");
    // Reactivating the one just deactivated needs a place too.
    let back = activate(&w, "wf-03").await;
    assert!(limit_reached(&back, Module::Customer), "{back:?}");
    assert_eq!(
        w.stores
            .workflows
            .active_count(&w.tenant, WorkflowKind::Care, Module::Customer),
        Some(10)
    );
}

#[tokio::test]
async fn the_eleventh_active_work_workflow_of_a_module_is_refused_in_words() {
    let w = World::new().await;
    let clock = noon();
    let cases = cases(&w, &clock);
    for i in 0..11 {
        cases
            .create(
                &w.tenant,
                &admin(),
                wid(&format!("wf-work-{i:02}")),
                welcome(),
            )
            .await
            .unwrap();
    }
    for i in 0..10 {
        activate(&w, &format!("wf-work-{i:02}")).await.unwrap();
    }
    let refused = activate(&w, "wf-work-10").await;
    assert!(limit_reached(&refused, Module::Customer), "{refused:?}");
    let message = refused.unwrap_err().to_string();
    assert_eq!(
        message,
        "Customer already has 10 active work workflows; deactivate one first"
    );
    let stored = w
        .stores
        .workflows
        .get(&w.tenant, &wid("wf-work-10"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.value.status, WorkflowStatus::Draft, "saved nothing");
}

#[tokio::test]
async fn the_limit_counts_care_workflows_of_one_module_and_work_workflows_apart() {
    let w = World::new().await;
    drafts(&w, 10).await;
    for i in 0..10 {
        activate(&w, &format!("wf-{i:02}")).await.unwrap();
    }
    let clock = noon();
    let cases = cases(&w, &clock);
    cases
        .create(&w.tenant, &admin(), wid("wf-work"), welcome())
        .await
        .unwrap();
    let order_care = definition(json!({
        "module": "Order", "name": "Kỷ niệm đơn hàng",
        "trigger": {"type": "time", "date_field": "OrderDate", "recurrence": "yearly", "time_of_day": "09:00:00"},
        "actions": [{"kind": "notification", "id": "tell", "name": "Báo", "notify_owner": true, "message": "#Code"}]
    }));
    cases
        .create(&w.tenant, &admin(), wid("wf-order"), order_care)
        .await
        .unwrap();
    assert!(activate(&w, "wf-work").await.is_ok());
    assert!(activate(&w, "wf-order").await.is_ok());
    assert_eq!(
        w.stores
            .workflows
            .active_count(&w.tenant, WorkflowKind::Care, Module::Order),
        Some(1)
    );
    assert_eq!(
        w.stores
            .workflows
            .active_count(&w.tenant, WorkflowKind::Care, Module::Customer),
        Some(10)
    );
    assert_eq!(
        w.stores
            .workflows
            .active_count(&w.tenant, WorkflowKind::Work, Module::Customer),
        Some(1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_activations_leave_exactly_ten_active() {
    let w = World::new().await;
    w.customer(
        "c1",
        json!({"Name": "An", "Phone": "0912345678", "Birthday": "1990-05-17"}),
    )
    .await;
    drafts(&w, 50).await;
    let mut races = tokio::task::JoinSet::new();
    for i in 0..50 {
        let stores: MemoryStores = w.stores.clone();
        let tenant = w.tenant.clone();
        races.spawn(async move {
            let clock = FixedClock(at(NOON));
            let cases = Workflows {
                workflows: &stores.workflows,
                settings: &stores.settings,
                users: &stores.users,
                schedule: &stores.schedule,
                clock: &clock,
            };
            let id = wid(&format!("wf-{i:02}"));
            cases
                .activate(&tenant, &admin(), &id, None)
                .await
                .map(|_| ())
        });
    }
    let (mut activated, mut refused) = (0, 0);
    while let Some(outcome) = races.join_next().await {
        match outcome.unwrap() {
            Ok(()) => activated += 1,
            Err(WorkflowError::LimitReached { .. }) => refused += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((activated, refused), (10, 40));
    let clock = noon();
    let all = cases(&w, &clock)
        .list(
            &w.tenant,
            WorkflowFilter::default(),
            &PageRequest::first(100),
        )
        .await
        .unwrap();
    let active = all
        .items
        .iter()
        .filter(|wf| wf.value.status == WorkflowStatus::Active)
        .count();
    assert_eq!(active, 10);
    assert_eq!(
        w.stores
            .workflows
            .active_count(&w.tenant, WorkflowKind::Care, Module::Customer),
        Some(10)
    );
    let backfill = scan(&w, "2027-03-01T05:05:00Z").await;
    assert_eq!(backfill.entries_armed, 10, "only the winners are scheduled");
    assert!(maintenance(&w).await.is_empty());
}

#[tokio::test]
async fn work_workflows_active_before_they_were_counted_count_when_the_next_one_is_activated() {
    use crm_model::ports::WorkflowStore;
    use crm_model::workflow::ActiveChange;
    let w = World::new().await;
    let clock = noon();
    let cases = cases(&w, &clock);
    for i in 0..11 {
        cases
            .create(
                &w.tenant,
                &admin(),
                wid(&format!("wf-old-{i:02}")),
                welcome(),
            )
            .await
            .unwrap();
    }
    // Ten activated as an earlier release did: no counter moved.
    for i in 0..10 {
        let id = wid(&format!("wf-old-{i:02}"));
        let current = w
            .stores
            .workflows
            .get(&w.tenant, &id)
            .await
            .unwrap()
            .unwrap();
        let mut on = current.value.clone();
        on.status = WorkflowStatus::Active;
        w.stores
            .workflows
            .save(&on, current.revision, ActiveChange::None)
            .await
            .unwrap();
    }
    assert_eq!(
        w.stores
            .workflows
            .active_count(&w.tenant, WorkflowKind::Work, Module::Customer),
        None
    );
    let refused = activate(&w, "wf-old-10").await;
    assert!(limit_reached(&refused, Module::Customer), "{refused:?}");
    assert_eq!(
        w.stores
            .workflows
            .active_count(&w.tenant, WorkflowKind::Work, Module::Customer),
        Some(10),
        "the count starts from the ten already active"
    );
}
