//! The users and records merge fields name, looked up once per rendering: `#Owner` shows the
//! owner's name, `#Customer` the customer's, never an id.

use async_trait::async_trait;
use std::collections::{BTreeSet, HashMap};

use super::MergeTemplate;
use super::format::DisplayNames;
use crate::ids::{RecordId, TenantId, UserId};
use crate::record::Record;
use crate::record::store::RecordStore;
use crate::schema::{Module, Schema};
use crate::store::StoreError;
use crate::user::User;
use crate::user::directory::UserDirectory;

/// Most ids one batched read takes.
const BATCH: usize = 100;

/// Where users are looked up: the directory, or a cache in front of it.
#[async_trait]
pub trait UserLookup: Send + Sync {
    /// The users of `ids` that exist (at most 100 ids).
    async fn users(&self, tenant: &TenantId, ids: &[UserId]) -> Result<Vec<User>, StoreError>;
}

/// The directory itself, read on every lookup.
pub struct Directory<'a>(pub &'a dyn UserDirectory);

#[async_trait]
impl UserLookup for Directory<'_> {
    async fn users(&self, tenant: &TenantId, ids: &[UserId]) -> Result<Vec<User>, StoreError> {
        self.0.get_many(tenant, ids).await
    }
}

/// Looks up what `templates`, texts of `module`, name for `record`: the referenced records in
/// one batched read, the users in another, and a second round for the users of the records read
/// (`#Customer.Owner`), only when such a field is used.
pub async fn look_up(
    tenant: &TenantId,
    templates: &[MergeTemplate],
    schema: &Schema,
    module: Module,
    record: &Record,
    records: &dyn RecordStore,
    users: &dyn UserLookup,
) -> Result<LoadedNames, StoreError> {
    let fields = schema.module(module);
    let mut names = LoadedNames::default();
    for _ in 0..2 {
        let mut wanted = Wanted::default();
        for template in templates {
            template.wanted(fields, record, &names, &mut wanted);
        }
        if wanted.is_empty() {
            break;
        }
        // One id named under two modules (bad data) is still read once: a batch read refuses
        // repeated keys.
        let ids: Vec<RecordId> = wanted
            .records
            .iter()
            .map(|(_, id)| id.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        for chunk in ids.chunks(BATCH) {
            for stored in records.get_many(tenant, chunk).await? {
                let found = stored.value.typed(schema);
                for (module, _) in wanted.records.iter().filter(|(_, id)| *id == found.id) {
                    names.add_record(*module, found.clone());
                }
            }
        }
        let ids: Vec<UserId> = wanted.users.into_iter().collect();
        for chunk in ids.chunks(BATCH) {
            for user in users.users(tenant, chunk).await? {
                names.add_user(user);
            }
        }
    }
    Ok(names)
}

/// Users and records a rendering still needs.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub users: BTreeSet<UserId>,
    pub records: BTreeSet<(Module, RecordId)>,
}

impl Wanted {
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.records.is_empty()
    }

    pub(super) fn user(&mut self, names: &dyn DisplayNames, id: &str) {
        if names.user(id).is_none() {
            if let Ok(id) = UserId::new(id) {
                self.users.insert(id);
            }
        }
    }

    pub(super) fn record(&mut self, module: Module, id: &str) {
        if let Ok(id) = RecordId::new(id) {
            self.records.insert((module, id));
        }
    }
}

/// Users and records looked up for one job; those not found render as empty.
#[derive(Debug, Default, Clone)]
pub struct LoadedNames {
    users: HashMap<String, User>,
    records: HashMap<(Module, String), Record>,
}

impl LoadedNames {
    pub fn add_user(&mut self, user: User) {
        self.users.insert(user.id.to_string(), user);
    }

    /// A record found for a reference to `module`: kept only when it is of that module.
    pub fn add_record(&mut self, module: Module, record: Record) {
        if record.module == module {
            self.records.insert((module, record.id.to_string()), record);
        }
    }

    pub fn users(&self) -> impl Iterator<Item = &User> {
        self.users.values()
    }
}

impl DisplayNames for LoadedNames {
    fn user(&self, user_id: &str) -> Option<&User> {
        self.users.get(user_id)
    }

    fn record(&self, module: Module, record_id: &str) -> Option<&Record> {
        self.records.get(&(module, record_id.to_owned()))
    }
}
