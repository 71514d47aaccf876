//! The user directory port: the CRM users of a tenant.

use async_trait::async_trait;
use std::collections::HashSet;

use super::User;
use crate::ids::{TenantId, UserId};
use crate::store::{Page, PageRequest, StoreError};

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
}
