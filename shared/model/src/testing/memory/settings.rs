//! Settings and tenant settings in memory, as `DynamoSettingsStore` keeps them in the settings
//! table: one item per setting under `SET#<kind slug>#<id>` (so a listing of one kind is ordered
//! by id, as bytes), and one `TENANT` item per tenant.
//!
//! Revisions follow the adapter's `put_revisioned`: a create refuses an existing item
//! (`AlreadyExists`); a replace or delete of an absent item is `NotFound` and of another revision
//! `Conflict`. Tenant settings are different in the adapter, and here too: every refusal of
//! `put_tenant_settings` is `Conflict { expected }`, whether the item is absent or not.

use super::paging::{Query, SortKey};
use super::tables::SettingTables;
use super::world::{Access, StoreKind, World, check_batch, store_controls};
use crate::action::{SettingInfo, SettingKind};
use crate::ids::{SettingId, TenantId};
use crate::mailbox::ports::MailboxRef;
use crate::settings::store::SettingsStore;
use crate::settings::{Setting, TenantSettings};
use crate::store::{Page, PageRequest, Revisioned, StoreError};
use async_trait::async_trait;
use std::collections::HashMap;

fn setting_sk(kind: SettingKind, id: &SettingId) -> String {
    format!("SET#{}#{id}", kind.slug())
}

/// The in-memory [`SettingsStore`].
#[derive(Debug, Clone, Default)]
pub struct MemorySettingsStore {
    pub(super) world: World,
}

store_controls!(MemorySettingsStore, StoreKind::Settings);

impl MemorySettingsStore {
    /// A store with tables of its own.
    pub fn new() -> Self {
        Self::default()
    }

    fn read<T>(
        &self,
        op: impl FnOnce(&SettingTables) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.world
            .call(StoreKind::Settings, Access::Read, |s| op(&s.settings))
    }

    fn write<T>(
        &self,
        op: impl FnOnce(&mut SettingTables) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.world
            .call(StoreKind::Settings, Access::Write, |s| op(&mut s.settings))
    }

    /// `put_revisioned`: new when `expected` is `None`, else replacing revision `expected`.
    fn put(
        &self,
        tenant: &TenantId,
        id: &SettingId,
        setting: &Setting,
        expected: Option<u64>,
    ) -> Result<Revisioned<Setting>, StoreError> {
        self.write(|tables| {
            let table = tables.tenants.entry(tenant.clone()).or_default();
            let sk = setting_sk(setting.kind(), id);
            match (expected, table.settings.get(&sk)) {
                (None, Some(_)) => return Err(StoreError::AlreadyExists),
                (Some(_), None) => return Err(StoreError::NotFound),
                (Some(expected), Some((_, stored))) if stored.revision != expected => {
                    return Err(StoreError::Conflict { expected });
                }
                _ => {}
            }
            let stored = Revisioned {
                value: setting.clone(),
                revision: expected.map_or(1, |r| r + 1),
            };
            table.settings.insert(sk, (id.clone(), stored.clone()));
            Ok(stored)
        })
    }
}

#[async_trait]
impl SettingsStore for MemorySettingsStore {
    async fn create(
        &self,
        tenant: &TenantId,
        id: &SettingId,
        setting: &Setting,
    ) -> Result<Revisioned<Setting>, StoreError> {
        self.put(tenant, id, setting, None)
    }

    async fn get(
        &self,
        tenant: &TenantId,
        kind: SettingKind,
        id: &SettingId,
    ) -> Result<Option<Revisioned<Setting>>, StoreError> {
        self.read(|tables| {
            Ok(tables
                .tenants
                .get(tenant)
                .and_then(|t| t.settings.get(&setting_sk(kind, id)))
                .map(|(_, stored)| stored.clone()))
        })
    }

    async fn replace(
        &self,
        tenant: &TenantId,
        id: &SettingId,
        setting: &Setting,
        expected: u64,
    ) -> Result<Revisioned<Setting>, StoreError> {
        self.put(tenant, id, setting, Some(expected))
    }

    async fn delete(
        &self,
        tenant: &TenantId,
        kind: SettingKind,
        id: &SettingId,
        expected: u64,
    ) -> Result<(), StoreError> {
        self.write(|tables| {
            let sk = setting_sk(kind, id);
            let Some(table) = tables.tenants.get_mut(tenant) else {
                return Err(StoreError::NotFound);
            };
            match table.settings.get(&sk) {
                None => Err(StoreError::NotFound),
                Some((_, stored)) if stored.revision != expected => {
                    Err(StoreError::Conflict { expected })
                }
                Some(_) => {
                    table.settings.remove(&sk);
                    Ok(())
                }
            }
        })
    }

