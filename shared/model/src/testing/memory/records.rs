//! CRM records in memory, as `DynamoRecordStore` keeps them in the records table: one item per
//! record id (whatever its module, so ids are unique across modules), its module listing (gsi1,
//! `<UpdatedAt>#<id>`, newest first), its related list (gsi2, on the `Customer` field), the
//! identity items of customers, and merge markers.
//!
//! Identity items follow the adapter exactly, since the duplicate check relies on them: a
//! customer's create, replace and delete write its keys ([`crate::record::identity::keys`]) in the same
//! step, a replace removing the keys of the replaced revision it no longer has; a record written
//! as another module leaves whatever keys were there (the adapter's plain put does too, and a
//! lookup re-checks candidates). The run ledger's effects add keys but never remove any, as the
//! adapter's transaction does.
//!
//! Unlike DynamoDB, the indexes here are never stale (gsi1 and gsi2 are eventually consistent).

use super::paging::Query;
use super::tables::{RecordTables, TenantRecords};
use super::world::{Access, StoreKind, World, check_batch, store_controls};
use crate::ids::{RecordId, TenantId};
use crate::record::store::{MergeMarker, RecordFilter, RecordStore};
use crate::record::stored::StoredRecord;
use crate::schema::Module;
use crate::store::{Page, PageRequest, Revisioned, StoreError};
use async_trait::async_trait;

impl MemoryRecordStore {
    /// The automation that made the record's last write, as the stream's image shows it (none
    /// for a person's write).
    pub fn origin(
        &self,
        tenant: &TenantId,
        id: &RecordId,
    ) -> Option<crate::record::origin::AutomationWrite> {
        self.world.peek(|s| {
            s.records
                .tenant(tenant)
                .and_then(|t| t.origins.get(id).cloned())
        })
    }
}

impl RecordTables {
    pub(super) fn tenant(&self, tenant: &TenantId) -> Option<&TenantRecords> {
        self.tenants.get(tenant)
    }

    pub(super) fn tenant_mut(&mut self, tenant: &TenantId) -> &mut TenantRecords {
        self.tenants.entry(tenant.clone()).or_default()
    }
}

impl TenantRecords {
    /// The identity items a put of `record` writes (none unless it is a customer or contact).
    pub(super) fn put_identity(&mut self, record: &StoredRecord) {
        for key in crate::record::identity::keys(record.module, &record.fields) {
            self.identity
                .entry(key)
                .or_default()
                .insert(record.id.clone());
        }
    }

    fn delete_identity(&mut self, key: &str, id: &RecordId) {
        if let Some(ids) = self.identity.get_mut(key) {
            ids.remove(id);
            if ids.is_empty() {
                self.identity.remove(key);
            }
        }
    }
}

/// The listing sort key of gsi1: `<UpdatedAt>#<id>` (an empty stamp when the field is absent).
fn gsi1sk(record: &StoredRecord) -> String {
    let updated = record
        .fields
        .get("UpdatedAt")
        .and_then(|v| v.as_str())
        .unwrap_or("");
    format!("{updated}#{}", record.id)
}

/// DynamoDB's `=` on the attribute values the JSON becomes: numbers compare as numbers (`1` and
/// `1.0` are equal), everything else structurally.
fn same_value(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64(), x.as_u64()) {
            (Some(x), Some(y), _) => x == y,
            (None, None, Some(x)) => y.as_u64() == Some(x),
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_value(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_value(v, w)))
        }
        _ => a == b,
    }
}

fn matches(filter: &RecordFilter, record: &StoredRecord) -> bool {
    let equal = |field: &String, value: &serde_json::Value| {
        record
            .fields
            .get(field)
            .is_some_and(|stored| same_value(stored, value))
    };
    filter
        .equals
        .iter()
        .all(|(field, value)| equal(field, value))
        && filter
            .any_of
            .iter()
            .all(|(field, values)| values.iter().any(|value| equal(field, value)))
}

/// The in-memory [`RecordStore`].
#[derive(Debug, Clone, Default)]
pub struct MemoryRecordStore {
    pub(super) world: World,
}

store_controls!(MemoryRecordStore, StoreKind::Records);

impl MemoryRecordStore {
    /// A store with tables of its own.
    pub fn new() -> Self {
        Self::default()
    }

    fn read<T>(
        &self,
        op: impl FnOnce(&RecordTables) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.world
            .call(StoreKind::Records, Access::Read, |s| op(&s.records))
    }

