//! The executor's ledger in memory, as `DynamoRunLedger` keeps it: one run per (tenant,
//! idempotency key), listed latest first per workflow (gsi1) and per record (gsi2) by
//! `<updated, ms>#<key>`, and the named round-robin counters.
//!
//! The conditions are the adapter's:
//! - `claim`: no run yet, or (takeover) the stored run still has the status and attempts of
//!   `takeover`; otherwise `LostRace`.
//! - `request_retry`: the stored run is retryable (failed, unknown, retrying or cancelled) with
//!   `run.attempts`; otherwise `None`.
//! - `progress`: the stored run is in progress with `run.attempts`; otherwise `LostRace`.
//! - `record`: unless the stored run succeeded (`LostRace`).
//! - `commit`: one transaction of the run (unless it already succeeded: `LostRace`) and its
//!   effects on the records, the inbox and the counters sharing this state (a created record
//!   must not exist, a replaced one must be at `expected`, a counter at `expected`; any of those
//!   refused is `Conflict { expected: 0 }`), plus the identity items of customers it writes. All
//!   of it or nothing. Like DynamoDB, a transaction that touches one item twice or holds more than
//!   100 items is refused (`Unavailable`, a validation error in the adapter).
//!
//! Records a commit writes carry the run's origin ([`RunRecord::write_origin`]), as the adapter's
//! items carry their `automation` attribute.
//!
//! Runs never expire here (the table's TTL of 400 days).

use super::paging::Query;
use super::world::{Access, State, StoreKind, World, store_controls};
use crate::ids::{RecordId, TenantId, WorkflowId};
use crate::run::ledger::RunLedger;
use crate::run::{Effect, RunRecord, RunStatus};
use crate::store::{ClaimOutcome, Page, PageRequest, Revisioned, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use std::collections::HashSet;

const MAX_TRANSACTION_ITEMS: usize = 100;

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn stored_run<'a>(state: &'a State, run: &RunRecord) -> Option<&'a RunRecord> {
    state
        .runs
        .tenants
        .get(&run.tenant)
        .and_then(|t| t.runs.get(&run.key))
}

fn put_run(state: &mut State, run: &RunRecord) {
    state
        .runs
        .tenants
        .entry(run.tenant.clone())
        .or_default()
        .runs
        .insert(run.key.clone(), run.clone());
}

/// `attribute_not_exists(pk) OR status <> succeeded`.
fn not_succeeded(state: &State, run: &RunRecord) -> bool {
    stored_run(state, run).is_none_or(|stored| stored.status != RunStatus::Succeeded)
}

/// The items a commit's transaction touches, refused as DynamoDB refuses them: one item twice,
/// or more than 100 items.
fn check_transaction(run: &RunRecord, effects: &[Effect]) -> Result<(), StoreError> {
    let tenant = &run.tenant;
    let mut items = vec![format!("runs|T#{tenant}#J#{}|RUN", run.key)];
    for effect in effects {
        items.push(match effect {
            Effect::Create(record) | Effect::Replace { record, .. } => {
                format!("records|T#{tenant}#R#{}|RECORD", record.id)
            }
            Effect::Notify(n) => format!(
                "records|T#{tenant}#U#{}|{}",
                n.user,
                super::notifications::sort_key(n)
            ),
            Effect::Advance { counter, .. } => format!("runs|T#{tenant}#RR#{counter}|COUNTER"),
        });
    }
    for effect in effects {
        if let Effect::Create(record) | Effect::Replace { record, .. } = effect {
            for key in crate::record::identity::keys(record.module, &record.fields) {
                items.push(format!("records|T#{tenant}#ID#{key}|{}", record.id));
            }
        }
    }
    if items.len() > MAX_TRANSACTION_ITEMS {
        return Err(StoreError::Unavailable(
            "ValidationException: a transaction holds at most 100 items".into(),
        ));
    }
    let mut seen = HashSet::new();
    if !items.iter().all(|item| seen.insert(item.as_str())) {
        return Err(StoreError::Unavailable(
            "ValidationException: Transaction request cannot include multiple operations on one item"
                .into(),
        ));
    }
    Ok(())
}

/// Whether every effect's condition holds on the current state.
fn effects_admitted(state: &State, tenant: &TenantId, effects: &[Effect]) -> bool {
    let records = state.records.tenant(tenant);
    let counters = state.runs.tenants.get(tenant).map(|t| &t.counters);
    effects.iter().all(|effect| match effect {
        Effect::Create(record) => records.is_none_or(|r| !r.records.contains_key(&record.id)),
        Effect::Replace { record, expected } => records
            .and_then(|r| r.records.get(&record.id))
            .is_some_and(|stored| stored.revision == *expected),
        Effect::Notify(_) => true,
        Effect::Advance { counter, expected } => {
            let stored = counters.and_then(|c| c.get(counter)).copied();
            match stored {
                None => *expected == 0,
                Some(n) => n == *expected,
            }
        }
    })
}

