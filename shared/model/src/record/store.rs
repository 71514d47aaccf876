//! The record store port, and the merge markers it keeps beside customers.

use async_trait::async_trait;

use super::stored::StoredRecord;
use crate::ids::{RecordId, TenantId};
use crate::schema::Module;
use crate::store::{Page, PageRequest, Revisioned, StoreError};

/// The most related records any use case reads for one customer: about 80 MB of the largest
/// records, a bound on every request's memory and time.
pub const MAX_RELATED: usize = 2_000;

/// When a message was sent (received, for one read from a mailbox), else written: an instant as
/// records keep them (RFC 3339, milliseconds, UTC), so that they order as text.
pub fn message_at(message: &StoredRecord) -> &str {
    match message.text("SentAt") {
        "" => message.text("CreatedAt"),
        sent => sent,
    }
}

/// Where a message sits in its customer's history: `<when>#<id>`, ordered as text.
pub fn message_key(message: &StoredRecord) -> String {
    format!("{}#{}", message_at(message), message.id)
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
        id: &RecordId,
    ) -> Result<Option<Revisioned<StoredRecord>>, StoreError>;

    /// Several records at once (absent ones are left out), in no particular order.
    async fn get_many(
        &self,
        tenant: &TenantId,
        ids: &[RecordId],
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
        id: &RecordId,
        expected: u64,
    ) -> Result<(), StoreError>;

    /// How many records of `module` `owner` has open (not won, lost, converted, done, delivered
    /// or cancelled: [`crate::allocation::is_open`]), for allocation rules that weigh load.
    async fn count_open(
        &self,
        tenant: &TenantId,
        module: Module,
        owner: &crate::ids::UserId,
    ) -> Result<u64, StoreError>;

    /// Writes fields an automation computed (a score and its breakdown) into the record, if it
    /// is still at `expected`, leaving every other field (and what hangs on them) as it is; a
    /// null value removes its field. The write is marked as `origin`'s, for the stream's loop
    /// guard. The revision stays (returned): a computed field is no one's edit, so a person's
    /// next save with the ETag they hold still goes through (the score is computed again after
    /// it). `Conflict` when the record moved on or is gone.
    async fn set_computed(
        &self,
        tenant: &TenantId,
        id: &RecordId,
        fields: &serde_json::Map<String, serde_json::Value>,
        expected: u64,
        origin: &crate::record::origin::AutomationWrite,
    ) -> Result<u64, StoreError>;

    /// The records that reference `record` through their Customer field (its related lists:
    /// contacts, orders, tasks, care cards, …; not its messages, see [`RecordStore::messages`]),
    /// read page by page; `TooMany` as soon as there are more than `limit` (use [`MAX_RELATED`]
    /// unless a test wants a small one).
    async fn related(
        &self,
        tenant: &TenantId,
        record: &RecordId,
        limit: usize,
    ) -> Result<Vec<Revisioned<StoredRecord>>, StoreError>;

    /// A customer's messages (emails and SMS, sent and received) through an index of their
    /// own, newest first by [`message_key`], at most `limit` of those whose key is below
    /// `before`: a customer's history grows without bound, and is read a page at a time.
    async fn messages(
        &self,
        tenant: &TenantId,
        customer: &RecordId,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Revisioned<StoredRecord>>, StoreError>;

    /// The records linked to `record` through their RelatedRecord field (the tasks a workflow
    /// made for a lead, an order, …), as [`RecordStore::related`] reads them.
    async fn linked(
        &self,
        tenant: &TenantId,
        record: &RecordId,
        limit: usize,
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

    /// The customers that had one of the identity `keys` ([`crate::record::identity`]) when last saved,
    /// at most [`MAX_MATCHES_PER_KEY`](crate::record::identity::MAX_MATCHES_PER_KEY) per key.
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

    /// Saves `customer` (its loyalty balance lowered) over revision `expected` and adds
    /// `redemption` to its ledger, both or neither: `Conflict` when the customer moved on,
    /// `NotFound` when it is gone, `AlreadyExists` when the ledger holds the redemption's id.
    /// The customer's identity fields must be those of `expected` (only computed fields change).
    /// The new revision.
    async fn redeem(
        &self,
        tenant: &TenantId,
        customer: &StoredRecord,
        expected: u64,
        redemption: &Redemption,
    ) -> Result<u64, StoreError>;

    /// A customer's loyalty ledger, oldest first.
    async fn redemptions(
        &self,
        tenant: &TenantId,
        customer: &RecordId,
    ) -> Result<Vec<Redemption>, StoreError>;
}

/// Loyalty points a customer spent against an order, kept in the customer's ledger: who, when,
/// how many, and the balance left. Its id is the client's idempotency key.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Redemption {
    pub id: String,
    pub customer: RecordId,
    pub order: RecordId,
    pub points: i64,
    pub balance_after: i64,
    pub by: crate::ids::UserId,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// Conditions on a listing, on the stored JSON values: every `equals` holds, and each `any_of`
/// field holds one of its values (a caller's access level: the owners they reach).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordFilter {
    pub equals: Vec<(String, serde_json::Value)>,
    pub any_of: Vec<(String, Vec<serde_json::Value>)>,
}

impl RecordFilter {
    pub fn matches(&self, record: &StoredRecord) -> bool {
        self.equals
            .iter()
            .all(|(field, value)| record.fields.get(field) == Some(value))
            && self
                .any_of
                .iter()
                .all(|(field, values)| record.fields.get(field).is_some_and(|v| values.contains(v)))
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
