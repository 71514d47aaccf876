//! The ports of the due schedule and of job publishing.

use crate::ids::{TenantId, WorkflowId};
use crate::store::{ClaimOutcome, Page, PageRequest, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A schedule entry: the next occurrence of a care workflow for one record.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleEntry {
    pub tenant: TenantId,
    pub workflow: WorkflowId,
    /// The workflow version that scheduled it; its run is pinned to this version.
    pub version: u32,
    pub record: crate::ids::RecordId,
    /// Armed (in the due index) when present.
    pub next: Option<crate::trigger::Occurrence>,
    /// The last occurrence claimed, so that a re-scheduled record never fires it again.
    pub last_fired: Option<crate::trigger::OccurrenceKey>,
    /// Optimistic concurrency between the scan and schedule upkeep; 0 for a new entry.
    pub revision: u64,
    /// Why the scan could not handle the entry's occurrence, when it could not: the entry waits
    /// in the due index until `retry_at`, or is parked (out of the index) once its attempts are
    /// spent. A claim or a re-plan clears it.
    pub failure: Option<EntryFailure>,
    /// Where the due index holds its next occurrence ([`DueLane`]).
    pub lane: DueLane,
}

/// The two parts of the due index.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DueLane {
    /// By fire instant: read by every scan until claimed (`due_at <= now`). Occurrences of
    /// once-only triggers, held entries, and yearly ones armed at short notice.
    #[default]
    Instant,
    /// By time of year (UTC), for yearly occurrences armed well ahead: each shard reads the
    /// window since its last scan. Claiming this year's occurrence and arming next year's at the
    /// same time of year changes no index key and no indexed attribute, so it costs one write.
    /// An entry read from this lane carries only what stays from one year to the next: its
    /// `revision` is 0 (unknown) and `last_fired` absent; its claim checks instead that it is
    /// still armed at that time of year, at its version, and that the occurrence has not fired.
    Calendar,
}

/// How far ahead of its fire instant a yearly occurrence must be armed to go on the calendar:
/// well beyond a scan period and the index's propagation, so that no scan window has passed its
/// time of year before the index shows it.
pub const CALENDAR_LEAD_MINUTES: i64 = 15;

impl DueLane {
    /// The lane for arming `next` at `now`: the calendar for a yearly occurrence armed well
    /// ahead whose time of year comes round next at its own fire instant (not one skipped for
    /// this year, as after a birthday moved past an anniversary that already fired, or after an
    /// activation that does not greet this morning's birthdays, which a window would otherwise
    /// read as this year's) and exists every year (not Feb 29).
    pub fn for_next(next: &crate::trigger::Occurrence, now: DateTime<Utc>) -> DueLane {
        use chrono::Datelike;
        let ahead = next.fire_at > now + chrono::Duration::minutes(CALENDAR_LEAD_MINUTES);
        // Its time of year a year earlier must be past and must exist (Feb 29 has no instant in
        // a common year). Upkeep arms next year's occurrence only once this year's is more than
        // the arming grace past, beyond the window of any scan to come; a scan claims it after
        // its own window has passed this year's.
        let a_year_before = at_time_of_year(next.fire_at.year() - 1, &time_of_year(next.fire_at));
        let comes_round_first = a_year_before.is_some_and(|before| before <= now);
        match next.key {
            crate::trigger::OccurrenceKey::Year(_) if ahead && comes_round_first => {
                DueLane::Calendar
            }
            _ => DueLane::Instant,
        }
    }
}

/// The scan's failed attempts at one entry (a record it cannot read, a workflow version that no
/// longer compiles, a job the bus refuses), kept on the entry so that one bad entry waits on its
/// own and never stops the scan.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryFailure {
    pub attempts: u32,
    pub reason: String,
    /// When the scan tries again; `None`: parked, out of the due index until the record or the
    /// workflow changes.
    pub retry_at: Option<DateTime<Utc>>,
}

impl ScheduleEntry {
    /// When the due index offers the entry: its retry instant after a failure, else its next
    /// occurrence; never while parked or disarmed.
    pub fn due_at(&self) -> Option<DateTime<Utc>> {
        self.placement().map(|(_, at)| at)
    }

    /// Where and when the due index offers the entry: a held entry waits in the instant lane
    /// for its retry; otherwise its next occurrence, in its lane.
    pub fn placement(&self) -> Option<(DueLane, DateTime<Utc>)> {
        match &self.failure {
            Some(failure) => self
                .next
                .as_ref()
                .and(failure.retry_at)
                .map(|at| (DueLane::Instant, at)),
            None => self.next.as_ref().map(|next| (self.lane, next.fire_at)),
        }
    }

    /// Whether this is an entry as the calendar lane returns it, without its revision.
    pub fn read_from_calendar(&self) -> bool {
        self.lane == DueLane::Calendar && self.revision == 0
    }
}

