//! A workflow's lifecycle over the in-memory stores: activation (validated again) and
//! deactivation, the schedule maintenance each requests, deletion only once inactive, and
//! another tenant's workflow out of reach.

mod support;

use crm_model::action::SettingKind;
use crm_model::ids::{SettingId, TenantId};
use crm_model::ports::{MaintenanceKind, SettingsStore};
use crm_model::workflow::service::WorkflowError;
use crm_model::workflow::{TransitionError, WorkflowStatus};
use support::definitions::{NOON, cases, named, noon, welcome, wid};
use support::scanning::maintenance;
use support::{World, admin, birthday_definition};

#[tokio::test]
async fn activating_an_active_workflow_or_deactivating_a_draft_is_refused() {
    let w = World::new().await;
    let clock = noon();
    let cases = cases(&w, &clock);
    let (t, id) = (&w.tenant, &wid("wf-1"));
    cases
        .create(t, &admin(), id.clone(), birthday_definition())
        .await
        .unwrap();
    let off = cases
        .deactivate(
            t,
            &admin(),
            id,
            None,
            crm_model::workflow::QueuedJobs::Cancel,
        )
        .await;
    assert!(matches!(
        off,
        Err(WorkflowError::Transition(TransitionError::AlreadyInStatus(
            WorkflowStatus::Draft
        )))
    ));
    cases.activate(t, &admin(), id, None).await.unwrap();
    let again = cases.activate(t, &admin(), id, None).await;
    assert!(matches!(
        again,
        Err(WorkflowError::Transition(TransitionError::AlreadyInStatus(
            WorkflowStatus::Active
        )))
    ));
    assert_eq!(cases.get(t, id).await.unwrap().revision, 2);
}

#[tokio::test]
async fn activation_validates_again_against_the_settings_as_they_are_now() {
    let w = World::new().await;
    let clock = noon();
    let cases = cases(&w, &clock);
    let (t, id) = (&w.tenant, &wid("wf-1"));
    cases
        .create(t, &admin(), id.clone(), birthday_definition())
        .await
        .unwrap();
    // The template went behind the use case's back (it refuses while a workflow names it).
    let template = SettingId::new("sms-birthday").unwrap();
    let kind = SettingKind::SmsTemplate;
    w.stores
        .settings
        .delete(t, kind, &template, 1)
        .await
        .unwrap();
    let refused = cases.activate(t, &admin(), id, None).await;
    let Err(WorkflowError::Invalid(problems)) = refused else {
        panic!("expected problems, got {refused:?}");
    };
    assert!(problems.has("/actions/0/template"), "{problems}");
    let read = cases.get(t, id).await.unwrap();
    assert_eq!(
        (read.value.status, read.revision),
        (WorkflowStatus::Draft, 1)
    );
    assert!(maintenance(&w).await.is_empty(), "no backfill requested");
}

#[tokio::test]
async fn care_activation_requests_a_backfill_per_version_and_deactivation_a_cleanup() {
    let w = World::new().await;
    let clock = noon();
    let cases = cases(&w, &clock);
    let (t, id) = (&w.tenant, &wid("wf-care"));
    cases
        .create(t, &admin(), id.clone(), named("Bản 1"))
        .await
        .unwrap();
    cases
        .update(t, &admin(), id, named("Nháp"), None)
        .await
        .unwrap();
    assert!(maintenance(&w).await.is_empty(), "a draft is not scheduled");
    let requested = || async {
        let all = maintenance(&w).await;
        assert!(all.iter().all(|m| &m.workflow == id), "{all:?}");
        all.into_iter()
            .map(|m| (m.kind, m.version))
            .collect::<Vec<_>>()
    };
    cases.activate(t, &admin(), id, None).await.unwrap();
    assert_eq!(requested().await, [(MaintenanceKind::Backfill, 1)]);
    cases
        .update(t, &admin(), id, named("Bản 2"), None)
        .await
        .unwrap();
    assert_eq!(requested().await, [(MaintenanceKind::Backfill, 2)]);
    cases
        .deactivate(
            t,
            &admin(),
            id,
            None,
            crm_model::workflow::QueuedJobs::Cancel,
        )
        .await
        .unwrap();
    assert_eq!(requested().await, [(MaintenanceKind::Cleanup, 2)]);
    cases.activate(t, &admin(), id, None).await.unwrap();
    assert_eq!(requested().await, [(MaintenanceKind::Backfill, 2)]);
    // A work workflow has no schedule to keep.
    let work = wid("wf-work");
    cases
        .create(t, &admin(), work.clone(), welcome())
        .await
        .unwrap();
    cases.activate(t, &admin(), &work, None).await.unwrap();
    cases
        .deactivate(
            t,
            &admin(),
            &work,
            None,
            crm_model::workflow::QueuedJobs::Cancel,
        )
        .await
        .unwrap();
    assert_eq!(requested().await, [(MaintenanceKind::Backfill, 2)]);
}

