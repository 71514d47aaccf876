//! Duplicate check and merge of customers (seed 003 §2.4).
//!
//! A merge is resumable rather than one transaction (a customer can have more related records
//! than a transaction holds): a marker in the survivor's partition is written first, then the
//! survivor takes the duplicate's values where it has none, the duplicate's related records move
//! to the survivor one conditional write at a time, the duplicate is deleted and the marker is
//! closed. The user may pick, field by field, which record's value survives: the fields they
//! name take the duplicate's value (or its emptiness) over the survivor's. Every step can be repeated, so asking again after a failure finishes the merge and
//! loses nothing; the marker also keeps the duplicate's automation history on the survivor.

use crate::record::store::MAX_RELATED;
use serde_json::Value;

use super::{Actor, RecordError, Records};
use crate::ids::RecordId;
use crate::record::identity::{self, IdentityKind};
use crate::record::store::{MergeMarker, MergeState};
use crate::record::stored::StoredRecord;
use crate::schema::Module;
use crate::store::{Revisioned, StoreError};
use crate::user::access::Permission;

/// A customer sharing an identity with the one checked, and what they share.
#[derive(Debug, Clone, PartialEq)]
pub struct Duplicate {
    pub record: Revisioned<StoredRecord>,
    pub shared: Vec<IdentityKind>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MergeOutcome {
    pub survivor: Revisioned<StoredRecord>,
    pub moved: usize,
    /// False when the merge had already been completed before this request.
    pub merged_now: bool,
}

/// Fields the survivor never takes from the duplicate: who and when, and facts recomputed from
/// orders.
const KEPT: [&str; 8] = [
    "Owner",
    "CreatedAt",
    "CreatedBy",
    "UpdatedAt",
    "UpdatedBy",
    "LastPurchaseDate",
    "LoyaltyPoints",
    "Rank",
];

impl Records<'_> {
    /// Customers sharing one of `keys`, excluding `except`, checked against their current values.
    pub async fn duplicates_of_keys(
        &self,
        actor: &Actor,
        keys: &[String],
        except: Option<&RecordId>,
    ) -> Result<Vec<Duplicate>, RecordError> {
        actor.require(Module::Customer, Permission::Read)?;
        let tenant = &actor.tenant;
        // Only the kinds the tenant's rule counts make duplicates.
        let rule = self.tenant_settings(tenant).await?.duplicate_keys;
        let keys: Vec<String> = keys
            .iter()
            .filter(|k| IdentityKind::of_key(k).is_some_and(|kind| rule.contains(&kind)))
            .cloned()
            .collect();
        let keys = keys.as_slice();
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut ids = self.records.find_by_identity(tenant, keys).await?;
        ids.retain(|id| Some(id) != except);
        ids.sort();
        ids.dedup();
        let mut found: Vec<Duplicate> = self
            .records
            .get_many(tenant, &ids)
            .await?
            .into_iter()
            // A duplicate outside the caller's reach is not shown (nor that it exists).
            .filter(|record| actor.access.reaches(&record.value))
            .filter_map(|record| {
                let current = identity::keys(record.value.module, &record.value.fields);
                let shared: Vec<IdentityKind> = keys
                    .iter()
                    .filter(|k| current.contains(k))
                    .filter_map(|k| IdentityKind::of_key(k))
                    .collect();
                (!shared.is_empty()).then_some(Duplicate { record, shared })
            })
            .collect();
        found.sort_by(|a, b| a.record.value.id.cmp(&b.record.value.id));
        Ok(found)
    }

    /// Customers that look like the same customer as `id`.
    pub async fn duplicates_of(
        &self,
        actor: &Actor,
        id: &RecordId,
    ) -> Result<Vec<Duplicate>, RecordError> {
        let customer = self.read(actor, Module::Customer, id).await?;
        let keys = identity::keys(Module::Customer, &customer.value.fields);
        self.duplicates_of_keys(actor, &keys, Some(id)).await
    }

