//! Create, read, edit, quick edit, clone and delete (seed 003 §1, §2.5, §2.6).

use serde_json::{Map, Value};

use super::{Actor, RecordError, Records, parse_input, stamp};
use crate::ids::RecordId;
use crate::record::ParseMode;
use crate::record::store::MAX_RELATED;
use crate::record::stored::StoredRecord;
use crate::schema::{Module, Schema};
use crate::store::Revisioned;
use crate::store::StoreError;
use crate::user::access::Permission;

/// Modules whose records keep a customer from being deleted.
const BLOCKING: [(Module, &str, &str); 3] = [
    (Module::Order, "order", "orders"),
    (Module::Quote, "quote", "quotes"),
    (Module::Opportunity, "opportunity", "opportunities"),
];

/// Fields the system keeps: carried over from the stored record on every edit.
fn system_fields(schema: &Schema, module: Module) -> Vec<String> {
    schema
        .module(module)
        .fields()
        .iter()
        .filter(|f| f.read_only)
        .map(|f| f.name.clone())
        .collect()
}

/// Refuses a person's write of a log record: a message is what was sent, as it was sent.
fn check_not_log(module: Module) -> Result<(), RecordError> {
    if module.is_log() {
        return Err(RecordError::Forbidden(format!(
            "{module} records are written by sending them from a customer, not edited"
        )));
    }
    Ok(())
}

/// A record created, and who the allocation rules gave it to (none: it kept the owner it came
/// with, or went to its creator).
#[derive(Debug, Clone)]
pub struct Created {
    pub record: Revisioned<StoredRecord>,
    pub assigned: Option<crate::allocation::service::Assignment>,
}

