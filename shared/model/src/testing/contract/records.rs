//! The record store: revisions (customers, written with their identity keys, and the other
//! modules), batch reads, related lists, listings most recently updated first with filters and
//! cursors. Identity lookups and merge markers are in [`super::identity`].

use chrono::SecondsFormat;
use serde_json::{Value, json};

use super::{Tenants, all_pages, at, second_page};
use crate::ids::{RecordId, TenantId};
use crate::record::store::{RecordFilter, RecordStore};
use crate::record::stored::StoredRecord;
use crate::schema::Module;
use crate::store::{PageRequest, Revisioned, StoreError};

pub(super) fn rid(id: &str) -> RecordId {
    RecordId::new(id).expect("a valid record id")
}

/// The `UpdatedAt` value of a record saved `minutes` into the checks' calendar.
fn updated(minutes: i64) -> Value {
    Value::String(at(minutes).to_rfc3339_opts(SecondsFormat::Secs, true))
}

pub(super) fn record(id: &str, module: Module, fields: Value) -> StoredRecord {
    let Value::Object(fields) = fields else {
        panic!("record fields are a JSON object");
    };
    StoredRecord {
        id: rid(id),
        module,
        fields,
    }
}

pub(super) fn customer(id: &str, phone: &str, email: &str) -> StoredRecord {
    let fields = json!({"Name": "Nguyễn Văn A", "Phone": phone, "Email": email,
                        "LoyaltyPoints": 150, "UpdatedAt": updated(0)});
    record(id, Module::Customer, fields)
}

fn order(id: &str, minutes: i64) -> StoredRecord {
    let fields =
        json!({"Name": format!("Đơn {id}"), "Amount": 1_200_000, "UpdatedAt": updated(minutes)});
    record(id, Module::Order, fields)
}

pub(super) async fn create(
    store: &dyn RecordStore,
    tenant: &TenantId,
    r: &StoredRecord,
) -> Revisioned<StoredRecord> {
    store
        .create(tenant, r)
        .await
        .unwrap_or_else(|e| panic!("creating record {} failed: {e:?}", r.id))
}

async fn get(
    store: &dyn RecordStore,
    tenant: &TenantId,
    id: &RecordId,
) -> Option<Revisioned<StoredRecord>> {
    store.get(tenant, id).await.expect("get a record")
}

fn ids(records: &[Revisioned<StoredRecord>]) -> Vec<String> {
    records.iter().map(|r| r.value.id.to_string()).collect()
}

fn sorted_ids(records: &[Revisioned<StoredRecord>]) -> Vec<String> {
    let mut ids = ids(records);
    ids.sort();
    ids
}

pub async fn a_created_record_reads_back_for_its_tenant_only(store: &dyn RecordStore, t: &Tenants) {
    for r in [
        order("r-read-o", 0),
        customer("r-read-c", "0912000001", "a@example.vn"),
    ] {
        let created = create(store, &t.tenant, &r).await;
        assert_eq!(
            (&created.value, created.revision),
            (&r, 1),
            "created at revision 1"
        );
        let read = get(store, &t.tenant, &r.id).await;
        assert_eq!(read, Some(created), "{} reads back as stored", r.id);
        assert_eq!(
            get(store, &t.other, &r.id).await,
            None,
            "another tenant must not see {}",
            r.id
        );
        let many = store
            .get_many(&t.other, std::slice::from_ref(&r.id))
            .await
            .expect("get_many");
        assert!(
            many.is_empty(),
            "another tenant's batch read must not see {}",
            r.id
        );
    }
}

pub async fn creating_an_existing_record_is_refused(store: &dyn RecordStore, t: &Tenants) {
    for r in [
        order("r-twice-o", 0),
        customer("r-twice-c", "0912000002", "b@example.vn"),
    ] {
        create(store, &t.tenant, &r).await;
        let mut second = r.clone();
        second.fields.insert("Name".into(), json!("Khác"));
        let result = store.create(&t.tenant, &second).await;
        refused!(result, StoreError::AlreadyExists, "creating {} twice", r.id);
        let read = get(store, &t.tenant, &r.id)
            .await
            .map(|r| (r.value, r.revision));
        assert_eq!(read, Some((r.clone(), 1)), "{} is untouched", r.id);
    }
}