#[tokio::test]
async fn an_active_workflow_is_deleted_only_once_deactivated_and_its_versions_go_with_it() {
    let w = World::new().await;
    let clock = noon();
    let cases = cases(&w, &clock);
    let (t, id) = (&w.tenant, &wid("wf-del"));
    cases
        .create(t, &admin(), id.clone(), named("Bản 1"))
        .await
        .unwrap();
    let active = cases.activate(t, &admin(), id, None).await.unwrap();
    let busy = cases.delete(t, id, Some(active.revision)).await;
    assert!(matches!(busy, Err(WorkflowError::DeleteActive)), "{busy:?}");
    assert_eq!(
        cases.get(t, id).await.unwrap().value.status,
        WorkflowStatus::Active
    );
    let off = cases
        .deactivate(
            t,
            &admin(),
            id,
            None,
            crm_model::workflow::QueuedJobs::Cancel,
        )
        .await
        .unwrap();
    cases.delete(t, id, Some(off.revision)).await.unwrap();
    assert!(matches!(
        cases.get(t, id).await,
        Err(WorkflowError::NotFound)
    ));
    assert!(matches!(
        cases.versions(t, id).await,
        Err(WorkflowError::NotFound)
    ));
    assert!(matches!(
        cases.version(t, id, 1).await,
        Err(WorkflowError::NotFound)
    ));
    // The id is free again, with a history of its own.
    cases
        .create(t, &admin(), id.clone(), named("Mới"))
        .await
        .unwrap();
    assert_eq!(cases.versions(t, id).await.unwrap(), [1]);
    assert_eq!(cases.version(t, id, 1).await.unwrap().name, "Mới");
}

#[tokio::test]
async fn another_tenants_workflow_is_not_found_by_any_use_case() {
    let w = World::new().await;
    let clock = noon();
    let cases = cases(&w, &clock);
    let id = w.active_workflow("wf-private", NOON).await;
    let stranger = TenantId::new("stranger").unwrap();
    assert!(matches!(
        cases.get(&stranger, &id).await,
        Err(WorkflowError::NotFound)
    ));
    assert!(matches!(
        cases.versions(&stranger, &id).await,
        Err(WorkflowError::NotFound)
    ));
    let update = cases
        .update(&stranger, &admin(), &id, birthday_definition(), None)
        .await;
    assert!(matches!(update, Err(WorkflowError::NotFound)), "{update:?}");
    assert!(matches!(
        cases
            .deactivate(
                &stranger,
                &admin(),
                &id,
                None,
                crm_model::workflow::QueuedJobs::Cancel
            )
            .await,
        Err(WorkflowError::NotFound)
    ));
    assert!(matches!(
        cases.delete(&stranger, &id, None).await,
        Err(WorkflowError::NotFound)
    ));
    let mine = cases.get(&w.tenant, &id).await.unwrap();
    assert_eq!(
        (mine.value.status, mine.revision),
        (WorkflowStatus::Active, 2)
    );
}
