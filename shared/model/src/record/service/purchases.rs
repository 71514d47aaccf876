//! Keeping a customer's purchase facts exact (seed 003 §4.3, §3.1, §3.2) and the quick purchase
//! statistics (§4.2). Facts are recomputed from the customer's orders after every order write,
//! with the order just written overlaid on what the related-records index returns, since that
//! index may not show the write yet.

use chrono::NaiveDate;
use serde_json::Value;
use std::collections::BTreeSet;

use super::{Actor, RecordError, Records};
use crate::ids::{RecordId, TenantId};
use crate::record::loyalty::{Purchase, PurchaseFacts, PurchaseStats};
use crate::record::stored::StoredRecord;
use crate::schema::Module;
use crate::store::StoreError;
use crate::user::access::Permission;

pub(super) fn customer_of(record: &StoredRecord) -> Option<RecordId> {
    (record.module == Module::Order)
        .then(|| record.fields.get("Customer")?.as_str())
        .flatten()
        .and_then(|c| RecordId::new(c).ok())
}

impl Records<'_> {
    /// Refreshes the purchase facts of the customers an order write touched (both, when the order
    /// moved from one customer to another).
    pub(super) async fn after_write(
        &self,
        tenant: &TenantId,
        old: Option<&StoredRecord>,
        new: Option<&StoredRecord>,
    ) -> Result<(), RecordError> {
        let customers: BTreeSet<RecordId> = old
            .iter()
            .chain(new.iter())
            .filter_map(|r| customer_of(r))
            .collect();
        let Some(order) = new.or(old).map(|r| r.id.clone()) else {
            return Ok(());
        };
        for customer in customers {
            // The order is saved whatever happens here: failing the request would invite a retry
            // that creates it twice. The facts catch up on the customer's next order write.
            let written = [(order.clone(), new.cloned())];
            if let Err(error) = self.refresh_purchases(tenant, &customer, &written).await {
                tracing::warn!(%customer, %error, "purchase facts not refreshed");
            }
        }
        Ok(())
    }

    /// The customer's orders, with `just_written` (records and their state now, none if
    /// deleted) overlaid.
    pub(super) async fn orders_of(
        &self,
        tenant: &TenantId,
        customer: &RecordId,
        just_written: &[(RecordId, Option<StoredRecord>)],
    ) -> Result<Vec<StoredRecord>, RecordError> {
        let mut orders: Vec<StoredRecord> = self
            .records
            .related(tenant, customer, crate::record::store::MAX_RELATED)
            .await?
            .into_iter()
            .map(|r| r.value)
            // The index may still list an order just moved to another customer.
            .filter(|r| r.module == Module::Order && customer_of(r).as_ref() == Some(customer))
            .collect();
        for (id, now) in just_written {
            orders.retain(|o| &o.id != id);
            if let Some(order) = now
                .as_ref()
                .filter(|o| customer_of(o).as_ref() == Some(customer))
            {
                orders.push(order.clone());
            }
        }
        Ok(orders)
    }

    /// Recomputes the last purchase date, points and rank of a customer and saves them when they
    /// changed, retrying when the customer changed meanwhile.
    pub async fn refresh_purchases(
        &self,
        tenant: &TenantId,
        customer: &RecordId,
        just_written: &[(RecordId, Option<StoredRecord>)],
    ) -> Result<(), RecordError> {
        let rule = self.tenant_settings(tenant).await?.loyalty;
        for _ in 0..5 {
            let Some(stored) = self.records.get(tenant, customer).await? else {
                return Ok(());
            };
            if stored.value.module != Module::Customer {
                return Ok(());
            }
            let orders = self.orders_of(tenant, customer, just_written).await?;
            let purchases: Vec<Purchase> = orders.iter().filter_map(Purchase::of_order).collect();
            let mut fields = stored.value.fields.clone();
            if !PurchaseFacts::of(&purchases, rule.as_ref()).apply(&mut fields) {
                return Ok(());
            }
            let next = StoredRecord {
                fields,
                ..stored.value
            };
            match self.records.replace(tenant, &next, stored.revision).await {
                Ok(_) => return Ok(()),
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(RecordError::Conflict(
            "the customer kept changing while its purchases were updated; try again".into(),
        ))
    }

    /// What a customer bought between `from` and `to` (inclusive, either open).
    /// What a customer bought, counting the orders the actor may read.
    pub async fn purchase_stats(
        &self,
        actor: &Actor,
        customer: &RecordId,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<PurchaseStats, RecordError> {
        self.read(actor, Module::Customer, customer).await?;
        if !actor.access.may(Module::Order, Permission::Read) {
            return Ok(PurchaseStats::of(&[], from, to));
        }
        let orders = self.orders_of(&actor.tenant, customer, &[]).await?;
        let purchases: Vec<Purchase> = orders
            .iter()
            .filter(|o| actor.access.reaches(o))
            .filter_map(Purchase::of_order)
            .collect();
        Ok(PurchaseStats::of(&purchases, from, to))
    }
}

/// The date a sales record is filed under in the sales history.
pub(super) fn sales_date(record: &StoredRecord) -> Option<&str> {
    let field = match record.module {
        Module::Order => "OrderDate",
        Module::Quote => "QuoteDate",
        Module::Invoice => "InvoiceDate",
        Module::Opportunity => "ExpectedCloseDate",
        _ => "CreatedAt",
    };
    record
        .fields
        .get(field)
        .or_else(|| record.fields.get("CreatedAt"))
        .and_then(Value::as_str)
}
