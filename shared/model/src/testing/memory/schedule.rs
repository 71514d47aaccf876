//! The due schedule in memory, as `DynamoScheduleStore` keeps it in the schedule table: per
//! (tenant, workflow) partition, the entries (`R#<record>`), outboxes (`O#<record>#<cause>`), the
//! maintenance request (`M`), handled stream events (`V#<event>`) and last work-workflow runs
//! (`L#<record>`); and one global scan state. The due index is in `due.rs`.
//!
//! What the adapter stores as an instant string at whole seconds comes back here at whole
//! seconds too: an entry's next fire instant after a claim, an outbox's `retry_after` as the due
//! index returns it, a last run, the scan end. Conditions on those compare the same strings the
//! adapter compares (`take_outbox`'s `due_at = :seen`).
//!
//! Conditions, as the adapter's:
//! - `put`: revision 0 must not exist, else the stored revision must be `entry.revision`;
//!   refused is `LostRace`. `delete` is unconditional.
//! - `claim`: the stored revision must be `entry.revision` (absent: `LostRace`), or, for an entry
//!   read from the calendar lane, the stored entry must still be on the calendar at the same time
//!   of year and version, with `occurrence` not its `last_fired`; the entry moves to `next` in
//!   its lane (or is disarmed), its `last_fired` and revision move on, its version stays, and any
//!   failure is cleared.
//! - `set_aside`: the item leaves the due index (a no-op when it is gone).
//! - `claim_event`: the event mark must not exist (`LostRace`); mark, last run and outbox together.
//! - `take_outbox`: the stored outbox's due instant must still be the one seen (`LostRace`).
//! - `checkpoint_maintenance`: only the request of that version and kind; otherwise a no-op.
//!
//! Handled-event marks never expire here (their TTL is three days in the table).

use super::paging::{Query, SortKey};
use super::tables::{DuePosition, ScheduleTables, StoredMaintenance, StoredOutbox};
use super::world::{Access, State, StoreKind, World, store_controls};
use crate::ids::{RecordId, TenantId, WorkflowId};
use crate::schedule::due_shard;
use crate::schedule::ports::time_of_year;
use crate::schedule::ports::{
    DueLane, Maintenance, MaintenanceRequests, MalformedItem, OccurrenceClaims, Outbox, Outboxes,
    ScheduleEntries, ScheduleEntry,
};
use crate::store::{ClaimOutcome, Page, PageRequest, StoreError};
use crate::trigger::{Occurrence, OccurrenceKey};
use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Timelike, Utc};

/// A sortable UTC instant at whole seconds, as the adapter writes them.
pub(super) fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// An instant as it reads back from its whole-second string.
pub(super) fn whole_seconds(at: DateTime<Utc>) -> DateTime<Utc> {
    at.with_nanosecond(0).unwrap_or(at)
}

pub(super) fn outbox_due_at(outbox: &Outbox, retry_after: DateTime<Utc>) -> String {
    format!(
        "{}#O#{}/{}/{}",
        instant(retry_after),
        outbox.tenant,
        outbox.workflow,
        outbox.record
    )
}

/// An entry's `due_at`: `<instant>#E#<tenant>/<workflow>/<record>`.
pub(super) fn entry_due_at(at: DateTime<Utc>, entry: &ScheduleEntry) -> String {
    format!(
        "{}#E#{}/{}/{}",
        instant(at),
        entry.tenant,
        entry.workflow,
        entry.record
    )
}

/// A calendar-lane entry's `cal_at`: `<time of year>#E#<tenant>/<workflow>/<record>`.
pub(super) fn entry_cal_at(at: DateTime<Utc>, entry: &ScheduleEntry) -> String {
    format!(
        "{}#E#{}/{}/{}",
        time_of_year(at),
        entry.tenant,
        entry.workflow,
        entry.record
    )
}

/// Where the due index holds an entry, if anywhere: its lane and position there.
fn entry_position(entry: &ScheduleEntry, shards: u32) -> Option<(DueLane, DuePosition)> {
    let (lane, at) = entry.placement()?;
    let sort = match lane {
        DueLane::Instant => entry_due_at(at, entry),
        DueLane::Calendar => entry_cal_at(at, entry),
    };
    Some((
        lane,
        (
            due_shard(&entry.tenant, &entry.workflow, &entry.record, shards),
            sort,
            format!("T#{}#W#{}", entry.tenant, entry.workflow),
            format!("R#{}", entry.record),
        ),
    ))
}

