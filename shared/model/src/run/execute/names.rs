//! The users and records a job's merge fields name, looked up before anything is rendered: the
//! referenced records in one batched read, the users through the sandbox's cache (one batched
//! read for those not in it), so `#Owner` shows a name at the cost of at most one call more.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{ExecuteError, Executor, ExecutorCache, fresh, remember};
use crate::action::Action;
use crate::ids::{TenantId, UserId};
use crate::record::Record;
use crate::schema::{Module, Schema};
use crate::store::StoreError;
use crate::template::{LoadedNames, MergeTemplate, UserLookup, look_up, setting_texts};
use crate::user::User;
use crate::user::directory::UserDirectory;

impl Executor<'_> {
    /// Every text `action` renders: its own and its templates' (read through the settings
    /// cache, as the action reads them afterwards anyway).
    async fn texts(&self, tenant: &TenantId, action: &Action) -> Result<Vec<String>, ExecuteError> {
        let mut texts: Vec<String> = action
            .merge_texts()
            .into_iter()
            .map(str::to_owned)
            .collect();
        for (kind, id) in action.rendered_settings() {
            if let Some(setting) = self.setting(tenant, kind, id).await? {
                texts.extend(setting_texts(setting));
            }
        }
        Ok(texts)
    }

    /// The users and records the merge fields of `action` name for `record`.
    pub(super) async fn names(
        &self,
        tenant: &TenantId,
        action: &Action,
        schema: &Schema,
        module: Module,
        record: &Record,
        now: DateTime<Utc>,
    ) -> Result<LoadedNames, ExecuteError> {
        let templates: Vec<MergeTemplate> = self
            .texts(tenant, action)
            .await?
            .iter()
            .filter_map(|text| MergeTemplate::parse(text, schema, module).ok())
            .collect();
        let users = CachedUsers {
            directory: self.users,
            cache: self.cache,
            now,
        };
        Ok(look_up(
            tenant,
            &templates,
            schema,
            module,
            record,
            self.records,
            &users,
        )
        .await?)
    }
}

/// The directory behind the sandbox's cache: users found or not are remembered for
/// [`super::CACHE_SECONDS`].
struct CachedUsers<'e> {
    directory: &'e dyn UserDirectory,
    cache: &'e ExecutorCache,
    now: DateTime<Utc>,
}

#[async_trait]
impl UserLookup for CachedUsers<'_> {
    async fn users(&self, tenant: &TenantId, ids: &[UserId]) -> Result<Vec<User>, StoreError> {
        let mut users = Vec::new();
        let mut missing = Vec::new();
        for id in ids {
            match fresh(&self.cache.users, &(tenant.clone(), id.clone()), self.now) {
                Some(Some(user)) => users.push(user),
                Some(None) => {}
                None => missing.push(id.clone()),
            }
        }
        if missing.is_empty() {
            return Ok(users);
        }
        let found = self.directory.get_many(tenant, &missing).await?;
        for id in missing {
            let user = found.iter().find(|u| u.id == id).cloned();
            remember(
                &self.cache.users,
                (tenant.clone(), id),
                self.now,
                user.clone(),
            );
            users.extend(user);
        }
        Ok(users)
    }
}
