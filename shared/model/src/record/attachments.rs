//! Files stored with a record (a task's printed attachments), kept under the record's tenant and
//! id, named by the record's `Attachments` field and downloaded through short-lived links.

use async_trait::async_trait;

use crate::ids::{RecordId, TenantId};
use crate::run::providers::Attachment;
use crate::store::StoreError;

/// How long a download link works.
pub const LINK_SECONDS: u32 = 300;

/// Where records' files are kept: always under the tenant the caller was verified as.
#[async_trait]
pub trait AttachmentStore: Send + Sync {
    /// Stores `file` with `record`, replacing a file of the same name (a redelivered job stores
    /// the same bytes again).
    async fn put(
        &self,
        tenant: &TenantId,
        record: &RecordId,
        file: &Attachment,
    ) -> Result<(), StoreError>;

    /// A link that downloads the file `name` of `record` for [`LINK_SECONDS`].
    async fn link(
        &self,
        tenant: &TenantId,
        record: &RecordId,
        name: &str,
    ) -> Result<String, StoreError>;
}

/// The object key of a record's file: the tenant first, so no key of one tenant is another's.
pub fn object_key(tenant: &TenantId, record: &RecordId, name: &str) -> String {
    format!("{tenant}/{record}/{name}")
}
