//! The notification inbox: delivery once per id, newest first, the unread filter, marking read
//! (addressed by [`Notification::key`]).

use super::{Tenants, all_pages, at, second_page, user};
use crate::ids::{RecordId, UserId};
use crate::store::StoreError;
use crate::user::Notification;
use crate::user::notifications::NotificationInbox;

fn notification(id: &str, to: &UserId, minutes: i64) -> Notification {
    Notification {
        id: id.into(),
        user: to.clone(),
        message: format!("Bạn có việc mới ({id})"),
        record: Some(RecordId::new("r-1").expect("a valid record id")),
        at: at(minutes),
        read: false,
    }
}

async fn deliver(inbox: &dyn NotificationInbox, t: &Tenants, n: &Notification) {
    inbox
        .deliver(&t.tenant, n)
        .await
        .unwrap_or_else(|e| panic!("delivering {} failed: {e:?}", n.id))
}

async fn listed(
    inbox: &dyn NotificationInbox,
    t: &Tenants,
    to: &UserId,
    unread: bool,
) -> Vec<Notification> {
    all_pages("notifications", 10, |page| async move {
        inbox.list(&t.tenant, to, unread, &page).await
    })
    .await
}

/// Every notification of `to`, `limit` at a time.
async fn listed_by(
    inbox: &dyn NotificationInbox,
    t: &Tenants,
    to: &UserId,
    limit: u32,
) -> Vec<Notification> {
    all_pages("notifications", limit, |page| async move {
        inbox.list(&t.tenant, to, false, &page).await
    })
    .await
}

fn ids(notifications: &[Notification]) -> Vec<&str> {
    notifications.iter().map(|n| n.id.as_str()).collect()
}

pub async fn delivering_the_same_notification_twice_stores_it_once(
    inbox: &dyn NotificationInbox,
    t: &Tenants,
) {
    let to = user("u-once");
    let n = notification("n-once", &to, 0);
    deliver(inbox, t, &n).await;
    deliver(inbox, t, &n).await;
    assert_eq!(
        listed(inbox, t, &to, false).await,
        vec![n],
        "delivered once"
    );
}

pub async fn the_same_id_at_another_instant_is_stored_once(
    inbox: &dyn NotificationInbox,
    t: &Tenants,
) {
    // The port promises one notification per id: a use case that delivers again after an
    // interruption computes the same id, but not necessarily the same instant.
    let to = user("u-again");
    let first = notification("n-again", &to, 0);
    deliver(inbox, t, &first).await;
    deliver(inbox, t, &notification("n-again", &to, 5)).await;
    let stored = listed(inbox, t, &to, false).await;
    assert_eq!(
        ids(&stored),
        ["n-again"],
        "the same id must be stored once, got {stored:?}"
    );
}

pub async fn the_inbox_lists_newest_first_page_by_page(inbox: &dyn NotificationInbox, t: &Tenants) {
    let to = user("u-list");
    for (id, minutes) in [("n-2", 20), ("n-1", 10), ("n-4", 40), ("n-3", 30)] {
        deliver(inbox, t, &notification(id, &to, minutes)).await;
    }
    deliver(inbox, t, &notification("n-else", &user("u-else"), 50)).await;
    let elsewhere = notification("n-x", &to, 60);
    inbox
        .deliver(&t.other, &elsewhere)
        .await
        .expect("deliver elsewhere");
    let paged = listed_by(inbox, t, &to, 3).await;
    assert_eq!(
        ids(&paged),
        ["n-4", "n-3", "n-2", "n-1"],
        "this user's, newest first"
    );
    assert_eq!(
        paged[0],
        notification("n-4", &to, 40),
        "listed as delivered"
    );
    let to = &to;
    let page = second_page("notifications", 2, |p| async move {
        inbox.list(&t.tenant, to, false, &p).await
    })
    .await;
    let result = inbox.list(&t.other, to, false, &page).await;
    refused!(result, StoreError::BadCursor, "another tenant's cursor");
}

pub async fn unread_only_leaves_out_what_was_read(inbox: &dyn NotificationInbox, t: &Tenants) {
    let to = user("u-read");
    let all: Vec<Notification> = (1..=3)
        .map(|i| notification(&format!("n-r{i}"), &to, i))
        .collect();
    for n in &all {
        deliver(inbox, t, n).await;
    }
    let read = inbox
        .mark_read(&t.tenant, &to, &all[1].key())
        .await
        .expect("mark_read");
    let expected = Notification {
        read: true,
        ..all[1].clone()
    };
    assert_eq!(read, expected, "mark_read returns the notification, read");
    assert_eq!(
        ids(&listed(inbox, t, &to, true).await),
        ["n-r3", "n-r1"],
        "only unread ones"
    );
    let everything = listed(inbox, t, &to, false).await;
    assert_eq!(
        ids(&everything),
        ["n-r3", "n-r2", "n-r1"],
        "the read one is still listed"
    );
    assert!(everything[1].read, "listed as read");
    let again = inbox.mark_read(&t.tenant, &to, &all[1].key()).await;
    assert_eq!(again.expect("marking read twice is fine"), expected);
}

pub async fn marking_another_users_notification_is_not_found(
    inbox: &dyn NotificationInbox,
    t: &Tenants,
) {
    let to = user("u-owner");
    let n = notification("n-mine", &to, 0);
    deliver(inbox, t, &n).await;
    let missing = notification("n-missing", &to, 0).key();
    let attempts = [
        (&t.tenant, user("u-intruder"), n.key()),
        (&t.other, to.clone(), n.key()),
        (&t.tenant, to.clone(), missing),
        (&t.tenant, to.clone(), "not-a-key".to_owned()),
    ];
    for (tenant, who, key) in attempts {
        let result = inbox.mark_read(tenant, &who, &key).await;
        refused!(
            result,
            StoreError::NotFound,
            "marking {key} read as {who} in {tenant}"
        );
    }
    let stored = listed(inbox, t, &to, true).await;
    assert_eq!(stored, vec![n], "still unread after the refused attempts");
    let intruder = listed(inbox, t, &user("u-intruder"), false).await;
    assert!(
        intruder.is_empty(),
        "no notification was created for the intruder"
    );
}
