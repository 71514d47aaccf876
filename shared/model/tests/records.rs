//! Creating, reading and listing records over the in-memory stores: validated against the
//! tenant's schema (custom fields included) with every problem at its field, owners and
//! references that must exist in the tenant, the audit fields, and listings filtered by any
//! field, sorted by any field and paged.

mod support;

use crm_model::ports::{RecordStore, StoredRecord};
use crm_model::record::service::{ListQuery, RecordError, SortOrder};
use crm_model::schema::Module;
use crm_model::store::{Page, PageRequest, Revisioned};
use serde_json::{Value, json};
use support::crm::{Crm, fields, rid};

fn problems_at(result: Result<impl std::fmt::Debug, RecordError>, paths: &[&str]) {
    match result {
        Err(RecordError::Invalid(problems)) => {
            for path in paths {
                assert!(problems.has(path), "no problem at {path}: {problems}");
            }
        }
        other => panic!("expected problems at {paths:?}, got {other:?}"),
    }
}

fn query(filters: &[(&str, &str)], sort: Option<&str>, order: SortOrder, limit: u32) -> ListQuery {
    ListQuery {
        filters: filters
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        sort: sort.map(str::to_owned),
        order,
        page: PageRequest::first(limit),
    }
}

fn names(page: &Page<Revisioned<StoredRecord>>) -> Vec<&str> {
    page.items
        .iter()
        .map(|r| r.value.fields["Name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn every_problem_of_a_new_record_names_its_field_and_nothing_is_stored() {
    let crm = Crm::new().await;
    let bad = fields(
        json!({"Email": "not-an-email", "Shoe": 42, "LoyaltyPoints": 5, "Birthday": "31/12/1990"}),
    );
    let refused = crm
        .records()
        .create(&crm.sales(), Module::Customer, rid("c-bad"), &bad)
        .await;
    problems_at(
        refused,
        &[
            "/fields/Name",
            "/fields/Email",
            "/fields/Shoe",
            "/fields/LoyaltyPoints",
            "/fields/Birthday",
        ],
    );
    assert!(crm.stored("c-bad").await.is_none());
    let listed = crm
        .records()
        .list(
            &crm.sales(),
            Module::Customer,
            &query(&[], None, SortOrder::Desc, 10),
        )
        .await
        .unwrap();
    assert!(listed.items.is_empty());
}

#[tokio::test]
async fn owners_assignees_and_referenced_records_must_exist_in_this_tenant() {
    let crm = Crm::new().await;
    crm.create(Module::Customer, "c1", json!({"Name": "Công ty Hoa Sen"}))
        .await;
    crm.create(Module::Lead, "l1", json!({"Name": "Khách tiềm năng"}))
        .await;
    let stranger = crm_model::ids::TenantId::new("stranger").unwrap();
    let foreign = StoredRecord {
        id: rid("c-foreign"),
        module: Module::Customer,
        fields: fields(json!({"Name": "Người lạ"})),
    };
    crm.w
        .stores
        .records
        .create(&stranger, &foreign)
        .await
        .unwrap();
    let cases = crm.records();
    let attempt = |module: Module, id: &'static str, input: Value| {
        let cases = &cases;
        let actor = crm.sales();
        async move { cases.create(&actor, module, rid(id), &fields(input)).await }
    };
    problems_at(
        attempt(
            Module::Customer,
            "c2",
            json!({"Name": "A", "Owner": "u-nobody"}),
        )
        .await,
        &["/fields/Owner"],
    );
    problems_at(
        attempt(
            Module::Task,
            "t1",
            json!({"Title": "Gọi", "Assignee": "u-ghost", "Customer": "c-ghost"}),
        )
        .await,
        &["/fields/Assignee", "/fields/Customer"],
    );
    for (id, customer) in [("p1", "l1"), ("p2", "c-foreign")] {
        let refused = attempt(
            Module::Contact,
            id,
            json!({"Name": "Chị Mai", "Customer": customer}),
        )
        .await;
        problems_at(refused, &["/fields/Customer"]);
        assert!(crm.stored(id).await.is_none());
    }
    let contact = attempt(
        Module::Contact,
        "p3",
        json!({"Name": "Chị Mai", "Customer": "c1", "Owner": "u-manager"}),
    )
    .await;
    assert!(contact.is_ok(), "{contact:?}");
}

#[tokio::test]
async fn the_tenants_custom_fields_are_accepted_once_defined_and_typed() {
    let crm = Crm::new().await;
    let sized = json!({"Name": "An", "ShoeSize": 42});
    let before = crm
        .records()
        .create(
            &crm.sales(),
            Module::Customer,
            rid("c1"),
            &fields(sized.clone()),
        )
        .await;
    problems_at(before, &["/fields/ShoeSize"]);
    crm.tenant_settings(|s| {
        s.custom_fields = vec![serde_json::from_value(json!({
            "module": "Customer", "name": "ShoeSize", "label_vi": "Cỡ giày", "label_en": "Shoe size",
            "kind": {"type": "number"}
        }))
        .unwrap()];
    })
    .await;
    let created = crm.create(Module::Customer, "c1", sized).await;
    assert_eq!(created.value.fields["ShoeSize"], json!(42.0));
    let wrong = crm
        .records()
        .create(
            &crm.sales(),
            Module::Customer,
            rid("c2"),
            &fields(json!({"Name": "B", "ShoeSize": "to"})),
        )
        .await;
    problems_at(wrong, &["/fields/ShoeSize"]);
}

#[tokio::test]
async fn a_new_record_is_owned_by_its_creator_unless_told_and_stamped_with_who_and_when() {
    let crm = Crm::new().await;
    crm.clock.set("2026-06-01T02:30:15.250Z");
    let cases = crm.records();
    let mine = cases
        .create(
            &crm.sales(),
            Module::Customer,
            rid("c1"),
            &fields(json!({"Name": "An"})),
        )
        .await
        .unwrap();
    assert_eq!(mine.revision, 1);
    let f = &mine.value.fields;
    let stamp = json!("2026-06-01T02:30:15.250Z");
    assert_eq!(
        (
            &f["Owner"],
            &f["CreatedBy"],
            &f["UpdatedBy"],
            &f["CreatedAt"],
            &f["UpdatedAt"]
        ),
        (
            &json!("u-sales"),
            &json!("u-sales"),
            &json!("u-sales"),
            &stamp,
            &stamp
        )
    );
    assert_eq!(crm.stored("c1").await.unwrap(), mine);
    let given = cases
        .create(
            &crm.sales(),
            Module::Customer,
            rid("c2"),
            &fields(json!({"Name": "Bình", "Owner": "u-manager"})),
        )
        .await
        .unwrap();
    assert_eq!(
        (
            &given.value.fields["Owner"],
            &given.value.fields["CreatedBy"]
        ),
        (&json!("u-manager"), &json!("u-sales"))
    );
    let taken = cases
        .create(
            &crm.sales(),
            Module::Lead,
            rid("c1"),
            &fields(json!({"Name": "Trùng"})),
        )
        .await;
    assert!(
        matches!(taken, Err(RecordError::Conflict(_))),
        "ids are unique across modules: {taken:?}"
    );
}

#[tokio::test]
async fn a_record_of_another_module_or_tenant_is_not_found() {
    let crm = Crm::new().await;
    crm.create(Module::Customer, "c1", json!({"Name": "Bí mật"}))
        .await;
    let cases = crm.records();
    let as_order = cases.read(&crm.sales(), Module::Order, &rid("c1")).await;
    assert!(
        matches!(as_order, Err(RecordError::NotFound("Order"))),
        "{as_order:?}"
    );
    let stranger = crm_model::ids::TenantId::new("stranger").unwrap();
    let mut outsider = crm.sales();
    outsider.tenant = stranger;
    let foreign = cases.read(&outsider, Module::Customer, &rid("c1")).await;
    assert!(
        matches!(foreign, Err(RecordError::NotFound("Customer"))),
        "{foreign:?}"
    );
    let mine = cases
        .read(&crm.sales(), Module::Customer, &rid("c1"))
        .await
        .unwrap();
    assert_eq!(mine.value.fields["Name"], "Bí mật");
}

#[tokio::test]
async fn listing_filters_by_any_field_sorts_by_any_field_with_empty_values_last_and_pages() {
    let crm = Crm::new().await;
    for (id, name, province) in [
        ("c1", "Trần Văn Bình", Some("Hà Nội")),
        ("c2", "Lê Thị An", Some("Hà Nội")),
        ("c3", "Phạm Minh Châu", Some("Đà Nẵng")),
        ("c4", "Đỗ Quang Dũng", Some("Hà Nội")),
        ("c5", "Vũ Thị Em", None),
    ] {
        let mut input = json!({"Name": name});
        if let Some(province) = province {
            input["Province"] = json!(province);
        }
        crm.create(Module::Customer, id, input).await;
    }
    let list = |q: ListQuery| {
        let cases = crm.records();
        let actor = crm.sales();
        async move { cases.list(&actor, Module::Customer, &q).await }
    };
    // By default the most recently updated first, by the index.
    let newest = list(query(&[], None, SortOrder::Desc, 2)).await.unwrap();
    assert_eq!(names(&newest), ["Vũ Thị Em", "Đỗ Quang Dũng"]);
    let mut rest = query(&[], None, SortOrder::Desc, 10);
    rest.page.cursor = newest.next.clone();
    let rest = list(rest).await.unwrap();
    assert_eq!(
        names(&rest),
        ["Phạm Minh Châu", "Lê Thị An", "Trần Văn Bình"]
    );

    let hanoi = [("Province", "Hà Nội")];
    let page1 = list(query(&hanoi, Some("Name"), SortOrder::Asc, 2))
        .await
        .unwrap();
    assert_eq!(names(&page1), ["Lê Thị An", "Trần Văn Bình"]);
    let mut second = query(&hanoi, Some("Name"), SortOrder::Asc, 2);
    second.page.cursor = page1.next.clone();
    let page2 = list(second).await.unwrap();
    assert_eq!(
        (names(&page2), page2.next.as_deref()),
        (vec!["Đỗ Quang Dũng"], None)
    );

    for (order, expected) in [
        (
            SortOrder::Asc,
            ["Hà Nội", "Hà Nội", "Hà Nội", "Đà Nẵng", ""],
        ),
        (
            SortOrder::Desc,
            ["Đà Nẵng", "Hà Nội", "Hà Nội", "Hà Nội", ""],
        ),
    ] {
        let sorted = list(query(&[], Some("Province"), order, 10)).await.unwrap();
        let provinces: Vec<&str> = sorted
            .items
            .iter()
            .map(|r| {
                r.value
                    .fields
                    .get("Province")
                    .and_then(Value::as_str)
                    .unwrap_or("")
            })
            .collect();
        assert_eq!(provinces, expected, "{order:?}");
    }

    let bad = list(query(
        &[("Birthday", "31-12"), ("Shoe", "42")],
        Some("Colour"),
        SortOrder::Asc,
        10,
    ))
    .await;
    problems_at(bad, &["/query/Birthday", "/query/Shoe", "/query/sort"]);
    let mut forged = query(&[], Some("Name"), SortOrder::Asc, 10);
    forged.page.cursor = Some("page-two".into());
    assert!(matches!(list(forged).await, Err(RecordError::Store(_))));
}

#[tokio::test]
async fn a_text_past_its_limit_or_a_record_past_its_size_is_refused_naming_the_field_and_nothing_is_stored()
 {
    use crm_model::record::limits::MAX_TEXT_CHARS;
    let crm = Crm::new().await;
    let long = "ệ".repeat(MAX_TEXT_CHARS + 1);
    let refused = crm
        .records()
        .create(
            &crm.sales(),
            Module::Customer,
            rid("c-long"),
            &fields(json!({"Name": "An", "Description": long})),
        )
        .await;
    problems_at(refused, &["/fields/Description"]);
    assert!(crm.stored("c-long").await.is_none());

    // Each text within its limit, the record past 40 KiB all the same.
    let full = "ệ".repeat(9_000);
    let created = crm
        .records()
        .create(
            &crm.sales(),
            Module::Customer,
            rid("c-big"),
            &fields(json!({"Name": "An", "Description": full})),
        )
        .await
        .unwrap();
    let grown = fields(json!({"Name": "An", "Description": full, "Address": full}));
    let refused = crm
        .records()
        .replace(
            &crm.sales(),
            Module::Customer,
            &rid("c-big"),
            &grown,
            created.revision,
        )
        .await;
    problems_at(refused, &["/fields"]);
    assert_eq!(
        crm.stored("c-big").await.unwrap().revision,
        created.revision,
        "unchanged"
    );
}
