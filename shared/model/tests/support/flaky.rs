//! A record store that goes down after a number of writes, for interrupting a use case at every
//! step it takes: the in-memory store's own faults hit the *next* calls, these hit the k-th.

use async_trait::async_trait;
use crm_model::ids::{RecordId, TenantId};
use crm_model::ports::{MergeMarker, RecordFilter, RecordStore, StoredRecord};
use crm_model::schema::Module;
use crm_model::store::{Page, PageRequest, Revisioned, StoreError};
use crm_model::testing::memory::MemoryRecordStore;
use std::sync::Mutex;

/// How the write that finds the store down fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outage {
    /// Refused: nothing is written.
    Refused,
    /// Written, but the answer is lost (a timeout on a request DynamoDB carried out); every
    /// later write is refused.
    ReplyLost,
}

/// Lets `allowed` writes through (all of them when `None`), then fails the rest; reads always
/// work. Counts the writes that went through.
pub struct FlakyRecords {
    inner: MemoryRecordStore,
    outage: Outage,
    state: Mutex<(Option<u32>, u32)>,
}

impl FlakyRecords {
    pub fn new(inner: &MemoryRecordStore, allowed: Option<u32>, outage: Outage) -> Self {
        Self {
            inner: inner.clone(),
            outage,
            state: Mutex::new((allowed, 0)),
        }
    }

    /// The writes that reached the store.
    pub fn writes(&self) -> u32 {
        self.state.lock().unwrap().1
    }

    /// Whether the next write goes through, and whether its answer comes back.
    fn admit(&self) -> (bool, bool) {
        let mut state = self.state.lock().unwrap();
        let (left, done) = &mut *state;
        match left {
            Some(0) => (false, false),
            Some(n) => {
                *n -= 1;
                *done += 1;
                let last = *n == 0 && self.outage == Outage::ReplyLost;
                if last {
                    // The write happens; this answer and every later write are lost.
                    *left = Some(0);
                }
                (true, !last)
            }
            None => {
                *done += 1;
                (true, true)
            }
        }
    }

    async fn write<T>(
        &self,
        op: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        match self.admit() {
            (false, _) => Err(down()),
            (true, true) => op.await,
            (true, false) => {
                op.await?;
                Err(down())
            }
        }
    }
}

fn down() -> StoreError {
    StoreError::Unavailable("the test took the records table down".into())
}

#[async_trait]
impl RecordStore for FlakyRecords {
    async fn create(
        &self,
        tenant: &TenantId,
        record: &StoredRecord,
    ) -> Result<Revisioned<StoredRecord>, StoreError> {
        self.write(self.inner.create(tenant, record)).await
    }

    async fn get(
        &self,
        tenant: &TenantId,
        id: &RecordId,
    ) -> Result<Option<Revisioned<StoredRecord>>, StoreError> {
        self.inner.get(tenant, id).await
    }

    async fn get_many(
        &self,
        tenant: &TenantId,
        ids: &[RecordId],
    ) -> Result<Vec<Revisioned<StoredRecord>>, StoreError> {
        self.inner.get_many(tenant, ids).await
    }

    async fn replace(
        &self,
        tenant: &TenantId,
        record: &StoredRecord,
        expected: u64,
    ) -> Result<Revisioned<StoredRecord>, StoreError> {
        self.write(self.inner.replace(tenant, record, expected))
            .await
    }

    async fn delete(
        &self,
        tenant: &TenantId,
        id: &RecordId,
        expected: u64,
    ) -> Result<(), StoreError> {
        self.write(self.inner.delete(tenant, id, expected)).await
    }

    async fn count_open(
        &self,
        tenant: &TenantId,
        module: crm_model::schema::Module,
        owner: &crm_model::ids::UserId,
    ) -> Result<u64, StoreError> {
        self.inner.count_open(tenant, module, owner).await
    }

    async fn set_computed(
        &self,
        tenant: &TenantId,
        id: &RecordId,
        fields: &serde_json::Map<String, serde_json::Value>,
        expected: u64,
        origin: &crm_model::record::origin::AutomationWrite,
    ) -> Result<u64, StoreError> {
        self.write(
            self.inner
                .set_computed(tenant, id, fields, expected, origin),
        )
        .await
    }

    async fn related(
        &self,
        tenant: &TenantId,
        record: &RecordId,
        limit: usize,
    ) -> Result<Vec<Revisioned<StoredRecord>>, StoreError> {
        self.inner.related(tenant, record, limit).await
    }

    async fn messages(
        &self,
        tenant: &TenantId,
        customer: &RecordId,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Revisioned<StoredRecord>>, StoreError> {
        self.inner.messages(tenant, customer, before, limit).await
    }

    async fn linked(
        &self,
        tenant: &TenantId,
        record: &RecordId,
        limit: usize,
    ) -> Result<Vec<Revisioned<StoredRecord>>, StoreError> {
        self.inner.linked(tenant, record, limit).await
    }

    async fn list(
        &self,
        tenant: &TenantId,
        module: Module,
        filter: &RecordFilter,
        page: &PageRequest,
    ) -> Result<Page<Revisioned<StoredRecord>>, StoreError> {
        self.inner.list(tenant, module, filter, page).await
    }

    async fn find_by_identity(
        &self,
        tenant: &TenantId,
        keys: &[String],
    ) -> Result<Vec<RecordId>, StoreError> {
        self.inner.find_by_identity(tenant, keys).await
    }

    async fn put_merge(&self, tenant: &TenantId, marker: &MergeMarker) -> Result<(), StoreError> {
        self.write(self.inner.put_merge(tenant, marker)).await
    }

    async fn merges(
        &self,
        tenant: &TenantId,
        survivor: &RecordId,
    ) -> Result<Vec<MergeMarker>, StoreError> {
        self.inner.merges(tenant, survivor).await
    }

    async fn redeem(
        &self,
        tenant: &TenantId,
        customer: &StoredRecord,
        expected: u64,
        redemption: &crm_model::ports::Redemption,
    ) -> Result<u64, StoreError> {
        self.write(self.inner.redeem(tenant, customer, expected, redemption))
            .await
    }

    async fn redemptions(
        &self,
        tenant: &TenantId,
        customer: &RecordId,
    ) -> Result<Vec<crm_model::ports::Redemption>, StoreError> {
        self.inner.redemptions(tenant, customer).await
    }
}
