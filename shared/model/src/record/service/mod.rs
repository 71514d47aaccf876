//! The records API's use cases (seed 003): records of every module validated against the tenant's
//! schema, with owner and audit fields; customers' related lists, history, purchases, duplicates,
//! merge and hand-over.

mod crud;
mod customers;
mod listing;
mod merge;
mod purchases;

pub use customers::{Activity, HandOver, RelatedLists};
pub use listing::{ListQuery, SortOrder};
pub use merge::{Duplicate, MergeOutcome};

use serde_json::{Map, Value};

use crate::clock::Clock;
use crate::ids::{RecordId, TenantId, UserId};
use crate::record::store::RecordStore;
use crate::record::stored::StoredRecord;
use crate::run::ledger::RunLedger;
use crate::schema::{FieldKind, Module, ModuleSchema, Schema};
use crate::settings::TenantSettings;
use crate::settings::store::SettingsStore;
use crate::store::{Revisioned, StoreError};
use crate::user::directory::UserDirectory;
use crate::user::notifications::NotificationInbox;
use crate::validation::Problems;

/// Why a records operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("the record is not valid")]
    Invalid(Problems),
    #[error("no such {0}")]
    NotFound(&'static str),
    /// The caller's If-Match revision is no longer current.
    #[error("the record changed since revision {expected}; reload it and try again")]
    Stale { expected: u64 },
    /// Delete refused while other records depend on this one (seed 003 §2.6).
    #[error("the customer still has {}; delete those first", .0.join(", "))]
    InUse(Vec<String>),
    #[error("{0}")]
    Conflict(String),
    #[error("storage failed")]
    Store(#[source] StoreError),
}

impl From<StoreError> for RecordError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => RecordError::NotFound("record"),
            StoreError::Conflict { expected } => RecordError::Stale { expected },
            StoreError::AlreadyExists => {
                RecordError::Conflict("a record with this id already exists".into())
            }
            other => RecordError::Store(other),
        }
    }
}

impl From<Problems> for RecordError {
    fn from(problems: Problems) -> Self {
        RecordError::Invalid(problems)
    }
}

/// Who acts: the tenant and user from the caller's token.
#[derive(Debug, Clone)]
pub struct Actor {
    pub tenant: TenantId,
    pub user: UserId,
}

/// The use cases, over the ports.
pub struct Records<'a> {
    pub records: &'a dyn RecordStore,
    pub users: &'a dyn UserDirectory,
    pub settings: &'a dyn SettingsStore,
    pub runs: &'a dyn RunLedger,
    pub inbox: &'a dyn NotificationInbox,
    pub clock: &'a dyn Clock,
}

impl Records<'_> {
    async fn tenant_settings(&self, tenant: &TenantId) -> Result<TenantSettings, RecordError> {
        Ok(self.settings.tenant_settings(tenant).await?.value)
    }

    /// A record of `module`; another module's record under that id is not found either.
    pub async fn get(
        &self,
        tenant: &TenantId,
        module: Module,
        id: &RecordId,
    ) -> Result<Revisioned<StoredRecord>, RecordError> {
        match self.records.get(tenant, id).await? {
            Some(found) if found.value.module == module => Ok(found),
            _ => Err(RecordError::NotFound(module.as_str())),
        }
    }

    /// Checks what parsing cannot: the users and records a record names exist in this tenant.
    async fn check_references(
        &self,
        tenant: &TenantId,
        schema: &ModuleSchema,
        fields: &Map<String, Value>,
        base: &str,
    ) -> Result<(), RecordError> {
        let mut problems = Problems::default();
        let mut users = Vec::new();
        let mut records = Vec::new();
        for def in schema.fields() {
            let Some(Value::String(raw)) = fields.get(&def.name) else {
                continue;
            };
            match &def.kind {
                FieldKind::User => {
                    if let Ok(id) = UserId::new(raw.as_str()) {
                        users.push((def.name.clone(), id));
                    }
                }
                FieldKind::Reference { module } => {
                    if let Ok(id) = RecordId::new(raw.as_str()) {
                        records.push((def.name.clone(), *module, id));
                    }
                }
                _ => {}
            }
        }
        let mut ids: Vec<UserId> = users.iter().map(|(_, id)| id.clone()).collect();
        ids.sort();
        ids.dedup();
        let existing = self.users.existing(tenant, &ids).await?;
        for (field, id) in users {
            if !existing.contains(&id) {
                problems.push(format!("{base}/{field}"), format!("no user '{id}'"));
            }
        }
        let mut ids: Vec<RecordId> = records.iter().map(|(_, _, id)| id.clone()).collect();
        ids.sort();
        ids.dedup();
        let found = self.records.get_many(tenant, &ids).await?;
        for (field, module, id) in records {
            let ok = found
                .iter()
                .any(|r| r.value.id == id && r.value.module == module);
            if !ok {
                problems.push(
                    format!("{base}/{field}"),
                    format!("no {} '{id}'", module.as_str()),
                );
            }
        }
        problems.into_result(()).map_err(RecordError::Invalid)
    }
}

/// Parses user input against the module's schema and returns it as stored JSON.
fn parse_input(
    schema: &Schema,
    module: Module,
    input: &Map<String, Value>,
    mode: crate::record::ParseMode,
) -> Result<Map<String, Value>, RecordError> {
    let fields = crate::record::parse_fields(schema.module(module), input, "/fields", mode)?;
    Ok(fields
        .iter()
        .filter_map(|(k, v)| serde_json::to_value(v).ok().map(|v| (k.clone(), v)))
        .collect())
}

/// Sets the audit fields of a write.
fn stamp(
    fields: &mut Map<String, Value>,
    actor: &Actor,
    now: chrono::DateTime<chrono::Utc>,
    new: bool,
) {
    let at = Value::String(now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    let by = Value::String(actor.user.to_string());
    if new {
        fields.insert("CreatedAt".into(), at.clone());
        fields.insert("CreatedBy".into(), by.clone());
    }
    fields.insert("UpdatedAt".into(), at);
    fields.insert("UpdatedBy".into(), by);
}

/// A copy of `record` with `changes` made by `actor` at `now`, audit fields stamped.
fn edited(
    record: &StoredRecord,
    changes: &[(&str, &Value)],
    actor: &Actor,
    now: chrono::DateTime<chrono::Utc>,
) -> StoredRecord {
    let mut fields = record.fields.clone();
    for (name, value) in changes {
        fields.insert((*name).to_owned(), (*value).clone());
    }
    stamp(&mut fields, actor, now, false);
    StoredRecord {
        fields,
        ..record.clone()
    }
}
