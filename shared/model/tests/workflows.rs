//! Defining workflows over the in-memory stores: validation against the tenant's schema, settings
//! and users with every problem at its field, custom fields, ids taken once, drafts edited in place
//! and a new version for every edit after the first activation, If-Match revisions, listing, and
//! workflows made from samples.

mod support;

use crm_model::ports::WorkflowFilter;
use crm_model::schema::Module;
use crm_model::store::PageRequest;
use crm_model::workflow::samples;
use crm_model::workflow::service::WorkflowError;
use crm_model::workflow::{TransitionError, WorkflowKind, WorkflowStatus};
use serde_json::json;
use std::collections::BTreeMap;
use support::definitions::{NOON, cases, definition, ids, named, noon, welcome, wid};
use support::{World, admin, at, birthday_definition};

#[tokio::test]
async fn a_valid_workflow_is_stored_as_a_draft_at_version_one_stamped_by_its_author() {
    let w = World::new().await;
    let clock = noon();
    let created = cases(&w, &clock)
        .create(&w.tenant, &admin(), wid("wf-1"), birthday_definition())
        .await
        .unwrap();
    assert_eq!(created.revision, 1);
    let workflow = &created.value;
    assert_eq!(
        (
            workflow.status,
            workflow.kind,
            workflow.version,
            workflow.ever_activated
        ),
        (WorkflowStatus::Draft, WorkflowKind::Care, 1, false)
    );
    assert_eq!(
        (&workflow.created.by, workflow.created.at),
        (&admin(), at(NOON))
    );
    let read = cases(&w, &clock)
        .get(&w.tenant, &wid("wf-1"))
        .await
        .unwrap();
    assert_eq!(read, created);
    assert_eq!(
        cases(&w, &clock)
            .versions(&w.tenant, &wid("wf-1"))
            .await
            .unwrap(),
        [1]
    );
}

#[tokio::test]
async fn every_problem_of_a_definition_names_its_field_and_nothing_is_stored() {
    let w = World::new().await;
    let clock = noon();
    let invalid = definition(json!({
        "module": "Customer", "name": "",
        "trigger": {"type": "time", "date_field": "Phone", "recurrence": "yearly"},
        "actions": [{"kind": "sms", "id": "a", "name": "s", "provider": "nope", "template": "nope",
                     "recipient_fields": [{"field": "Phone"}]},
                    {"kind": "notification", "id": "n", "name": "n", "users": ["u-ghost"], "message": "#Nmae"}]
    }));
    let refused = cases(&w, &clock)
        .create(&w.tenant, &admin(), wid("wf-bad"), invalid)
        .await;
    let Err(WorkflowError::Invalid(problems)) = refused else {
        panic!("expected problems, got {refused:?}");
    };
    for path in [
        "/name",
        "/trigger/date_field",
        "/actions/0/provider",
        "/actions/0/template",
        "/actions/1/users/0",
        "/actions/1/message",
    ] {
        assert!(problems.has(path), "no problem at {path}: {problems}");
    }
    assert!(matches!(
        cases(&w, &clock).get(&w.tenant, &wid("wf-bad")).await,
        Err(WorkflowError::NotFound)
    ));
    let listed = cases(&w, &clock)
        .list(
            &w.tenant,
            WorkflowFilter::default(),
            &PageRequest::first(10),
        )
        .await
        .unwrap();
    assert!(listed.items.is_empty());
}

#[tokio::test]
async fn a_definition_may_use_a_custom_field_once_the_tenant_defines_it() {
    let w = World::new().await;
    let clock = noon();
    let watch_zalo = definition(json!({
        "module": "Customer", "name": "Đổi Zalo",
        "trigger": {"type": "record_event", "on": "updated", "watched_fields": ["ZaloId"]},
        "actions": [{"kind": "notification", "id": "tell", "name": "Báo", "notify_owner": true, "message": "#Name: #ZaloId"}]
    }));
    let before = cases(&w, &clock)
        .create(&w.tenant, &admin(), wid("wf-zalo"), watch_zalo.clone())
        .await;
    let Err(WorkflowError::Invalid(problems)) = before else {
        panic!("expected problems, got {before:?}");
    };
    assert!(problems.has("/trigger/watched_fields/0"), "{problems}");
    let settings = w.settings();
    let mut tenant = settings.tenant_settings(&w.tenant).await.unwrap();
    tenant.value.custom_fields = vec![serde_json::from_value(json!({
        "module": "Customer", "name": "ZaloId", "label_vi": "Zalo ID", "label_en": "Zalo ID", "kind": {"type": "text"}
    }))
    .unwrap()];
    settings
        .put_tenant_settings(&w.tenant, &tenant.value, tenant.revision)
        .await
        .unwrap();
    let after = cases(&w, &clock)
        .create(&w.tenant, &admin(), wid("wf-zalo"), watch_zalo)
        .await;
    assert!(after.is_ok(), "{after:?}");
}

