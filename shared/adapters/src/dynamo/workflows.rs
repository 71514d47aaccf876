//! Workflows in the settings table.
//!
//! | item                  | pk         | sk                         | gsi1pk        | gsi1sk          |
//! |-----------------------|------------|----------------------------|---------------|-----------------|
//! | workflow (head)       | `T#<tenant>` | `WF#<id>`                | `T#<tenant>#WF` | `<module>#<id>` |
//! | workflow version      | `T#<tenant>` | `WFV#<id>#<version:08>`  | –             | –               |
//! | active care counter   | `T#<tenant>` | `ACTIVECARE#<module>`    | –             | –               |
//!
//! A save is one transaction: the head (conditional on its revision), the version it names, and
//! the module's active-care counter when the status changes, so the limit of active care
//! workflows holds under any number of concurrent activations.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use serde::{Deserialize, Serialize};

use super::errors::{condition_failed, corrupt, unavailable};
use super::{Item, n, s, tenant_pk};
use crm_model::ids::{TenantId, WorkflowId};
use crm_model::ports::{ActiveCareChange, Revisioned, StoreError, WorkflowStore};
use crm_model::schema::Module;
use crm_model::workflow::{Workflow, WorkflowDefinition};

/// The DynamoDB implementation of [`WorkflowStore`].
#[derive(Debug, Clone)]
pub struct DynamoWorkflowStore {
    client: Client,
    table: String,
}

#[derive(Serialize, Deserialize)]
struct HeadItem {
    pk: String,
    sk: String,
    gsi1pk: String,
    gsi1sk: String,
    revision: u64,
    workflow: Workflow,
}

#[derive(Serialize, Deserialize)]
struct VersionItem {
    pk: String,
    sk: String,
    version: u32,
    definition: WorkflowDefinition,
}

fn head_sk(id: &WorkflowId) -> String {
    format!("WF#{id}")
}

fn version_sk(id: &WorkflowId, version: u32) -> String {
    format!("WFV#{id}#{version:08}")
}

fn counter_sk(module: Module) -> String {
    format!("ACTIVECARE#{module}")
}

fn build_error(error: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Unavailable(Box::new(error))
}

impl DynamoWorkflowStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn head_item(&self, workflow: &Workflow, revision: u64) -> Result<Item, StoreError> {
        serde_dynamo::to_item(HeadItem {
            pk: tenant_pk(&workflow.tenant),
            sk: head_sk(&workflow.id),
            gsi1pk: format!("{}#WF", tenant_pk(&workflow.tenant)),
            gsi1sk: format!("{}#{}", workflow.definition.module, workflow.id),
            revision,
            workflow: workflow.clone(),
        })
        .map_err(corrupt)
    }

    fn version_put(&self, workflow: &Workflow) -> Result<TransactWriteItem, StoreError> {
        let item: Item = serde_dynamo::to_item(VersionItem {
            pk: tenant_pk(&workflow.tenant),
            sk: version_sk(&workflow.id, workflow.version),
            version: workflow.version,
            definition: workflow.definition.clone(),
        })
        .map_err(corrupt)?;
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn counter_update(
        &self,
        tenant: &TenantId,
        change: ActiveCareChange,
    ) -> Result<Option<TransactWriteItem>, StoreError> {
        let builder = Update::builder()
            .table_name(&self.table)
            .key("pk", s(tenant_pk(tenant)))
            .expression_attribute_values(":one", n(1));
        let update = match change {
            ActiveCareChange::None => return Ok(None),
            ActiveCareChange::Activate { module, limit } => builder
                .key("sk", s(counter_sk(module)))
                .update_expression("SET active = if_not_exists(active, :zero) + :one")
                .condition_expression("attribute_not_exists(active) OR active < :limit")
                .expression_attribute_values(":zero", n(0))
                .expression_attribute_values(":limit", n(limit)),
            ActiveCareChange::Deactivate { module } => builder
                .key("sk", s(counter_sk(module)))
                .update_expression("SET active = active - :one")
                .condition_expression("active >= :one"),
        };
        let update = update.build().map_err(build_error)?;
        Ok(Some(TransactWriteItem::builder().update(update).build()))
    }
}

#[async_trait]
impl WorkflowStore for DynamoWorkflowStore {
    async fn create(&self, workflow: &Workflow) -> Result<Revisioned<Workflow>, StoreError> {
        let head = Put::builder()
            .table_name(&self.table)
            .set_item(Some(self.head_item(workflow, 1)?))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(build_error)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(head).build())
            .transact_items(self.version_put(workflow)?)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Revisioned {
                value: workflow.clone(),
                revision: 1,
            }),
            Err(error) => Err(match error.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(e))
                    if condition_failed(e.cancellation_reasons(), 0) =>
                {
                    StoreError::AlreadyExists
                }
                _ => unavailable(error),
            }),
        }
    }

    async fn get(
        &self,
        tenant: &TenantId,
        id: &WorkflowId,
    ) -> Result<Option<Revisioned<Workflow>>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(tenant_pk(tenant)))
            .key("sk", s(head_sk(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        let Some(item) = output.item else {
            return Ok(None);
        };
        let head: HeadItem = serde_dynamo::from_item(item).map_err(corrupt)?;
        Ok(Some(Revisioned {
            value: head.workflow,
            revision: head.revision,
        }))
    }

    async fn get_version(
        &self,
        tenant: &TenantId,
        id: &WorkflowId,
        version: u32,
    ) -> Result<Option<WorkflowDefinition>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(tenant_pk(tenant)))
            .key("sk", s(version_sk(id, version)))
            .send()
            .await
            .map_err(unavailable)?;
        let Some(item) = output.item else {
            return Ok(None);
        };
        let stored: VersionItem = serde_dynamo::from_item(item).map_err(corrupt)?;
        Ok(Some(stored.definition))
    }

    async fn save(
        &self,
        next: &Workflow,
        expected: u64,
        active: ActiveCareChange,
    ) -> Result<Revisioned<Workflow>, StoreError> {
        let revision = expected + 1;
        let head = Put::builder()
            .table_name(&self.table)
            .set_item(Some(self.head_item(next, revision)?))
            .condition_expression("revision = :expected")
            .expression_attribute_values(":expected", n(expected))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(build_error)?;
        let mut request = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(head).build())
            .transact_items(self.version_put(next)?);
        if let Some(counter) = self.counter_update(&next.tenant, active)? {
            request = request.transact_items(counter);
        }
        match request.send().await {
            Ok(_) => Ok(Revisioned {
                value: next.clone(),
                revision,
            }),
            Err(error) => Err(match error.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(e)) => {
                    let reasons = e.cancellation_reasons();
                    if condition_failed(reasons, 0) {
                        let existed = reasons.first().is_some_and(|r| r.item().is_some());
                        if existed {
                            StoreError::Conflict { expected }
                        } else {
                            StoreError::NotFound
                        }
                    } else if condition_failed(reasons, 2) {
                        match active {
                            ActiveCareChange::Activate { module, limit } => {
                                StoreError::LimitReached(format!(
                                    "{module} already has {limit} active care workflows"
                                ))
                            }
                            _ => StoreError::Corrupt(
                                "active care counter is already zero".to_owned(),
                            ),
                        }
                    } else {
                        unavailable(error)
                    }
                }
                _ => unavailable(error),
            }),
        }
    }
}