    async fn list(
        &self,
        tenant: &TenantId,
        kind: SettingKind,
        page: &PageRequest,
    ) -> Result<Page<(SettingId, Revisioned<Setting>)>, StoreError> {
        let query = Query::new("pk", format!("T#{tenant}"))
            .sort(SortKey::Prefix(format!("SET#{}#", kind.slug())));
        self.read(|tables| {
            let items = tables
                .tenants
                .get(tenant)
                .into_iter()
                .flat_map(|t| t.settings.iter())
                .map(|(sk, item)| (vec![sk.clone()], item.clone()));
            let found = query.page(items, page, |_| true)?;
            Ok(Page {
                items: found.items,
                next: found.next,
            })
        })
    }

    async fn mailboxes(&self, page: &PageRequest) -> Result<Page<MailboxRef>, StoreError> {
        // The adapter's sparse index: gsi1pk `MAILBOXES`, gsi1sk `<tenant>#<id>`.
        let query = Query::new("gsi1pk", "MAILBOXES");
        self.read(|tables| {
            let items = tables.tenants.iter().flat_map(|(tenant, table)| {
                table
                    .settings
                    .iter()
                    .filter(|(_, (_, stored))| stored.value.kind() == SettingKind::Mailbox)
                    .map(move |(sk, (id, _))| {
                        let position =
                            vec![format!("{tenant}#{id}"), format!("T#{tenant}"), sk.clone()];
                        let mailbox = MailboxRef {
                            tenant: tenant.clone(),
                            id: id.clone(),
                        };
                        (position, mailbox)
                    })
            });
            let found = query.page(items, page, |_| true)?;
            Ok(Page {
                items: found.items,
                next: found.next,
            })
        })
    }

    async fn infos(
        &self,
        tenant: &TenantId,
        refs: &[(SettingKind, SettingId)],
    ) -> Result<HashMap<(SettingKind, SettingId), SettingInfo>, StoreError> {
        self.read(|tables| {
            check_batch(refs)?;
            let Some(table) = tables.tenants.get(tenant) else {
                return Ok(HashMap::new());
            };
            Ok(refs
                .iter()
                .filter_map(|(kind, id)| table.settings.get(&setting_sk(*kind, id)))
                .map(|(id, stored)| ((stored.value.kind(), id.clone()), stored.value.info()))
                .collect())
        })
    }

    async fn tenant_settings(
        &self,
        tenant: &TenantId,
    ) -> Result<Revisioned<TenantSettings>, StoreError> {
        self.read(|tables| {
            Ok(tables
                .tenants
                .get(tenant)
                .and_then(|t| t.tenant.clone())
                .unwrap_or_else(|| Revisioned {
                    value: TenantSettings::default(),
                    revision: 0,
                }))
        })
    }

    async fn put_tenant_settings(
        &self,
        tenant: &TenantId,
        settings: &TenantSettings,
        expected: u64,
    ) -> Result<Revisioned<TenantSettings>, StoreError> {
        self.write(|tables| {
            let table = tables.tenants.entry(tenant.clone()).or_default();
            // 0: `attribute_not_exists(pk)`; else `revision = :expected` (false when absent).
            let admitted = match &table.tenant {
                None => expected == 0,
                Some(stored) => expected != 0 && stored.revision == expected,
            };
            if !admitted {
                return Err(StoreError::Conflict { expected });
            }
            let stored = Revisioned {
                value: settings.clone(),
                revision: expected + 1,
            };
            table.tenant = Some(stored.clone());
            Ok(stored)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tenant_settings_refusals_are_conflicts_and_batches_refuse_duplicates() {
        let store = MemorySettingsStore::new();
        let tenant = TenantId::new("t1").unwrap();
        let defaults = TenantSettings::default();
        assert!(matches!(
            store.put_tenant_settings(&tenant, &defaults, 3).await,
            Err(StoreError::Conflict { expected: 3 })
        ));
        let first = store.put_tenant_settings(&tenant, &defaults, 0).await;
        assert_eq!(first.unwrap().revision, 1);
        assert!(matches!(
            store.put_tenant_settings(&tenant, &defaults, 0).await,
            Err(StoreError::Conflict { expected: 0 })
        ));
        let id = SettingId::new("s1").unwrap();
        let twice = [
            (SettingKind::SmsTemplate, id.clone()),
            (SettingKind::SmsTemplate, id),
        ];
        assert!(matches!(
            store.infos(&tenant, &twice).await,
            Err(StoreError::Unavailable(_))
        ));
    }
}