pub async fn replacing_needs_the_current_revision(store: &dyn RecordStore, t: &Tenants) {
    for r in [
        order("r-repl-o", 0),
        customer("r-repl-c", "0912000003", "c@example.vn"),
    ] {
        create(store, &t.tenant, &r).await;
        let mut next = r.clone();
        next.fields.insert("Name".into(), json!("Đã sửa"));
        let saved = store
            .replace(&t.tenant, &next, 1)
            .await
            .expect("replace at revision 1");
        assert_eq!(
            (&saved.value, saved.revision),
            (&next, 2),
            "{} moved to revision 2",
            r.id
        );
        let result = store.replace(&t.tenant, &r, 1).await;
        refused!(
            result,
            StoreError::Conflict { expected: 1 },
            "replacing {} at a stale revision",
            r.id
        );
        assert_eq!(
            get(store, &t.tenant, &r.id).await,
            Some(saved),
            "the refused replace changed nothing"
        );
        let result = store.replace(&t.other, &r, 1).await;
        refused!(
            result,
            StoreError::NotFound,
            "replacing a record missing in this tenant"
        );
        assert_eq!(
            get(store, &t.other, &r.id).await,
            None,
            "a refused replace creates nothing"
        );
    }
}

pub async fn computed_fields_change_only_themselves_at_the_current_revision(
    store: &dyn RecordStore,
    t: &Tenants,
) {
    use crate::record::origin::AutomationWrite;
    let r = customer("r-score-c", "0912000009", "score@example.vn");
    create(store, &t.tenant, &r).await;
    let origin = AutomationWrite {
        workflow: crate::ids::WorkflowId::new("hot").expect("a workflow id"),
        depth: 1,
    };
    let computed = json!({"Score": 42, "ScoreBreakdown": {"hot": {"score": 42}}});
    let Value::Object(computed) = computed else {
        unreachable!()
    };
    let revision = store
        .set_computed(&t.tenant, &r.id, &computed, 1, &origin)
        .await
        .expect("computed fields at revision 1");
    assert_eq!(revision, 1, "no one's edit: the revision stays");
    let mut expected = r.clone();
    expected.fields.extend(computed.clone());
    assert_eq!(
        get(store, &t.tenant, &r.id).await,
        Some(Revisioned {
            value: expected.clone(),
            revision: 1
        }),
        "the other fields are as they were"
    );
    let stale = store
        .set_computed(&t.tenant, &r.id, &computed, 7, &origin)
        .await;
    refused!(
        stale,
        StoreError::Conflict { expected: 7 },
        "computed fields at another revision"
    );
    let elsewhere = store
        .set_computed(&t.other, &r.id, &computed, 1, &origin)
        .await;
    refused!(
        elsewhere,
        StoreError::Conflict { expected: 1 },
        "computed fields of a record missing in this tenant"
    );
    assert_eq!(get(store, &t.other, &r.id).await, None);
    let Value::Object(cleared) = json!({"Score": null}) else {
        unreachable!()
    };
    store
        .set_computed(&t.tenant, &r.id, &cleared, 1, &origin)
        .await
        .expect("a null removes its field");
    expected.fields.remove("Score");
    assert_eq!(
        get(store, &t.tenant, &r.id).await.map(|r| r.value),
        Some(expected)
    );
    let found = store
        .find_by_identity(&t.tenant, &["phone:+84912000009".to_owned()])
        .await
        .expect("an identity lookup");
    assert!(
        found.contains(&r.id),
        "the customer's identity keys stay: {found:?}"
    );
}

pub async fn open_records_are_counted_per_owner_and_module(store: &dyn RecordStore, t: &Tenants) {
    let owner = crate::ids::UserId::new("u-open").expect("a user id");
    let lead = |id: &str, owner: &str, status: &str| {
        record(
            id,
            Module::Lead,
            json!({"Name": id, "Owner": owner, "Status": status, "UpdatedAt": updated(0)}),
        )
    };
    for r in [
        lead("r-open-1", "u-open", "New"),
        lead("r-open-2", "u-open", "Contacted"),
        lead("r-open-3", "u-open", "Lost"),
        lead("r-open-4", "u-other", "New"),
        record(
            "r-open-5",
            Module::Task,
            json!({"Title": "Gọi", "Owner": "u-open", "Status": "Open", "UpdatedAt": updated(0)}),
        ),
    ] {
        create(store, &t.tenant, &r).await;
    }
    let count = |tenant: &TenantId, module| {
        let owner = owner.clone();
        let tenant = tenant.clone();
        async move {
            store
                .count_open(&tenant, module, &owner)
                .await
                .expect("count open records")
        }
    };
    assert_eq!(
        count(&t.tenant, Module::Lead).await,
        2,
        "the lost lead is closed"
    );
    assert_eq!(count(&t.tenant, Module::Task).await, 1);
    assert_eq!(count(&t.other, Module::Lead).await, 0, "another tenant's");
    let mut won = lead("r-open-1", "u-open", "Qualified");
    won.fields.insert("Name".into(), json!("r-open-1"));
    store
        .replace(&t.tenant, &won, 1)
        .await
        .expect("qualify the lead");
    let mut handed = lead("r-open-2", "u-other", "Contacted");
    handed.fields.insert("Name".into(), json!("r-open-2"));
    store
        .replace(&t.tenant, &handed, 1)
        .await
        .expect("hand the lead over");
    assert_eq!(
        count(&t.tenant, Module::Lead).await,
        0,
        "qualified and handed over"
    );
}

