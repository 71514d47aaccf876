//! Redeeming a customer's loyalty points against an order (seed 003 §3.1, đổi điểm): never below
//! zero, decided on the balance as it is at the write (the customer's revision), once per
//! client key, and kept in the customer's ledger.

use serde_json::Value;

use super::purchases::customer_of;
use super::{Actor, RecordError, Records};
use crate::ids::RecordId;
use crate::record::loyalty::{Purchase, redeemed_points};
use crate::record::store::Redemption;
use crate::schema::Module;
use crate::store::StoreError;
use crate::user::access::Permission;
use crate::validation::Problems;

/// The most points one redemption spends.
pub const MAX_REDEMPTION: i64 = 1_000_000;

/// What a user asks for: `points` spent against `order`, under their idempotency `key`.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedeemRequest {
    pub order: RecordId,
    pub points: i64,
    pub key: String,
}

/// A redemption made, or found again under its key (`replayed`).
#[derive(Debug, Clone, PartialEq)]
pub struct Redeemed {
    pub redemption: Redemption,
    pub replayed: bool,
}

/// A customer's points: what they can spend, what they spent, their rank and the ledger.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LoyaltyBalance {
    pub points: i64,
    pub redeemed: i64,
    pub rank: Option<String>,
    pub redemptions: Vec<Redemption>,
}

impl Records<'_> {
    /// A customer's balance and ledger, for whoever may read the customer.
    pub async fn loyalty(
        &self,
        actor: &Actor,
        customer: &RecordId,
    ) -> Result<LoyaltyBalance, RecordError> {
        let stored = self.read(actor, Module::Customer, customer).await?;
        let fields = &stored.value.fields;
        Ok(LoyaltyBalance {
            points: fields
                .get("LoyaltyPoints")
                .and_then(Value::as_i64)
                .unwrap_or(0),
            redeemed: redeemed_points(fields),
            rank: fields
                .get("Rank")
                .and_then(Value::as_str)
                .map(str::to_owned),
            redemptions: self.records.redemptions(&actor.tenant, customer).await?,
        })
    }

    /// Spends `request.points` of the customer's balance against one of its orders. The balance
    /// is the points earned by its orders less those redeemed, read and lowered in one write
    /// conditional on the customer's revision, so that two redemptions at once never spend the
    /// same points; the same key again answers the redemption it made.
    pub async fn redeem(
        &self,
        actor: &Actor,
        customer: &RecordId,
        request: &RedeemRequest,
    ) -> Result<Redeemed, RecordError> {
        let tenant = &actor.tenant;
        let mut problems = Problems::default();
        if !super::is_client_key(&request.key) {
            problems.push("/key", "1 to 64 letters, digits, '-' or '_'");
        }
        if !(1..=MAX_REDEMPTION).contains(&request.points) {
            problems.push(
                "/points",
                format!("a whole number from 1 to {MAX_REDEMPTION}"),
            );
        }
        if !problems.is_empty() {
            return Err(RecordError::Invalid(problems));
        }
        self.reach(actor, Module::Customer, customer, Permission::Edit)
            .await?;
        if let Some(done) = self.find_redemption(actor, customer, request).await? {
            return Ok(done);
        }
        let order = self
            .read(actor, Module::Order, &request.order)
            .await
            .map_err(|e| match e {
                RecordError::NotFound(_) | RecordError::Forbidden(_) => {
                    RecordError::Invalid(Problems::single("/order", "no order of this customer"))
                }
                other => other,
            })?;
        if customer_of(&order.value).as_ref() != Some(customer) {
            return Err(RecordError::Invalid(Problems::single(
                "/order",
                "no order of this customer",
            )));
        }
        if Purchase::of_order(&order.value).is_none() {
            return Err(RecordError::Invalid(Problems::single(
                "/order",
                "a cancelled or undated order earns nothing and takes no redemption",
            )));
        }
        let Some(rule) = self.tenant_settings(tenant).await?.loyalty else {
            return Err(RecordError::Conflict(
                "the company runs no loyalty programme (tenant settings' loyalty)".into(),
            ));
        };
        for _ in 0..5 {
            let stored = self.get(tenant, Module::Customer, customer).await?;
            super::check_unlocked(actor, &stored.value)?;
            let orders = self.orders_of(tenant, customer, &[]).await?;
            let revenue: i64 = orders
                .iter()
                .filter_map(Purchase::of_order)
                .map(|p| p.amount)
                .sum();
            let redeemed = redeemed_points(&stored.value.fields);
            let balance = rule.points(revenue) - redeemed;
            if request.points > balance {
                return Err(RecordError::Conflict(format!(
                    "the customer has {} points to spend, not {}",
                    balance.max(0),
                    request.points
                )));
            }
            let mut fields = stored.value.fields.clone();
            fields.insert(
                "RedeemedPoints".into(),
                Value::from(redeemed + request.points),
            );
            fields.insert(
                "LoyaltyPoints".into(),
                Value::from(balance - request.points),
            );
            let next = crate::record::stored::StoredRecord {
                fields,
                ..stored.value
            };
            let redemption = Redemption {
                id: request.key.clone(),
                customer: customer.clone(),
                order: request.order.clone(),
                points: request.points,
                balance_after: balance - request.points,
                by: actor.user.clone(),
                at: self.clock.now(),
            };
            match self
                .records
                .redeem(tenant, &next, stored.revision, &redemption)
                .await
            {
                Ok(_) => {
                    return Ok(Redeemed {
                        redemption,
                        replayed: false,
                    });
                }
                // Another write came first (an order, a redemption, an edit, maybe this very
                // request sent twice): read it again.
                Err(StoreError::Conflict { .. }) => {
                    if let Some(done) = self.find_redemption(actor, customer, request).await? {
                        return Ok(done);
                    }
                    continue;
                }
                // The same key, from a request that got there first.
                Err(StoreError::AlreadyExists) => {
                    if let Some(done) = self.find_redemption(actor, customer, request).await? {
                        return Ok(done);
                    }
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(RecordError::Conflict(
            "the customer kept changing while the points were redeemed; try again".into(),
        ))
    }

    /// The redemption the ledger holds under the request's key, as a replay; one of another
    /// order or amount under the same key is a mistake (409).
    async fn find_redemption(
        &self,
        actor: &Actor,
        customer: &RecordId,
        request: &RedeemRequest,
    ) -> Result<Option<Redeemed>, RecordError> {
        let found = self
            .records
            .redemptions(&actor.tenant, customer)
            .await?
            .into_iter()
            .find(|r| r.id == request.key);
        match found {
            Some(r) if r.order != request.order || r.points != request.points => {
                Err(RecordError::Conflict(format!(
                    "the key '{}' redeemed {} points against order {}; use a new key for another redemption",
                    r.id, r.points, r.order
                )))
            }
            found => Ok(found.map(|redemption| Redeemed {
                redemption,
                replayed: true,
            })),
        }
    }
}
