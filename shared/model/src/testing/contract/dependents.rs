//! A customer's orders, quotes and opportunities keep it from being deleted, atomically: a
//! dependent naming a customer that is gone is refused (`ReferenceGone`), a customer with a
//! dependent is not deleted (`InUse`), and the two racing never leave an order pointing at
//! nothing.

use serde_json::json;

use super::Tenants;
use super::records::{create, customer, record, rid};
use crate::record::store::RecordStore;
use crate::record::stored::StoredRecord;
use crate::schema::Module;
use crate::store::StoreError;

fn dependent(id: &str, module: Module, of: &str) -> StoredRecord {
    let fields = match module {
        Module::Opportunity => json!({"Name": format!("Cơ hội {id}"), "Customer": of}),
        _ => json!({"Code": format!("M-{id}"), "Customer": of, "OrderDate": "2027-05-01"}),
    };
    record(id, module, fields)
}

pub async fn a_customer_with_a_dependent_is_not_deleted_and_a_dependent_of_a_gone_customer_is_refused(
    store: &dyn RecordStore,
    t: &Tenants,
) {
    let kept = create(store, &t.tenant, &customer("dep-c1", "0912000001", "")).await;
    for (id, module) in [
        ("dep-o1", Module::Order),
        ("dep-q1", Module::Quote),
        ("dep-p1", Module::Opportunity),
    ] {
        let made = create(store, &t.tenant, &dependent(id, module, "dep-c1")).await;
        refused!(
            store.delete(&t.tenant, &kept.value.id, kept.revision).await,
            StoreError::InUse,
            "a customer with a {module}"
        );
        store
            .delete(&t.tenant, &made.value.id, made.revision)
            .await
            .expect("delete the dependent");
    }
    store
        .delete(&t.tenant, &kept.value.id, kept.revision)
        .await
        .expect("no dependent left: deleted");
    refused!(
        store
            .create(&t.tenant, &dependent("dep-o2", Module::Order, "dep-c1"))
            .await,
        StoreError::ReferenceGone { .. },
        "an order of a deleted customer"
    );
    refused!(
        store
            .create(&t.tenant, &dependent("dep-o3", Module::Order, "dep-nobody"))
            .await,
        StoreError::ReferenceGone { .. },
        "an order of a customer that never was"
    );
    // Another tenant's customer of the same id is not this tenant's.
    create(store, &t.other, &customer("dep-c9", "0912000009", "")).await;
    refused!(
        store
            .create(&t.tenant, &dependent("dep-o4", Module::Order, "dep-c9"))
            .await,
        StoreError::ReferenceGone { .. },
        "an order naming another tenant's customer"
    );
    // Tasks and contacts name customers without keeping them.
    let loose = create(store, &t.tenant, &customer("dep-c2", "0912000002", "")).await;
    create(
        store,
        &t.tenant,
        &record(
            "dep-t1",
            Module::Task,
            json!({"Title": "Gọi", "Customer": "dep-c2"}),
        ),
    )
    .await;
    store
        .delete(&t.tenant, &loose.value.id, loose.revision)
        .await
        .expect("a task does not block");
}

pub async fn moving_an_order_to_another_customer_moves_what_blocks_their_deletes(
    store: &dyn RecordStore,
    t: &Tenants,
) {
    let from = create(store, &t.tenant, &customer("mv-c1", "0912000011", "")).await;
    let to = create(store, &t.tenant, &customer("mv-c2", "0912000012", "")).await;
    let order = create(
        store,
        &t.tenant,
        &dependent("mv-o1", Module::Order, "mv-c1"),
    )
    .await;
    let moved = store
        .replace(
            &t.tenant,
            &dependent("mv-o1", Module::Order, "mv-c2"),
            order.revision,
        )
        .await
        .expect("move the order");
    refused!(
        store.delete(&t.tenant, &to.value.id, to.revision).await,
        StoreError::InUse,
        "the order now keeps its new customer"
    );
    refused!(
        store
            .replace(
                &t.tenant,
                &dependent("mv-o1", Module::Order, "mv-gone"),
                moved.revision
            )
            .await,
        StoreError::ReferenceGone { .. },
        "moving to a customer that does not exist"
    );
    store
        .delete(&t.tenant, &from.value.id, from.revision)
        .await
        .expect("the old customer is free");
    let same = store
        .get(&t.tenant, &rid("mv-o1"))
        .await
        .expect("read")
        .expect("still there");
    assert_eq!(
        same.value.fields["Customer"], "mv-c2",
        "a refused move changed nothing"
    );
}

pub async fn an_order_racing_its_customers_delete_never_outlives_it(
    store: &dyn RecordStore,
    t: &Tenants,
) {
    for i in 0..12 {
        let c = create(store, &t.tenant, &customer(&format!("race-c{i}"), "", "")).await;
        let order = dependent(&format!("race-o{i}"), Module::Order, &format!("race-c{i}"));
        let (created, deleted) = futures_util::future::join(
            store.create(&t.tenant, &order),
            store.delete(&t.tenant, &c.value.id, c.revision),
        )
        .await;
        let customer_there = store.get(&t.tenant, &c.value.id).await.expect("read");
        let order_there = store.get(&t.tenant, &order.id).await.expect("read");
        match (&created, &deleted) {
            (Ok(_), Err(StoreError::InUse)) => {
                assert!(
                    customer_there.is_some() && order_there.is_some(),
                    "race {i}"
                );
            }
            (Err(StoreError::ReferenceGone { .. }), Ok(())) => {
                assert!(
                    customer_there.is_none() && order_there.is_none(),
                    "race {i}"
                );
            }
            other => panic!("race {i}: one of the two must fail, got {other:?}"),
        }
    }
}