pub async fn deleting_needs_the_current_revision(store: &dyn RecordStore, t: &Tenants) {
    for r in [
        order("r-del-o", 0),
        customer("r-del-c", "0912000004", "d@example.vn"),
    ] {
        create(store, &t.tenant, &r).await;
        let saved = store.replace(&t.tenant, &r, 1).await.expect("replace");
        let result = store.delete(&t.tenant, &r.id, 1).await;
        refused!(
            result,
            StoreError::Conflict { expected: 1 },
            "deleting {} at a stale revision",
            r.id
        );
        assert_eq!(
            get(store, &t.tenant, &r.id).await,
            Some(saved),
            "the refused delete changed nothing"
        );
        store
            .delete(&t.tenant, &r.id, 2)
            .await
            .expect("delete at the current revision");
        assert_eq!(get(store, &t.tenant, &r.id).await, None, "{} is gone", r.id);
        let result = store.delete(&t.tenant, &r.id, 2).await;
        refused!(result, StoreError::NotFound, "deleting a missing record");
    }
}

pub async fn get_many_leaves_out_the_absent(store: &dyn RecordStore, t: &Tenants) {
    let a = create(store, &t.tenant, &order("r-many-a", 0)).await;
    let b = create(
        store,
        &t.tenant,
        &customer("r-many-b", "0912000005", "e@example.vn"),
    )
    .await;
    create(store, &t.other, &order("r-many-x", 0)).await;
    let asked = [
        rid("r-many-b"),
        rid("r-many-none"),
        rid("r-many-a"),
        rid("r-many-x"),
    ];
    let mut found = store.get_many(&t.tenant, &asked).await.expect("get_many");
    found.sort_by(|x, y| x.value.id.cmp(&y.value.id));
    assert_eq!(
        found,
        vec![a, b],
        "the records of this tenant that exist, with revisions"
    );
    let none = store
        .get_many(&t.tenant, &[])
        .await
        .expect("get_many of nothing");
    assert!(none.is_empty(), "no ids, no records");
}

pub async fn related_lists_the_records_that_reference_a_customer(
    store: &dyn RecordStore,
    t: &Tenants,
) {
    create(
        store,
        &t.tenant,
        &customer("r-rel-c", "0912000006", "f@example.vn"),
    )
    .await;
    let of = |id: &str, module, customer: &str| {
        record(
            id,
            module,
            json!({"Name": id, "Customer": customer, "UpdatedAt": updated(0)}),
        )
    };
    let contact = create(store, &t.tenant, &of("r-rel-1", Module::Contact, "r-rel-c")).await;
    create(store, &t.tenant, &of("r-rel-2", Module::Order, "r-rel-c")).await;
    create(
        store,
        &t.tenant,
        &of("r-rel-3", Module::Task, "r-rel-other"),
    )
    .await;
    create(store, &t.tenant, &order("r-rel-4", 0)).await;
    create(store, &t.other, &of("r-rel-5", Module::Task, "r-rel-c")).await;
    let related = store
        .related(&t.tenant, &rid("r-rel-c"), 2)
        .await
        .expect("related");
    assert_eq!(
        sorted_ids(&related),
        ["r-rel-1", "r-rel-2"],
        "what references the customer, up to the limit"
    );
    let over = store.related(&t.tenant, &rid("r-rel-c"), 1).await;
    refused!(
        over,
        StoreError::TooMany { limit: 1 },
        "more than the limit"
    );
    assert!(
        related.iter().all(|r| r.revision == 1),
        "listed with revisions"
    );
    let moved = of("r-rel-1", Module::Contact, "r-rel-other");
    store
        .replace(&t.tenant, &moved, contact.revision)
        .await
        .expect("replace");
    let related = store
        .related(&t.tenant, &rid("r-rel-c"), 1)
        .await
        .expect("related");
    assert_eq!(
        sorted_ids(&related),
        ["r-rel-2"],
        "a moved record leaves the related list"
    );
    let elsewhere = store
        .related(&t.other, &rid("r-rel-other"), 10)
        .await
        .expect("related");
    assert!(
        elsewhere.is_empty(),
        "another tenant has no such related records"
    );
}

