//! What the customer page shows and does (seed 003 §3.7, §3.8, §4.1, §4.4): related lists,
//! activity and sales history, records created from the customer, hand-over.

use crate::record::store::MAX_RELATED;
use serde_json::{Map, Value};

use super::purchases::sales_date;
use super::{Actor, RecordError, Records};
use crate::action::ActivityKind;
use crate::ids::{RecordId, UserId};
use crate::record::stored::StoredRecord;
use crate::schema::Module;
use crate::store::{Revisioned, StoreError};
use crate::user::Notification;
use crate::user::access::Permission;

/// A customer's related lists, in the order the page shows them.
#[derive(Debug, Clone, PartialEq)]
pub struct RelatedLists {
    pub lists: Vec<(&'static str, Vec<Revisioned<StoredRecord>>)>,
}

const RELATED: [(Module, &str); 7] = [
    (Module::Contact, "contacts"),
    (Module::Opportunity, "opportunities"),
    (Module::Quote, "quotes"),
    (Module::Order, "orders"),
    (Module::Invoice, "invoices"),
    (Module::Task, "tasks"),
    (Module::CareCard, "care_cards"),
];

/// A hand-over asked for on the customer page.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandOver {
    pub to: UserId,
    /// The kinds of the previous owner's open activities that follow the customer.
    #[serde(default)]
    pub activities: Vec<ActivityKind>,
}

/// Still to do: a task or card not done, a meeting planned (or without a status), a call
/// planned (a call logged without one happened); a note never is.
pub(super) fn is_open(record: &StoredRecord) -> bool {
    let status = record.fields.get("Status").and_then(Value::as_str);
    match record.module {
        Module::Note | Module::Message => false,
        Module::Call => status == Some("Planned"),
        Module::Meeting => matches!(status, None | Some("Planned")),
        _ => matches!(status, None | Some("Open" | "InProgress")),
    }
}

