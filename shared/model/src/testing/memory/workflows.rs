//! Workflows in memory, as `DynamoWorkflowStore` keeps them in the settings table: a head per
//! workflow (with its revision), one item per version, and a counter of active care workflows
//! per (tenant, module).
//!
//! A save is one atomic step, like the adapter's transaction (head conditional on its revision,
//! version put, counter update): either all of it happens or none. Refusals are translated as the
//! adapter translates the cancellation reasons: the head's condition first (`NotFound` when there
//! is no head, `Conflict` otherwise), then the counter's (`LimitReached` on activation,
//! `Corrupt` when a deactivation finds the counter at zero or absent).

use super::paging::{Query, SortKey};
use super::tables::WorkflowTables;
use super::world::{Access, StoreKind, World, store_controls};
use crate::ids::{TenantId, WorkflowId};
use crate::schema::Module;
use crate::store::{Page, PageRequest, Revisioned, StoreError};
use crate::workflow::ActiveChange;
use crate::workflow::store::{WorkflowCatalog, WorkflowFilter, WorkflowStore};
use crate::workflow::{Workflow, WorkflowDefinition, WorkflowKind};
use async_trait::async_trait;

/// The in-memory [`WorkflowStore`] and [`WorkflowCatalog`].
#[derive(Debug, Clone, Default)]
pub struct MemoryWorkflowStore {
    pub(super) world: World,
}

store_controls!(MemoryWorkflowStore, StoreKind::Workflows);

impl MemoryWorkflowStore {
    /// A store with tables of its own.
    pub fn new() -> Self {
        Self::default()
    }

    /// A module's counter of active workflows of a kind: `None` while no activation wrote it.
    pub fn active_count(
        &self,
        tenant: &TenantId,
        kind: WorkflowKind,
        module: Module,
    ) -> Option<u64> {
        self.world.peek(|s| {
            s.workflows
                .tenants
                .get(tenant)
                .and_then(|t| t.active.get(&(kind, module)).copied())
        })
    }

    fn read<T>(&self, op: impl FnOnce(&WorkflowTables) -> T) -> Result<T, StoreError> {
        self.world
            .call(StoreKind::Workflows, Access::Read, |s| Ok(op(&s.workflows)))
    }

    fn write<T>(
        &self,
        op: impl FnOnce(&mut WorkflowTables) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.world.call(
            StoreKind::Workflows,
            Access::Write,
            |s| op(&mut s.workflows),
        )
    }
}

#[async_trait]
impl WorkflowStore for MemoryWorkflowStore {
    async fn create(&self, workflow: &Workflow) -> Result<Revisioned<Workflow>, StoreError> {
        self.write(|tables| {
            let tenant = tables.tenants.entry(workflow.tenant.clone()).or_default();
            if tenant.heads.contains_key(&workflow.id) {
                return Err(StoreError::AlreadyExists);
            }
            let stored = Revisioned {
                value: workflow.clone(),
                revision: 1,
            };
            tenant.heads.insert(workflow.id.clone(), stored.clone());
            // The version put is unconditional, as in the adapter's transaction.
            tenant.versions.insert(
                (workflow.id.clone(), workflow.version),
                workflow.definition.clone(),
            );
            Ok(stored)
        })
    }

    async fn get(
        &self,
        tenant: &TenantId,
        id: &WorkflowId,
    ) -> Result<Option<Revisioned<Workflow>>, StoreError> {
        self.read(|tables| {
            tables
                .tenants
                .get(tenant)
                .and_then(|t| t.heads.get(id).cloned())
        })
    }

    async fn get_version(
        &self,
        tenant: &TenantId,
        id: &WorkflowId,
        version: u32,
    ) -> Result<Option<WorkflowDefinition>, StoreError> {
        self.read(|tables| {
            tables
                .tenants
                .get(tenant)
                .and_then(|t| t.versions.get(&(id.clone(), version)).cloned())
        })
    }

