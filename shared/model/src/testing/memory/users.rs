//! CRM users in memory, as `DynamoUserDirectory` keeps them in the records table: one item per
//! user under `T#<tenant>` / `USER#<id>`, so a listing is ordered by id (as bytes). `put`
//! overwrites; `create` refuses an id that is taken (`attribute_not_exists(pk)`).

use super::paging::{Query, SortKey};
use super::tables::UserTables;
use super::world::{Access, StoreKind, World, check_batch, store_controls};
use crate::ids::{TenantId, UserId};
use crate::store::{Page, PageRequest, Revisioned, StoreError};
use crate::user::User;
use crate::user::directory::UserDirectory;
use crate::user::preferences::CustomerPageLayout;
use async_trait::async_trait;
use std::collections::HashSet;

/// The in-memory [`UserDirectory`].
#[derive(Debug, Clone, Default)]
pub struct MemoryUserDirectory {
    pub(super) world: World,
}

store_controls!(MemoryUserDirectory, StoreKind::Users);

impl MemoryUserDirectory {
    /// A directory with tables of its own.
    pub fn new() -> Self {
        Self::default()
    }

    fn read<T>(
        &self,
        op: impl FnOnce(&UserTables) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.world
            .call(StoreKind::Users, Access::Read, |s| op(&s.users))
    }

    fn write<T>(
        &self,
        op: impl FnOnce(&mut UserTables) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.world
            .call(StoreKind::Users, Access::Write, |s| op(&mut s.users))
    }
}

#[async_trait]
impl UserDirectory for MemoryUserDirectory {
    async fn put(&self, tenant: &TenantId, user: &User) -> Result<(), StoreError> {
        self.write(|tables| {
            let users = tables.tenants.entry(tenant.clone()).or_default();
            users.insert(user.id.clone(), user.clone());
            Ok(())
        })
    }

    async fn create(&self, tenant: &TenantId, user: &User) -> Result<(), StoreError> {
        self.write(|tables| {
            let users = tables.tenants.entry(tenant.clone()).or_default();
            if users.contains_key(&user.id) {
                return Err(StoreError::AlreadyExists);
            }
            users.insert(user.id.clone(), user.clone());
            Ok(())
        })
    }

    async fn get(&self, tenant: &TenantId, id: &UserId) -> Result<Option<User>, StoreError> {
        self.read(|tables| {
            Ok(tables
                .tenants
                .get(tenant)
                .and_then(|users| users.get(id).cloned()))
        })
    }

    async fn get_many(&self, tenant: &TenantId, ids: &[UserId]) -> Result<Vec<User>, StoreError> {
        self.read(|tables| {
            check_batch(ids)?;
            let Some(users) = tables.tenants.get(tenant) else {
                return Ok(Vec::new());
            };
            Ok(ids.iter().filter_map(|id| users.get(id).cloned()).collect())
        })
    }

    async fn existing(
        &self,
        tenant: &TenantId,
        ids: &[UserId],
    ) -> Result<HashSet<UserId>, StoreError> {
        self.read(|tables| {
            check_batch(ids)?;
            let Some(users) = tables.tenants.get(tenant) else {
                return Ok(HashSet::new());
            };
            Ok(ids
                .iter()
                .filter(|id| users.contains_key(*id))
                .cloned()
                .collect())
        })
    }

    async fn layout(
        &self,
        tenant: &TenantId,
        user: &UserId,
    ) -> Result<Option<Revisioned<CustomerPageLayout>>, StoreError> {
        self.read(|tables| Ok(tables.layouts.get(&(tenant.clone(), user.clone())).cloned()))
    }

    async fn put_layout(
        &self,
        tenant: &TenantId,
        user: &UserId,
        layout: &CustomerPageLayout,
        expected: u64,
    ) -> Result<Revisioned<CustomerPageLayout>, StoreError> {
        self.write(|tables| {
            let key = (tenant.clone(), user.clone());
            let stored = tables.layouts.get(&key).map_or(0, |l| l.revision);
            if stored != expected {
                return Err(StoreError::Conflict { expected });
            }
            let saved = Revisioned {
                value: layout.clone(),
                revision: expected + 1,
            };
            tables.layouts.insert(key, saved.clone());
            Ok(saved)
        })
    }

    async fn list(&self, tenant: &TenantId, page: &PageRequest) -> Result<Page<User>, StoreError> {
        let query =
            Query::new("pk", format!("T#{tenant}")).sort(SortKey::Prefix("USER#".to_owned()));
        self.read(|tables| {
            let items = tables
                .tenants
                .get(tenant)
                .into_iter()
                .flat_map(|users| users.values())
                .map(|user| (vec![format!("USER#{}", user.id)], user.clone()));
            let found = query.page(items, page, |_| true)?;
            Ok(Page {
                items: found.items,
                next: found.next,
            })
        })
    }
}
