//! The customer page as each user laid it out (seed 003 §2.3, §3.8): the summary card's
//! fields, and the related lists with their columns, in the user's order.

use serde_json::{Map, Value};

use super::{Actor, RecordError, Records};
use crate::ids::RecordId;
use crate::schema::Module;
use crate::store::{Revisioned, StoreError};
use crate::user::preferences::{CustomerPageLayout, RelatedList};

/// One related list as the user's layout shows it: its records, each with the list's columns.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ViewList {
    pub list: RelatedList,
    pub module: Module,
    pub columns: Vec<String>,
    pub items: Vec<ViewItem>,
}

/// A record of a related list: its id and the values of the list's columns.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ViewItem {
    pub id: RecordId,
    pub fields: Map<String, Value>,
}

/// A customer as its page shows it to one user.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CustomerView {
    /// The summary card's fields, in order (every field of the module when the user chose none).
    pub summary_fields: Vec<String>,
    pub lists: Vec<ViewList>,
}

impl Records<'_> {
    /// The actor's layout (the default until they save one: revision 0), without the fields the
    /// tenant removed since.
    pub async fn layout(
        &self,
        actor: &Actor,
    ) -> Result<Revisioned<CustomerPageLayout>, RecordError> {
        let schema = self.tenant_settings(&actor.tenant).await?.schema();
        let stored = self.users.layout(&actor.tenant, &actor.user).await?;
        Ok(match stored {
            Some(saved) => Revisioned {
                value: saved.value.applied(&schema),
                revision: saved.revision,
            },
            None => Revisioned {
                value: CustomerPageLayout::default().applied(&schema),
                revision: 0,
            },
        })
    }

    /// Saves the actor's layout if theirs is still at `expected` (0: never saved).
    pub async fn save_layout(
        &self,
        actor: &Actor,
        layout: &CustomerPageLayout,
        expected: u64,
    ) -> Result<Revisioned<CustomerPageLayout>, RecordError> {
        let schema = self.tenant_settings(&actor.tenant).await?.schema();
        let problems = layout.validate(&schema);
        if !problems.is_empty() {
            return Err(RecordError::Invalid(problems));
        }
        match self
            .users
            .put_layout(&actor.tenant, &actor.user, layout, expected)
            .await
        {
            Ok(saved) => Ok(saved),
            Err(StoreError::Conflict { expected }) => Err(RecordError::Stale { expected }),
            Err(other) => Err(other.into()),
        }
    }

    /// The customer's page as the actor laid it out: the related lists they show, in their
    /// order, each record with the list's columns only (and only the records they may read).
    pub async fn customer_view(
        &self,
        actor: &Actor,
        customer: &RecordId,
    ) -> Result<CustomerView, RecordError> {
        let related = self.related(actor, customer).await?;
        let schema = self.tenant_settings(&actor.tenant).await?.schema();
        let layout = match self.users.layout(&actor.tenant, &actor.user).await? {
            Some(saved) => saved.value,
            None => CustomerPageLayout::default(),
        }
        .applied(&schema);
        let summary_fields = if layout.summary_fields.is_empty() {
            schema
                .module(Module::Customer)
                .fields()
                .iter()
                .map(|f| f.name.clone())
                .collect()
        } else {
            layout.summary_fields
        };
        let lists = layout
            .related
            .into_iter()
            .map(|shown| {
                let records = related
                    .lists
                    .iter()
                    .find(|(name, _)| *name == shown.list.name())
                    .map(|(_, records)| records.as_slice())
                    .unwrap_or_default();
                let items = records
                    .iter()
                    .map(|r| ViewItem {
                        id: r.value.id.clone(),
                        fields: shown
                            .columns
                            .iter()
                            .filter_map(|c| r.value.fields.get(c).map(|v| (c.clone(), v.clone())))
                            .collect(),
                    })
                    .collect();
                ViewList {
                    list: shown.list,
                    module: shown.list.module(),
                    columns: shown.columns,
                    items,
                }
            })
            .collect();
        Ok(CustomerView {
            summary_fields,
            lists,
        })
    }
}