/// The `cal_at` range a calendar Query reads for the window `from < t <= to` (whole seconds,
/// `t` in `to`'s year; a `from` in an earlier year reads from the start of `to`'s): `None` when
/// the window holds no whole second, so that no store reads the range the wrong way round (a
/// whole year).
pub fn calendar_bounds(from: DateTime<Utc>, to: DateTime<Utc>) -> Option<(String, String)> {
    use chrono::{Datelike, SubsecRound};
    let (from, to) = (from.trunc_subsecs(0), to.trunc_subsecs(0));
    if from >= to {
        return None;
    }
    let low = if from.year() < to.year() {
        // Every time of year sorts after "00" (a key may not be empty).
        "00".to_owned()
    } else {
        time_of_year(from + chrono::Duration::seconds(1))
    };
    let high = format!("{}#~", time_of_year(to));
    (low <= high).then_some((low, high))
}

/// The time of year of an instant (UTC), as the calendar lane sorts it: `MM-DDTHH:MM:SS`.
pub fn time_of_year(at: DateTime<Utc>) -> String {
    at.format("%m-%dT%H:%M:%S").to_string()
}

/// The instant of `year` at a time of year (`MM-DDTHH:MM:SS`, UTC); none for Feb 29 of a common
/// year.
pub fn at_time_of_year(year: i32, time_of_year: &str) -> Option<DateTime<Utc>> {
    let text = format!("{year:04}-{time_of_year}Z");
    text.parse::<DateTime<Utc>>().ok()
}

/// An item of the due index that does not read as any schedule item (a hand-edited or damaged
/// item): the scan sets it aside, out of the index, instead of failing on it.
#[derive(Debug, Clone, PartialEq)]
pub struct MalformedItem {
    pub pk: String,
    pub sk: String,
    pub reason: String,
}

/// Jobs claimed but not yet known to be published: the scan's outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Outbox {
    pub tenant: TenantId,
    pub workflow: WorkflowId,
    pub record: crate::ids::RecordId,
    /// The occurrence key (care workflows) or stream event id (work workflows).
    pub cause: String,
    pub jobs: Vec<crate::schedule::ActionJob>,
    /// Until then the scan that wrote it is publishing it; after, any scan may take it over.
    pub retry_after: DateTime<Utc>,
}

/// Schedule maintenance after a workflow changed: arm an entry for every record of the module
/// (activation, new version), or remove every entry (deactivation). Resumable: `cursor` is the
/// checkpoint of the module listing or entry listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Maintenance {
    pub tenant: TenantId,
    pub workflow: WorkflowId,
    pub version: u32,
    pub kind: MaintenanceKind,
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaintenanceKind {
    Backfill,
    Cleanup,
}

/// Something the due index returned.
#[derive(Debug, Clone, PartialEq)]
pub enum DueItem {
    Entry(ScheduleEntry),
    /// An outbox a crashed scan left behind: publish it again.
    Outbox(Outbox),
    Maintenance(Maintenance),
    Malformed(MalformedItem),
}

/// A page of due items and how many index items DynamoDB read for it (its Count).
#[derive(Debug, Clone, PartialEq)]
pub struct DuePage {
    pub items: Vec<DueItem>,
    pub items_read: u64,
    pub next: Option<String>,
}

/// One schedule entry per (workflow, record): what upkeep and the scan read and write.
#[async_trait]
pub trait ScheduleEntries: Send + Sync {
    async fn get(
        &self,
        tenant: &TenantId,
        workflow: &WorkflowId,
        record: &crate::ids::RecordId,
    ) -> Result<Option<ScheduleEntry>, StoreError>;

    /// Writes the entry if its stored revision is still `entry.revision` (0: must not exist).
    async fn put(&self, entry: &ScheduleEntry) -> Result<ClaimOutcome, StoreError>;

    async fn delete(
        &self,
        tenant: &TenantId,
        workflow: &WorkflowId,
        record: &crate::ids::RecordId,
    ) -> Result<(), StoreError>;

    /// Takes a malformed item out of the due index (it stays in the table, with `reason`, for
    /// whoever repairs it).
    async fn set_aside(&self, item: &MalformedItem, reason: &str) -> Result<(), StoreError>;

    /// A workflow's entries, for removal on deactivation.
    async fn entries_of(
        &self,
        tenant: &TenantId,
        workflow: &WorkflowId,
        page: &PageRequest,
    ) -> Result<Page<ScheduleEntry>, StoreError>;
}

/// The sharded due index the scan reads, and the windows its shard groups have covered.
#[async_trait]
pub trait DueIndex: Send + Sync {
    /// How many shards entries are spread over (a deployment setting that may only grow).
    fn shards(&self) -> u32;

    /// Calendar-lane entries of one shard whose time of year falls in `from < t <= to`, in time
    /// order, with their next occurrence in that window ([`DueLane::Calendar`]); `from` and `to`
    /// lie in one UTC year.
    async fn due_on_calendar(
        &self,
        shard: u32,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        page: &PageRequest,
    ) -> Result<DuePage, StoreError>;

