//! Workflows in the settings table.
//!
//! | item                  | pk         | sk                         | gsi1pk        | gsi1sk          |
//! |-----------------------|------------|----------------------------|---------------|-----------------|
//! | workflow (head)       | `T#<tenant>` | `WF#<id>`                | `T#<tenant>#WF` | `<module>#<id>` |
//! | workflow version      | `T#<tenant>` | `WFV#<id>#<version:08>`  | –             | –               |
//! | active care counter   | `T#<tenant>` | `ACTIVECARE#<module>`    | –             | –               |
//! | active work counter   | `T#<tenant>` | `ACTIVEWORK#<module>`    | –             | –               |
//!
//! A save is one transaction: the head (conditional on its revision), the version it names, and
//! the module's counter of active workflows of the kind when the status changes, so the limit
//! holds under any number of concurrent activations. A deactivation finding its counter at
//! zero (a work workflow active before work workflows were counted) saves without it.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use serde::{Deserialize, Serialize};

use super::errors::{condition_failed, corrupt, unavailable};
use super::{Item, batch_delete, n, paging, s, tenant_pk};
use crm_model::ids::{TenantId, WorkflowId};
use crm_model::ports::{
    ActiveChange, Page, PageRequest, Revisioned, StoreError, WorkflowCatalog, WorkflowFilter,
    WorkflowStore,
};
use crm_model::schema::Module;
use crm_model::workflow::{Workflow, WorkflowDefinition, WorkflowKind};

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

fn counter_sk(kind: WorkflowKind, module: Module) -> String {
    match kind {
        WorkflowKind::Care => format!("ACTIVECARE#{module}"),
        WorkflowKind::Work => format!("ACTIVEWORK#{module}"),
        WorkflowKind::Scoring => format!("ACTIVESCORING#{module}"),
        WorkflowKind::Approval => format!("ACTIVEAPPROVAL#{module}"),
    }
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
        change: ActiveChange,
    ) -> Result<Option<TransactWriteItem>, StoreError> {
        let builder = Update::builder()
            .table_name(&self.table)
            .key("pk", s(tenant_pk(tenant)))
            .expression_attribute_values(":one", n(1));
        let update = match change {
            ActiveChange::None => return Ok(None),
            ActiveChange::Activate {
                kind,
                module,
                limit,
            } => builder
                .key("sk", s(counter_sk(kind, module)))
                .update_expression("SET active = if_not_exists(active, :zero) + :one")
                .condition_expression("attribute_not_exists(active) OR active < :limit")
                .expression_attribute_values(":zero", n(0))
                .expression_attribute_values(":limit", n(limit)),
            ActiveChange::Deactivate { kind, module } => builder
                .key("sk", s(counter_sk(kind, module)))
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

    async fn start_active_count(
        &self,
        tenant: &TenantId,
        kind: WorkflowKind,
        module: Module,
        count: u64,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(tenant_pk(tenant)))
            .item("sk", s(counter_sk(kind, module)))
            .item("active", n(count))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn save(
        &self,
        next: &Workflow,
        expected: u64,
        active: ActiveChange,
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
                            ActiveChange::Activate {
                                kind,
                                module,
                                limit,
                            } => StoreError::LimitReached {
                                kind,
                                module,
                                limit,
                            },
                            // Nothing to count down: the same save, without the counter.
                            ActiveChange::Deactivate { .. } => {
                                return self.save(next, expected, ActiveChange::None).await;
                            }
                            ActiveChange::None => {
                                StoreError::Corrupt("a counter changed without a change".into())
                            }
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

#[async_trait]
impl WorkflowCatalog for DynamoWorkflowStore {
    async fn list(
        &self,
        tenant: &TenantId,
        filter: WorkflowFilter,
        page: &PageRequest,
    ) -> Result<Page<Revisioned<Workflow>>, StoreError> {
        let gsi1pk = format!("{}#WF", tenant_pk(tenant));
        let module_prefix = filter.module.map(|module| format!("{module}#"));
        let mut scope = paging::Scope::partition("gsi1pk", &gsi1pk);
        if let Some(prefix) = &module_prefix {
            scope = scope.prefixed("gsi1sk", prefix);
        }
        let start = match &page.cursor {
            Some(cursor) => Some(paging::decode(cursor, scope)?),
            None => None,
        };
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("gsi1")
            .expression_attribute_values(":pk", s(&gsi1pk))
            .limit(page.limit.clamp(1, PageRequest::MAX_LIMIT) as i32)
            .set_exclusive_start_key(start);
        query = match &module_prefix {
            Some(prefix) => query
                .key_condition_expression("gsi1pk = :pk AND begins_with(gsi1sk, :module)")
                .expression_attribute_values(":module", s(prefix)),
            None => query.key_condition_expression("gsi1pk = :pk"),
        };
        let output = query.send().await.map_err(unavailable)?;
        let items = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| {
                let head: HeadItem = serde_dynamo::from_item(item).map_err(corrupt)?;
                Ok(Revisioned {
                    value: head.workflow,
                    revision: head.revision,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Page {
            items,
            next: paging::encode(output.last_evaluated_key.as_ref()),
        })
    }

    async fn versions(&self, tenant: &TenantId, id: &WorkflowId) -> Result<Vec<u32>, StoreError> {
        let mut versions = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", s(tenant_pk(tenant)))
                .expression_attribute_values(":prefix", s(format!("WFV#{id}#")))
                .projection_expression("version")
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            for item in output.items.unwrap_or_default() {
                let version = item
                    .get("version")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| StoreError::Corrupt("version item without a version".into()))?;
                versions.push(version);
            }
            start = output.last_evaluated_key;
            if start.is_none() {
                return Ok(versions);
            }
        }
    }

    async fn delete(
        &self,
        tenant: &TenantId,
        id: &WorkflowId,
        expected: u64,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(tenant_pk(tenant)))
            .key("sk", s(head_sk(id)))
            .condition_expression("revision = :expected")
            .expression_attribute_values(":expected", n(expected))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        if let Err(error) = result {
            return Err(match error.as_service_error() {
                Some(e) if e.is_conditional_check_failed_exception() => {
                    StoreError::Conflict { expected }
                }
                _ => unavailable(error),
            });
        }
        // The head is gone, so nothing can read the versions any more; removing them is
        // housekeeping that a retry or a later delete may finish.
        let keys = self
            .versions(tenant, id)
            .await?
            .into_iter()
            .map(|version| {
                [
                    ("pk".to_owned(), s(tenant_pk(tenant))),
                    ("sk".to_owned(), s(version_sk(id, version))),
                ]
                .into_iter()
                .collect()
            })
            .collect();
        batch_delete(&self.client, &self.table, keys).await
    }
}
