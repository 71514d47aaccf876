//! What one scan did, in machine-independent figures.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// What one scan did, in machine-independent figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScanReport {
    pub window_start: Option<DateTime<Utc>>,
    pub window_end: Option<DateTime<Utc>>,
    /// The shards this scan read.
    pub shards: Vec<u32>,
    /// Entries found due.
    pub due_pairs: u64,
    /// Index items DynamoDB read (its Count) across every due query.
    pub index_items_read: u64,
    pub records_read: u64,
    pub workflow_reads: u64,
    /// Message templates read to know which fields a send's job carries.
    pub template_reads: u64,
    pub occurrences_fired: u64,
    pub condition_not_met: u64,
    pub skipped_by_policy: u64,
    pub too_late: u64,
    pub lost_races: u64,
    pub entries_disarmed: u64,
    /// Entries the scan could not handle, held for a later attempt…
    pub entries_held: u64,
    /// …or parked, their attempts spent.
    pub entries_parked: u64,
    /// Index items that read as nothing, taken out of the index.
    pub items_set_aside: u64,
    pub jobs_published: u64,
    pub bus_calls: u64,
    pub outboxes_replayed: u64,
    /// Records read by backfills (not part of the due cost).
    pub backfill_records_read: u64,
    /// Records a scoring rule's backfill wrote a new score to.
    pub backfill_scores_written: u64,
    pub entries_armed: u64,
    pub entries_removed: u64,
    pub maintenance_finished: u64,
}

impl ScanReport {
    pub(super) fn absorb(&mut self, other: ScanReport) {
        self.shards.extend(other.shards);
        self.due_pairs += other.due_pairs;
        self.index_items_read += other.index_items_read;
        self.records_read += other.records_read;
        self.workflow_reads += other.workflow_reads;
        self.template_reads += other.template_reads;
        self.occurrences_fired += other.occurrences_fired;
        self.condition_not_met += other.condition_not_met;
        self.skipped_by_policy += other.skipped_by_policy;
        self.too_late += other.too_late;
        self.lost_races += other.lost_races;
        self.entries_disarmed += other.entries_disarmed;
        self.entries_held += other.entries_held;
        self.entries_parked += other.entries_parked;
        self.items_set_aside += other.items_set_aside;
        self.jobs_published += other.jobs_published;
        self.bus_calls += other.bus_calls;
        self.outboxes_replayed += other.outboxes_replayed;
        self.backfill_records_read += other.backfill_records_read;
        self.backfill_scores_written += other.backfill_scores_written;
        self.entries_armed += other.entries_armed;
        self.entries_removed += other.entries_removed;
        self.maintenance_finished += other.maintenance_finished;
    }
}
