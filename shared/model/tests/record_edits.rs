//! Changing records over the in-memory stores: a full edit at the current revision that keeps the
//! system's fields, a quick edit of exactly one field, a clone owned by whoever makes it, and a
//! delete refused while a customer still has orders, quotes or opportunities.

mod support;

use crm_model::record::service::RecordError;
use crm_model::schema::Module;
use serde_json::{Value, json};
use support::crm::{Crm, fields, rid};

fn problem_at(result: Result<impl std::fmt::Debug, RecordError>, path: &str) {
    match result {
        Err(RecordError::Invalid(problems)) => {
            assert!(problems.has(path), "no problem at {path}: {problems}")
        }
        other => panic!("expected a problem at {path}, got {other:?}"),
    }
}

#[tokio::test]
async fn a_full_edit_needs_the_current_revision_and_keeps_what_the_system_set() {
    let crm = Crm::new().await;
    let read = crm
        .create(
            Module::Customer,
            "c1",
            json!({"Name": "Nguyễn Thị Hằng", "Phone": "0912345678"}),
        )
        .await;
    let (cases, manager) = (crm.records(), crm.actor("u-manager"));
    let mut edited = read.value.fields.clone();
    edited.insert("Province".into(), json!("Huế"));
    edited.remove("Phone");
    edited.remove("Owner");
    crm.clock.set("2026-07-01T00:00:00Z");
    let saved = cases
        .replace(&manager, Module::Customer, &rid("c1"), &edited, 1)
        .await
        .unwrap();
    let f = &saved.value.fields;
    assert_eq!(saved.revision, 2);
    assert_eq!(
        (&f["Province"], f.get("Phone")),
        (&json!("Huế"), None),
        "a full edit"
    );
    assert_eq!(
        (&f["CreatedAt"], &f["CreatedBy"], &f["Owner"]),
        (
            &read.value.fields["CreatedAt"],
            &json!("u-sales"),
            &json!("u-sales")
        ),
        "kept"
    );
    assert_eq!(
        (&f["UpdatedAt"], &f["UpdatedBy"]),
        (&json!("2026-07-01T00:00:00.000Z"), &json!("u-manager"))
    );

    let stale = cases
        .replace(&manager, Module::Customer, &rid("c1"), &edited, 1)
        .await;
    assert!(
        matches!(stale, Err(RecordError::Stale { expected: 1 })),
        "{stale:?}"
    );
    let mut forged = saved.value.fields.clone();
    forged.insert("LoyaltyPoints".into(), json!(1000));
    let refused = cases
        .replace(&manager, Module::Customer, &rid("c1"), &forged, 2)
        .await;
    problem_at(refused, "/fields/LoyaltyPoints");
    let mut nameless = saved.value.fields.clone();
    nameless.remove("Name");
    problem_at(
        cases
            .replace(&manager, Module::Customer, &rid("c1"), &nameless, 2)
            .await,
        "/fields/Name",
    );
    assert_eq!(
        crm.stored("c1").await.unwrap(),
        saved,
        "refusals change nothing"
    );
}

#[tokio::test]
async fn a_quick_edit_changes_exactly_one_field_and_null_clears_it() {
    let crm = Crm::new().await;
    crm.create(
        Module::Customer,
        "c1",
        json!({"Name": "Hằng", "Phone": "0912345678", "Province": "Huế"}),
    )
    .await;
    let (cases, sales, c1) = (crm.records(), crm.sales(), rid("c1"));
    let patch = |input: Value, expected: Option<u64>| {
        let (cases, sales, c1) = (&cases, &sales, &c1);
        async move {
            cases
                .patch(sales, Module::Customer, c1, &fields(input), expected)
                .await
        }
    };
    problem_at(
        patch(json!({"Phone": "0987654321", "Province": "Huế"}), None).await,
        "/fields",
    );
    problem_at(
        patch(json!({"LastPurchaseDate": "2030-01-01"}), None).await,
        "/fields/LastPurchaseDate",
    );
    problem_at(
        patch(json!({"Owner": "u-nobody"}), None).await,
        "/fields/Owner",
    );
    let stale = patch(json!({"Phone": "0987654321"}), Some(7)).await;
    assert!(
        matches!(stale, Err(RecordError::Stale { expected: 7 })),
        "{stale:?}"
    );

    let quick = patch(json!({"Phone": "+84 987 654 321"}), Some(1))
        .await
        .unwrap();
    assert_eq!(quick.revision, 2);
    assert_eq!(
        (
            &quick.value.fields["Phone"],
            &quick.value.fields["Province"]
        ),
        (&json!("+84 987 654 321"), &json!("Huế"))
    );
    let cleared = patch(json!({"Province": null}), None).await.unwrap();
    assert_eq!(
        (cleared.revision, cleared.value.fields.get("Province")),
        (3, None)
    );
    assert_eq!(cleared.value.fields["Name"], "Hằng");
}