type Index = std::collections::BTreeMap<DuePosition, (TenantId, WorkflowId, RecordId)>;

fn index(tables: &mut ScheduleTables, lane: DueLane) -> &mut Index {
    match lane {
        DueLane::Instant => &mut tables.armed,
        DueLane::Calendar => &mut tables.calendar,
    }
}

/// Writes an entry and moves its place in the due index with it.
fn store_entry(tables: &mut ScheduleTables, entry: ScheduleEntry) {
    let shards = tables.shards();
    let key = (entry.workflow.clone(), entry.record.clone());
    let old = tables
        .tenants
        .get(&entry.tenant)
        .and_then(|t| t.entries.get(&key))
        .and_then(|old| entry_position(old, shards));
    if let Some((lane, position)) = old {
        index(tables, lane).remove(&position);
    }
    if let Some((lane, position)) = entry_position(&entry, shards) {
        let at = (
            entry.tenant.clone(),
            entry.workflow.clone(),
            entry.record.clone(),
        );
        index(tables, lane).insert(position, at);
    }
    tables
        .tenants
        .entry(entry.tenant.clone())
        .or_default()
        .entries
        .insert(key, entry);
}

fn remove_entry(tables: &mut ScheduleTables, tenant: &TenantId, key: &(WorkflowId, RecordId)) {
    let shards = tables.shards();
    if let Some(old) = tables
        .tenants
        .get_mut(tenant)
        .and_then(|t| t.entries.remove(key))
        && let Some((lane, position)) = entry_position(&old, shards)
    {
        index(tables, lane).remove(&position);
    }
}

/// Whether `stored` is the calendar-lane entry `seen` was read as, with `occurrence` not fired:
/// the adapter's `cal_at = :seen AND version = :version AND last_fired <> :occurrence`.
fn still_on_calendar(
    stored: &ScheduleEntry,
    seen: &ScheduleEntry,
    occurrence: &OccurrenceKey,
) -> bool {
    let at = |e: &ScheduleEntry| e.next.as_ref().map(|n| time_of_year(n.fire_at));
    stored.lane == DueLane::Calendar
        && stored.failure.is_none()
        && stored.version == seen.version
        && at(stored).is_some()
        && at(stored) == at(seen)
        && stored.last_fired.as_ref() != Some(occurrence)
}

fn outbox_key(outbox: &Outbox) -> (WorkflowId, RecordId, String) {
    (
        outbox.workflow.clone(),
        outbox.record.clone(),
        outbox.cause.clone(),
    )
}

fn put_outbox(state: &mut State, outbox: &Outbox) {
    let stored = StoredOutbox {
        outbox: outbox.clone(),
        due_at: outbox_due_at(outbox, outbox.retry_after),
    };
    state
        .schedule
        .tenants
        .entry(outbox.tenant.clone())
        .or_default()
        .outboxes
        .insert(outbox_key(outbox), stored);
}

/// The in-memory schedule store: all five schedule traits, hence a
/// [`ScheduleStore`](crate::schedule::ports::ScheduleStore).
#[derive(Debug, Clone, Default)]
pub struct MemoryScheduleStore {
    pub(super) world: World,
}

store_controls!(MemoryScheduleStore, StoreKind::Schedule);

impl MemoryScheduleStore {
    /// A schedule with a table (and so a due index and scan window) of its own.
    pub fn new() -> Self {
        Self::default()
    }

    /// A schedule whose entries are spread over `shards` shards (a deployment setting).
    pub fn with_shards(shards: u32) -> Self {
        let store = Self::default();
        store.world.peek_mut(|s| s.schedule.shards = shards);
        store
    }

    /// Plants an item in the due index that reads as no schedule item, as a damaged or
    /// hand-edited item would (for tests of the scan's isolation).
    pub fn plant_malformed(&self, shard: u32, due_at: &str, pk: &str, sk: &str, reason: &str) {
        self.world.peek_mut(|s| {
            s.schedule.malformed.insert(
                (pk.to_owned(), sk.to_owned()),
                (shard, due_at.to_owned(), reason.to_owned()),
            );
        });
    }

