//! In-app notifications in memory, as `DynamoNotificationInbox` keeps them in the records table:
//! one partition per (tenant, user), sort key `N#<at>#<id>` from the notification's key
//! `<at>~<id>` (milliseconds, UTC), listed newest first.
//!
//! `deliver` stores a notification once (`attribute_not_exists`; a second delivery of the same
//! key is a silent no-op), while the run ledger's `Effect::Notify` overwrites, as the adapter's
//! transaction does. The unread filter applies after the page's limit, so an unread listing may
//! come back short with a `next`. `mark_read` addresses one user's partition: another user's
//! notification, or a malformed key, is `NotFound`.

use super::paging::{Query, SortKey};
use super::tables::InboxTables;
use super::world::{Access, StoreKind, World, store_controls};
use crate::ids::{TenantId, UserId};
use crate::store::{Page, PageRequest, StoreError};
use crate::user::Notification;
use crate::user::notifications::NotificationInbox;
use async_trait::async_trait;

impl InboxTables {
    /// Puts a notification whatever is stored under its key (the effect's unconditional put).
    pub(super) fn overwrite(&mut self, tenant: &TenantId, notification: &Notification) {
        self.tenants
            .entry(tenant.clone())
            .or_default()
            .entry(notification.user.clone())
            .or_default()
            .insert(sort_key(notification), notification.clone());
    }
}

/// `N#<at>#<id>`, from the key `<at>~<id>` the console addresses it by.
pub(super) fn sort_key(notification: &Notification) -> String {
    let key = notification.key();
    let (at, id) = key.split_once('~').unwrap_or_default();
    format!("N#{at}#{id}")
}

/// The in-memory [`NotificationInbox`].
#[derive(Debug, Clone, Default)]
pub struct MemoryNotificationInbox {
    pub(super) world: World,
}

store_controls!(MemoryNotificationInbox, StoreKind::Inbox);

impl MemoryNotificationInbox {
    /// An inbox with tables of its own.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl NotificationInbox for MemoryNotificationInbox {
    async fn list(
        &self,
        tenant: &TenantId,
        user: &UserId,
        unread_only: bool,
        page: &PageRequest,
    ) -> Result<Page<Notification>, StoreError> {
        let query = Query::new("pk", format!("T#{tenant}#U#{user}"))
            .sort(SortKey::Prefix("N#".to_owned()))
            .descending();
        self.world.call(StoreKind::Inbox, Access::Read, |s| {
            let items = s
                .inbox
                .tenants
                .get(tenant)
                .and_then(|users| users.get(user))
                .into_iter()
                .flatten()
                .map(|(sk, n)| (vec![sk.clone()], n.clone()));
            let found = query.page(items, page, |n| !unread_only || !n.read)?;
            Ok(Page {
                items: found.items,
                next: found.next,
            })
        })
    }

    async fn deliver(
        &self,
        tenant: &TenantId,
        notification: &Notification,
    ) -> Result<(), StoreError> {
        self.world.call(StoreKind::Inbox, Access::Write, |s| {
            // One transaction of two conditional puts, as the adapter writes it: the `NID#<id>`
            // guard and the notification; either already there cancels both.
            let guard = (
                tenant.clone(),
                notification.user.clone(),
                notification.id.clone(),
            );
            let inbox = s
                .inbox
                .tenants
                .entry(tenant.clone())
                .or_default()
                .entry(notification.user.clone())
                .or_default();
            let key = sort_key(notification);
            if !s.inbox.delivered.contains(&guard) && !inbox.contains_key(&key) {
                inbox.insert(key, notification.clone());
                s.inbox.delivered.insert(guard);
            }
            Ok(())
        })
    }

    async fn mark_read(
        &self,
        tenant: &TenantId,
        user: &UserId,
        id: &str,
    ) -> Result<Notification, StoreError> {
        let Some((at, id)) = id.split_once('~') else {
            return Err(StoreError::NotFound);
        };
        let sk = format!("N#{at}#{id}");
        self.world.call(StoreKind::Inbox, Access::Write, |s| {
            let stored = s
                .inbox
                .tenants
                .get_mut(tenant)
                .and_then(|users| users.get_mut(user))
                .and_then(|inbox| inbox.get_mut(&sk))
                .ok_or(StoreError::NotFound)?;
            stored.read = true;
            Ok(stored.clone())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    fn note(id: &str, user: &str, minute: i64) -> Notification {
        Notification {
            id: id.to_owned(),
            user: UserId::new(user).unwrap(),
            message: format!("note {id}"),
            record: None,
            at: DateTime::<Utc>::from_timestamp(1_800_000_000 + minute * 60, 0).unwrap(),
            read: false,
        }
    }

    #[tokio::test]
    async fn newest_first_unread_filter_and_another_users_key_is_not_found() {
        let inbox = MemoryNotificationInbox::new();
        let tenant = TenantId::new("t1").unwrap();
        let user = UserId::new("u1").unwrap();
        for (id, minute) in [("n1", 1), ("n2", 3), ("n3", 2)] {
            inbox
                .deliver(&tenant, &note(id, "u1", minute))
                .await
                .unwrap();
        }
        let newest = note("n2", "u1", 3);
        let read = inbox
            .mark_read(&tenant, &user, &newest.key())
            .await
            .unwrap();
        assert!(read.read);
        // Delivering again does not make it unread.
        inbox.deliver(&tenant, &newest).await.unwrap();
        let all = inbox
            .list(&tenant, &user, false, &PageRequest::first(10))
            .await
            .unwrap();
        let ids: Vec<&str> = all.items.iter().map(|n| n.id.as_str()).collect();
        assert_eq!(ids, ["n2", "n3", "n1"]);
        let unread = inbox
            .list(&tenant, &user, true, &PageRequest::first(1))
            .await
            .unwrap();
        assert!(unread.items.is_empty() && unread.next.is_some());
        let stranger = UserId::new("u2").unwrap();
        assert!(matches!(
            inbox.mark_read(&tenant, &stranger, &newest.key()).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            inbox.mark_read(&tenant, &user, "no-tilde").await,
            Err(StoreError::NotFound)
        ));
    }
}
