//! The port of CRM records.

use async_trait::async_trait;

use super::{Page, PageRequest, Revisioned, StoreError};
use crate::ids::TenantId;
use crate::schema::Module;

/// A record as stored: its field values as plain JSON, typed against the tenant's schema when
/// read ([`StoredRecord::typed`]), since the schema (custom fields) belongs to the tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRecord {
    pub id: crate::ids::RecordId,
    pub module: Module,
    pub fields: serde_json::Map<String, serde_json::Value>,
}

impl StoredRecord {
    pub fn typed(&self, schema: &crate::schema::Schema) -> crate::record::Record {
        let fields = crate::record::parse_fields(
            schema.module(self.module),
            &self.fields,
            "",
            crate::record::ParseMode::Stored,
        )
        // Stored mode ignores what no longer fits the schema rather than failing.
        .unwrap_or_default();
        crate::record::Record {
            id: self.id.clone(),
            module: self.module,
            fields,
        }
    }

    pub fn from_record(record: &crate::record::Record) -> Self {
        let fields = record
            .fields
            .iter()
            .filter_map(|(k, v)| serde_json::to_value(v).ok().map(|v| (k.clone(), v)))
            .collect();
        Self {
            id: record.id.clone(),
            module: record.module,
            fields,
        }
    }
}

/// CRM records, tenant-scoped.
#[async_trait]
pub trait RecordStore: Send + Sync {
    async fn create(
        &self,
        tenant: &TenantId,
        record: &StoredRecord,
    ) -> Result<Revisioned<StoredRecord>, StoreError>;

    async fn get(
        &self,
        tenant: &TenantId,
        id: &crate::ids::RecordId,
    ) -> Result<Option<Revisioned<StoredRecord>>, StoreError>;

    /// Several records at once (absent ones are left out), in no particular order.
    async fn get_many(
        &self,
        tenant: &TenantId,
        ids: &[crate::ids::RecordId],
    ) -> Result<Vec<Revisioned<StoredRecord>>, StoreError>;

    async fn replace(
        &self,
        tenant: &TenantId,
        record: &StoredRecord,
        expected: u64,
    ) -> Result<Revisioned<StoredRecord>, StoreError>;

    async fn delete(
        &self,
        tenant: &TenantId,
        id: &crate::ids::RecordId,
        expected: u64,
    ) -> Result<(), StoreError>;

    /// The records that reference `record` through their Customer field (its related lists:
    /// contacts, orders, tasks, care cards, …).
    async fn related(
        &self,
        tenant: &TenantId,
        record: &crate::ids::RecordId,
    ) -> Result<Vec<Revisioned<StoredRecord>>, StoreError>;

    /// A module's records, most recently updated first.
    async fn list(
        &self,
        tenant: &TenantId,
        module: Module,
        page: &PageRequest,
    ) -> Result<Page<Revisioned<StoredRecord>>, StoreError>;
}