pub async fn listing_is_most_recently_updated_first(store: &dyn RecordStore, t: &Tenants) {
    let mut oldest = None;
    for (id, minutes) in [("r-ls-1", 10), ("r-ls-3", 30), ("r-ls-2", 20)] {
        let created = create(store, &t.tenant, &order(id, minutes)).await;
        oldest.get_or_insert(created);
    }
    let lead = record("r-ls-lead", Module::Lead, json!({"UpdatedAt": updated(40)}));
    create(store, &t.tenant, &lead).await;
    create(store, &t.other, &order("r-ls-x", 50)).await;
    let list = |limit| async move {
        let filter = RecordFilter::default();
        let page = PageRequest::first(limit);
        store
            .list(&t.tenant, Module::Order, &filter, &page)
            .await
            .expect("list")
            .items
    };
    assert_eq!(
        ids(&list(10).await),
        ["r-ls-3", "r-ls-2", "r-ls-1"],
        "newest first"
    );
    let oldest = oldest.expect("created");
    let touched = order("r-ls-1", 60);
    store
        .replace(&t.tenant, &touched, oldest.revision)
        .await
        .expect("replace");
    let listed = list(10).await;
    assert_eq!(
        ids(&listed),
        ["r-ls-1", "r-ls-3", "r-ls-2"],
        "a replaced record moves up"
    );
    assert_eq!(
        (&listed[0].value, listed[0].revision),
        (&touched, 2),
        "listed as stored"
    );
}

pub async fn a_filter_keeps_only_matching_records_across_pages(
    store: &dyn RecordStore,
    t: &Tenants,
) {
    for i in 0..6 {
        let status = if i % 2 == 0 { "open" } else { "done" };
        let owner = if i < 3 { "u-a" } else { "u-b" };
        let fields = json!({"Status": status, "Owner": owner, "UpdatedAt": updated(i)});
        create(
            store,
            &t.tenant,
            &record(&format!("r-f-{i}"), Module::Task, fields),
        )
        .await;
    }
    let open = RecordFilter {
        equals: vec![("Status".into(), json!("open"))],
        ..RecordFilter::default()
    };
    let listed = all_pages("open tasks", 2, |page| {
        let filter = open.clone();
        async move { store.list(&t.tenant, Module::Task, &filter, &page).await }
    })
    .await;
    assert_eq!(
        ids(&listed),
        ["r-f-4", "r-f-2", "r-f-0"],
        "only open tasks, newest first"
    );
    let open_of_b = RecordFilter {
        equals: vec![
            ("Status".into(), json!("open")),
            ("Owner".into(), json!("u-b")),
        ],
        ..RecordFilter::default()
    };
    let listed = all_pages("open tasks of u-b", 2, |page| {
        let filter = open_of_b.clone();
        async move { store.list(&t.tenant, Module::Task, &filter, &page).await }
    })
    .await;
    assert_eq!(ids(&listed), ["r-f-4"], "every condition must hold");
    // An access level: the owners a caller reaches, with another condition; long lists too.
    let mut owners: Vec<serde_json::Value> = (0..150).map(|i| json!(format!("u-x{i}"))).collect();
    owners.push(json!("u-b"));
    let cases: [(Vec<serde_json::Value>, &[&str]); 2] = [
        (vec![json!("u-a"), json!("u-c")], &["r-f-1"]),
        (owners, &["r-f-5", "r-f-3"]),
    ];
    for (owners, expected) in cases {
        let reached = RecordFilter {
            equals: vec![("Status".into(), json!("done"))],
            any_of: vec![("Owner".into(), owners)],
        };
        let listed = all_pages("done tasks of the owners reached", 2, |page| {
            let filter = reached.clone();
            async move { store.list(&t.tenant, Module::Task, &filter, &page).await }
        })
        .await;
        assert_eq!(
            ids(&listed),
            expected,
            "any of the owners, and every equality"
        );
    }
}

pub async fn pages_follow_cursors_and_refuse_another_tenants(store: &dyn RecordStore, t: &Tenants) {
    for i in 0..5 {
        create(store, &t.tenant, &order(&format!("r-pg-{i}"), i)).await;
    }
    let none = RecordFilter::default();
    let paged = all_pages("orders", 2, |page| {
        let none = none.clone();
        async move { store.list(&t.tenant, Module::Order, &none, &page).await }
    })
    .await;
    let expected = ["r-pg-4", "r-pg-3", "r-pg-2", "r-pg-1", "r-pg-0"];
    assert_eq!(
        ids(&paged),
        expected,
        "pages join up without gaps or repeats"
    );
    let none = &none;
    let second = second_page("orders", 2, |p| async move {
        store.list(&t.tenant, Module::Order, none, &p).await
    })
    .await;
    let garbage = PageRequest {
        limit: 2,
        cursor: Some("not-a-cursor".into()),
    };
    for (tenant, page) in [(&t.other, second), (&t.tenant, garbage)] {
        let result = store.list(tenant, Module::Order, none, &page).await;
        refused!(result, StoreError::BadCursor, "{page:?} in tenant {tenant}");
    }
}
