//! The record store's identity index (customers found by phone, email or tax code, as their
//! current revision has them) and merge markers.

use serde_json::json;

use super::records::{create, customer, record, rid};
use super::{Tenants, at, user};
use crate::ids::TenantId;
use crate::record::identity::{IdentityKind, key};
use crate::record::store::{MergeMarker, MergeState, RecordStore};
use crate::schema::Module;
use crate::store::StoreError;

async fn found(store: &dyn RecordStore, tenant: &TenantId, key: &str) -> Vec<String> {
    let found = store.find_by_identity(tenant, &[key.to_owned()]).await;
    let mut ids: Vec<String> = found
        .expect("find_by_identity")
        .iter()
        .map(ToString::to_string)
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

fn phone(raw: &str) -> String {
    key(IdentityKind::Phone, raw).expect("a phone key")
}

fn email(raw: &str) -> String {
    key(IdentityKind::Email, raw).expect("an email key")
}

pub async fn a_customer_is_found_by_its_identity_keys(store: &dyn RecordStore, t: &Tenants) {
    create(
        store,
        &t.tenant,
        &customer("r-id-1", "0912 000 007", "Lan@Example.vn"),
    )
    .await;
    create(
        store,
        &t.tenant,
        &customer("r-id-2", "0912000008", "lan@example.vn"),
    )
    .await;
    let contact = record("r-id-3", Module::Contact, json!({"Phone": "0912000007"}));
    create(store, &t.tenant, &contact).await;
    assert_eq!(
        found(store, &t.tenant, &phone("+84912000007")).await,
        ["r-id-1"]
    );
    assert_eq!(
        found(store, &t.tenant, &email("LAN@example.VN")).await,
        ["r-id-1", "r-id-2"],
        "customers sharing a key are both candidates"
    );
    let stranger = found(store, &t.other, &phone("0912000007")).await;
    assert!(
        stranger.is_empty(),
        "another tenant finds nobody, got {stranger:?}"
    );
    let nobody = found(store, &t.tenant, &phone("0912999999")).await;
    assert!(
        nobody.is_empty(),
        "an unknown key finds nobody, got {nobody:?}"
    );
    let none = store
        .find_by_identity(&t.tenant, &[])
        .await
        .expect("find nothing");
    assert!(none.is_empty(), "no keys, no candidates");
}

pub async fn a_changed_phone_no_longer_finds_the_customer(store: &dyn RecordStore, t: &Tenants) {
    let before = customer("r-idc", "0912000009", "idc@example.vn");
    create(store, &t.tenant, &before).await;
    let after = customer("r-idc", "0912000010", "idc@example.vn");
    store
        .replace(&t.tenant, &after, 1)
        .await
        .expect("replace the phone");
    let old = found(store, &t.tenant, &phone("0912000009")).await;
    assert!(
        old.is_empty(),
        "the old phone must no longer find it, got {old:?}"
    );
    assert_eq!(
        found(store, &t.tenant, &phone("0912000010")).await,
        ["r-idc"],
        "the new phone"
    );
    assert_eq!(
        found(store, &t.tenant, &email("idc@example.vn")).await,
        ["r-idc"],
        "the email"
    );
}

pub async fn a_deleted_customer_is_no_longer_found(store: &dyn RecordStore, t: &Tenants) {
    create(
        store,
        &t.tenant,
        &customer("r-idd", "0912000011", "idd@example.vn"),
    )
    .await;
    store
        .delete(&t.tenant, &rid("r-idd"), 1)
        .await
        .expect("delete");
    for k in [phone("0912000011"), email("idd@example.vn")] {
        let left = found(store, &t.tenant, &k).await;
        assert!(
            left.is_empty(),
            "{k} must find nobody after the delete, got {left:?}"
        );
    }
}

pub async fn merge_markers_are_kept_per_survivor_oldest_first(
    store: &dyn RecordStore,
    t: &Tenants,
) {
    let marker = |duplicate: &str, minutes, state| MergeMarker {
        survivor: rid("r-m-survivor"),
        duplicate: rid(duplicate),
        state,
        started_at: at(minutes),
        by: user("u-admin"),
        moved: 0,
    };
    let later = marker("r-m-b", 20, MergeState::Started);
    let earlier = marker("r-m-a", 10, MergeState::Started);
    for m in [&later, &earlier] {
        store.put_merge(&t.tenant, m).await.expect("put_merge");
    }
    let survivor = rid("r-m-survivor");
    let merges = store.merges(&t.tenant, &survivor).await.expect("merges");
    assert_eq!(merges, vec![earlier.clone(), later.clone()], "oldest first");
    let done = MergeMarker {
        state: MergeState::Done,
        moved: 3,
        ..earlier
    };
    store
        .put_merge(&t.tenant, &done)
        .await
        .expect("put_merge again");
    let merges = store.merges(&t.tenant, &survivor).await.expect("merges");
    assert_eq!(
        merges,
        vec![done, later],
        "one marker per duplicate, the latest put"
    );
    let other = store
        .merges(&t.tenant, &rid("r-m-b"))
        .await
        .expect("merges");
    assert!(other.is_empty(), "markers belong to their survivor");
    let stranger = store.merges(&t.other, &survivor).await.expect("merges");
    assert!(stranger.is_empty(), "another tenant sees no markers");
}

/// A redemption and the customer's lowered balance are written together, the customer at its
/// revision and the redemption under a new id only; the ledger is per customer and tenant.
pub async fn a_redemption_is_written_with_its_customer_once(store: &dyn RecordStore, t: &Tenants) {
    use crate::record::store::Redemption;
    let mut customer = customer("r-l-cust", "0911000111", "l@example.vn");
    let saved = store.create(&t.tenant, &customer).await.expect("create");
    let redemption = |id: &str, minutes| Redemption {
        id: id.into(),
        customer: rid("r-l-cust"),
        order: rid("r-l-order"),
        points: 40,
        balance_after: 110,
        by: user("u-sales"),
        at: at(minutes),
    };
    customer
        .fields
        .insert("LoyaltyPoints".into(), serde_json::json!(110));
    let first = redemption("key-1", 10);
    let revision = store
        .redeem(&t.tenant, &customer, saved.revision, &first)
        .await
        .expect("redeem");
    assert_eq!(revision, saved.revision + 1);
    let read = store
        .get(&t.tenant, &customer.id)
        .await
        .expect("get")
        .expect("the customer");
    assert_eq!(read.revision, revision);
    assert_eq!(read.value.fields["LoyaltyPoints"], serde_json::json!(110));

    // At an old revision: nothing written, neither the customer nor the redemption.
    let stale = store
        .redeem(
            &t.tenant,
            &customer,
            saved.revision,
            &redemption("key-2", 20),
        )
        .await;
    assert!(
        matches!(stale, Err(StoreError::Conflict { .. })),
        "{stale:?}"
    );
    // The same key again at the current revision: refused, the customer unchanged.
    let again = store
        .redeem(&t.tenant, &customer, revision, &redemption("key-1", 30))
        .await;
    assert!(matches!(again, Err(StoreError::AlreadyExists)), "{again:?}");
    let read = store.get(&t.tenant, &customer.id).await.expect("get");
    assert_eq!(read.map(|r| r.revision), Some(revision), "nothing written");
    let later = redemption("key-0", 40);
    store
        .redeem(&t.tenant, &customer, revision, &later)
        .await
        .expect("a second redemption");
    let ledger = store
        .redemptions(&t.tenant, &customer.id)
        .await
        .expect("redemptions");
    assert_eq!(ledger, vec![first, later], "oldest first");
    let stranger = store
        .redemptions(&t.other, &customer.id)
        .await
        .expect("redemptions");
    assert!(stranger.is_empty(), "another tenant sees no ledger");
    let gone = store
        .redeem(
            &t.tenant,
            &record(
                "r-l-none",
                crate::schema::Module::Customer,
                serde_json::json!({"Name": "X"}),
            ),
            1,
            &redemption("key-9", 50),
        )
        .await;
    assert!(
        matches!(
            gone,
            Err(StoreError::NotFound) | Err(StoreError::Conflict { .. })
        ),
        "{gone:?}"
    );
}
