//! The settings port: what actions name, and the tenant's own settings.

use async_trait::async_trait;
use std::collections::HashMap;

use super::{Setting, TenantSettings};
use crate::action::{SettingInfo, SettingKind};
use crate::ids::{SettingId, TenantId};
use crate::store::{Page, PageRequest, Revisioned, StoreError};

/// The settings actions reference, and the tenant's own settings.
#[async_trait]
pub trait SettingsStore: Send + Sync {
    async fn create(
        &self,
        tenant: &TenantId,
        id: &SettingId,
        setting: &Setting,
    ) -> Result<Revisioned<Setting>, StoreError>;

    async fn get(
        &self,
        tenant: &TenantId,
        kind: SettingKind,
        id: &SettingId,
    ) -> Result<Option<Revisioned<Setting>>, StoreError>;

    async fn replace(
        &self,
        tenant: &TenantId,
        id: &SettingId,
        setting: &Setting,
        expected: u64,
    ) -> Result<Revisioned<Setting>, StoreError>;

    async fn delete(
        &self,
        tenant: &TenantId,
        kind: SettingKind,
        id: &SettingId,
        expected: u64,
    ) -> Result<(), StoreError>;

    async fn list(
        &self,
        tenant: &TenantId,
        kind: SettingKind,
        page: &PageRequest,
    ) -> Result<Page<(SettingId, Revisioned<Setting>)>, StoreError>;

    /// What validation needs of the named settings; absent ones are missing from the map.
    async fn infos(
        &self,
        tenant: &TenantId,
        refs: &[(SettingKind, SettingId)],
    ) -> Result<HashMap<(SettingKind, SettingId), SettingInfo>, StoreError>;

    /// The tenant's settings; revision 0 and the defaults when never saved.
    async fn tenant_settings(
        &self,
        tenant: &TenantId,
    ) -> Result<Revisioned<TenantSettings>, StoreError>;

    async fn put_tenant_settings(
        &self,
        tenant: &TenantId,
        settings: &TenantSettings,
        expected: u64,
    ) -> Result<Revisioned<TenantSettings>, StoreError>;

    /// Every tenant's mailbox settings, a page at a time, for the scheduled sync (the only
    /// listing across tenants; it names settings, and reads nothing of them).
    async fn mailboxes(
        &self,
        page: &PageRequest,
    ) -> Result<Page<crate::mailbox::ports::MailboxRef>, StoreError>;
}

/// Every setting of `kind` the tenant has, read page by page (a few hundred at most).
pub async fn every_setting(
    store: &dyn SettingsStore,
    tenant: &TenantId,
    kind: SettingKind,
) -> Result<Vec<(SettingId, Setting)>, StoreError> {
    let mut all = Vec::new();
    let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
    loop {
        let found = store.list(tenant, kind, &page).await?;
        all.extend(found.items.into_iter().map(|(id, s)| (id, s.value)));
        match found.next {
            Some(next) => page.cursor = Some(next),
            None => return Ok(all),
        }
    }
}