    async fn start_active_count(
        &self,
        tenant: &TenantId,
        kind: WorkflowKind,
        module: Module,
        count: u64,
    ) -> Result<(), StoreError> {
        self.write(|tables| {
            if let Some(t) = tables.tenants.get_mut(tenant) {
                t.active.entry((kind, module)).or_insert(count);
            }
            Ok(())
        })
    }

    async fn save(
        &self,
        next: &Workflow,
        expected: u64,
        active: ActiveChange,
    ) -> Result<Revisioned<Workflow>, StoreError> {
        self.write(|tables| {
            let Some(tenant) = tables.tenants.get_mut(&next.tenant) else {
                return Err(StoreError::NotFound);
            };
            // Transaction item 0: the head, `revision = :expected`.
            match tenant.heads.get(&next.id) {
                None => return Err(StoreError::NotFound),
                Some(head) if head.revision != expected => {
                    return Err(StoreError::Conflict { expected });
                }
                Some(_) => {}
            }
            // Transaction item 2: the counter.
            match active {
                ActiveChange::None => {}
                ActiveChange::Activate {
                    kind,
                    module,
                    limit,
                } => {
                    // `attribute_not_exists(active) OR active < :limit`: a counter never written
                    // admits the first activation whatever the limit.
                    let key = (kind, module);
                    if tenant.active.get(&key).is_some_and(|&a| a >= limit as u64) {
                        return Err(StoreError::LimitReached {
                            kind,
                            module,
                            limit,
                        });
                    }
                    *tenant.active.entry(key).or_insert(0) += 1;
                }
                ActiveChange::Deactivate { kind, module } => {
                    // `active >= :one`; at zero the save goes on without the counter.
                    if let Some(active) = tenant.active.get_mut(&(kind, module)) {
                        *active = active.saturating_sub(1);
                    }
                }
            }
            let stored = Revisioned {
                value: next.clone(),
                revision: expected + 1,
            };
            tenant.heads.insert(next.id.clone(), stored.clone());
            tenant
                .versions
                .insert((next.id.clone(), next.version), next.definition.clone());
            Ok(stored)
        })
    }
}

#[async_trait]
impl WorkflowCatalog for MemoryWorkflowStore {
    /// Query gsi1 `gsi1pk = T#<tenant>#WF [AND begins_with(gsi1sk, <module>#)]`, sorted by
    /// `gsi1sk = <module>#<id>` as strings.
    async fn list(
        &self,
        tenant: &TenantId,
        filter: WorkflowFilter,
        page: &PageRequest,
    ) -> Result<Page<Revisioned<Workflow>>, StoreError> {
        let mut query = Query::new("gsi1pk", format!("T#{tenant}#WF"));
        if let Some(module) = filter.module {
            query = query.sort(SortKey::Prefix(format!("{module}#")));
        }
        let heads = self.read(|tables| {
            tables
                .tenants
                .get(tenant)
                .map(|t| t.heads.values().cloned().collect::<Vec<_>>())
                .unwrap_or_default()
        })?;
        let positioned = heads.into_iter().map(|head| {
            let id = &head.value.id;
            let position = vec![
                format!("{}#{id}", head.value.definition.module),
                format!("T#{tenant}"),
                format!("WF#{id}"),
            ];
            (position, head)
        });
        let found = query.page(positioned, page, |_| true)?;
        Ok(Page {
            items: found.items,
            next: found.next,
        })
    }

    async fn versions(&self, tenant: &TenantId, id: &WorkflowId) -> Result<Vec<u32>, StoreError> {
        self.read(|tables| {
            tables
                .tenants
                .get(tenant)
                .map(|t| {
                    t.versions
                        .keys()
                        .filter(|(w, _)| w == id)
                        .map(|(_, v)| *v)
                        .collect()
                })
                .unwrap_or_default()
        })
    }

