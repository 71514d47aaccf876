//! The settings and users some actions name, loaded in one batched read each, for validation.

use std::collections::{HashMap, HashSet};

use super::{Action, Catalog, SettingInfo, SettingKind};
use crate::ids::{SettingId, TenantId, UserId};
use crate::settings::store::SettingsStore;
use crate::store::StoreError;
use crate::user::directory::UserDirectory;

/// What validation of some actions may look up, read once.
pub struct LoadedCatalog {
    settings: HashMap<(SettingKind, SettingId), SettingInfo>,
    users: HashSet<UserId>,
}

impl Catalog for LoadedCatalog {
    fn setting(&self, kind: SettingKind, id: &SettingId) -> Option<SettingInfo> {
        self.settings.get(&(kind, id.clone())).cloned()
    }
    fn user_exists(&self, id: &UserId) -> bool {
        self.users.contains(id)
    }
}

impl LoadedCatalog {
    /// Reads the settings and users `actions` name (plus `extra` settings and `extra_users`) of
    /// `tenant`.
    pub async fn load<'a>(
        settings: &dyn SettingsStore,
        users: &dyn UserDirectory,
        tenant: &TenantId,
        actions: impl IntoIterator<Item = &'a Action>,
        extra: &[(SettingKind, SettingId)],
        extra_users: &[UserId],
    ) -> Result<Self, StoreError> {
        let mut refs = extra.to_vec();
        let mut named = extra_users.to_vec();
        for action in actions {
            action.settings(&mut refs);
            action.users(&mut named);
        }
        // A batch read refuses duplicate keys.
        refs.sort_by(|a, b| (a.0 as u8, &a.1).cmp(&(b.0 as u8, &b.1)));
        refs.dedup();
        named.sort();
        named.dedup();
        Ok(Self {
            settings: settings.infos(tenant, &refs).await?,
            users: users.existing(tenant, &named).await?,
        })
    }
}
