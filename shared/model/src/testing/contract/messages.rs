//! A customer's messages through their own index, and contacts found by their email: what the
//! email history and the mailbox sync rely on.

use serde_json::json;

use super::Tenants;
use super::records::{create, customer, record, rid};
use crate::record::identity;
use crate::record::store::RecordStore;
use crate::schema::Module;

fn message(
    id: &str,
    customer: &str,
    sent_at: Option<&str>,
    created_at: &str,
) -> crate::record::stored::StoredRecord {
    let mut fields = json!({"Channel": "Email", "Direction": "Incoming", "Customer": customer,
                            "Subject": id, "CreatedAt": created_at});
    if let Some(sent) = sent_at {
        fields["SentAt"] = json!(sent);
    }
    record(id, Module::Message, fields)
}

pub async fn a_customers_messages_are_read_newest_first_apart_from_its_related_lists(
    store: &dyn RecordStore,
    t: &Tenants,
) {
    create(
        store,
        &t.tenant,
        &customer("r-msg-c", "0912000031", "m@example.vn"),
    )
    .await;
    let contact = record(
        "r-msg-k",
        Module::Contact,
        json!({"Name": "Tuấn", "Customer": "r-msg-c"}),
    );
    create(store, &t.tenant, &contact).await;
    // Sent at 08:00, written at 09:00 (a queued one: no SentAt), sent at 10:00, and another
    // customer's and another tenant's.
    let at = |h: u32| format!("2026-05-20T{h:02}:00:00.000Z");
    create(
        store,
        &t.tenant,
        &message("r-msg-1", "r-msg-c", Some(&at(8)), &at(11)),
    )
    .await;
    create(
        store,
        &t.tenant,
        &message("r-msg-2", "r-msg-c", None, &at(9)),
    )
    .await;
    create(
        store,
        &t.tenant,
        &message("r-msg-3", "r-msg-c", Some(&at(10)), &at(10)),
    )
    .await;
    create(
        store,
        &t.tenant,
        &message("r-msg-4", "r-msg-other", Some(&at(10)), &at(10)),
    )
    .await;
    create(
        store,
        &t.other,
        &message("r-msg-5", "r-msg-c", Some(&at(10)), &at(10)),
    )
    .await;
    let ids = |found: Vec<crate::store::Revisioned<crate::record::stored::StoredRecord>>| {
        found
            .into_iter()
            .map(|m| m.value.id.to_string())
            .collect::<Vec<_>>()
    };
    let all = store
        .messages(&t.tenant, &rid("r-msg-c"), None, 10)
        .await
        .expect("messages");
    assert_eq!(
        ids(all),
        ["r-msg-3", "r-msg-2", "r-msg-1"],
        "newest first, by when sent"
    );
    let first = store
        .messages(&t.tenant, &rid("r-msg-c"), None, 2)
        .await
        .expect("a page");
    let last = crate::record::store::message_key(&first[1].value);
    let rest = store
        .messages(&t.tenant, &rid("r-msg-c"), Some(&last), 2)
        .await
        .expect("the next");
    assert_eq!(ids(rest), ["r-msg-1"], "below the previous page's last key");
    let related = store
        .related(&t.tenant, &rid("r-msg-c"), 10)
        .await
        .expect("related");
    assert_eq!(
        related
            .iter()
            .map(|r| r.value.id.to_string())
            .collect::<Vec<_>>(),
        ["r-msg-k"],
        "messages are not among the related lists"
    );
}

pub async fn a_contact_is_found_by_its_email_apart_from_customers(
    store: &dyn RecordStore,
    t: &Tenants,
) {
    let contact = record(
        "r-msg-k2",
        Module::Contact,
        json!({"Name": "Lan", "Customer": "r-msg-c2", "Email": "Lan.Contact@Example.vn"}),
    );
    create(store, &t.tenant, &contact).await;
    let key = identity::contact_key("lan.contact@example.vn").expect("a key");
    let found = store
        .find_by_identity(&t.tenant, std::slice::from_ref(&key))
        .await
        .expect("find");
    assert_eq!(found, [rid("r-msg-k2")]);
    let as_customer =
        identity::key(identity::IdentityKind::Email, "lan.contact@example.vn").expect("a key");
    let none = store
        .find_by_identity(&t.tenant, &[as_customer])
        .await
        .expect("find");
    assert!(none.is_empty(), "a contact is no customer's duplicate");
    let other = store
        .find_by_identity(&t.other, std::slice::from_ref(&key))
        .await
        .expect("find");
    assert!(other.is_empty(), "another tenant finds nobody");
    // A changed email moves its key; a deleted contact takes it along.
    let stored = store
        .get(&t.tenant, &rid("r-msg-k2"))
        .await
        .expect("get")
        .expect("there");
    let mut moved = stored.value.clone();
    moved
        .fields
        .insert("Email".into(), json!("tuan@example.vn"));
    let moved = store
        .replace(&t.tenant, &moved, stored.revision)
        .await
        .expect("replace");
    assert!(
        store
            .find_by_identity(&t.tenant, std::slice::from_ref(&key))
            .await
            .expect("find")
            .is_empty()
    );
    let new_key = identity::contact_key("tuan@example.vn").expect("a key");
    assert_eq!(
        store
            .find_by_identity(&t.tenant, std::slice::from_ref(&new_key))
            .await
            .expect("find"),
        [rid("r-msg-k2")]
    );
    store
        .delete(&t.tenant, &rid("r-msg-k2"), moved.revision)
        .await
        .expect("delete");
    assert!(
        store
            .find_by_identity(&t.tenant, &[new_key])
            .await
            .expect("find")
            .is_empty()
    );
}
