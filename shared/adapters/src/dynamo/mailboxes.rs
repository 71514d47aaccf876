//! Each mailbox's sync status (folder checkpoints, last outcome) in the records table, one item
//! per mailbox, replaced whole: only the scheduled sync writes it, one run per mailbox at a time.
//!
//! | item        | pk                            | sk     |
//! |-------------|-------------------------------|--------|
//! | sync status | `T#<tenant>#MAILBOX#<setting>` | `SYNC` |

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use serde::{Deserialize, Serialize};

use super::errors::{corrupt, unavailable};
use super::{Item, s};
use crm_model::ids::{SettingId, TenantId};
use crm_model::mailbox::ports::{SyncStatus, SyncStatusStore};
use crm_model::ports::StoreError;

const SYNC_SK: &str = "SYNC";

#[derive(Serialize, Deserialize)]
struct StatusItem {
    pk: String,
    sk: String,
    status: SyncStatus,
}

fn status_pk(tenant: &TenantId, mailbox: &SettingId) -> String {
    format!("T#{tenant}#MAILBOX#{mailbox}")
}

/// The mailboxes' sync status in the records table.
#[derive(Debug, Clone)]
pub struct DynamoSyncStatus {
    client: Client,
    table: String,
}

impl DynamoSyncStatus {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

#[async_trait]
impl SyncStatusStore for DynamoSyncStatus {
    async fn get(
        &self,
        tenant: &TenantId,
        mailbox: &SettingId,
    ) -> Result<Option<SyncStatus>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(status_pk(tenant, mailbox)))
            .key("sk", s(SYNC_SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        output
            .item
            .map(|item| serde_dynamo::from_item::<_, StatusItem>(item).map(|i| i.status))
            .transpose()
            .map_err(corrupt)
    }

    async fn put(
        &self,
        tenant: &TenantId,
        mailbox: &SettingId,
        status: &SyncStatus,
    ) -> Result<(), StoreError> {
        let item: Item = serde_dynamo::to_item(StatusItem {
            pk: status_pk(tenant, mailbox),
            sk: SYNC_SK.into(),
            status: status.clone(),
        })
        .map_err(corrupt)?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