#[tokio::test]
async fn a_workflow_id_is_taken_once_and_the_first_definition_stays() {
    let w = World::new().await;
    let clock = noon();
    let cases = cases(&w, &clock);
    cases
        .create(&w.tenant, &admin(), wid("wf-dup"), named("Đầu tiên"))
        .await
        .unwrap();
    let again = cases
        .create(&w.tenant, &admin(), wid("wf-dup"), named("Thứ hai"))
        .await;
    assert!(
        matches!(again, Err(WorkflowError::AlreadyExists)),
        "{again:?}"
    );
    let read = cases.get(&w.tenant, &wid("wf-dup")).await.unwrap();
    assert_eq!(
        (read.value.definition.name.as_str(), read.revision),
        ("Đầu tiên", 1)
    );
}

#[tokio::test]
async fn a_draft_is_edited_in_place_and_every_edit_after_activation_is_a_new_version() {
    let w = World::new().await;
    let clock = noon();
    let cases = cases(&w, &clock);
    let (t, id) = (&w.tenant, &wid("wf-v"));
    cases
        .create(t, &admin(), id.clone(), named("Nháp"))
        .await
        .unwrap();
    let draft = cases
        .update(t, &admin(), id, named("Nháp sửa"), Some(1))
        .await
        .unwrap();
    assert_eq!((draft.value.version, draft.revision), (1, 2));
    assert_eq!(cases.versions(t, id).await.unwrap(), [1]);
    let active = cases.activate(t, &admin(), id, Some(2)).await.unwrap();
    assert_eq!(
        (active.value.status, active.value.version),
        (WorkflowStatus::Active, 1)
    );
    let v2 = cases
        .update(t, &admin(), id, named("Bản 2"), Some(3))
        .await
        .unwrap();
    assert_eq!(
        (v2.value.version, v2.value.status),
        (2, WorkflowStatus::Active)
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
    let v3 = cases
        .update(t, &admin(), id, named("Bản 3"), Some(off.revision))
        .await
        .unwrap();
    assert_eq!(
        (v3.value.version, v3.value.status),
        (3, WorkflowStatus::Inactive)
    );

    assert_eq!(cases.versions(t, id).await.unwrap(), [1, 2, 3]);
    for (version, name) in [(1, "Nháp sửa"), (2, "Bản 2"), (3, "Bản 3")] {
        assert_eq!(cases.version(t, id, version).await.unwrap().name, name);
    }
    assert!(matches!(
        cases.version(t, id, 7).await,
        Err(WorkflowError::VersionNotFound(v)) if v == "7"
    ));
}

#[tokio::test]
async fn an_edit_cannot_change_the_module_or_the_kind() {
    let w = World::new().await;
    let clock = noon();
    let cases = cases(&w, &clock);
    let (t, id) = (&w.tenant, &wid("wf-1"));
    cases
        .create(t, &admin(), id.clone(), birthday_definition())
        .await
        .unwrap();
    let mut other_module = birthday_definition();
    other_module.module = Module::Contact;
    other_module.actions.truncate(0);
    other_module.actions.push(welcome().actions[0].clone());
    let moved = cases.update(t, &admin(), id, other_module, None).await;
    assert!(
        matches!(
            moved,
            Err(WorkflowError::Transition(TransitionError::ModuleChanged))
        ),
        "{moved:?}"
    );
    let rekinded = cases.update(t, &admin(), id, welcome(), None).await;
    assert!(
        matches!(
            rekinded,
            Err(WorkflowError::Transition(TransitionError::KindChanged))
        ),
        "{rekinded:?}"
    );
    assert_eq!(cases.get(t, id).await.unwrap().revision, 1);
}

#[tokio::test]
async fn a_stale_if_match_revision_is_refused_and_changes_nothing() {
    let w = World::new().await;
    let clock = noon();
    let cases = cases(&w, &clock);
    let (t, id) = (&w.tenant, &wid("wf-occ"));
    cases
        .create(t, &admin(), id.clone(), named("Lần 0"))
        .await
        .unwrap();
    cases
        .update(t, &admin(), id, named("Lần 1"), Some(1))
        .await
        .unwrap();
    let stale = cases.update(t, &admin(), id, named("Lần 2"), Some(1)).await;
    assert!(
        matches!(stale, Err(WorkflowError::Stale { expected: 1 })),
        "{stale:?}"
    );
    let activate = cases.activate(t, &admin(), id, Some(9)).await;
    assert!(
        matches!(activate, Err(WorkflowError::Stale { expected: 9 })),
        "{activate:?}"
    );
    let delete = cases.delete(t, id, Some(1)).await;
    assert!(
        matches!(delete, Err(WorkflowError::Stale { expected: 1 })),
        "{delete:?}"
    );
    let read = cases.get(t, id).await.unwrap();
    assert_eq!(
        (
            read.value.definition.name.as_str(),
            read.value.status,
            read.revision
        ),
        ("Lần 1", WorkflowStatus::Draft, 2)
    );
    // Without If-Match the change applies to whatever is current.
    let unguarded = cases
        .update(t, &admin(), id, named("Lần 3"), None)
        .await
        .unwrap();
    assert_eq!(unguarded.revision, 3);
}

#[tokio::test]
async fn listing_orders_by_module_then_id_and_filters_by_module() {
    let w = World::new().await;
    let clock = noon();
    let cases = cases(&w, &clock);
    let order = definition(json!({
        "module": "Order", "name": "Theo dõi đơn",
        "trigger": {"type": "record_event", "on": "created"},
        "actions": [{"kind": "notification", "id": "tell", "name": "Báo", "notify_owner": true, "message": "#Code"}]
    }));
    for (id, definition) in [
        ("wf-b", welcome()),
        ("wf-o", order),
        ("wf-a", birthday_definition()),
    ] {
        cases
            .create(&w.tenant, &admin(), wid(id), definition)
            .await
            .unwrap();
    }
    let all = cases
        .list(
            &w.tenant,
            WorkflowFilter::default(),
            &PageRequest::first(10),
        )
        .await
        .unwrap();
    assert_eq!(ids(all), ["wf-a", "wf-b", "wf-o"]);
    let customers = WorkflowFilter {
        module: Some(Module::Customer),
    };
    let first = cases
        .list(&w.tenant, customers, &PageRequest::first(1))
        .await
        .unwrap();
    let cursor = first.next.clone();
    assert_eq!(ids(first), ["wf-a"]);
    let page = PageRequest { limit: 1, cursor };
    let second = cases.list(&w.tenant, customers, &page).await.unwrap();
    assert_eq!(ids(second), ["wf-b"]);
}

#[tokio::test]
async fn a_sample_with_its_bindings_filled_in_becomes_a_draft_checked_like_any_other() {
    let w = World::new().await;
    let clock = noon();
    let sample = samples::find("birthday-sms-and-call").unwrap();
    let bind = |provider: &str| {
        BTreeMap::from([
            ("sms_provider".to_owned(), provider.to_owned()),
            ("sms_template".to_owned(), "sms-birthday".to_owned()),
        ])
    };
    let unbound = sample.instantiate(&BTreeMap::new()).unwrap_err();
    assert!(
        unbound.has("/bindings/sms_provider") && unbound.has("/bindings/sms_template"),
        "{unbound}"
    );
    let created = cases(&w, &clock)
        .create(
            &w.tenant,
            &admin(),
            wid("wf-birthday"),
            sample.instantiate(&bind("sms")).unwrap(),
        )
        .await
        .unwrap();
    let workflow = &created.value;
    assert_eq!(
        (
            workflow.status,
            workflow.kind,
            workflow.definition.name.as_str()
        ),
        (
            WorkflowStatus::Draft,
            WorkflowKind::Care,
            "Chúc mừng sinh nhật khách hàng"
        )
    );
    let no_provider = sample.instantiate(&bind("sms-nope")).unwrap();
    let refused = cases(&w, &clock)
        .create(&w.tenant, &admin(), wid("wf-other"), no_provider)
        .await;
    assert!(
        matches!(refused, Err(WorkflowError::Invalid(ref p)) if p.has("/actions/0/provider")),
        "{refused:?}"
    );
}