impl Records<'_> {
    /// A new record of `module` from the user's field values ([`Records::create_assigned`]).
    pub async fn create(
        &self,
        actor: &Actor,
        module: Module,
        id: RecordId,
        input: &Map<String, Value>,
    ) -> Result<Revisioned<StoredRecord>, RecordError> {
        Ok(self.create_assigned(actor, module, id, input).await?.record)
    }

    /// A new record of `module` from the user's field values. The module's allocation rules
    /// choose its owner (a record that comes with an owner keeps it, unless a rule overrides);
    /// otherwise the owner defaults to the actor.
    pub async fn create_assigned(
        &self,
        actor: &Actor,
        module: Module,
        id: RecordId,
        input: &Map<String, Value>,
    ) -> Result<Created, RecordError> {
        check_not_log(module)?;
        actor.require(module, Permission::Create)?;
        let settings = self.tenant_settings(&actor.tenant).await?;
        let schema = settings.schema();
        let mut fields = parse_input(&schema, module, input, ParseMode::Create)?;
        let me = Value::String(actor.user.to_string());
        if fields.get("Owner").is_some_and(|owner| *owner != me) {
            // Creating a record for someone else hands it over to them.
            actor.require(module, Permission::HandOver)?;
        }
        self.check_references(actor, schema.module(module), &fields, None, "/fields")
            .await?;
        stamp(&mut fields, actor, self.clock.now(), true);
        super::check_size(&fields)?;
        // Last before the write: a turn taken is a turn spent.
        let allocator = crate::allocation::service::Allocator {
            settings: self.settings,
            users: self.users,
            records: self.records,
            turns: self.runs,
        };
        let has_owner = fields.contains_key("Owner");
        let draft = StoredRecord {
            id: id.clone(),
            module,
            fields: fields.clone(),
        };
        let assigned = allocator
            .assign(
                &actor.tenant,
                &settings,
                &schema,
                &draft.typed(&schema),
                has_owner,
                self.clock.now(),
            )
            .await?;
        let owner = assigned
            .as_ref()
            .map_or(me, |a| Value::String(a.owner.to_string()));
        if !has_owner || assigned.is_some() {
            fields.insert("Owner".into(), owner);
        }
        let record = StoredRecord { id, module, fields };
        let created = self.records.create(&actor.tenant, &record).await?;
        self.after_write(&actor.tenant, None, Some(&created.value))
            .await?;
        Ok(Created {
            record: created,
            assigned,
        })
    }

    /// Replaces every user field (a full edit), if the record is still at `expected`. System
    /// fields sent back unchanged are accepted, so that a client can PUT what it read.
    pub async fn replace(
        &self,
        actor: &Actor,
        module: Module,
        id: &RecordId,
        input: &Map<String, Value>,
        expected: u64,
    ) -> Result<Revisioned<StoredRecord>, RecordError> {
        let stored = self.reach(actor, module, id, Permission::Edit).await?;
        if stored.revision != expected {
            return Err(RecordError::Stale { expected });
        }
        let settings = self.tenant_settings(&actor.tenant).await?;
        let schema = settings.schema();
        let system = system_fields(&schema, module);
        let mut input = input.clone();
        input.retain(|k, v| !(system.contains(k) && stored.value.fields.get(k) == Some(v)));
        let mut fields = parse_input(&schema, module, &input, ParseMode::Create)?;
        for name in system.iter().chain(std::iter::once(&"Owner".to_owned())) {
            if let (false, Some(v)) = (fields.contains_key(name), stored.value.fields.get(name)) {
                fields.insert(name.clone(), v.clone());
            }
        }
        let before = &stored.value.fields;
        self.check_references(
            actor,
            schema.module(module),
            &fields,
            Some(before),
            "/fields",
        )
        .await?;
        stamp(&mut fields, actor, self.clock.now(), false);
        self.save(actor, stored, fields).await
    }

    /// Changes one field (the list's quick edit). Without `expected`, the edit applies to the
    /// revision just read, so a concurrent change is still never overwritten silently.
    pub async fn patch(
        &self,
        actor: &Actor,
        module: Module,
        id: &RecordId,
        input: &Map<String, Value>,
        expected: Option<u64>,
    ) -> Result<Revisioned<StoredRecord>, RecordError> {
        if input.len() != 1 {
            return Err(RecordError::Invalid(crate::validation::Problems::single(
                "/fields",
                "a quick edit changes exactly one field",
            )));
        }
        let stored = self.reach(actor, module, id, Permission::Edit).await?;
        if let Some(expected) = expected.filter(|e| *e != stored.revision) {
            return Err(RecordError::Stale { expected });
        }
        let schema = self.tenant_settings(&actor.tenant).await?.schema();
        let parsed = parse_input(&schema, module, input, ParseMode::Update)?;
        let before = &stored.value.fields;
        self.check_references(
            actor,
            schema.module(module),
            &parsed,
            Some(before),
            "/fields",
        )
        .await?;
        let mut fields = stored.value.fields.clone();
        for name in input.keys() {
            match parsed.get(name) {
                Some(v) => fields.insert(name.clone(), v.clone()),
                None => fields.remove(name),
            };
        }
        stamp(&mut fields, actor, self.clock.now(), false);
        self.save(actor, stored, fields).await
    }

    async fn save(
        &self,
        actor: &Actor,
        stored: Revisioned<StoredRecord>,
        fields: Map<String, Value>,
    ) -> Result<Revisioned<StoredRecord>, RecordError> {
        check_not_log(stored.value.module)?;
        if fields.get("Owner") != stored.value.fields.get("Owner") {
            actor.require(stored.value.module, Permission::HandOver)?;
            if fields.get("Owner").is_none() && !actor.access.tenant_wide() {
                // A record without an owner is out of everyone's reach but the tenant-wide roles.
                return Err(RecordError::Forbidden(
                    "your role may not leave a record without an owner".into(),
                ));
            }
        }
        super::check_size(&fields)?;
        let next = StoredRecord {
            fields,
            ..stored.value.clone()
        };
        let saved = self
            .records
            .replace(&actor.tenant, &next, stored.revision)
            .await?;
        self.after_write(&actor.tenant, Some(&stored.value), Some(&saved.value))
            .await?;
        Ok(saved)
    }

    /// A new record with the user fields of another (seed 003 §2.5), `overrides` applied on top.
    /// A required code gets a suffix so the copy is told apart; other codes are left empty.
    pub async fn clone_record(
        &self,
        actor: &Actor,
        module: Module,
        source: &RecordId,
        id: RecordId,
        overrides: &Map<String, Value>,
    ) -> Result<Revisioned<StoredRecord>, RecordError> {
        let stored = self.read(actor, module, source).await?;
        let schema = self.tenant_settings(&actor.tenant).await?.schema();
        let system = system_fields(&schema, module);
        let mut input = stored.value.fields.clone();
        input.retain(|k, _| !system.contains(k) && schema.module(module).field(k).is_some());
        let code_required = schema
            .module(module)
            .field("Code")
            .is_some_and(|f| f.required);
        if let Some(Value::String(code)) = input.get("Code").cloned() {
            if code_required {
                let suffix: String = id.as_str().chars().rev().take(4).collect();
                input.insert("Code".into(), Value::String(format!("{code}-{suffix}")));
            } else {
                input.remove("Code");
            }
        }
        input.remove("Owner");
        for (k, v) in overrides {
            input.insert(k.clone(), v.clone());
        }
        self.create(actor, module, id, &input).await
    }

    /// Deletes a record; a customer with orders, quotes or opportunities is refused with the
    /// reasons (seed 003 §2.6).
    pub async fn delete(
        &self,
        actor: &Actor,
        module: Module,
        id: &RecordId,
        expected: Option<u64>,
    ) -> Result<(), RecordError> {
        // A deleted message would leave its key's run behind: sent again under the same key,
        // it would read as the first one's outcome without going out.
        check_not_log(module)?;
        let stored = self.reach(actor, module, id, Permission::Delete).await?;
        if let Some(expected) = expected.filter(|e| *e != stored.revision) {
            return Err(RecordError::Stale { expected });
        }
        if module == Module::Customer {
            let related = match self.records.related(&actor.tenant, id, MAX_RELATED).await {
                // More than the bound: it certainly has orders or the like.
                Err(StoreError::TooMany { limit }) => {
                    return Err(RecordError::InUse(vec![format!(
                        "more than {limit} related records"
                    )]));
                }
                other => other?,
            };
            let reasons: Vec<String> = BLOCKING
                .iter()
                .filter_map(|(m, one, many)| {
                    let n = related.iter().filter(|r| r.value.module == *m).count();
                    match n {
                        0 => None,
                        1 => Some(format!("1 {one}")),
                        n => Some(format!("{n} {many}")),
                    }
                })
                .collect();
            if !reasons.is_empty() {
                return Err(RecordError::InUse(reasons));
            }
        }
        self.records
            .delete(&actor.tenant, id, stored.revision)
            .await?;
        self.after_write(&actor.tenant, Some(&stored.value), None)
            .await
    }
}
