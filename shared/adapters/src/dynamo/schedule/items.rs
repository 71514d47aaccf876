//! The items of the schedule table and their keys.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::super::errors::corrupt;
use super::super::{Item, s};
use chrono::Datelike;
use crm_model::ids::{RecordId, TenantId, WorkflowId};
use crm_model::ports::{
    DueItem, DueLane, EntryFailure, Maintenance, MaintenanceKind, MalformedItem, Outbox,
    ScheduleEntry, StoreError,
};
use crm_model::schedule::ports::{at_time_of_year, time_of_year};
use crm_model::schedule::{ActionJob, due_shard};
use crm_model::trigger::{Occurrence, OccurrenceKey};

#[derive(Serialize, Deserialize)]
pub(super) struct EntryItem {
    pub(super) pk: String,
    pub(super) sk: String,
    pub(super) tenant: TenantId,
    pub(super) workflow: WorkflowId,
    pub(super) version: u32,
    pub(super) record: RecordId,
    pub(super) revision: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) next_key: Option<OccurrenceKey>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) next_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) last_fired: Option<OccurrenceKey>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) due_shard: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) due_at: Option<String>,
    /// The scan's failed attempts at the occurrence, their last reason, and when it tries again
    /// (absent while parked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) failed_attempts: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) failure: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) retry_at: Option<DateTime<Utc>>,
    /// `calendar` when the next occurrence is on the calendar lane (absent: instant lane).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) lane: Option<String>,
    /// The `calendar` index keys (`C00`…, `<time of year>#E#…`) and the occurrence key's year
    /// less the fire instant's, which stay from one year to the next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) cal_shard: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) cal_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) key_shift: Option<i32>,
}

/// An entry as the `calendar` index projects it: what stays from one year to the next.
#[derive(Serialize, Deserialize)]
pub(super) struct CalendarItem {
    pub(super) tenant: TenantId,
    pub(super) workflow: WorkflowId,
    pub(super) version: u32,
    pub(super) record: RecordId,
    pub(super) cal_at: String,
    pub(super) key_shift: i32,
}

pub(super) const CALENDAR_LANE: &str = "calendar";

#[derive(Serialize, Deserialize)]
pub(super) struct OutboxItem {
    pub(super) pk: String,
    pub(super) sk: String,
    pub(super) tenant: TenantId,
    pub(super) workflow: WorkflowId,
    pub(super) record: RecordId,
    pub(super) cause: String,
    /// The jobs as JSON: written once, read back whole.
    pub(super) jobs: String,
    pub(super) due_shard: String,
    pub(super) due_at: String,
}

#[derive(Serialize, Deserialize)]
pub(super) struct MaintenanceItem {
    pub(super) pk: String,
    pub(super) sk: String,
    pub(super) tenant: TenantId,
    pub(super) workflow: WorkflowId,
    pub(super) version: u32,
    pub(super) kind: MaintenanceKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) cursor: Option<String>,
    pub(super) due_shard: String,
    pub(super) due_at: String,
}

pub(super) const MAINTENANCE_SK: &str = "M";

pub(super) fn entry_pk(tenant: &TenantId, workflow: &WorkflowId) -> String {
    format!("T#{tenant}#W#{workflow}")
}

pub(super) fn entry_sk(record: &RecordId) -> String {
    format!("R#{record}")
}

