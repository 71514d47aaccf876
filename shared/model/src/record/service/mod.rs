//! The records API's use cases (seed 003): records of every module validated against the tenant's
//! schema, with owner and audit fields; customers' related lists, history, purchases, duplicates,
//! merge and hand-over.

mod calls;
mod crud;
mod customers;
mod import;
mod intake;
mod layout;
mod listing;
mod loyalty;
mod merge;
mod messages;
mod purchases;
mod timeline;

pub use calls::{
    CallDirection, CallEvent, CallEventError, CallRequest, CallStage, Dialled,
    MAX_CALL_EVENT_BYTES, Telephony,
};
pub use crud::Created;
pub use customers::{HandOver, RelatedLists};
pub use import::{ImportRow, MAX_IMPORT_ROWS, RowOutcome, RowResult};
pub use intake::IntakeError;
pub use layout::{CustomerView, ViewItem, ViewList};
pub use listing::{ListQuery, SortOrder};
pub use loyalty::{LoyaltyBalance, MAX_REDEMPTION, RedeemRequest, Redeemed};
pub use merge::{Duplicate, MergeOutcome};
pub use messages::{
    Channel, MAX_EMAIL_BODY_BYTES, MAX_MESSAGE_COPIES, MAX_MESSAGE_RECIPIENTS, MAX_MESSAGES_READ,
    MAX_SUBJECT_CHARS, MessageFilter, MessagePage, Queued, SendRequest, sms_segments,
};
pub use timeline::{Activity, ActivityCursor, ActivityPage, TIMELINE_RUNS};

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
use crate::user::User;
use crate::user::access::{Access, Permission};
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
    /// The caller's role may not do this (records outside its access level are not found).
    #[error("{0}")]
    Forbidden(String),
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
            StoreError::InUse => RecordError::InUse(vec![
                "orders, quotes or opportunities added meanwhile".into(),
            ]),
            StoreError::ReferenceGone { field } => {
                let mut problems = Problems::default();
                problems.push(
                    format!("/fields/{field}"),
                    "the record it names no longer exists (deleted meanwhile)",
                );
                RecordError::Invalid(problems)
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

/// Who acts: the tenant and user the caller was verified as, and what their role may do.
#[derive(Debug, Clone)]
pub struct Actor {
    pub tenant: TenantId,
    pub user: UserId,
    /// The stored user's role (never a claim's).
    pub role: crate::user::Role,
    pub access: Access,
}

impl Actor {
    /// Refuses what the role may not do to `module`'s records.
    pub fn require(&self, module: Module, permission: Permission) -> Result<(), RecordError> {
        if self.access.may(module, permission) {
            Ok(())
        } else {
            Err(RecordError::Forbidden(format!(
                "your role may not {} {} records",
                permission.as_str().replace('_', " "),
                module.as_str()
            )))
        }
    }

    /// The listing restriction of the caller's access level.
    fn owner_filter(&self) -> Option<(String, Vec<Value>)> {
        self.access.owners().map(|owners| {
            let values = owners
                .iter()
                .map(|o| Value::String(o.to_string()))
                .collect();
            ("Owner".to_owned(), values)
        })
    }
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

    /// The actor `user` of `tenant` is, with the access the tenant gives their role.
    pub async fn actor_of(&self, tenant: &TenantId, user: &User) -> Result<Actor, RecordError> {
        Ok(Actor {
            tenant: tenant.clone(),
            user: user.id.clone(),
            role: user.role,
            access: Access::of_user(self.settings, self.users, tenant, user).await?,
        })
    }

    /// A record of `module` the actor reaches and may `permission`: one outside their access
    /// level is not found, as another tenant's is.
    pub async fn reach(
        &self,
        actor: &Actor,
        module: Module,
        id: &RecordId,
        permission: Permission,
    ) -> Result<Revisioned<StoredRecord>, RecordError> {
        let found = self.get(&actor.tenant, module, id).await?;
        if !actor.access.reaches(&found.value) {
            return Err(RecordError::NotFound(module.as_str()));
        }
        actor.require(module, permission)?;
        match permission {
            // A deleted (or merged away) record would leave its request with nothing to decide.
            Permission::Delete | Permission::Merge => check_not_pending(&found.value)?,
            Permission::Edit | Permission::HandOver => check_unlocked(actor, &found.value)?,
            Permission::Read | Permission::Create => {}
        }
        Ok(found)
    }

    /// A record of `module`, for reading.
    pub async fn read(
        &self,
        actor: &Actor,
        module: Module,
        id: &RecordId,
    ) -> Result<Revisioned<StoredRecord>, RecordError> {
        self.reach(actor, module, id, Permission::Read).await
    }

    /// A record of `module`, whoever may see it: for the use cases' own reads.
    pub(super) async fn get(
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

    /// Checks what parsing cannot: the users and records a record names exist in this tenant,
    /// and the records it newly names (not in `before`) are within the actor's reach.
    async fn check_references(
        &self,
        actor: &Actor,
        schema: &ModuleSchema,
        fields: &Map<String, Value>,
        before: Option<&Map<String, Value>>,
        base: &str,
    ) -> Result<(), RecordError> {
        let tenant = &actor.tenant;
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
                    let kept = before.and_then(|b| b.get(&def.name)) == fields.get(&def.name);
                    if let Ok(id) = RecordId::new(raw.as_str()) {
                        records.push((def.name.clone(), *module, id, kept));
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
        let mut ids: Vec<RecordId> = records.iter().map(|(_, _, id, _)| id.clone()).collect();
        ids.sort();
        ids.dedup();
        let found = self.records.get_many(tenant, &ids).await?;
        for (field, module, id, kept) in records {
            let ok = found.iter().any(|r| {
                r.value.id == id
                    && r.value.module == module
                    && (kept || actor.access.reaches(&r.value))
            });
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

/// The approval a record waits for, in words, if it waits for one.
fn pending_approval(record: &StoredRecord) -> Option<String> {
    let lock = record.fields.get(crate::approval::APPROVAL_FIELD)?;
    let said = |key: &str| {
        lock.get(key)
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned()
    };
    Some(format!(
        "the {} {} is waiting for approval '{}' (request {}, submitted by {})",
        record.module.as_str(),
        record.id,
        said("name"),
        said("request"),
        said("submitter")
    ))
}

/// Refuses a change to a record waiting for approval (an edit, a hand-over), unless an
/// administrator makes it: the approvers decide on the record as it was submitted.
fn check_unlocked(actor: &Actor, record: &StoredRecord) -> Result<(), RecordError> {
    match pending_approval(record) {
        Some(waiting) if actor.role != crate::user::Role::Administrator => {
            Err(RecordError::Conflict(format!(
                "{waiting}: only an administrator may change it until the request is decided \
                 or recalled"
            )))
        }
        _ => Ok(()),
    }
}

/// Refuses to delete (or merge away) a record waiting for approval, whoever asks: its request
/// would be left with nothing to decide on.
fn check_not_pending(record: &StoredRecord) -> Result<(), RecordError> {
    match pending_approval(record) {
        Some(waiting) => Err(RecordError::Conflict(format!(
            "{waiting}: it cannot be deleted or merged away until the request is decided or \
             recalled (an administrator may reassign the request to decide it)"
        ))),
        None => Ok(()),
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

/// A record too big to store is refused, naming its fields.
pub(crate) fn check_size(fields: &Map<String, Value>) -> Result<(), RecordError> {
    match crate::record::limits::record_problem(fields) {
        Some(problem) => Err(RecordError::Invalid(Problems::single("/fields", problem))),
        None => Ok(()),
    }
}

/// Whether `key` is a client's idempotency key: 1 to 64 letters, digits, '-' or '_'.
fn is_client_key(key: &str) -> bool {
    (1..=64).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The id of what the actor's key `key` made (`<prefix>-<hash>`): a double click, or a request
/// sent again after a lost answer, names the same record. `None` for a key that is not one.
fn keyed_id(prefix: &str, actor: &Actor, key: &str) -> Option<RecordId> {
    if !is_client_key(key) {
        return None;
    }
    hashed_id(prefix, &[actor.user.as_str(), key])
}

/// The id `<prefix>-<hash>` of what `parts` name together (each part apart from the next): the
/// same parts name the same record, whoever writes it and however often.
pub(crate) fn hashed_id(prefix: &str, parts: &[&str]) -> Option<RecordId> {
    let bytes = parts
        .iter()
        .enumerate()
        .flat_map(|(i, part)| (i > 0).then_some(0).into_iter().chain(part.bytes()));
    let hash = crate::ids::stable_hash(bytes);
    RecordId::new(format!("{prefix}-{hash:016x}")).ok()
}

/// An instant as records keep it: RFC 3339, milliseconds, UTC.
pub(crate) fn instant(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Sets the audit fields of a write.
fn stamp(
    fields: &mut Map<String, Value>,
    actor: &Actor,
    now: chrono::DateTime<chrono::Utc>,
    new: bool,
) {
    stamp_as(fields, &actor.user, now, new);
}

/// Sets the audit fields of a write made by `user` (a person, or a sync on their behalf).
pub(crate) fn stamp_as(
    fields: &mut Map<String, Value>,
    user: &crate::ids::UserId,
    now: chrono::DateTime<chrono::Utc>,
    new: bool,
) {
    let at = Value::String(instant(now));
    let by = Value::String(user.to_string());
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
