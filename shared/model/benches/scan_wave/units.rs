//! DynamoDB's capacity rules, applied to the items the schedule adapter writes.
//!
//! - Item size: the UTF-8 bytes of every attribute name plus its value (a number counts one byte
//!   per two significant digits, plus one).
//! - Writes: one unit per started KiB of the item (the larger of before and after, for an
//!   update); a transactional write counts double. A global secondary index is written too: a
//!   put where the item enters it, a delete where it leaves, both where its key changes, and an
//!   update where an attribute it projects changes (every attribute for the `due` index, only
//!   the stable ones, which a claim never changes, for the `calendar` index).
//! - Reads: a Query counts the total size of the items it returns, per started 4 KiB, half for an
//!   eventually consistent read (every index read is); BatchGetItem counts each item on its own,
//!   per started 4 KiB, whole for a strongly consistent read (the records the scan reads are).
//!
//! The entry item's attributes are those of the adapter's `EntryItem`
//! (`shared/adapters/src/dynamo/schedule/items.rs`), the outbox's those of its `OutboxItem`.

use crm_model::record::stored::StoredRecord;
use crm_model::schedule::ports::{DueLane, ScheduleEntry};
use crm_model::schedule::{ActionJob, due_shard};

fn string(name: &str, value: &str) -> usize {
    name.len() + value.len()
}

fn number(name: &str, value: u64) -> usize {
    name.len() + value.to_string().len().div_ceil(2) + 1
}

/// A sortable instant string as the adapter writes it: `2027-05-17T01:00:00Z`.
const INSTANT: usize = 20;

/// An entry item as DynamoDB holds it: its size, and its key and size in each index it is in.
pub struct EntryItem {
    pub bytes: usize,
    pub due: Option<(String, usize)>,
    pub calendar: Option<(String, usize)>,
}

/// The entry item's size and whether (and under which key) it is in each index.
pub fn entry_item(entry: &ScheduleEntry, shards: u32) -> EntryItem {
    let pk = format!("T#{}#W#{}", entry.tenant, entry.workflow);
    let mut bytes = string("pk", &pk)
        + string("sk", &format!("R#{}", entry.record))
        + string("tenant", entry.tenant.as_str())
        + string("workflow", entry.workflow.as_str())
        + number("version", u64::from(entry.version))
        + string("record", entry.record.as_str())
        + number("revision", entry.revision);
    if let Some(next) = &entry.next {
        bytes += string("next_key", &next.key.to_string()) + "next_at".len() + INSTANT;
    }
    if let Some(last) = &entry.last_fired {
        bytes += string("last_fired", &last.to_string());
    }
    if let Some(failure) = &entry.failure {
        bytes += number("failed_attempts", u64::from(failure.attempts))
            + string("failure", &failure.reason)
            + failure.retry_at.map_or(0, |_| "retry_at".len() + INSTANT);
    }
    let shard = due_shard(&entry.tenant, &entry.workflow, &entry.record, shards);
    let suffix = format!("#E#{}/{}/{}", entry.tenant, entry.workflow, entry.record);
    let mut item = EntryItem {
        bytes: 0,
        due: None,
        calendar: None,
    };
    match entry.placement() {
        Some((DueLane::Instant, at)) => {
            let due_at = format!("{}{suffix}", at.format("%Y-%m-%dT%H:%M:%SZ"));
            bytes += string("due_shard", "S00") + string("due_at", &due_at);
            item.due = Some((format!("S{shard:02}|{due_at}"), 0));
        }
        Some((DueLane::Calendar, at)) => {
            let cal_at = format!("{}{suffix}", at.format("%m-%dT%H:%M:%S"));
            let keys = string("cal_shard", "C00") + string("cal_at", &cal_at);
            bytes += keys + string("lane", "calendar") + number("key_shift", 0);
            // Keys, the table's keys and the projected stable attributes.
            let projected = keys
                + string("pk", &pk)
                + string("sk", &format!("R#{}", entry.record))
                + string("tenant", entry.tenant.as_str())
                + string("workflow", entry.workflow.as_str())
                + string("record", entry.record.as_str())
                + number("version", u64::from(entry.version))
                + number("key_shift", 0);
            item.calendar = Some((format!("C{shard:02}|{cal_at}"), projected));
        }
        None => {}
    }
    item.bytes = bytes;
    if let Some(due) = &mut item.due {
        // Every attribute projected.
        due.1 = bytes;
    }
    item
}

/// The outbox item today's design wrote with each claim: keys, names and the jobs as JSON.
pub fn outbox_item(entry: &ScheduleEntry, cause: &str, jobs_json_bytes: usize) -> usize {
    string("pk", &format!("T#{}#W#{}", entry.tenant, entry.workflow))
        + string("sk", &format!("O#{}#{cause}", entry.record))
        + string("tenant", entry.tenant.as_str())
        + string("workflow", entry.workflow.as_str())
        + string("record", entry.record.as_str())
        + string("cause", cause)
        + "jobs".len()
        + jobs_json_bytes
        + string("due_shard", "S00")
        + string(
            "due_at",
            &format!(
                "2027-05-17T01:01:00Z#O#{}/{}/{}",
                entry.tenant, entry.workflow, entry.record
            ),
        )
}

/// The record item: its keys and index attributes (about 200 bytes) and its fields as stored.
pub fn record_item(record: &StoredRecord) -> usize {
    200 + serde_json::to_vec(&record.fields).map_or(0, |v| v.len())
}

/// The JSON the bus carries for a job (what today's outbox stored too).
pub fn job_json(job: &ActionJob) -> usize {
    serde_json::to_vec(job).map_or(0, |v| v.len())
}

pub fn write_units(bytes: usize) -> f64 {
    bytes.div_ceil(1024).max(1) as f64
}

pub fn strong_read_units(bytes: usize) -> f64 {
    bytes.div_ceil(4096).max(1) as f64
}

pub fn eventual_query_units(total_bytes: usize) -> f64 {
    total_bytes.div_ceil(4096).max(1) as f64 / 2.0
}

/// What one index costs when its entry goes from `old` to `new` (key, size; either absent).
/// `projects_changes`: whether an attribute it projects changed (every write, for an index
/// projecting all attributes).
fn index_write(
    old: Option<(String, usize)>,
    new: Option<(String, usize)>,
    projects_changes: bool,
) -> f64 {
    match (old, new) {
        (None, None) => 0.0,
        (Some((_, bytes)), None) | (None, Some((_, bytes))) => write_units(bytes),
        (Some((old_key, old_bytes)), Some((new_key, new_bytes))) if old_key != new_key => {
            write_units(old_bytes) + write_units(new_bytes)
        }
        (Some(_), Some((_, bytes))) if projects_changes => write_units(bytes),
        (Some(_), Some(_)) => 0.0,
    }
}

/// The write units of changing an entry item from `before` to `after` (either absent), with
/// what its index entries cost. `transactional` doubles the table's share.
pub fn entry_write(
    before: Option<EntryItem>,
    after: Option<EntryItem>,
    transactional: bool,
) -> f64 {
    let table_bytes = before
        .as_ref()
        .map_or(0, |b| b.bytes)
        .max(after.as_ref().map_or(0, |a| a.bytes));
    let table = write_units(table_bytes) * if transactional { 2.0 } else { 1.0 };
    let (old_due, old_calendar) = before.map_or((None, None), |b| (b.due, b.calendar));
    let (new_due, new_calendar) = after.map_or((None, None), |a| (a.due, a.calendar));
    // A claim changes no stable attribute: the calendar index sees only key changes.
    table + index_write(old_due, new_due, true) + index_write(old_calendar, new_calendar, false)
}
