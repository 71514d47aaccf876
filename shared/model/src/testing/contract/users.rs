//! The user directory: conditional creates, unconditional puts, which ids exist, listing.

use std::collections::HashSet;

use super::{Tenants, all_pages, second_page, user};
use crate::store::StoreError;
use crate::user::directory::UserDirectory;
use crate::user::{Role, User};

fn person(id: &str, name: &str) -> User {
    User {
        id: user(id),
        name: name.into(),
        email: format!("{id}@example.vn"),
        phone: Some("0912345678".into()),
        team: Some("Bán hàng".into()),
        role: Role::Salesperson,
        manager: None,
        active: true,
    }
}

pub async fn a_created_user_reads_back_for_its_tenant_only(store: &dyn UserDirectory, t: &Tenants) {
    let lan = person("u-lan", "Nguyễn Thị Lan");
    store.create(&t.tenant, &lan).await.expect("create a user");
    let read = store.get(&t.tenant, &lan.id).await.expect("get a user");
    assert_eq!(read, Some(lan.clone()), "the user reads back");
    let stranger = store.get(&t.other, &lan.id).await.expect("get a user");
    assert_eq!(stranger, None, "another tenant must not see the user");
    let missing = store
        .get(&t.tenant, &user("u-nobody"))
        .await
        .expect("get a user");
    assert_eq!(missing, None, "an unknown id is absent");
}

pub async fn creating_a_taken_id_is_refused(store: &dyn UserDirectory, t: &Tenants) {
    let first = person("u-taken", "Trần Văn An");
    store
        .create(&t.tenant, &first)
        .await
        .expect("create a user");
    let result = store
        .create(&t.tenant, &person("u-taken", "Lê Văn Bình"))
        .await;
    refused!(result, StoreError::AlreadyExists, "creating a taken id");
    let read = store.get(&t.tenant, &first.id).await.expect("get a user");
    assert_eq!(read, Some(first.clone()), "the first user is untouched");
    let result = store.create(&t.other, &first).await;
    result.expect("the same id in another tenant is another user");
}

pub async fn put_adds_or_replaces(store: &dyn UserDirectory, t: &Tenants) {
    let mut hoa = person("u-hoa", "Phạm Thị Hoa");
    store.put(&t.tenant, &hoa).await.expect("put a new user");
    let read = store.get(&t.tenant, &hoa.id).await.expect("get a user");
    assert_eq!(read, Some(hoa.clone()), "put adds a user");
    hoa.active = false;
    hoa.role = Role::Administrator;
    store.put(&t.tenant, &hoa).await.expect("put over a user");
    let read = store.get(&t.tenant, &hoa.id).await.expect("get a user");
    assert_eq!(read, Some(hoa.clone()), "put replaces a user");
    let result = store.create(&t.tenant, &person("u-hoa", "Khác")).await;
    refused!(
        result,
        StoreError::AlreadyExists,
        "a user put earlier is taken for create"
    );
}

pub async fn get_many_reads_only_the_tenants_users_that_exist(
    store: &dyn UserDirectory,
    t: &Tenants,
) {
    for (id, name) in [("u-many-1", "Trần Bình"), ("u-many-2", "Lê Lan")] {
        store
            .create(&t.tenant, &person(id, name))
            .await
            .expect("create a user");
    }
    store
        .create(&t.other, &person("u-many-3", "Người lạ"))
        .await
        .expect("create a user");
    let asked = [
        user("u-many-2"),
        user("u-missing"),
        user("u-many-1"),
        user("u-many-3"),
    ];
    let mut found: Vec<(String, String)> = store
        .get_many(&t.tenant, &asked)
        .await
        .expect("get many")
        .into_iter()
        .map(|u| (u.id.to_string(), u.name))
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            ("u-many-1".to_owned(), "Trần Bình".to_owned()),
            ("u-many-2".to_owned(), "Lê Lan".to_owned())
        ],
        "this tenant's users, whole, and nobody else's"
    );
    assert!(
        store
            .get_many(&t.tenant, &[])
            .await
            .expect("get none")
            .is_empty()
    );
}

pub async fn existing_names_only_the_tenants_users(store: &dyn UserDirectory, t: &Tenants) {
    for id in ["u-x", "u-y"] {
        store
            .create(&t.tenant, &person(id, "Người dùng"))
            .await
            .expect("create a user");
    }
    store
        .create(&t.other, &person("u-z", "Người lạ"))
        .await
        .expect("create a user");
    let asked = [user("u-x"), user("u-missing"), user("u-y"), user("u-z")];
    let found = store.existing(&t.tenant, &asked).await.expect("existing");
    assert_eq!(
        found,
        HashSet::from([user("u-x"), user("u-y")]),
        "only this tenant's users that exist"
    );
    let found = store
        .existing(&t.other, &asked[..2])
        .await
        .expect("existing");
    assert!(
        found.is_empty(),
        "another tenant has none of them, got {found:?}"
    );
    let found = store
        .existing(&t.tenant, &[])
        .await
        .expect("existing of nothing");
    assert!(found.is_empty(), "no ids, none exist");
}

pub async fn listing_pages_through_every_user_in_id_order(store: &dyn UserDirectory, t: &Tenants) {
    for id in ["u-c", "u-e", "u-a", "u-d", "u-b"] {
        store
            .create(&t.tenant, &person(id, id))
            .await
            .expect("create a user");
    }
    store
        .create(&t.other, &person("u-0", "Người lạ"))
        .await
        .expect("create a user");
    let listed = all_pages("users", 2, |page| async move {
        store.list(&t.tenant, &page).await
    })
    .await;
    let ids: Vec<&str> = listed.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(
        ids,
        ["u-a", "u-b", "u-c", "u-d", "u-e"],
        "every user, in id order"
    );
    assert_eq!(listed[0], person("u-a", "u-a"), "listed as stored");
    let page = second_page(
        "users",
        2,
        |p| async move { store.list(&t.tenant, &p).await },
    )
    .await;
    let result = store.list(&t.other, &page).await;
    refused!(result, StoreError::BadCursor, "another tenant's cursor");
}

pub async fn a_layout_is_saved_at_its_revision_for_its_user_only(
    store: &dyn UserDirectory,
    t: &Tenants,
) {
    use crate::user::preferences::{CustomerPageLayout, RelatedList, RelatedListLayout};
    let lan = user("u-lan");
    assert_eq!(store.layout(&t.tenant, &lan).await.expect("read"), None);
    let mut layout = CustomerPageLayout {
        summary_fields: vec!["Name".into(), "Phone".into()],
        related: vec![RelatedListLayout {
            list: RelatedList::Orders,
            columns: vec!["Code".into(), "Amount".into()],
        }],
    };
    let first = store
        .put_layout(&t.tenant, &lan, &layout, 0)
        .await
        .expect("the first save");
    assert_eq!(first.revision, 1);
    refused!(
        store.put_layout(&t.tenant, &lan, &layout, 0).await,
        StoreError::Conflict { .. },
        "a second first save"
    );
    layout.summary_fields.push("Email".into());
    let second = store
        .put_layout(&t.tenant, &lan, &layout, first.revision)
        .await
        .expect("a save at the revision read");
    assert_eq!(second.revision, 2);
    assert_eq!(
        store.layout(&t.tenant, &lan).await.expect("read"),
        Some(second),
        "the layout reads back"
    );
    assert_eq!(
        store.layout(&t.other, &lan).await.expect("read"),
        None,
        "another tenant's user of the same id has none"
    );
    assert_eq!(
        store
            .layout(&t.tenant, &user("u-binh"))
            .await
            .expect("read"),
        None,
        "another user has none"
    );
}