pub(super) fn outbox_sk(record: &RecordId, cause: &str) -> String {
    format!("O#{record}#{cause}")
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

pub(super) fn shard_name(shard: u32) -> String {
    format!("S{shard:02}")
}

pub(super) fn calendar_shard_name(shard: u32) -> String {
    format!("C{shard:02}")
}

pub(super) fn entry_cal_at(
    at: DateTime<Utc>,
    tenant: &TenantId,
    workflow: &WorkflowId,
    record: &RecordId,
) -> String {
    format!("{}#E#{tenant}/{workflow}/{record}", time_of_year(at))
}

/// The occurrence key's year less the fire instant's (UTC): an offset may cross a year's end.
pub(super) fn key_shift(next: &Occurrence) -> i32 {
    match next.key {
        OccurrenceKey::Year(year) => year - next.fire_at.year(),
        _ => 0,
    }
}

/// A sortable UTC instant: fixed width, so string order is time order.
pub(super) fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub(super) fn entry_due_at(
    at: DateTime<Utc>,
    tenant: &TenantId,
    workflow: &WorkflowId,
    record: &RecordId,
) -> String {
    format!("{}#E#{tenant}/{workflow}/{record}", instant(at))
}

pub(super) fn key(tenant: &TenantId, workflow: &WorkflowId, record: &RecordId) -> Item {
    [
        ("pk".to_owned(), s(entry_pk(tenant, workflow))),
        ("sk".to_owned(), s(entry_sk(record))),
    ]
    .into_iter()
    .collect()
}

impl EntryItem {
    pub(super) fn new(entry: &ScheduleEntry, revision: u64, shards: u32) -> Self {
        let shard = due_shard(&entry.tenant, &entry.workflow, &entry.record, shards);
        let placement = entry.placement();
        let due = placement.and_then(|(lane, at)| (lane == DueLane::Instant).then_some(at));
        let on_calendar =
            placement.and_then(|(lane, at)| (lane == DueLane::Calendar).then_some(at));
        Self {
            pk: entry_pk(&entry.tenant, &entry.workflow),
            sk: entry_sk(&entry.record),
            tenant: entry.tenant.clone(),
            workflow: entry.workflow.clone(),
            version: entry.version,
            record: entry.record.clone(),
            revision,
            next_key: entry.next.as_ref().map(|o| o.key.clone()),
            next_at: entry.next.as_ref().map(|o| o.fire_at),
            last_fired: entry.last_fired.clone(),
            due_shard: due.map(|_| shard_name(shard)),
            due_at: due.map(|at| entry_due_at(at, &entry.tenant, &entry.workflow, &entry.record)),
            lane: (entry.lane == DueLane::Calendar).then(|| CALENDAR_LANE.to_owned()),
            cal_shard: on_calendar.map(|_| calendar_shard_name(shard)),
            cal_at: on_calendar
                .map(|at| entry_cal_at(at, &entry.tenant, &entry.workflow, &entry.record)),
            key_shift: on_calendar.and(entry.next.as_ref()).map(key_shift),
            failed_attempts: entry.failure.as_ref().map(|f| f.attempts),
            failure: entry.failure.as_ref().map(|f| f.reason.clone()),
            retry_at: entry.failure.as_ref().and_then(|f| f.retry_at),
        }
    }

    pub(super) fn into_entry(self) -> ScheduleEntry {
        let next = match (self.next_key, self.next_at) {
            (Some(key), Some(fire_at)) => Some(Occurrence { key, fire_at }),
            _ => None,
        };
        let failure = self.failed_attempts.map(|attempts| EntryFailure {
            attempts,
            reason: self.failure.unwrap_or_default(),
            retry_at: self.retry_at,
        });
        ScheduleEntry {
            tenant: self.tenant,
            workflow: self.workflow,
            version: self.version,
            record: self.record,
            next,
            last_fired: self.last_fired,
            revision: self.revision,
            failure,
            lane: if self.lane.as_deref() == Some(CALENDAR_LANE) {
                DueLane::Calendar
            } else {
                DueLane::Instant
            },
        }
    }
}

/// A due item as the scan needs it; one that does not read as any schedule item comes back as
/// [`DueItem::Malformed`], so that the scan sets it aside instead of failing on it.
/// A calendar-lane entry as the `calendar` index returns it, with its occurrence of `year`.
pub(super) fn parse_calendar(item: Item, year: i32) -> DueItem {
    let key = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default()
    };
    let (pk, sk) = (key("pk"), key("sk"));
    let read = serde_dynamo::from_item::<_, CalendarItem>(item)
        .map_err(|e| e.to_string())
        .and_then(|stored| {
            let time = stored.cal_at.split('#').next().unwrap_or_default();
            let fire_at = at_time_of_year(year, time)
                .ok_or_else(|| format!("no instant at '{time}' in {year}"))?;
            Ok(ScheduleEntry {
                tenant: stored.tenant,
                workflow: stored.workflow,
                version: stored.version,
                record: stored.record,
                next: Some(Occurrence {
                    key: OccurrenceKey::Year(year + stored.key_shift),
                    fire_at,
                }),
                last_fired: None,
                revision: 0,
                failure: None,
                lane: DueLane::Calendar,
            })
        });
    match read {
        Ok(entry) => DueItem::Entry(entry),
        Err(reason) => DueItem::Malformed(MalformedItem { pk, sk, reason }),
    }
}

pub(super) fn parse_due(item: Item) -> DueItem {
    let key = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default()
    };
    let (pk, sk) = (key("pk"), key("sk"));
    match read_due(item) {
        Ok(due) => due,
        Err(error) => DueItem::Malformed(MalformedItem {
            pk,
            sk,
            reason: error.to_string(),
        }),
    }
}

fn read_due(item: Item) -> Result<DueItem, StoreError> {
    let sk = item
        .get("sk")
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default();
    if sk == MAINTENANCE_SK {
        let stored: MaintenanceItem = serde_dynamo::from_item(item).map_err(corrupt)?;
        return Ok(DueItem::Maintenance(Maintenance {
            tenant: stored.tenant,
            workflow: stored.workflow,
            version: stored.version,
            kind: stored.kind,
            cursor: stored.cursor,
        }));
    }
    if sk.starts_with("O#") {
        let stored: OutboxItem = serde_dynamo::from_item(item).map_err(corrupt)?;
        let jobs: Vec<ActionJob> =
            serde_json::from_str(&stored.jobs).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let retry_after = stored
            .due_at
            .split('#')
            .next()
            .and_then(|at| at.parse::<DateTime<Utc>>().ok())
            .ok_or_else(|| StoreError::Corrupt(format!("outbox due_at '{}'", stored.due_at)))?;
        Ok(DueItem::Outbox(Outbox {
            tenant: stored.tenant,
            workflow: stored.workflow,
            record: stored.record,
            cause: stored.cause,
            jobs,
            retry_after,
        }))
    } else {
        let stored: EntryItem = serde_dynamo::from_item(item).map_err(corrupt)?;
        Ok(DueItem::Entry(stored.into_entry()))
    }
}