fn apply(state: &mut State, tenant: &TenantId, effect: &Effect) {
    match effect {
        Effect::Create(record) => {
            let stored = Revisioned {
                value: record.clone(),
                revision: 1,
            };
            state
                .records
                .tenant_mut(tenant)
                .records
                .insert(record.id.clone(), stored);
        }
        Effect::Replace { record, expected } => {
            let stored = Revisioned {
                value: record.clone(),
                revision: expected + 1,
            };
            state
                .records
                .tenant_mut(tenant)
                .records
                .insert(record.id.clone(), stored);
        }
        Effect::Notify(notification) => state.inbox.overwrite(tenant, notification),
        Effect::Advance { counter, expected } => {
            let counters = &mut state
                .runs
                .tenants
                .entry(tenant.clone())
                .or_default()
                .counters;
            counters.insert(counter.clone(), expected + 1);
        }
    }
}

/// The in-memory [`RunLedger`]. Its effects land in the records and inbox of the
/// [`MemoryStores`](super::MemoryStores) it belongs to.
#[derive(Debug, Clone, Default)]
pub struct MemoryRunLedger {
    pub(super) world: World,
}

store_controls!(MemoryRunLedger, StoreKind::Runs);

impl MemoryRunLedger {
    /// A ledger with tables of its own (its effects are visible to no other store).
    pub fn new() -> Self {
        Self::default()
    }

    /// Every run of a tenant, by idempotency key (for assertions).
    pub fn runs(&self, tenant: &TenantId) -> Vec<RunRecord> {
        self.world.peek(|s| {
            s.runs
                .tenants
                .get(tenant)
                .map(|t| t.runs.values().cloned().collect())
                .unwrap_or_default()
        })
    }

    fn write(
        &self,
        op: impl FnOnce(&mut State) -> Result<ClaimOutcome, StoreError>,
    ) -> Result<ClaimOutcome, StoreError> {
        self.world.call(StoreKind::Runs, Access::Write, op)
    }

    /// Runs of one index partition, latest first by `<updated>#<key>`.
    fn latest(
        &self,
        tenant: &TenantId,
        query: Query,
        page: &PageRequest,
        of: impl Fn(&RunRecord) -> bool,
    ) -> Result<Page<RunRecord>, StoreError> {
        self.world.call(StoreKind::Runs, Access::Read, |s| {
            let items = s
                .runs
                .tenants
                .get(tenant)
                .into_iter()
                .flat_map(|t| t.runs.values())
                .filter(|run| of(run))
                .map(|run| {
                    let position = vec![
                        format!("{}#{}", stamp(run.updated_at), run.key),
                        format!("T#{tenant}#J#{}", run.key),
                        "RUN".to_owned(),
                    ];
                    (position, run.clone())
                });
            let found = query.page(items, page, |_| true)?;
            Ok(Page {
                items: found.items,
                next: found.next,
            })
        })
    }
}

#[async_trait]
impl RunLedger for MemoryRunLedger {
    async fn get(&self, tenant: &TenantId, key: &str) -> Result<Option<RunRecord>, StoreError> {
        self.world.call(StoreKind::Runs, Access::Read, |s| {
            Ok(s.runs
                .tenants
                .get(tenant)
                .and_then(|t| t.runs.get(key).cloned()))
        })
    }

    async fn claim(
        &self,
        run: &RunRecord,
        takeover: Option<&RunRecord>,
    ) -> Result<ClaimOutcome, StoreError> {
        self.write(|state| {
            let stored = stored_run(state, run);
            let admitted = match takeover {
                None => stored.is_none(),
                Some(previous) => stored.is_some_and(|stored| {
                    stored.status == previous.status && stored.attempts == previous.attempts
                }),
            };
            if !admitted {
                return Ok(ClaimOutcome::LostRace);
            }
            put_run(state, run);
            Ok(ClaimOutcome::Claimed)
        })
    }

    async fn request_retry(
        &self,
        run: &RunRecord,
        now: DateTime<Utc>,
    ) -> Result<Option<RunRecord>, StoreError> {
        let retry = run.retried(now);
        self.world.call(StoreKind::Runs, Access::Write, |state| {
            let admitted = stored_run(state, run).is_some_and(|stored| {
                stored.status.is_retryable() && stored.attempts == run.attempts
            });
            if !admitted {
                return Ok(None);
            }
            put_run(state, &retry);
            Ok(Some(retry))
        })
    }

    async fn progress(&self, run: &RunRecord) -> Result<ClaimOutcome, StoreError> {
        self.write(|state| {
            let owned = stored_run(state, run).is_some_and(|stored| {
                stored.status == RunStatus::InProgress && stored.attempts == run.attempts
            });
            if !owned {
                return Ok(ClaimOutcome::LostRace);
            }
            put_run(state, run);
            Ok(ClaimOutcome::Claimed)
        })
    }