impl Records<'_> {
    /// The records related to a customer the actor may read: the customer must be within
    /// reach, and so must each related record (by its owner and module permission).
    pub(super) async fn customer_related(
        &self,
        actor: &Actor,
        customer: &RecordId,
    ) -> Result<Vec<Revisioned<StoredRecord>>, RecordError> {
        self.read(actor, Module::Customer, customer).await?;
        let mut related = self
            .records
            .related(&actor.tenant, customer, MAX_RELATED)
            .await?;
        related.retain(|r| {
            actor.access.reaches(&r.value) && actor.access.may(r.value.module, Permission::Read)
        });
        Ok(related)
    }

    pub async fn related(
        &self,
        actor: &Actor,
        customer: &RecordId,
    ) -> Result<RelatedLists, RecordError> {
        let mut related = self.customer_related(actor, customer).await?;
        related.sort_by(|a, b| sales_date(&b.value).cmp(&sales_date(&a.value)));
        let lists = RELATED
            .iter()
            .map(|(module, name)| {
                let of: Vec<_> = related
                    .iter()
                    .filter(|r| r.value.module == *module)
                    .cloned()
                    .collect();
                (*name, of)
            })
            .collect();
        Ok(RelatedLists { lists })
    }

    /// A link to download the file `name` stored with a record the actor may read (a task's
    /// printed attachment), when the record lists it.
    pub async fn attachment_link(
        &self,
        actor: &Actor,
        module: Module,
        id: &RecordId,
        name: &str,
        files: &dyn crate::record::attachments::AttachmentStore,
    ) -> Result<String, RecordError> {
        let record = self.read(actor, module, id).await?;
        let listed = record
            .value
            .fields
            .get("Attachments")
            .and_then(Value::as_array)
            .is_some_and(|names| names.iter().any(|n| n.as_str() == Some(name)));
        if !listed {
            return Err(RecordError::NotFound("attachment"));
        }
        Ok(files.link(&actor.tenant, id, name).await?)
    }

    /// Opportunities, quotes, orders and invoices, newest first.
    pub async fn sales(
        &self,
        actor: &Actor,
        customer: &RecordId,
    ) -> Result<Vec<Revisioned<StoredRecord>>, RecordError> {
        let mut sales: Vec<_> = self
            .customer_related(actor, customer)
            .await?
            .into_iter()
            .filter(|r| {
                matches!(
                    r.value.module,
                    Module::Opportunity | Module::Quote | Module::Order | Module::Invoice
                )
            })
            .collect();
        sales.sort_by(|a, b| sales_date(&b.value).cmp(&sales_date(&a.value)));
        Ok(sales)
    }

    /// An order, quote or opportunity created from the customer (§4.1): customer, owner and the
    /// usual first values filled in, then the user's values on top.
    pub async fn create_from_customer(
        &self,
        actor: &Actor,
        customer: &RecordId,
        module: Module,
        id: RecordId,
        input: &Map<String, Value>,
    ) -> Result<Revisioned<StoredRecord>, RecordError> {
        let stored = self.read(actor, Module::Customer, customer).await?;
        let tz = self.tenant_settings(&actor.tenant).await?.tz();
        let today = self.clock.now().with_timezone(&tz).date_naive();
        let name = stored
            .value
            .fields
            .get("Name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let code = format!(
            "{}-{}-{}",
            match module {
                Module::Order => "DH",
                Module::Quote => "BG",
                _ => "CH",
            },
            today.format("%Y%m%d"),
            id.as_str().chars().rev().take(4).collect::<String>()
        );
        let mut fields = Map::new();
        fields.insert("Customer".into(), Value::String(customer.to_string()));
        fields.insert("Owner".into(), Value::String(actor.user.to_string()));
        match module {
            Module::Order => {
                fields.insert("Code".into(), Value::String(code));
                fields.insert("OrderDate".into(), Value::String(today.to_string()));
                fields.insert("Salesperson".into(), Value::String(actor.user.to_string()));
                fields.insert("Status".into(), Value::String("Draft".into()));
            }
            Module::Quote => {
                fields.insert("Code".into(), Value::String(code));
                fields.insert("QuoteDate".into(), Value::String(today.to_string()));
            }
            Module::Opportunity => {
                fields.insert("Name".into(), Value::String(format!("{name} - {code}")));
                fields.insert("Stage".into(), Value::String("Prospecting".into()));
            }
            other => {
                return Err(RecordError::Invalid(crate::validation::Problems::single(
                    "/module",
                    format!("{other} records are not created from a customer"),
                )));
            }
        }
        for (k, v) in input {
            fields.insert(k.clone(), v.clone());
        }
        // Created from this customer: the customer is not the caller's to change here.
        fields.insert("Customer".into(), Value::String(customer.to_string()));
        self.create(actor, module, id, &fields).await
    }

    /// Moves the customer to another user with the chosen kinds of the previous owner's open
    /// activities (§4.4), and tells the new owner. Repeating it moves whatever is left.
    pub async fn hand_over(
        &self,
        actor: &Actor,
        customer: &RecordId,
        request: &HandOver,
    ) -> Result<(Revisioned<StoredRecord>, Vec<RecordId>), RecordError> {
        let tenant = &actor.tenant;
        let stored = self
            .reach(actor, Module::Customer, customer, Permission::HandOver)
            .await?;
        for kind in &request.activities {
            actor.require(kind.module(), Permission::HandOver)?;
        }
        match self.users.get(tenant, &request.to).await? {
            Some(user) if user.active => {}
            _ => {
                return Err(RecordError::Invalid(crate::validation::Problems::single(
                    "/to",
                    format!("'{}' is not an active user", request.to),
                )));
            }
        }
        let previous = stored.value.fields.get("Owner").cloned();
        let new_owner = Value::String(request.to.to_string());
        let now = self.clock.now();
        let mut moved = Vec::new();
        for related in self.records.related(tenant, customer, MAX_RELATED).await? {
            let Some(kind) = ActivityKind::of(related.value.module) else {
                continue;
            };
            // Handed over already (a retry): the activities are the new owner's own, and stay
            // assigned as they are.
            let owned = previous.as_ref() != Some(&new_owner)
                && related.value.fields.get("Owner") == previous.as_ref();
            if !request.activities.contains(&kind) || !owned || !is_open(&related.value) {
                continue;
            }
            // An activity waiting for approval stays where it is, as a changed one does.
            if super::check_unlocked(actor, &related.value).is_err() {
                continue;
            }
            let changes: &[(&str, &Value)] = if kind == ActivityKind::Task {
                &[("Owner", &new_owner), ("Assignee", &new_owner)]
            } else {
                &[("Owner", &new_owner)]
            };
            let next = super::edited(&related.value, changes, actor, now);
            match self.records.replace(tenant, &next, related.revision).await {
                Ok(_) => moved.push(next.id),
                // Someone changed it meanwhile; it stays with whoever has it now.
                Err(StoreError::Conflict { .. } | StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let mut current = stored;
        let mut attempts = 0;
        let customer_record = loop {
            if current.value.fields.get("Owner") == Some(&new_owner) {
                break current;
            }
            attempts += 1;
            if attempts > 5 {
                return Err(RecordError::Conflict(
                    "the customer kept changing during the hand-over; hand it over again".into(),
                ));
            }
            let next = super::edited(&current.value, &[("Owner", &new_owner)], actor, now);
            // A concurrent edit of another field must not undo the activities already moved.
            match self.records.replace(tenant, &next, current.revision).await {
                Ok(saved) => break saved,
                Err(StoreError::Conflict { .. }) => {
                    current = self.get(tenant, Module::Customer, customer).await?;
                    // Submitted for approval meanwhile: the lock holds for the retry too.
                    super::check_unlocked(actor, &current.value)?;
                }
                Err(e) => return Err(e.into()),
            }
        };
        let name = customer_record
            .value
            .fields
            .get("Name")
            .and_then(Value::as_str)
            .unwrap_or("");
        // One notification per hand-over of this customer revision: asking again tells no twice.
        let notification = Notification {
            id: format!(
                "handover-{customer}-{}-{}",
                request.to, customer_record.revision
            ),
            user: request.to.clone(),
            message: format!(
                "Bạn được bàn giao khách hàng {name} ({} hoạt động)",
                moved.len()
            ),
            record: Some(customer.clone()),
            at: now,
            read: false,
        };
        self.inbox.deliver(tenant, &notification).await?;
        Ok((customer_record, moved))
    }
}
