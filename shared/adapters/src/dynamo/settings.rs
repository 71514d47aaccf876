//! Settings and tenant settings in the settings table.
//!
//! | item             | pk           | sk                      |
//! |------------------|--------------|-------------------------|
//! | setting          | `T#<tenant>` | `SET#<kind slug>#<id>`  |
//! | tenant settings  | `T#<tenant>` | `TENANT`                |
//!
//! Mailbox settings are also in gsi1 (sparse), under `gsi1pk = MAILBOXES` and
//! `gsi1sk = <tenant>#<id>`: the scheduled mailbox sync's one listing across tenants.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

use super::errors::{corrupt, unavailable};
use super::paging::Scope;
use super::{Item, batch_get, n, put_revisioned, query_page, s, tenant_pk};
use crm_model::action::{SettingInfo, SettingKind};
use crm_model::ids::{SettingId, TenantId};
use crm_model::mailbox::ports::MailboxRef;
use crm_model::ports::{Page, PageRequest, Revisioned, SettingsStore, StoreError};
use crm_model::settings::{Setting, TenantSettings};

#[derive(Debug, Clone)]
pub struct DynamoSettingsStore {
    client: Client,
    table: String,
}

#[derive(Serialize, Deserialize)]
struct SettingItem {
    pk: String,
    sk: String,
    id: SettingId,
    revision: u64,
    setting: Setting,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi1pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi1sk: Option<String>,
}

const MAILBOXES_PK: &str = "MAILBOXES";

/// Reads a stored setting. Settings saved before credentials moved to the secret vault still
/// carry the name of a secret; it means nothing now and is dropped, so those settings stay
/// readable (and deletable) instead of failing every read of their kind.
fn setting_item(mut item: Item) -> Result<SettingItem, StoreError> {
    use aws_sdk_dynamodb::types::AttributeValue;
    if let Some(AttributeValue::M(setting)) = item.get_mut("setting") {
        setting.remove("access_token_secret");
        setting.remove("signing_secret");
        if let Some(AttributeValue::M(gateway)) = setting.get_mut("gateway") {
            gateway.remove("credentials_secret");
        }
    }
    serde_dynamo::from_item(item).map_err(corrupt)
}

#[derive(Serialize, Deserialize)]
struct TenantItem {
    pk: String,
    sk: String,
    revision: u64,
    settings: TenantSettings,
}

fn setting_sk(kind: SettingKind, id: &SettingId) -> String {
    format!("SET#{}#{id}", kind.slug())
}

const TENANT_SK: &str = "TENANT";

impl DynamoSettingsStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    async fn put(
        &self,
        tenant: &TenantId,
        id: &SettingId,
        setting: &Setting,
        expected: Option<u64>,
    ) -> Result<Revisioned<Setting>, StoreError> {
        let revision = expected.map_or(1, |r| r + 1);
        let item: Item = serde_dynamo::to_item(SettingItem {
            pk: tenant_pk(tenant),
            sk: setting_sk(setting.kind(), id),
            id: id.clone(),
            revision,
            setting: setting.clone(),
            gsi1pk: (setting.kind() == SettingKind::Mailbox).then(|| MAILBOXES_PK.to_owned()),
            gsi1sk: (setting.kind() == SettingKind::Mailbox).then(|| format!("{tenant}#{id}")),
        })
        .map_err(corrupt)?;
        put_revisioned(&self.client, &self.table, item, expected).await?;
        Ok(Revisioned {
            value: setting.clone(),
            revision,
        })
    }
}

#[async_trait]
impl SettingsStore for DynamoSettingsStore {
    async fn create(
        &self,
        tenant: &TenantId,
        id: &SettingId,
        setting: &Setting,
    ) -> Result<Revisioned<Setting>, StoreError> {
        self.put(tenant, id, setting, None).await
    }