    /// Merges `duplicate` into `survivor`; the fields named in `take` keep the duplicate's value
    /// rather than the survivor's (the others: the survivor's, or the duplicate's where the
    /// survivor has none).
    pub async fn merge(
        &self,
        actor: &Actor,
        survivor: &RecordId,
        duplicate: &RecordId,
        take: &[String],
    ) -> Result<MergeOutcome, RecordError> {
        let tenant = &actor.tenant;
        if survivor == duplicate {
            return Err(RecordError::Invalid(crate::validation::Problems::single(
                "/duplicate",
                "a customer cannot be merged into itself",
            )));
        }
        self.reach(actor, Module::Customer, survivor, Permission::Merge)
            .await?;
        // Two people merging the same pair in opposite directions would delete both customers.
        let opposite = self.records.merges(tenant, duplicate).await?;
        if opposite
            .iter()
            .any(|m| &m.duplicate == survivor && m.state == MergeState::Started)
        {
            return Err(RecordError::Conflict(format!(
                "{survivor} is being merged into {duplicate}; finish that merge first"
            )));
        }
        let marker = self
            .records
            .merges(tenant, survivor)
            .await?
            .into_iter()
            .find(|m| &m.duplicate == duplicate);
        if let Some(done) = marker.as_ref().filter(|m| m.state == MergeState::Done) {
            let survivor = self.get(tenant, Module::Customer, survivor).await?;
            return Ok(MergeOutcome {
                survivor,
                moved: done.moved,
                merged_now: false,
            });
        }
        let dup = match self.records.get(tenant, duplicate).await? {
            Some(d) if d.value.module == Module::Customer && actor.access.reaches(&d.value) => {
                Some(d)
            }
            Some(_) => return Err(RecordError::NotFound("Customer")),
            None if marker.is_some() => None,
            None => return Err(RecordError::NotFound("Customer")),
        };
        if let Some(dup) = &dup {
            super::check_not_pending(&dup.value)?;
        }
        // Before anything is written: a refused choice leaves both customers as they are.
        self.check_taken(actor, take, dup.as_ref().map(|d| &d.value))
            .await?;
        if dup.is_some() {
            // A merge moves every record of the duplicate: all of them must be within reach, and
            // fewer than a request reads (checked before anything is written, so that a merge
            // too big is refused whole, never left half done).
            let related = self.records.related(tenant, duplicate, MAX_RELATED).await?;
            if !actor.access.tenant_wide()
                && related.iter().any(|r| !actor.access.reaches(&r.value))
            {
                return Err(RecordError::Forbidden(
                    "the duplicate has records outside your access level; ask someone who sees them all to merge".into(),
                ));
            }
            // Moving a record waiting for approval to the survivor is an edit of it.
            for record in &related {
                super::check_unlocked(actor, &record.value)?;
            }
        }
        let mut marker = marker.unwrap_or(MergeMarker {
            survivor: survivor.clone(),
            duplicate: duplicate.clone(),
            state: MergeState::Started,
            started_at: self.clock.now(),
            by: actor.user.clone(),
            moved: 0,
        });
        self.records.put_merge(tenant, &marker).await?;
        let mut moved = Vec::new();
        if let Some(dup) = dup {
            self.fill_from(actor, survivor, &dup.value, take).await?;
            self.carry_redeemed(actor, survivor, &dup.value).await?;
            // The related-records index may not show a record written just before the merge:
            // asking again until a pass finds nothing left keeps such stragglers too.
            for _ in 0..3 {
                let pass = self.move_related(actor, duplicate, survivor).await?;
                if pass.is_empty() {
                    break;
                }
                marker.moved += pass.len();
                moved.extend(pass);
                self.records.put_merge(tenant, &marker).await?;
            }
            match self.records.delete(tenant, duplicate, dup.revision).await {
                Ok(()) | Err(StoreError::NotFound) => {}
                Err(StoreError::Conflict { .. }) => {
                    return Err(RecordError::Conflict(
                        "the duplicate changed during the merge; merge again to finish".into(),
                    ));
                }
                Err(e) => return Err(e.into()),
            }
        }
        // The moved orders overlaid: the index may not list them under the survivor yet.
        let written: Vec<(RecordId, Option<StoredRecord>)> =
            moved.into_iter().map(|r| (r.id.clone(), Some(r))).collect();
        match self.refresh_purchases(tenant, survivor, &written).await {
            // The survivor now has more related records than a request reads: its purchase
            // facts catch up as an order write would leave them (the merge itself is done).
            Err(RecordError::Store(StoreError::TooMany { .. })) => {
                tracing::warn!(%survivor, "purchase facts not refreshed after the merge: too many related records");
            }
            other => other?,
        }
        marker.state = MergeState::Done;
        self.records.put_merge(tenant, &marker).await?;
        Ok(MergeOutcome {
            survivor: self.get(tenant, Module::Customer, survivor).await?,
            moved: marker.moved,
            merged_now: true,
        })
    }

