//! The port of CRM records.

use async_trait::async_trait;

use super::{Page, PageRequest, Revisioned, StoreError};
use crate::ids::{RecordId, TenantId};
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

    /// A module's records, most recently updated first, keeping those that match `filter`.
    /// A page may hold fewer than `limit` records (the filter applies after the read) and still
    /// have a `next`.
    async fn list(
        &self,
        tenant: &TenantId,
        module: Module,
        filter: &RecordFilter,
        page: &PageRequest,
    ) -> Result<Page<Revisioned<StoredRecord>>, StoreError>;

    /// The customers that had one of the identity `keys` ([`crate::identity`]) when last saved.
    /// Candidates only: a caller checks the records' current values.
    async fn find_by_identity(
        &self,
        tenant: &TenantId,
        keys: &[String],
    ) -> Result<Vec<RecordId>, StoreError>;

    /// Notes, in the survivor's partition, that `marker.duplicate` is being or was merged into it.
    async fn put_merge(&self, tenant: &TenantId, marker: &MergeMarker) -> Result<(), StoreError>;

    /// The merges into `survivor`, oldest first.
    async fn merges(
        &self,
        tenant: &TenantId,
        survivor: &RecordId,
    ) -> Result<Vec<MergeMarker>, StoreError>;
}

/// Field equality conditions on a listing, on the stored JSON values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordFilter {
    pub equals: Vec<(String, serde_json::Value)>,
}

impl RecordFilter {
    pub fn matches(&self, record: &StoredRecord) -> bool {
        self.equals
            .iter()
            .all(|(field, value)| record.fields.get(field) == Some(value))
    }
}

/// A merge of two customers, kept so that an interrupted merge resumes and the survivor's history
/// includes the duplicate's.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MergeMarker {
    pub survivor: RecordId,
    pub duplicate: RecordId,
    pub state: MergeState,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub by: crate::ids::UserId,
    /// Related records moved so far.
    #[serde(default)]
    pub moved: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MergeState {
    Started,
    Done,
}

/// In-app notifications of a user (what task, hand-over, care-card and notification actions
/// deliver).
#[async_trait]
pub trait NotificationInbox: Send + Sync {
    /// Newest first.
    async fn list(
        &self,
        tenant: &TenantId,
        user: &crate::ids::UserId,
        unread_only: bool,
        page: &PageRequest,
    ) -> Result<Page<crate::run::Notification>, StoreError>;

    /// Delivers a notification (once: the same id is stored once).
    async fn deliver(
        &self,
        tenant: &TenantId,
        notification: &crate::run::Notification,
    ) -> Result<(), StoreError>;

    /// Marks one notification read; `NotFound` when the user has no such notification.
    async fn mark_read(
        &self,
        tenant: &TenantId,
        user: &crate::ids::UserId,
        id: &str,
    ) -> Result<crate::run::Notification, StoreError>;
}