    /// Due items of one shard's instant lane with a due instant at or before `now`, oldest
    /// first.
    async fn due(
        &self,
        shard: u32,
        now: DateTime<Utc>,
        page: &PageRequest,
    ) -> Result<DuePage, StoreError>;

    /// The end of the last completed scan window of one shard group (`scope`).
    async fn last_scan_end(&self, scope: &str) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// Records a completed window of one shard group; never moves backwards.
    async fn save_scan_end(&self, scope: &str, end: DateTime<Utc>) -> Result<(), StoreError>;
}

/// Exactly-once claims: an occurrence (care) is claimed once after its jobs are published (their
/// idempotency keys make a job published again by a racing or crashed scan harmless); a stream
/// event (work) is claimed once with its outbox, in one atomic step.
#[async_trait]
pub trait OccurrenceClaims: Send + Sync {
    /// Advances `entry` to `next` (armed in `lane`) after firing `occurrence`, clearing any
    /// failure: one conditional update, on the entry's revision, or for an entry read from the
    /// calendar ([`ScheduleEntry::read_from_calendar`]) on its place there, its version and
    /// `occurrence` not fired yet.
    async fn claim(
        &self,
        entry: &ScheduleEntry,
        next: Option<&crate::trigger::Occurrence>,
        occurrence: &crate::trigger::OccurrenceKey,
        lane: DueLane,
    ) -> Result<ClaimOutcome, StoreError>;

    /// Claims a stream event for a work workflow exactly once: marks the event handled, records
    /// the run time and stores the outbox, in one transaction. `LostRace` when the event was
    /// already handled (a redelivered batch).
    async fn claim_event(
        &self,
        outbox: &Outbox,
        event_id: &str,
        now: DateTime<Utc>,
    ) -> Result<ClaimOutcome, StoreError>;

    /// When a work workflow last ran for a record (for the repeat toggle and the throttle).
    async fn last_run(
        &self,
        tenant: &TenantId,
        workflow: &WorkflowId,
        record: &crate::ids::RecordId,
    ) -> Result<Option<DateTime<Utc>>, StoreError>;
}

/// Claimed jobs not yet known to be published.
#[async_trait]
pub trait Outboxes: Send + Sync {
    /// Takes over an outbox whose writer did not clear it in time, leasing it until `until`;
    /// `LostRace` when another scan took it (or cleared it) first.
    async fn take_outbox(
        &self,
        outbox: &Outbox,
        until: DateTime<Utc>,
    ) -> Result<ClaimOutcome, StoreError>;

    /// Removes an outbox once its jobs are published.
    async fn clear_outbox(&self, outbox: &Outbox) -> Result<(), StoreError>;
}

/// Resumable schedule maintenance after a workflow changed (backfill, cleanup).
#[async_trait]
pub trait MaintenanceRequests: Send + Sync {
    /// Requests maintenance (replacing any earlier request for the same workflow).
    async fn request_maintenance(
        &self,
        request: &Maintenance,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Saves the checkpoint of a request, or removes it when `cursor` is `None` (done).
    async fn checkpoint_maintenance(
        &self,
        request: &Maintenance,
        cursor: Option<String>,
    ) -> Result<(), StoreError>;
}

/// The whole due schedule, as the scan needs it. Use cases that need less take the narrower
/// traits; every store that implements them all is a `ScheduleStore`.
pub trait ScheduleStore:
    ScheduleEntries + DueIndex + OccurrenceClaims + Outboxes + MaintenanceRequests
{
}

impl<T> ScheduleStore for T where
    T: ScheduleEntries + DueIndex + OccurrenceClaims + Outboxes + MaintenanceRequests
{
}

/// What one PutEvents call made of its jobs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Calls made (the first, and retries of the entries the bus rejected for a while).
    pub calls: usize,
    /// Jobs of the batch the bus still refused, by their index in it, with its reason.
    pub refused: Vec<(usize, String)>,
}

/// Why publishing jobs failed.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("{failed} of {total} jobs were not accepted after retries")]
    Rejected { failed: usize, total: usize },
    #[error("the event bus did not answer")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Hands action jobs to the executor (EventBridge bus → rule → SQS).
#[async_trait]
pub trait JobPublisher: Send + Sync {
    /// One PutEvents call (and its retries of rejected entries) for a batch that
    /// [`crate::schedule::publish::batches`] formed: at most 10 jobs within the request size.
    /// `Err` only when the bus did not answer.
    async fn publish_batch(
        &self,
        batch: &[crate::schedule::ActionJob],
    ) -> Result<BatchOutcome, PublishError>;

    /// Publishes every job or fails; the count of bus calls made is returned.
    async fn publish(&self, jobs: &[crate::schedule::ActionJob]) -> Result<usize, PublishError> {
        crate::schedule::publish::publish_all(self, jobs).await
    }
}