#[tokio::test]
async fn a_clone_copies_the_user_fields_into_a_new_record_owned_by_whoever_clones_it() {
    let crm = Crm::new().await;
    crm.create(
        Module::Customer,
        "c1",
        json!({"Name": "Hằng", "Code": "KH-001", "Province": "Huế", "Owner": "u-manager"}),
    )
    .await;
    let cases = crm.records();
    let overrides = fields(json!({"Province": "Đà Nẵng"}));
    let copy = cases
        .clone_record(
            &crm.sales(),
            Module::Customer,
            &rid("c1"),
            rid("c2"),
            &overrides,
        )
        .await
        .unwrap();
    let f = &copy.value.fields;
    assert_eq!(
        (copy.revision, &f["Name"], &f["Province"]),
        (1, &json!("Hằng"), &json!("Đà Nẵng"))
    );
    assert_eq!(
        (&f["Owner"], &f["CreatedBy"]),
        (&json!("u-sales"), &json!("u-sales"))
    );
    assert_eq!(f.get("Code"), None, "an optional code is not copied");

    // A required code is, told apart from the original's.
    let order = cases
        .create_from_customer(
            &crm.sales(),
            &rid("c1"),
            Module::Order,
            rid("o1"),
            &fields(json!({"Code": "DH-001"})),
        )
        .await
        .unwrap();
    let copy = cases
        .clone_record(
            &crm.sales(),
            Module::Order,
            &rid("o1"),
            rid("o2"),
            &Default::default(),
        )
        .await
        .unwrap();
    let code = copy.value.fields["Code"].as_str().unwrap();
    assert!(code.starts_with("DH-001-") && code != "DH-001", "{code}");
    assert_eq!(
        copy.value.fields["Customer"],
        order.value.fields["Customer"]
    );
    let missing = cases
        .clone_record(
            &crm.sales(),
            Module::Customer,
            &rid("o1"),
            rid("c3"),
            &Default::default(),
        )
        .await;
    assert!(
        matches!(missing, Err(RecordError::NotFound("Customer"))),
        "{missing:?}"
    );
}

#[tokio::test]
async fn a_customer_with_orders_quotes_or_opportunities_cannot_be_deleted_and_contacts_do_not_block()
 {
    let crm = Crm::new().await;
    crm.create(Module::Customer, "c1", json!({"Name": "Công ty Hoa Sen"}))
        .await;
    let (cases, sales) = (crm.records(), crm.sales());
    for (module, id) in [
        (Module::Order, "o1"),
        (Module::Quote, "q1"),
        (Module::Opportunity, "p1"),
        (Module::Opportunity, "p2"),
    ] {
        cases
            .create_from_customer(&sales, &rid("c1"), module, rid(id), &Default::default())
            .await
            .unwrap();
    }
    crm.create(
        Module::Contact,
        "k1",
        json!({"Name": "Chị Mai", "Customer": "c1"}),
    )
    .await;

    let refused = cases
        .delete(&sales, Module::Customer, &rid("c1"), None)
        .await;
    match refused {
        Err(RecordError::InUse(reasons)) => {
            assert_eq!(reasons, ["1 order", "1 quote", "2 opportunities"])
        }
        other => panic!("expected InUse, got {other:?}"),
    }
    assert!(crm.stored("c1").await.is_some());
    for (module, id) in [
        (Module::Order, "o1"),
        (Module::Quote, "q1"),
        (Module::Opportunity, "p1"),
        (Module::Opportunity, "p2"),
    ] {
        cases
            .delete(&sales, module, &rid(id), Some(1))
            .await
            .unwrap();
    }
    let stale = cases
        .delete(&sales, Module::Customer, &rid("c1"), Some(9))
        .await;
    assert!(
        matches!(stale, Err(RecordError::Stale { expected: 9 })),
        "{stale:?}"
    );
    let wrong_module = cases.delete(&sales, Module::Lead, &rid("c1"), None).await;
    assert!(
        matches!(wrong_module, Err(RecordError::NotFound("Lead"))),
        "{wrong_module:?}"
    );
    cases
        .delete(&sales, Module::Customer, &rid("c1"), None)
        .await
        .unwrap();
    assert!(crm.stored("c1").await.is_none());
    assert!(crm.stored("k1").await.is_some(), "the contact stays");
}