    /// The items the scan set aside, by (`pk`, `sk`), with its reason.
    pub fn set_aside_items(&self) -> Vec<((String, String), String)> {
        self.world.peek(|s| {
            s.schedule
                .set_aside
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
    }

    /// The outboxes of a tenant still stored (for assertions).
    pub fn outboxes(&self, tenant: &TenantId) -> Vec<Outbox> {
        self.world.peek(|s| {
            s.schedule
                .tenants
                .get(tenant)
                .map(|t| t.outboxes.values().map(|o| o.outbox.clone()).collect())
                .unwrap_or_default()
        })
    }

    pub(super) fn read<T>(
        &self,
        op: impl FnOnce(&ScheduleTables) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.world
            .call(StoreKind::Schedule, Access::Read, |s| op(&s.schedule))
    }

    pub(super) fn write<T>(
        &self,
        op: impl FnOnce(&mut State) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.world.call(StoreKind::Schedule, Access::Write, op)
    }
}

#[async_trait]
impl ScheduleEntries for MemoryScheduleStore {
    async fn get(
        &self,
        tenant: &TenantId,
        workflow: &WorkflowId,
        record: &RecordId,
    ) -> Result<Option<ScheduleEntry>, StoreError> {
        self.read(|s| {
            Ok(s.tenants
                .get(tenant)
                .and_then(|t| t.entries.get(&(workflow.clone(), record.clone())).cloned()))
        })
    }

    async fn put(&self, entry: &ScheduleEntry) -> Result<ClaimOutcome, StoreError> {
        self.write(|s| {
            let t = s.schedule.tenants.entry(entry.tenant.clone()).or_default();
            let key = (entry.workflow.clone(), entry.record.clone());
            let admitted = match t.entries.get(&key) {
                None => entry.revision == 0,
                Some(stored) => entry.revision != 0 && stored.revision == entry.revision,
            };
            if !admitted {
                return Ok(ClaimOutcome::LostRace);
            }
            let mut stored = entry.clone();
            stored.revision = entry.revision + 1;
            // Stored at whole seconds, as the adapter's instant strings read back.
            if let Some(failure) = &mut stored.failure {
                failure.retry_at = failure.retry_at.map(whole_seconds);
            }
            store_entry(&mut s.schedule, stored);
            Ok(ClaimOutcome::Claimed)
        })
    }

    async fn delete(
        &self,
        tenant: &TenantId,
        workflow: &WorkflowId,
        record: &RecordId,
    ) -> Result<(), StoreError> {
        self.write(|s| {
            remove_entry(&mut s.schedule, tenant, &(workflow.clone(), record.clone()));
            Ok(())
        })
    }

    async fn set_aside(&self, item: &MalformedItem, reason: &str) -> Result<(), StoreError> {
        self.write(|s| {
            let key = (item.pk.clone(), item.sk.clone());
            let tables = &mut s.schedule;
            // `REMOVE due_shard, due_at, cal_shard, cal_at`: an entry keeps its attributes and
            // leaves both indexes.
            let planted = tables.malformed.remove(&key).is_some();
            let before = tables.armed.len() + tables.calendar.len();
            for index in [&mut tables.armed, &mut tables.calendar] {
                index.retain(|(_, _, pk, sk), _| (pk, sk) != (&key.0, &key.1));
            }
            if planted || tables.armed.len() + tables.calendar.len() < before {
                tables.set_aside.insert(key, reason.to_owned());
            }
            Ok(())
        })
    }

    /// Query `pk = T#<tenant>#W#<workflow> AND begins_with(sk, R#)`: by record id.
    async fn entries_of(
        &self,
        tenant: &TenantId,
        workflow: &WorkflowId,
        page: &PageRequest,
    ) -> Result<Page<ScheduleEntry>, StoreError> {
        let query = Query::new("pk", format!("T#{tenant}#W#{workflow}"))
            .sort(SortKey::Prefix("R#".to_owned()));
        self.read(|s| {
            let items = s
                .tenants
                .get(tenant)
                .into_iter()
                .flat_map(|t| t.entries.iter())
                .filter(|((w, _), _)| w == workflow)
                .map(|((_, record), entry)| (vec![format!("R#{record}")], entry.clone()));
            let found = query.page(items, page, |_| true)?;
            Ok(Page {
                items: found.items,
                next: found.next,
            })
        })
    }
}

#[async_trait]
impl OccurrenceClaims for MemoryScheduleStore {
    async fn claim(
        &self,
        entry: &ScheduleEntry,
        next: Option<&Occurrence>,
        occurrence: &OccurrenceKey,
        lane: DueLane,
    ) -> Result<ClaimOutcome, StoreError> {
        self.write(|s| {
            let key = (entry.workflow.clone(), entry.record.clone());
            let stored = s
                .schedule
                .tenants
                .get(&entry.tenant)
                .and_then(|t| t.entries.get(&key));
            let admitted = |stored: &&ScheduleEntry| {
                if entry.read_from_calendar() {
                    still_on_calendar(stored, entry, occurrence)
                } else {
                    stored.revision == entry.revision
                }
            };
            let Some(stored) = stored.filter(admitted) else {
                return Ok(ClaimOutcome::LostRace);
            };
            let claimed = ScheduleEntry {
                revision: stored.revision + 1,
                lane,
                last_fired: Some(occurrence.clone()),
                next: next.map(|next| Occurrence {
                    key: next.key.clone(),
                    fire_at: whole_seconds(next.fire_at),
                }),
                failure: None,
                ..stored.clone()
            };
            store_entry(&mut s.schedule, claimed);
            Ok(ClaimOutcome::Claimed)
        })
    }

    async fn claim_event(
        &self,
        outbox: &Outbox,
        event_id: &str,
        now: DateTime<Utc>,
    ) -> Result<ClaimOutcome, StoreError> {
        self.write(|s| {
            let t = s.schedule.tenants.entry(outbox.tenant.clone()).or_default();
            let mark = (outbox.workflow.clone(), event_id.to_owned());
            if !t.events.insert(mark) {
                return Ok(ClaimOutcome::LostRace);
            }
            t.last_runs.insert(
                (outbox.workflow.clone(), outbox.record.clone()),
                whole_seconds(now),
            );
            put_outbox(s, outbox);
            Ok(ClaimOutcome::Claimed)
        })
    }

    async fn last_run(
        &self,
        tenant: &TenantId,
        workflow: &WorkflowId,
        record: &RecordId,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.read(|s| {
            Ok(s.tenants.get(tenant).and_then(|t| {
                t.last_runs
                    .get(&(workflow.clone(), record.clone()))
                    .copied()
            }))
        })
    }
}

#[async_trait]
impl Outboxes for MemoryScheduleStore {
    async fn take_outbox(
        &self,
        outbox: &Outbox,
        until: DateTime<Utc>,
    ) -> Result<ClaimOutcome, StoreError> {
        self.write(|s| {
            let seen = outbox_due_at(outbox, outbox.retry_after);
            let stored = s
                .schedule
                .tenants
                .get_mut(&outbox.tenant)
                .and_then(|t| t.outboxes.get_mut(&outbox_key(outbox)));
            let Some(stored) = stored.filter(|stored| stored.due_at == seen) else {
                return Ok(ClaimOutcome::LostRace);
            };
            stored.due_at = outbox_due_at(outbox, until);
            Ok(ClaimOutcome::Claimed)
        })
    }

    async fn clear_outbox(&self, outbox: &Outbox) -> Result<(), StoreError> {
        self.write(|s| {
            if let Some(t) = s.schedule.tenants.get_mut(&outbox.tenant) {
                t.outboxes.remove(&outbox_key(outbox));
            }
            Ok(())
        })
    }
}

#[async_trait]
impl MaintenanceRequests for MemoryScheduleStore {
    async fn request_maintenance(
        &self,
        request: &Maintenance,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.write(|s| {
            let due_at = format!("{}#M#{}/{}", instant(now), request.tenant, request.workflow);
            let stored = StoredMaintenance {
                request: request.clone(),
                due_at,
            };
            s.schedule
                .tenants
                .entry(request.tenant.clone())
                .or_default()
                .maintenance
                .insert(request.workflow.clone(), stored);
            Ok(())
        })
    }

    async fn checkpoint_maintenance(
        &self,
        request: &Maintenance,
        cursor: Option<String>,
    ) -> Result<(), StoreError> {
        self.write(|s| {
            let Some(t) = s.schedule.tenants.get_mut(&request.tenant) else {
                return Ok(());
            };
            // `version = :version AND kind = :kind`: a newer request (another version) stays.
            let same = t.maintenance.get(&request.workflow).is_some_and(|stored| {
                stored.request.version == request.version && stored.request.kind == request.kind
            });
            if !same {
                return Ok(());
            }
            match cursor {
                // Only the cursor changes: the request keeps its place in the due index.
                Some(cursor) => {
                    if let Some(stored) = t.maintenance.get_mut(&request.workflow) {
                        stored.request.cursor = Some(cursor);
                    }
                }
                None => {
                    t.maintenance.remove(&request.workflow);
                }
            }
            Ok(())
        })
    }
}