    fn write<T>(
        &self,
        op: impl FnOnce(&mut RecordTables) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.world
            .call(StoreKind::Records, Access::Write, |s| op(&mut s.records))
    }

    /// A create (`expected` `None`, `AlreadyExists` when the id is taken) or a replace of
    /// revision `expected` (`NotFound`, `Conflict`), with a customer's identity items.
    fn put(
        &self,
        tenant: &TenantId,
        record: &StoredRecord,
        expected: Option<u64>,
    ) -> Result<Revisioned<StoredRecord>, StoreError> {
        self.write(|tables| {
            let t = tables.tenant_mut(tenant);
            let old = t.records.get(&record.id);
            match (expected, old) {
                (None, Some(_)) => return Err(StoreError::AlreadyExists),
                (Some(_), None) => return Err(StoreError::NotFound),
                (Some(expected), Some(old)) if old.revision != expected => {
                    return Err(StoreError::Conflict { expected });
                }
                _ => {}
            }
            // `DEPS`: a ConditionCheck on the new customer and its count, in the same write.
            let customer = |r: &StoredRecord| {
                crate::record::depended_customer(r.module, &r.fields).map(str::to_owned)
            };
            let (before, after) = (old.and_then(|o| customer(&o.value)), customer(record));
            t.move_dependent(before.as_deref(), after.as_deref(), true)?;
            let old = t.records.get(&record.id);
            if crate::record::identity::is_identified(record.module) {
                let new = crate::record::identity::keys(record.module, &record.fields);
                let gone: Vec<String> = old
                    .map(|old| crate::record::identity::keys(old.value.module, &old.value.fields))
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|k| !new.contains(k))
                    .collect();
                for key in gone {
                    t.delete_identity(&key, &record.id);
                }
                t.put_identity(record);
            }
            let stored = Revisioned {
                value: record.clone(),
                revision: expected.map_or(1, |r| r + 1),
            };
            t.records.insert(record.id.clone(), stored.clone());
            // A person's write replaces the whole item: no automation made it.
            t.origins.remove(&record.id);
            Ok(stored)
        })
    }
}

impl MemoryRecordStore {
    /// The records whose `field` names `record`, as a sparse index keyed on it reads them:
    /// `TooMany` beyond `limit`, in no particular order (here by module and id, descending).
    fn referencing(
        &self,
        tenant: &TenantId,
        field: &str,
        record: &RecordId,
        limit: usize,
    ) -> Result<Vec<Revisioned<StoredRecord>>, StoreError> {
        self.read(|tables| {
            let Some(t) = tables.tenant(tenant) else {
                return Ok(Vec::new());
            };
            let mut found: Vec<(String, Revisioned<StoredRecord>)> = t
                .records
                .values()
                .filter(|r| {
                    r.value.fields.get(field).and_then(|v| v.as_str()) == Some(record.as_str())
                })
                // A customer's messages have an index of their own (`messages`).
                .filter(|r| r.value.module != Module::Message)
                .map(|r| (format!("{}#{}", r.value.module, r.value.id), r.clone()))
                .collect();
            if found.len() > limit {
                return Err(StoreError::TooMany { limit });
            }
            found.sort_by(|a, b| b.0.cmp(&a.0));
            Ok(found.into_iter().map(|(_, r)| r).collect())
        })
    }
}

#[async_trait]
impl RecordStore for MemoryRecordStore {
    async fn create(
        &self,
        tenant: &TenantId,
        record: &StoredRecord,
    ) -> Result<Revisioned<StoredRecord>, StoreError> {
        self.put(tenant, record, None)
    }

    async fn get(
        &self,
        tenant: &TenantId,
        id: &RecordId,
    ) -> Result<Option<Revisioned<StoredRecord>>, StoreError> {
        self.read(|tables| {
            Ok(tables
                .tenant(tenant)
                .and_then(|t| t.records.get(id).cloned()))
        })
    }

    /// BatchGetItem: duplicate ids in one batch of 100 are refused, absent ones left out, and
    /// the order is deliberately not the request's (DynamoDB promises none).
    async fn get_many(
        &self,
        tenant: &TenantId,
        ids: &[RecordId],
    ) -> Result<Vec<Revisioned<StoredRecord>>, StoreError> {
        self.read(|tables| {
            check_batch(ids)?;
            let Some(t) = tables.tenant(tenant) else {
                return Ok(Vec::new());
            };
            Ok(ids
                .iter()
                .rev()
                .filter_map(|id| t.records.get(id).cloned())
                .collect())
        })
    }

