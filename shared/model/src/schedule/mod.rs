//! The due schedule of care workflows: one entry per (active time-triggered workflow, record)
//! holding the next occurrence to fire, and the pure rules that keep it right as records change
//! and occurrences are claimed.

mod maintenance;
pub mod ports;
pub mod publish;
pub mod record_events;
pub mod scan;
pub mod snapshot;
pub mod upcoming;
pub mod upkeep;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::ids::{ActionId, RecordId, TenantId, WorkflowId};
use crate::record::Record;
use crate::settings::TenantSettings;
use crate::trigger::{Anchor, DEFAULT_TIME_ZONE, Occurrence, OccurrenceKey, TimeTrigger};

/// Where a record's occurrences fire: its own time zone field, else the tenant's.
pub fn fire_zone(record: &Record, tenant: &TenantSettings) -> Tz {
    record
        .time_zone()
        .unwrap_or_else(|| tenant.time_zone.parse().unwrap_or(DEFAULT_TIME_ZONE))
}

/// The next occurrence of `trigger` for `record` that should be armed, given the last one
/// already claimed. `after` is the earliest fire instant still worth arming ([`arm_horizon`]).
pub fn next_to_arm(
    trigger: &TimeTrigger,
    record: &Record,
    tenant: &TenantSettings,
    after: DateTime<Utc>,
    last_fired: Option<&OccurrenceKey>,
) -> Option<Occurrence> {
    let tz = fire_zone(record, tenant);
    let anchor = Anchor::of(record, &trigger.date_field, tz)?;
    let feb29 = trigger.feb29.unwrap_or(tenant.feb29_default);
    let mut cursor = after;
    // A yearly trigger yields one candidate a year: a handful of steps at most.
    for _ in 0..8 {
        let next = trigger.next_after(anchor, tz, feb29, cursor)?;
        let already = match (last_fired, &next.key) {
            (Some(OccurrenceKey::Year(done)), OccurrenceKey::Year(y)) => y <= done,
            (Some(done), key) => done == key,
            (None, _) => false,
        };
        if !already {
            return Some(next);
        }
        cursor = next.fire_at;
    }
    None
}

/// How far back an entry planned now may still be armed: long enough to absorb the records
/// stream's lag (a birthday edited at 07:59 and seen at 08:01 still fires), short enough that
/// activating a workflow at noon does not greet this morning's birthdays. Occurrences missed by
/// an outage stay armed and follow the catch-up policy instead.
pub const ARM_GRACE_MINUTES: i64 = 15;

/// The earliest fire instant worth arming at `now`.
pub fn arm_horizon(now: DateTime<Utc>) -> DateTime<Utc> {
    now - Duration::minutes(ARM_GRACE_MINUTES)
}

/// Number of write shards of the due index unless the deployment sets more: spreads a popular
/// instant (every birthday at 8:00) over several partitions; the scan queries each, several at
/// once. The number may grow (entries already written stay readable in their shard, since the
/// scan reads every shard below the new number) but never shrink.
pub const DUE_SHARDS: u32 = 16;

/// The shard of an entry among `shards`: stable for the entry, spread evenly (FNV-1a).
pub fn due_shard(tenant: &TenantId, workflow: &WorkflowId, record: &RecordId, shards: u32) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for part in [
        tenant.as_str(),
        "/",
        workflow.as_str(),
        "/",
        record.as_str(),
    ] {
        for byte in part.bytes() {
            hash ^= u32::from(byte);
            hash = hash.wrapping_mul(0x0100_0193);
        }
    }
    hash % shards.max(1)
}

/// One job for the executor: one action of one occurrence of one workflow version for one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionJob {
    pub tenant: TenantId,
    pub workflow: WorkflowId,
    pub version: u32,
    pub record: RecordId,
    /// The occurrence (care workflows) or the stream event (work workflows) that caused it.
    pub cause: String,
    pub action: ActionId,
    /// When it was due.
    pub due_at: DateTime<Utc>,
    /// The record's fields as the scan or the stream saw them, so that a send needs no read of
    /// the record (effects inside DynamoDB still read it, to write against its revision).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<serde_json::Map<String, serde_json::Value>>,
    /// How many automation writes led to this job (0: a person's change or the schedule); its
    /// own writes are one deeper ([`crate::record::origin`]).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub depth: u8,
}

fn is_zero(n: &u8) -> bool {
    *n == 0
}

/// The workflow id the jobs that send a person's message carry (no tenant's workflow may take
/// it): their runs sit in the ledger beside the workflows' ones.
pub const MESSAGES_WORKFLOW: &str = "record-messages";

impl ActionJob {
    /// The job that sends message `message`, queued on a record by a person.
    pub fn message(tenant: &TenantId, message: &RecordId, now: DateTime<Utc>) -> Option<Self> {
        Some(ActionJob {
            tenant: tenant.clone(),
            workflow: WorkflowId::new(MESSAGES_WORKFLOW).ok()?,
            version: 0,
            record: message.clone(),
            cause: "send".into(),
            action: ActionId::new("send").ok()?,
            due_at: now,
            snapshot: None,
            depth: 0,
        })
    }