    /// The fields a user may take from the duplicate: the customer's own, each named once; not
    /// the system's (the audit, purchase facts, a score's breakdown, a pending approval) nor
    /// the owner (a hand-over of its own); nor a required field the `duplicate` has no value
    /// for, which would leave the survivor without one (a custom field made required after the
    /// duplicate was saved).
    async fn check_taken(
        &self,
        actor: &Actor,
        take: &[String],
        duplicate: Option<&StoredRecord>,
    ) -> Result<(), RecordError> {
        if take.is_empty() {
            return Ok(());
        }
        let schema = self.tenant_settings(&actor.tenant).await?.schema();
        let fields = schema.module(Module::Customer);
        let mut problems = crate::validation::Problems::default();
        for (i, name) in take.iter().enumerate() {
            let at = format!("/take/{i}");
            match fields.field(name) {
                None => problems.push(at, format!("the customer has no field '{name}'")),
                Some(f) if f.read_only || KEPT.contains(&name.as_str()) => {
                    problems.push(at, format!("'{name}' is kept by the system, not chosen"));
                }
                Some(_) if take[..i].contains(name) => {
                    problems.push(at, format!("'{name}' is listed twice"));
                }
                Some(f)
                    if f.required
                        && duplicate
                            .is_some_and(|d| d.fields.get(name).is_none_or(Value::is_null)) =>
                {
                    problems.push(
                        at,
                        format!("'{name}' is required and the duplicate has none"),
                    );
                }
                Some(_) => {}
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(RecordError::Invalid(problems))
        }
    }

    /// The loyalty points the duplicate had spent stay spent: its orders now earn for the
    /// survivor, so the survivor's ledger takes one entry `merged-<duplicate>` with them (the
    /// entry's order names the duplicate). Written with the survivor at its revision, once:
    /// a resumed merge finds the entry there.
    async fn carry_redeemed(
        &self,
        actor: &Actor,
        survivor: &RecordId,
        duplicate: &StoredRecord,
    ) -> Result<(), RecordError> {
        let spent = crate::record::loyalty::redeemed_points(&duplicate.fields);
        if spent <= 0 {
            return Ok(());
        }
        for _ in 0..5 {
            let stored = self.get(&actor.tenant, Module::Customer, survivor).await?;
            let mut fields = stored.value.fields.clone();
            let redeemed = crate::record::loyalty::redeemed_points(&fields) + spent;
            let left = (fields
                .get("LoyaltyPoints")
                .and_then(Value::as_i64)
                .unwrap_or(0)
                - spent)
                .max(0);
            fields.insert("RedeemedPoints".into(), Value::from(redeemed));
            fields.insert("LoyaltyPoints".into(), Value::from(left));
            let entry = crate::record::store::Redemption {
                id: format!("merged-{}", duplicate.id),
                customer: survivor.clone(),
                order: duplicate.id.clone(),
                points: spent,
                balance_after: left,
                by: actor.user.clone(),
                at: self.clock.now(),
            };
            let next = StoredRecord {
                fields,
                ..stored.value
            };
            match self
                .records
                .redeem(&actor.tenant, &next, stored.revision, &entry)
                .await
            {
                Ok(_) | Err(StoreError::AlreadyExists) => return Ok(()),
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(RecordError::Conflict(
            "the customer kept changing during the merge; merge again to finish".into(),
        ))
    }

    /// Gives the survivor the duplicate's values for the fields it leaves empty, and for the
    /// fields in `take` whatever the survivor holds.
    async fn fill_from(
        &self,
        actor: &Actor,
        survivor: &RecordId,
        duplicate: &StoredRecord,
        take: &[String],
    ) -> Result<(), RecordError> {
        let schema = self.tenant_settings(&actor.tenant).await?.schema();
        let system: Vec<String> = schema
            .module(Module::Customer)
            .fields()
            .iter()
            .filter(|f| f.read_only)
            .map(|f| f.name.clone())
            .collect();
        for _ in 0..5 {
            let stored = self.get(&actor.tenant, Module::Customer, survivor).await?;
            // Locked since the merge began: the survivor's values are the approvers' to see.
            super::check_unlocked(actor, &stored.value)?;
            let mut fields = stored.value.fields.clone();
            let mut changed = false;
            for name in take {
                let chosen = duplicate.fields.get(name).filter(|v| !v.is_null());
                if fields.get(name) != chosen {
                    match chosen {
                        Some(value) => fields.insert(name.clone(), value.clone()),
                        None => fields.remove(name),
                    };
                    changed = true;
                }
            }
            for (name, value) in &duplicate.fields {
                if take.contains(name) {
                    continue;
                }
                let empty = match fields.get(name) {
                    None | Some(Value::Null) => true,
                    Some(Value::String(s)) => s.trim().is_empty(),
                    _ => false,
                };
                // The system's fields (the audit, a pending approval, a score's breakdown) are
                // the duplicate's own, never the survivor's.
                if empty && !KEPT.contains(&name.as_str()) && !system.contains(name) {
                    fields.insert(name.clone(), value.clone());
                    changed = true;
                }
            }
            if !changed {
                return Ok(());
            }
            super::stamp(&mut fields, actor, self.clock.now(), false);
            let next = StoredRecord {
                fields,
                ..stored.value
            };
            match self
                .records
                .replace(&actor.tenant, &next, stored.revision)
                .await
            {
                Ok(_) => return Ok(()),
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(RecordError::Conflict(
            "the customer kept changing during the merge; merge again to finish".into(),
        ))
    }

    /// Points every record that references `from` at `to`; the records as moved.
    async fn move_related(
        &self,
        actor: &Actor,
        from: &RecordId,
        to: &RecordId,
    ) -> Result<Vec<StoredRecord>, RecordError> {
        let mut moved = Vec::new();
        for related in self
            .records
            .related(&actor.tenant, from, MAX_RELATED)
            .await?
        {
            if related.value.fields.get("Customer").and_then(Value::as_str) != Some(from.as_str()) {
                continue;
            }
            let customer = Value::String(to.to_string());
            let next = super::edited(
                &related.value,
                &[("Customer", &customer)],
                actor,
                self.clock.now(),
            );
            match self
                .records
                .replace(&actor.tenant, &next, related.revision)
                .await
            {
                Ok(saved) => moved.push(saved.value),
                Err(StoreError::Conflict { .. }) => {
                    return Err(RecordError::Conflict(
                        "a related record changed during the merge; merge again to finish".into(),
                    ));
                }
                Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(moved)
    }
}