    async fn replace(
        &self,
        tenant: &TenantId,
        record: &StoredRecord,
        expected: u64,
    ) -> Result<Revisioned<StoredRecord>, StoreError> {
        self.put(tenant, record, Some(expected))
    }

    async fn count_open(
        &self,
        tenant: &TenantId,
        module: Module,
        owner: &crate::ids::UserId,
    ) -> Result<u64, StoreError> {
        self.read(|tables| {
            let Some(t) = tables.tenant(tenant) else {
                return Ok(0);
            };
            let status_field = crate::allocation::status_field(module);
            Ok(t.records
                .values()
                .filter(|r| r.value.module == module)
                .filter(|r| {
                    r.value.fields.get("Owner").and_then(|v| v.as_str()) == Some(owner.as_str())
                })
                .filter(|r| {
                    let status = r.value.fields.get(status_field).and_then(|v| v.as_str());
                    crate::allocation::is_open(module, status)
                })
                .count() as u64)
        })
    }

    async fn set_computed(
        &self,
        tenant: &TenantId,
        id: &RecordId,
        fields: &serde_json::Map<String, serde_json::Value>,
        expected: u64,
        origin: &crate::record::origin::AutomationWrite,
    ) -> Result<u64, StoreError> {
        self.write(|tables| {
            let t = tables.tenant_mut(tenant);
            // A record gone is a revision moved on, as DynamoDB's condition tells them apart.
            let stored = t
                .records
                .get_mut(id)
                .filter(|s| s.revision == expected)
                .ok_or(StoreError::Conflict { expected })?;
            for (name, value) in fields {
                if value.is_null() {
                    stored.value.fields.remove(name);
                } else {
                    stored.value.fields.insert(name.clone(), value.clone());
                }
            }
            t.origins.insert(id.clone(), origin.clone());
            Ok(expected)
        })
    }

    async fn delete(
        &self,
        tenant: &TenantId,
        id: &RecordId,
        expected: u64,
    ) -> Result<(), StoreError> {
        self.write(|tables| {
            let t = tables.tenant_mut(tenant);
            let old = match t.records.get(id) {
                None => return Err(StoreError::NotFound),
                Some(old) if old.revision != expected => {
                    return Err(StoreError::Conflict { expected });
                }
                Some(old) => old.value.clone(),
            };
            // The guard: a customer with counted dependents stays (the `DEPS` delete's condition).
            if old.module == Module::Customer && t.dependents.get(id).is_some_and(|&n| n != 0) {
                return Err(StoreError::InUse);
            }
            let customer = crate::record::depended_customer(old.module, &old.fields);
            t.move_dependent(customer, None, true)?;
            t.dependents.remove(id);
            // A customer's identity items go with it; its merge markers stay.
            for key in crate::record::identity::keys(old.module, &old.fields) {
                t.delete_identity(&key, id);
            }
            t.records.remove(id);
            t.origins.remove(id);
            Ok(())
        })
    }

    /// gsi2 (`T#<tenant>#REF#<customer>`, the records whose `Customer` field is the id), read
    /// up to `limit` keys (`TooMany` beyond), then BatchGetItem (no particular order; here the
    /// reverse of gsi2's).
    async fn related(
        &self,
        tenant: &TenantId,
        record: &RecordId,
        limit: usize,
    ) -> Result<Vec<Revisioned<StoredRecord>>, StoreError> {
        self.referencing(tenant, "Customer", record, limit)
    }