    /// Whether the job sends a person's message rather than a workflow's action.
    pub fn is_message(&self) -> bool {
        self.workflow.as_str() == MESSAGES_WORKFLOW
    }

    /// The job an EventBridge event carries as its detail (the body of a message the rule put
    /// on the executor's queue).
    pub fn from_event_json(body: &str) -> Option<ActionJob> {
        let event: serde_json::Value = serde_json::from_str(body).ok()?;
        serde_json::from_value(event.get("detail")?.clone()).ok()
    }

    /// The key under which the executor records the job's effect exactly once: one per
    /// (workflow, record, occurrence or event, action), whichever version of the workflow
    /// publishes it. The scan publishes before it claims, so an occurrence may be published
    /// again after the workflow's version changed (a new version's backfill re-pins entries
    /// meanwhile): the same key makes that second job a duplicate.
    pub fn idempotency_key(&self) -> String {
        format!(
            "{}/{}/{}/{}/{}",
            self.tenant, self.workflow, self.record, self.cause, self.action
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::condition::Condition;
    use crate::ids::RecordId;
    use crate::record::{ParseMode, parse_fields};
    use crate::schema::{Module, Schema};
    use crate::trigger::{CatchUp, Offset, Recurrence};
    use chrono::NaiveTime;
    use serde_json::json;

    fn birthday() -> TimeTrigger {
        TimeTrigger {
            date_field: "Birthday".into(),
            offset: Offset::ON_THE_DAY,
            recurrence: Recurrence::Yearly,
            time_of_day: NaiveTime::from_hms_opt(8, 0, 0),
            feb29: None,
            catch_up: CatchUp::default(),
        }
    }

    fn customer(fields: serde_json::Value) -> Record {
        let schema = Schema::builtin();
        Record {
            id: RecordId::new("c1").unwrap(),
            module: Module::Customer,
            fields: parse_fields(
                schema.module(Module::Customer),
                fields.as_object().unwrap(),
                "",
                ParseMode::Stored,
            )
            .unwrap(),
        }
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn the_records_time_zone_wins_over_the_tenants() {
        let tenant = TenantSettings::default();
        let bangkok = customer(json!({"TimeZone": "Asia/Tokyo"}));
        assert_eq!(fire_zone(&bangkok, &tenant), chrono_tz::Asia::Tokyo);
        assert_eq!(
            fire_zone(&customer(json!({})), &tenant),
            chrono_tz::Asia::Ho_Chi_Minh
        );
        let next = next_to_arm(
            &birthday(),
            &customer(json!({"Birthday": "1990-05-17", "TimeZone": "Asia/Tokyo"})),
            &tenant,
            utc("2026-11-22T00:00:00Z"),
            None,
        )
        .unwrap();
        assert_eq!(next.fire_at, utc("2027-05-16T23:00:00Z"));
    }

    #[test]
    fn a_claimed_anniversary_is_not_armed_again_when_the_date_moves() {
        let tenant = TenantSettings::default();
        // The 2026 birthday (May 17) fired; the user corrects it to May 20 the same week.
        let moved = customer(json!({"Birthday": "1990-05-20"}));
        let next = next_to_arm(
            &birthday(),
            &moved,
            &tenant,
            utc("2026-05-18T00:00:00Z"),
            Some(&OccurrenceKey::Year(2026)),
        )
        .unwrap();
        assert_eq!(next.key, OccurrenceKey::Year(2027));
        // Without that claim, May 20 2026 would be armed.
        let fresh = next_to_arm(
            &birthday(),
            &moved,
            &tenant,
            utc("2026-05-18T00:00:00Z"),
            None,
        )
        .unwrap();
        assert_eq!(fresh.key, OccurrenceKey::Year(2026));
    }

    #[test]
    fn no_date_no_entry() {
        assert!(
            next_to_arm(
                &birthday(),
                &customer(json!({})),
                &TenantSettings::default(),
                utc("2026-01-01T00:00:00Z"),
                None
            )
            .is_none()
        );
    }

    #[test]
    fn shards_spread_and_are_stable() {
        let tenant = TenantId::new("t").unwrap();
        let workflow = WorkflowId::new("w").unwrap();
        let mut seen = [0u32; DUE_SHARDS as usize];
        for i in 0..1600 {
            let record = RecordId::new(format!("r{i}")).unwrap();
            let shard = due_shard(&tenant, &workflow, &record, DUE_SHARDS);
            assert_eq!(shard, due_shard(&tenant, &workflow, &record, DUE_SHARDS));
            seen[shard as usize] += 1;
        }
        assert!(seen.iter().all(|&n| (50..=150).contains(&n)), "{seen:?}");
    }

    #[test]
    fn idempotency_keys_name_every_part() {
        let job = ActionJob {
            depth: 0,
            tenant: TenantId::new("t").unwrap(),
            workflow: WorkflowId::new("w").unwrap(),
            version: 3,
            record: RecordId::new("r").unwrap(),
            cause: "Y2027".into(),
            action: ActionId::new("a1").unwrap(),
            due_at: utc("2027-05-17T01:00:00Z"),
            snapshot: None,
        };
        assert_eq!(job.idempotency_key(), "t/w/r/Y2027/a1");
        let _ = Condition::AllRecords {};
    }
}