    /// DeleteItem `revision = :expected` (any refusal, an absent head included, is `Conflict`,
    /// as the adapter translates it), then the versions.
    async fn delete(
        &self,
        tenant: &TenantId,
        id: &WorkflowId,
        expected: u64,
    ) -> Result<(), StoreError> {
        self.write(|tables| {
            let Some(t) = tables.tenants.get_mut(tenant) else {
                return Err(StoreError::Conflict { expected });
            };
            match t.heads.get(id) {
                Some(head) if head.revision == expected => {}
                _ => return Err(StoreError::Conflict { expected }),
            }
            t.heads.remove(id);
            t.versions.retain(|(w, _), _| w != id);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::UserId;
    use crate::workflow::Stamp;
    use chrono::DateTime;

    fn workflow(tenant: &str, id: &str, module: Module) -> Workflow {
        let mut definition: WorkflowDefinition = serde_json::from_value(serde_json::json!({
            "module": "Customer",
            "name": "Sinh nhật",
            "trigger": {"type": "time", "date_field": "Birthday", "recurrence": "yearly",
                        "time_of_day": "08:00:00"},
            "actions": [{"kind": "notification", "id": "a1", "name": "Báo",
                         "notify_owner": true, "message": "Sinh nhật #Name"}]
        }))
        .unwrap();
        definition.module = module;
        let stamp = Stamp {
            by: UserId::new("u1").unwrap(),
            at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        };
        Workflow::new(
            WorkflowId::new(id).unwrap(),
            TenantId::new(tenant).unwrap(),
            definition,
            stamp,
        )
    }

    #[tokio::test]
    async fn the_limit_refuses_the_whole_save_and_deactivating_at_zero_leaves_the_count_at_zero() {
        let store = MemoryWorkflowStore::new();
        let a = workflow("t1", "a", Module::Customer);
        let b = workflow("t1", "b", Module::Customer);
        store.create(&a).await.unwrap();
        store.create(&b).await.unwrap();
        let activate = ActiveChange::Activate {
            kind: crate::workflow::WorkflowKind::Care,
            module: Module::Customer,
            limit: 1,
        };
        store.save(&a, 1, activate).await.unwrap();
        let refused = store.save(&b, 1, activate).await;
        match refused {
            Err(StoreError::LimitReached { module, limit, .. }) => {
                assert_eq!((module, limit), (Module::Customer, 1));
            }
            other => panic!("expected LimitReached, got {other:?}"),
        }
        assert_eq!(
            store.get(&b.tenant, &b.id).await.unwrap().unwrap().revision,
            1
        );
        // A stale head is reported before the counter, as the transaction's item 0.
        assert!(matches!(
            store.save(&b, 7, activate).await,
            Err(StoreError::Conflict { expected: 7 })
        ));
        let deactivate = ActiveChange::Deactivate {
            kind: crate::workflow::WorkflowKind::Care,
            module: Module::Order,
        };
        store
            .save(&b, 1, deactivate)
            .await
            .expect("a deactivation at zero saves without the counter");
        assert_eq!(
            store.active_count(&a.tenant, WorkflowKind::Care, Module::Order),
            None
        );
        assert_eq!(
            store.active_count(&a.tenant, WorkflowKind::Care, Module::Customer),
            Some(1)
        );
    }

    #[tokio::test]
    async fn listing_orders_by_module_name_then_id_and_deleting_a_missing_head_conflicts() {
        let store = MemoryWorkflowStore::new();
        for (id, module) in [
            ("z", Module::CareCard),
            ("b", Module::Order),
            ("a", Module::Order),
        ] {
            store.create(&workflow("t1", id, module)).await.unwrap();
        }
        let tenant = TenantId::new("t1").unwrap();
        let listed = store
            .list(&tenant, WorkflowFilter::default(), &PageRequest::first(10))
            .await
            .unwrap();
        let ids: Vec<&str> = listed.items.iter().map(|w| w.value.id.as_str()).collect();
        assert_eq!(ids, ["z", "a", "b"], "CareCard sorts before Order");
        let missing = WorkflowId::new("nope").unwrap();
        assert!(matches!(
            store.delete(&tenant, &missing, 1).await,
            Err(StoreError::Conflict { expected: 1 })
        ));
    }
}