    async fn get(
        &self,
        tenant: &TenantId,
        kind: SettingKind,
        id: &SettingId,
    ) -> Result<Option<Revisioned<Setting>>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(tenant_pk(tenant)))
            .key("sk", s(setting_sk(kind, id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        let Some(item) = output.item else {
            return Ok(None);
        };
        let stored = setting_item(item)?;
        Ok(Some(Revisioned {
            value: stored.setting,
            revision: stored.revision,
        }))
    }

    async fn replace(
        &self,
        tenant: &TenantId,
        id: &SettingId,
        setting: &Setting,
        expected: u64,
    ) -> Result<Revisioned<Setting>, StoreError> {
        self.put(tenant, id, setting, Some(expected)).await
    }

    async fn delete(
        &self,
        tenant: &TenantId,
        kind: SettingKind,
        id: &SettingId,
        expected: u64,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(tenant_pk(tenant)))
            .key("sk", s(setting_sk(kind, id)))
            .condition_expression("revision = :expected")
            .expression_attribute_values(":expected", n(expected))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) => Err(match error.as_service_error() {
                Some(DeleteItemError::ConditionalCheckFailedException(e)) => {
                    if e.item().is_none() {
                        StoreError::NotFound
                    } else {
                        StoreError::Conflict { expected }
                    }
                }
                _ => unavailable(error),
            }),
        }
    }

    async fn mailboxes(&self, page: &PageRequest) -> Result<Page<MailboxRef>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("gsi1")
            .key_condition_expression("gsi1pk = :pk")
            .expression_attribute_values(":pk", s(MAILBOXES_PK));
        let (items, next) =
            query_page(query, page, Scope::partition("gsi1pk", MAILBOXES_PK)).await?;
        let items = items
            .into_iter()
            .map(|item| {
                let stored = setting_item(item)?;
                let tenant = stored
                    .pk
                    .strip_prefix("T#")
                    .and_then(|t| TenantId::new(t).ok())
                    .ok_or_else(|| StoreError::Corrupt(format!("a setting under {}", stored.pk)))?;
                Ok(MailboxRef {
                    tenant,
                    id: stored.id,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Page { items, next })
    }

    async fn list(
        &self,
        tenant: &TenantId,
        kind: SettingKind,
        page: &PageRequest,
    ) -> Result<Page<(SettingId, Revisioned<Setting>)>, StoreError> {
        let pk = tenant_pk(tenant);
        let prefix = format!("SET#{}#", kind.slug());
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(&pk))
            .expression_attribute_values(":prefix", s(&prefix));
        let scope = Scope::partition("pk", &pk).prefixed("sk", &prefix);
        let (items, next) = query_page(query, page, scope).await?;
        let items = items
            .into_iter()
            .map(|item| {
                let stored = setting_item(item)?;
                Ok((
                    stored.id,
                    Revisioned {
                        value: stored.setting,
                        revision: stored.revision,
                    },
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Page { items, next })
    }

    async fn infos(
        &self,
        tenant: &TenantId,
        refs: &[(SettingKind, SettingId)],
    ) -> Result<HashMap<(SettingKind, SettingId), SettingInfo>, StoreError> {
        let keys = refs
            .iter()
            .map(|(kind, id)| {
                [
                    ("pk".to_owned(), s(tenant_pk(tenant))),
                    ("sk".to_owned(), s(setting_sk(*kind, id))),
                ]
                .into_iter()
                .collect()
            })
            .collect();
        let mut found = HashMap::new();
        for item in batch_get(&self.client, &self.table, keys, None, false).await? {
            let stored = setting_item(item)?;
            found.insert((stored.setting.kind(), stored.id), stored.setting.info());
        }
        Ok(found)
    }

    async fn tenant_settings(
        &self,
        tenant: &TenantId,
    ) -> Result<Revisioned<TenantSettings>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(tenant_pk(tenant)))
            .key("sk", s(TENANT_SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        match output.item {
            None => Ok(Revisioned {
                value: TenantSettings::default(),
                revision: 0,
            }),
            Some(item) => {
                let stored: TenantItem = serde_dynamo::from_item(item).map_err(corrupt)?;
                Ok(Revisioned {
                    value: stored.settings,
                    revision: stored.revision,
                })
            }
        }
    }

    async fn put_tenant_settings(
        &self,
        tenant: &TenantId,
        settings: &TenantSettings,
        expected: u64,
    ) -> Result<Revisioned<TenantSettings>, StoreError> {
        let item: Item = serde_dynamo::to_item(TenantItem {
            pk: tenant_pk(tenant),
            sk: TENANT_SK.to_owned(),
            revision: expected + 1,
            settings: settings.clone(),
        })
        .map_err(corrupt)?;
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        let request = if expected == 0 {
            request.condition_expression("attribute_not_exists(pk)")
        } else {
            request
                .condition_expression("revision = :expected")
                .expression_attribute_values(":expected", n(expected))
        };
        match request.send().await {
            Ok(_) => Ok(Revisioned {
                value: settings.clone(),
                revision: expected + 1,
            }),
            Err(error) => Err(match error.as_service_error() {
                Some(e) if e.is_conditional_check_failed_exception() => {
                    StoreError::Conflict { expected }
                }
                _ => unavailable(error),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_setting_stored_with_a_secrets_name_still_reads_without_it() {
        for setting in [
            serde_json::json!({"kind": "sms_provider", "name": "eSMS", "gateway": {"type": "brandname",
                "base_url": "https://rest.esms.vn", "brandname": "ACME", "credentials_secret": "esms/main"}}),
            serde_json::json!({"kind": "zns_provider", "name": "OA", "oa_id": "1",
                "base_url": "https://business.openapi.zalo.me", "access_token_secret": "zalo/oa"}),
            serde_json::json!({"kind": "task_connection", "name": "Jira",
                "url": "https://tasks.example.vn", "signing_secret": "tasks/hmac"}),
        ] {
            let stored = serde_json::json!({"pk": "T#acme", "sk": "SET#x#y", "id": "esms", "revision": 3, "setting": setting});
            let item: Item = serde_dynamo::to_item(stored).unwrap();
            let read = setting_item(item).unwrap();
            assert_eq!(read.revision, 3);
            let shown = serde_json::to_string(&read.setting).unwrap();
            assert!(!shown.contains("_secret"), "{shown}");
        }
    }
}