    /// gsi2 under `T#<tenant>#MSG#<customer>`, sorted by `message_key`: keys newest first below
    /// `before`, then their records.
    async fn messages(
        &self,
        tenant: &TenantId,
        customer: &RecordId,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Revisioned<StoredRecord>>, StoreError> {
        self.read(|tables| {
            let Some(t) = tables.tenant(tenant) else {
                return Ok(Vec::new());
            };
            let mut found: Vec<(String, Revisioned<StoredRecord>)> = t
                .records
                .values()
                .filter(|r| r.value.module == Module::Message)
                .filter(|r| r.value.text("Customer") == customer.as_str())
                .map(|r| (crate::record::store::message_key(&r.value), r.clone()))
                .filter(|(key, _)| before.is_none_or(|b| key.as_str() < b))
                .collect();
            found.sort_by(|a, b| b.0.cmp(&a.0));
            found.truncate(limit);
            Ok(found.into_iter().map(|(_, r)| r).collect())
        })
    }

    /// gsi3 (`T#<tenant>#LINK#<record>`), read as gsi2 is.
    async fn linked(
        &self,
        tenant: &TenantId,
        record: &RecordId,
        limit: usize,
    ) -> Result<Vec<Revisioned<StoredRecord>>, StoreError> {
        self.referencing(tenant, "RelatedRecord", record, limit)
    }

    async fn list(
        &self,
        tenant: &TenantId,
        module: Module,
        filter: &RecordFilter,
        page: &PageRequest,
    ) -> Result<Page<Revisioned<StoredRecord>>, StoreError> {
        let query = Query::new("gsi1pk", format!("T#{tenant}#M#{module}")).descending();
        self.read(|tables| {
            let items = tables
                .tenant(tenant)
                .into_iter()
                .flat_map(|t| t.records.values())
                .filter(|r| r.value.module == module)
                .map(|r| {
                    let position = vec![
                        gsi1sk(&r.value),
                        format!("T#{tenant}#R#{}", r.value.id),
                        "RECORD".to_owned(),
                    ];
                    (position, r.clone())
                });
            let found = query.page(items, page, |r| matches(filter, &r.value))?;
            Ok(Page {
                items: found.items,
                next: found.next,
            })
        })
    }

    /// Each key's partition in turn, its customers by id; a customer under two of the keys
    /// comes back twice, as from the adapter.
    async fn find_by_identity(
        &self,
        tenant: &TenantId,
        keys: &[String],
    ) -> Result<Vec<RecordId>, StoreError> {
        self.read(|tables| {
            let Some(t) = tables.tenant(tenant) else {
                return Ok(Vec::new());
            };
            Ok(keys
                .iter()
                .filter_map(|key| t.identity.get(key))
                .flat_map(|ids| {
                    ids.iter()
                        .take(crate::record::identity::MAX_MATCHES_PER_KEY)
                        .cloned()
                })
                .collect())
        })
    }

    async fn put_merge(&self, tenant: &TenantId, marker: &MergeMarker) -> Result<(), StoreError> {
        self.write(|tables| {
            tables
                .tenant_mut(tenant)
                .merges
                .entry(marker.survivor.clone())
                .or_default()
                .insert(marker.duplicate.clone(), marker.clone());
            Ok(())
        })
    }

    async fn merges(
        &self,
        tenant: &TenantId,
        survivor: &RecordId,
    ) -> Result<Vec<MergeMarker>, StoreError> {
        self.read(|tables| {
            let mut merges: Vec<MergeMarker> = tables
                .tenant(tenant)
                .and_then(|t| t.merges.get(survivor))
                .map(|m| m.values().cloned().collect())
                .unwrap_or_default();
            // Read in sort key order, then a stable sort by start, as the adapter does.
            merges.sort_by_key(|m| m.started_at);
            Ok(merges)
        })
    }

    async fn redeem(
        &self,
        tenant: &TenantId,
        customer: &StoredRecord,
        expected: u64,
        redemption: &crate::record::store::Redemption,
    ) -> Result<u64, StoreError> {
        self.write(|tables| {
            let t = tables.tenant_mut(tenant);
            let Some(old) = t.records.get(&customer.id) else {
                return Err(StoreError::NotFound);
            };
            if old.revision != expected {
                return Err(StoreError::Conflict { expected });
            }
            let ledger = t.redemptions.entry(customer.id.clone()).or_default();
            if ledger.contains_key(&redemption.id) {
                return Err(StoreError::AlreadyExists);
            }
            ledger.insert(redemption.id.clone(), redemption.clone());
            let stored = Revisioned {
                value: customer.clone(),
                revision: expected + 1,
            };
            t.records.insert(customer.id.clone(), stored);
            t.origins.remove(&customer.id);
            Ok(expected + 1)
        })
    }

    async fn redemptions(
        &self,
        tenant: &TenantId,
        customer: &RecordId,
    ) -> Result<Vec<crate::record::store::Redemption>, StoreError> {
        self.read(|tables| {
            let mut ledger: Vec<_> = tables
                .tenant(tenant)
                .and_then(|t| t.redemptions.get(customer))
                .map(|m| m.values().cloned().collect())
                .unwrap_or_default();
            // Read in sort key order, then a stable sort by time, as the adapter does.
            ledger.sort_by_key(|r: &crate::record::store::Redemption| r.at);
            Ok(ledger)
        })
    }
}
