//! The user directory port: the CRM users of a tenant.

use async_trait::async_trait;
use std::collections::HashSet;

use super::User;
use super::preferences::CustomerPageLayout;
use crate::ids::{TenantId, UserId};
use crate::store::{Page, PageRequest, Revisioned, StoreError};

/// The CRM users of a tenant.
#[async_trait]
pub trait UserDirectory: Send + Sync {
    async fn put(&self, tenant: &TenantId, user: &User) -> Result<(), StoreError>;

    /// Adds a user; `AlreadyExists` when the id is taken, whoever got there first.
    async fn create(&self, tenant: &TenantId, user: &User) -> Result<(), StoreError>;

    async fn get(&self, tenant: &TenantId, id: &UserId) -> Result<Option<User>, StoreError>;

    /// The users of `ids` that exist, in no particular order: one batched read (at most 100 ids).
    async fn get_many(&self, tenant: &TenantId, ids: &[UserId]) -> Result<Vec<User>, StoreError>;

    /// Which of `ids` exist.
    async fn existing(
        &self,
        tenant: &TenantId,
        ids: &[UserId],
    ) -> Result<HashSet<UserId>, StoreError>;

    async fn list(&self, tenant: &TenantId, page: &PageRequest) -> Result<Page<User>, StoreError>;

    /// The customer-page layout `user` saved, if any.
    async fn layout(
        &self,
        tenant: &TenantId,
        user: &UserId,
    ) -> Result<Option<Revisioned<CustomerPageLayout>>, StoreError>;

    /// Saves `user`'s layout if the stored one is still at `expected` (0: none saved yet);
    /// `Conflict` otherwise, and nothing is written.
    async fn put_layout(
        &self,
        tenant: &TenantId,
        user: &UserId,
        layout: &CustomerPageLayout,
        expected: u64,
    ) -> Result<Revisioned<CustomerPageLayout>, StoreError>;
}

/// The members of `team`, read page by page through the directory (a tenant has hundreds of
/// users at most), by id.
pub async fn team_members(
    users: &dyn UserDirectory,
    tenant: &TenantId,
    team: &str,
) -> Result<Vec<User>, StoreError> {
    let mut members = Vec::new();
    let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
    loop {
        let found = users.list(tenant, &page).await?;
        members.extend(
            found
                .items
                .into_iter()
                .filter(|u| u.team.as_deref() == Some(team)),
        );
        match found.next {
            Some(next) => page.cursor = Some(next),
            None => break,
        }
    }
    members.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(members)
}
