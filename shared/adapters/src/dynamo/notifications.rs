//! In-app notifications in the records table, one partition per user, newest last in the sort
//! key so that a reverse query lists the newest first.
//!
//! | item | pk | sk |
//! |------|----|----|
//! | notification | `T#<tenant>#U#<user>` | `N#<at>#<id>` |
//! | delivered id | `T#<tenant>#U#<user>` | `NID#<id>` |
//!
//! The delivered-id item, written in one transaction with the notification, keeps an id from
//! being delivered twice at different instants (a hand-over asked again).
//!
//! The console addresses a notification by its key `<at>~<id>`, which locates the item without
//! reading the partition.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{Put, ReturnValue, TransactWriteItem};
use serde::{Deserialize, Serialize};

use super::errors::{condition_failed, corrupt, unavailable};
use super::paging::Scope;
use super::{Item, query_page, s};
use crm_model::ids::{TenantId, UserId};
use crm_model::ports::{NotificationInbox, Page, PageRequest, StoreError};
use crm_model::user::Notification;

#[derive(Serialize, Deserialize)]
struct NotificationItem {
    pk: String,
    sk: String,
    notification: Notification,
}

fn user_pk(tenant: &TenantId, user: &UserId) -> String {
    format!("T#{tenant}#U#{user}")
}

/// The stored item of a notification.
pub(crate) fn notification_item(
    tenant: &TenantId,
    notification: &Notification,
) -> Result<Item, StoreError> {
    let (at, id) = notification
        .key()
        .split_once('~')
        .map(|(a, i)| (a.to_owned(), i.to_owned()))
        .unwrap_or_default();
    serde_dynamo::to_item(NotificationItem {
        pk: user_pk(tenant, &notification.user),
        sk: format!("N#{at}#{id}"),
        notification: notification.clone(),
    })
    .map_err(corrupt)
}

/// Whether the delivery was refused because the guard or the notification already exists.
fn already_delivered(error: &aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError>) -> bool {
    match error.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(e)) => {
            let reasons = e.cancellation_reasons();
            condition_failed(reasons, 0) || condition_failed(reasons, 1)
        }
        _ => false,
    }
}

#[derive(Debug, Clone)]
pub struct DynamoNotificationInbox {
    client: Client,
    table: String,
}

impl DynamoNotificationInbox {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

#[async_trait]
impl NotificationInbox for DynamoNotificationInbox {
    async fn deliver(
        &self,
        tenant: &TenantId,
        notification: &Notification,
    ) -> Result<(), StoreError> {
        let item = notification_item(tenant, notification)?;
        let guard: Item = [
            ("pk".to_owned(), s(user_pk(tenant, &notification.user))),
            ("sk".to_owned(), s(format!("NID#{}", notification.id))),
        ]
        .into();
        let put = |item: Item| {
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map(|put| TransactWriteItem::builder().put(put).build())
                .map_err(|e| StoreError::Unavailable(Box::new(e)))
        };
        let result = self
            .client
            .transact_write_items()
            .transact_items(put(guard)?)
            .transact_items(put(item)?)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Delivered before: the guard (or the very same item) exists.
            Err(e) if already_delivered(&e) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn list(
        &self,
        tenant: &TenantId,
        user: &UserId,
        unread_only: bool,
        page: &PageRequest,
    ) -> Result<Page<Notification>, StoreError> {
        let pk = user_pk(tenant, user);
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :n)")
            .expression_attribute_values(":pk", s(&pk))
            .expression_attribute_values(":n", s("N#"))
            .scan_index_forward(false);
        if unread_only {
            query = query
                .filter_expression("#n.#read = :false")
                .expression_attribute_names("#n", "notification")
                .expression_attribute_names("#read", "read")
                .expression_attribute_values(
                    ":false",
                    aws_sdk_dynamodb::types::AttributeValue::Bool(false),
                );
        }
        let scope = Scope::partition("pk", &pk).prefixed("sk", "N#");
        let (items, next) = query_page(query, page, scope).await?;
        let items = items
            .into_iter()
            .map(|item| {
                serde_dynamo::from_item::<_, NotificationItem>(item)
                    .map(|n| n.notification)
                    .map_err(corrupt)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page { items, next })
    }

    async fn mark_read(
        &self,
        tenant: &TenantId,
        user: &UserId,
        key: &str,
    ) -> Result<Notification, StoreError> {
        let Some((at, id)) = key.split_once('~') else {
            return Err(StoreError::NotFound);
        };
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(user_pk(tenant, user)))
            .key("sk", s(format!("N#{at}#{id}")))
            .update_expression("SET #n.#read = :true")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#n", "notification")
            .expression_attribute_names("#read", "read")
            .expression_attribute_values(
                ":true",
                aws_sdk_dynamodb::types::AttributeValue::Bool(true),
            )
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(output) => {
                let item = output.attributes.unwrap_or_default();
                serde_dynamo::from_item::<_, NotificationItem>(item)
                    .map(|n| n.notification)
                    .map_err(corrupt)
            }
            Err(e) => Err(match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => StoreError::NotFound,
                _ => unavailable(e),
            }),
        }
    }
}
