//! CRM users in the records table (they are what records are owned by and assigned to).
//!
//! | item | pk           | sk          |
//! |------|--------------|-------------|
//! | user | `T#<tenant>` | `USER#<id>` |
//! | the user's customer-page layout | `T#<tenant>` | `LAYOUT#<id>#customer-page` |

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

use super::errors::{corrupt, unavailable};
use super::paging::Scope;
use super::{Item, batch_get, query_page, s, tenant_pk};
use crm_model::ids::{TenantId, UserId};
use crm_model::ports::{Page, PageRequest, StoreError, UserDirectory};
use crm_model::store::Revisioned;
use crm_model::user::User;
use crm_model::user::preferences::CustomerPageLayout;

#[derive(Debug, Clone)]
pub struct DynamoUserDirectory {
    client: Client,
    table: String,
}

#[derive(Serialize, Deserialize)]
struct UserItem {
    pk: String,
    sk: String,
    user: User,
}

fn user_sk(id: &UserId) -> String {
    format!("USER#{id}")
}

fn layout_sk(id: &UserId) -> String {
    format!("LAYOUT#{id}#customer-page")
}

#[derive(Serialize, Deserialize)]
struct LayoutItem {
    pk: String,
    sk: String,
    revision: u64,
    layout: CustomerPageLayout,
}

impl DynamoUserDirectory {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

impl DynamoUserDirectory {
    /// The tenant's item at `sk`, read strongly consistent.
    async fn read<T: serde::de::DeserializeOwned>(
        &self,
        tenant: &TenantId,
        sk: String,
    ) -> Result<Option<T>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .consistent_read(true)
            .key("pk", s(tenant_pk(tenant)))
            .key("sk", s(sk))
            .send()
            .await
            .map_err(unavailable)?;
        output
            .item
            .map(|item| serde_dynamo::from_item(item).map_err(corrupt))
            .transpose()
    }
}

fn user_key(tenant: &TenantId, id: &UserId) -> Item {
    [
        ("pk".to_owned(), s(tenant_pk(tenant))),
        ("sk".to_owned(), s(user_sk(id))),
    ]
    .into_iter()
    .collect()
}

#[async_trait]
impl UserDirectory for DynamoUserDirectory {
    async fn layout(
        &self,
        tenant: &TenantId,
        user: &UserId,
    ) -> Result<Option<Revisioned<CustomerPageLayout>>, StoreError> {
        let stored: Option<LayoutItem> = self.read(tenant, layout_sk(user)).await?;
        Ok(stored.map(|stored| Revisioned {
            value: stored.layout,
            revision: stored.revision,
        }))
    }

    async fn put_layout(
        &self,
        tenant: &TenantId,
        user: &UserId,
        layout: &CustomerPageLayout,
        expected: u64,
    ) -> Result<Revisioned<CustomerPageLayout>, StoreError> {
        let item: Item = serde_dynamo::to_item(LayoutItem {
            pk: tenant_pk(tenant),
            sk: layout_sk(user),
            revision: expected + 1,
            layout: layout.clone(),
        })
        .map_err(corrupt)?;
        // Written at the next revision only over the one read (none read: none stored).
        let written = super::put_revisioned(
            &self.client,
            &self.table,
            item,
            Some(expected).filter(|e| *e > 0),
        )
        .await;
        match written {
            Ok(()) => Ok(Revisioned {
                value: layout.clone(),
                revision: expected + 1,
            }),
            Err(StoreError::AlreadyExists | StoreError::NotFound) => {
                Err(StoreError::Conflict { expected })
            }
            Err(other) => Err(other),
        }
    }

    async fn put(&self, tenant: &TenantId, user: &User) -> Result<(), StoreError> {
        let item: Item = serde_dynamo::to_item(UserItem {
            pk: tenant_pk(tenant),
            sk: user_sk(&user.id),
            user: user.clone(),
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

    async fn create(&self, tenant: &TenantId, user: &User) -> Result<(), StoreError> {
        let item: Item = serde_dynamo::to_item(UserItem {
            pk: tenant_pk(tenant),
            sk: user_sk(&user.id),
            user: user.clone(),
        })
        .map_err(corrupt)?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => Err(match e.as_service_error() {
                Some(
                    aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(_),
                ) => StoreError::AlreadyExists,
                _ => unavailable(e),
            }),
        }
    }

    async fn get(&self, tenant: &TenantId, id: &UserId) -> Result<Option<User>, StoreError> {
        // Strongly consistent: the membership check reads the stored user (its role, whether it
        // is active) once per 30 s per sandbox, and a first administrator's concurrent requests
        // must find the user one of them has just written.
        let stored: Option<UserItem> = self.read(tenant, user_sk(id)).await?;
        Ok(stored.map(|stored| stored.user))
    }

    async fn get_many(&self, tenant: &TenantId, ids: &[UserId]) -> Result<Vec<User>, StoreError> {
        let keys = ids.iter().map(|id| user_key(tenant, id)).collect();
        batch_get(&self.client, &self.table, keys, None, false)
            .await?
            .into_iter()
            .map(|item| {
                let stored: UserItem = serde_dynamo::from_item(item).map_err(corrupt)?;
                Ok(stored.user)
            })
            .collect()
    }

    async fn existing(
        &self,
        tenant: &TenantId,
        ids: &[UserId],
    ) -> Result<HashSet<UserId>, StoreError> {
        let keys = ids.iter().map(|id| user_key(tenant, id)).collect();
        let items = batch_get(&self.client, &self.table, keys, Some("sk"), false).await?;
        Ok(items
            .iter()
            .filter_map(|item| item.get("sk").and_then(|v| v.as_s().ok()))
            .filter_map(|sk| sk.strip_prefix("USER#"))
            .filter_map(|id| UserId::new(id).ok())
            .collect())
    }

    async fn list(&self, tenant: &TenantId, page: &PageRequest) -> Result<Page<User>, StoreError> {
        let pk = tenant_pk(tenant);
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(&pk))
            .expression_attribute_values(":prefix", s("USER#"));
        let scope = Scope::partition("pk", &pk).prefixed("sk", "USER#");
        let (items, next) = query_page(query, page, scope).await?;
        let items = items
            .into_iter()
            .map(|item| {
                serde_dynamo::from_item::<_, UserItem>(item)
                    .map(|u| u.user)
                    .map_err(corrupt)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page { items, next })
    }
}