    async fn record(&self, run: &RunRecord) -> Result<ClaimOutcome, StoreError> {
        self.write(|state| {
            if !not_succeeded(state, run) {
                return Ok(ClaimOutcome::LostRace);
            }
            put_run(state, run);
            Ok(ClaimOutcome::Claimed)
        })
    }

    /// `attribute_not_exists(pk) OR attempts = :zero`.
    async fn record_unstarted(&self, run: &RunRecord) -> Result<ClaimOutcome, StoreError> {
        self.write(|state| {
            let free = stored_run(state, run).is_none_or(|stored| stored.attempts == 0);
            if !free {
                return Ok(ClaimOutcome::LostRace);
            }
            put_run(state, run);
            Ok(ClaimOutcome::Claimed)
        })
    }

    async fn commit(
        &self,
        run: &RunRecord,
        effects: &[Effect],
    ) -> Result<ClaimOutcome, StoreError> {
        self.write(|state| {
            check_transaction(run, effects)?;
            // Item 0 (the run) is reported first, as the adapter reads the cancellation reasons.
            if !not_succeeded(state, run) {
                return Ok(ClaimOutcome::LostRace);
            }
            if !effects_admitted(state, &run.tenant, effects) {
                // An effect's record changed under it: the redelivery recomputes.
                return Err(StoreError::Conflict { expected: 0 });
            }
            put_run(state, run);
            for effect in effects {
                apply(state, &run.tenant, effect);
            }
            // Every record the commit writes carries the run's workflow and depth.
            for effect in effects {
                if let Effect::Create(record) | Effect::Replace { record, .. } = effect {
                    state
                        .records
                        .tenant_mut(&run.tenant)
                        .origins
                        .insert(record.id.clone(), run.write_origin());
                }
            }
            // A customer written by the automation stays findable by the duplicate check.
            for effect in effects {
                if let Effect::Create(record) | Effect::Replace { record, .. } = effect {
                    state.records.tenant_mut(&run.tenant).put_identity(record);
                }
            }
            Ok(ClaimOutcome::Claimed)
        })
    }

    async fn counter(&self, tenant: &TenantId, name: &str) -> Result<u64, StoreError> {
        self.world.call(StoreKind::Runs, Access::Read, |s| {
            Ok(s.runs
                .tenants
                .get(tenant)
                .and_then(|t| t.counters.get(name).copied())
                .unwrap_or(0))
        })
    }

    async fn advance(
        &self,
        tenant: &TenantId,
        name: &str,
        expected: u64,
    ) -> Result<ClaimOutcome, StoreError> {
        let effect = Effect::Advance {
            counter: name.to_owned(),
            expected,
        };
        self.world.call(StoreKind::Runs, Access::Write, |s| {
            if !effects_admitted(s, tenant, std::slice::from_ref(&effect)) {
                return Ok(ClaimOutcome::LostRace);
            }
            apply(s, tenant, &effect);
            Ok(ClaimOutcome::Claimed)
        })
    }

    async fn record_history(
        &self,
        tenant: &TenantId,
        record: &RecordId,
        page: &PageRequest,
    ) -> Result<Page<RunRecord>, StoreError> {
        let query = Query::new("gsi2pk", format!("T#{tenant}#REC#{record}")).descending();
        self.latest(tenant, query, page, |run| &run.record == record)
    }

    async fn dead_letters(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<RunRecord>, StoreError> {
        // gsi3, sparse: `T#<tenant>#DEAD`, sorted by `<dead-lettered at>#<key>`.
        let query = Query::new("gsi3pk", format!("T#{tenant}#DEAD")).descending();
        self.world.call(StoreKind::Runs, Access::Read, |s| {
            let items = s
                .runs
                .tenants
                .get(tenant)
                .into_iter()
                .flat_map(|t| t.runs.values())
                .filter_map(|run| {
                    let dead = run.dead_letter.as_ref()?;
                    let position = vec![
                        format!("{}#{}", stamp(dead.at), run.key),
                        format!("T#{tenant}#J#{}", run.key),
                        "RUN".to_owned(),
                    ];
                    Some((position, run.clone()))
                });
            let found = query.page(items, page, |_| true)?;
            Ok(Page {
                items: found.items,
                next: found.next,
            })
        })
    }

    async fn history(
        &self,
        tenant: &TenantId,
        workflow: &WorkflowId,
        page: &PageRequest,
    ) -> Result<Page<RunRecord>, StoreError> {
        let query = Query::new("gsi1pk", format!("T#{tenant}#WF#{workflow}")).descending();
        self.latest(tenant, query, page, |run| &run.workflow == workflow)
    }
}
