//! Records' files in memory, by object key, with links that name the key.

use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::ids::{RecordId, TenantId};
use crate::record::attachments::{AttachmentStore, LINK_SECONDS, object_key};
use crate::run::providers::Attachment;
use crate::store::StoreError;

#[derive(Default)]
pub struct MemoryAttachments {
    files: Mutex<BTreeMap<String, Attachment>>,
}

impl MemoryAttachments {
    pub fn new() -> Self {
        Self::default()
    }

    /// The file stored under `record`'s `name`, for tests to read back.
    pub fn file(&self, tenant: &TenantId, record: &RecordId, name: &str) -> Option<Attachment> {
        let files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        files.get(&object_key(tenant, record, name)).cloned()
    }

    /// How many files are stored.
    pub fn count(&self) -> usize {
        self.files.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[async_trait]
impl AttachmentStore for MemoryAttachments {
    async fn put(
        &self,
        tenant: &TenantId,
        record: &RecordId,
        file: &Attachment,
    ) -> Result<(), StoreError> {
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        files.insert(object_key(tenant, record, &file.file_name), file.clone());
        Ok(())
    }

    async fn link(
        &self,
        tenant: &TenantId,
        record: &RecordId,
        name: &str,
    ) -> Result<String, StoreError> {
        let key = object_key(tenant, record, name);
        let files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        if !files.contains_key(&key) {
            return Err(StoreError::NotFound);
        }
        Ok(format!("memory://{key}?expires={LINK_SECONDS}"))
    }
}
