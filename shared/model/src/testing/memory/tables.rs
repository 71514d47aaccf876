//! The tables of the in-memory stores: what each store keeps, one struct per DynamoDB table
//! layout it mirrors. Only data lives here; the stores in the sibling files hold the rules.

use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::ids::{RecordId, SettingId, TenantId, UserId, WorkflowId};
use crate::record::store::MergeMarker;
use crate::record::stored::StoredRecord;
use crate::run::RunRecord;
use crate::schedule::ports::{Maintenance, Outbox, ScheduleEntry};
use crate::schema::Module;
use crate::settings::{Setting, TenantSettings};
use crate::store::Revisioned;
use crate::user::{Notification, User};
use crate::workflow::{Workflow, WorkflowDefinition};

#[derive(Default)]
pub(super) struct InboxTables {
    pub(super) tenants: HashMap<TenantId, BTreeMap<UserId, BTreeMap<String, Notification>>>,
    /// The `NID#<id>` guards `deliver` writes beside a notification (a run's effects do not).
    pub(super) delivered: BTreeSet<(TenantId, UserId, String)>,
}

#[derive(Default)]
pub(super) struct RecordTables {
    pub(super) tenants: HashMap<TenantId, TenantRecords>,
}

#[derive(Default)]
pub(super) struct TenantRecords {
    pub(super) records: BTreeMap<RecordId, Revisioned<StoredRecord>>,
    /// `T#<tenant>#ID#<key>` → the customers under it (sort key: the id).
    pub(super) identity: BTreeMap<String, BTreeSet<RecordId>>,
    /// Survivor → duplicate → marker (`MERGED#<duplicate>` in the survivor's partition).
    pub(super) merges: BTreeMap<RecordId, BTreeMap<RecordId, MergeMarker>>,
    /// Customer → redemption id → redemption (`REDEEM#<id>` in the customer's partition).
    pub(super) redemptions: BTreeMap<RecordId, BTreeMap<String, crate::record::store::Redemption>>,
    /// The automation that made each record's last write (the item's `automation` attribute);
    /// a person's write removes it.
    pub(super) origins: BTreeMap<RecordId, crate::record::origin::AutomationWrite>,
    /// `DEPS` beside each customer: how many orders, quotes and opportunities name it, moved in
    /// the same write as each of them (absent: none counted).
    pub(super) dependents: BTreeMap<RecordId, i64>,
    /// (record, request) → the request, in its record's partition.
    pub(super) approvals:
        BTreeMap<(RecordId, RecordId), Revisioned<crate::approval::request::ApprovalRequest>>,
    /// (approver, `<submitted at>#<request>`) → the line on their pending list.
    pub(super) pending: BTreeMap<(UserId, String), crate::approval::store::PendingApproval>,
}

impl TenantRecords {
    /// Moves a dependent from the `old` customer's count to the `new` one's, refusing when the
    /// new customer is gone (`ReferenceGone`); checks only, when `apply` is off.
    pub(super) fn move_dependent(
        &mut self,
        old: Option<&str>,
        new: Option<&str>,
        apply: bool,
    ) -> Result<(), crate::store::StoreError> {
        if old == new {
            return Ok(());
        }
        if let Some(new) = new {
            let exists = RecordId::new(new)
                .ok()
                .and_then(|id| self.records.get(&id))
                .is_some_and(|r| r.value.module == crate::schema::Module::Customer);
            if !exists {
                return Err(crate::store::StoreError::ReferenceGone {
                    field: "Customer".into(),
                });
            }
        }
        if apply {
            if let Some(id) = new.and_then(|c| RecordId::new(c).ok()) {
                *self.dependents.entry(id).or_insert(0) += 1;
            }
            // Down only while above zero: a record written before the counts was never counted.
            if let Some(count) = old
                .and_then(|c| RecordId::new(c).ok())
                .and_then(|id| self.dependents.get_mut(&id))
            {
                *count = (*count - 1).max(0);
            }
        }
        Ok(())
    }
}

#[derive(Default)]
pub(super) struct RunTables {
    pub(super) tenants: HashMap<TenantId, TenantRuns>,
}

#[derive(Default)]
pub(super) struct TenantRuns {
    pub(super) runs: BTreeMap<String, RunRecord>,
    pub(super) counters: BTreeMap<String, u64>,
}

/// Where the due index holds an item: shard, `due_at`, then the table key (`pk`, `sk`), in
/// DynamoDB's order.
pub(super) type DuePosition = (u32, String, String, String);

#[derive(Default)]
pub(super) struct ScheduleTables {
    pub(super) tenants: HashMap<TenantId, TenantSchedule>,
    /// The due index's entries, kept in order as the entries change (a Query reads a range of it
    /// instead of every entry of every tenant).
    pub(super) armed: BTreeMap<DuePosition, (TenantId, WorkflowId, RecordId)>,
    /// The `calendar` index: entries armed ahead for a yearly occurrence, by shard and
    /// `cal_at` (`<time of year>#E#<tenant>/<workflow>/<record>`).
    pub(super) calendar: BTreeMap<DuePosition, (TenantId, WorkflowId, RecordId)>,
    /// Items planted by a test that read as no schedule item, by (`pk`, `sk`): their shard,
    /// `due_at` and what is wrong with them; and those the scan set aside, with its reason.
    pub(super) malformed: BTreeMap<(String, String), (u32, String, String)>,
    pub(super) set_aside: BTreeMap<(String, String), String>,
    /// `SCAN`/`STATE<scope>` `last_end` of each shard group, as its instant string.
    pub(super) scan_ends: HashMap<String, String>,
    /// The deployment's shard count; 0 for the default.
    pub(super) shards: u32,
}

impl ScheduleTables {
    pub(super) fn shards(&self) -> u32 {
        if self.shards == 0 {
            crate::schedule::DUE_SHARDS
        } else {
            self.shards
        }
    }
}

#[derive(Default)]
pub(super) struct TenantSchedule {
    /// `revision` is the stored one.
    pub(super) entries: BTreeMap<(WorkflowId, RecordId), ScheduleEntry>,
    pub(super) outboxes: BTreeMap<(WorkflowId, RecordId, String), StoredOutbox>,
    pub(super) maintenance: BTreeMap<WorkflowId, StoredMaintenance>,
    pub(super) events: BTreeSet<(WorkflowId, String)>,
    pub(super) last_runs: BTreeMap<(WorkflowId, RecordId), DateTime<Utc>>,
}

/// An outbox and its `due_at` (`<retry instant>#O#<tenant>/<workflow>/<record>`).
#[derive(Debug, Clone)]
pub(super) struct StoredOutbox {
    pub(super) outbox: Outbox,
    pub(super) due_at: String,
}

/// A maintenance request and its `due_at` (`<request instant>#M#<tenant>/<workflow>`).
#[derive(Debug, Clone)]
pub(super) struct StoredMaintenance {
    pub(super) request: Maintenance,
    pub(super) due_at: String,
}

#[derive(Default)]
pub(super) struct SettingTables {
    pub(super) tenants: HashMap<TenantId, TenantSettingsTable>,
}

#[derive(Default)]
pub(super) struct TenantSettingsTable {
    /// By sort key `SET#<kind slug>#<id>`.
    pub(super) settings: BTreeMap<String, (SettingId, Revisioned<Setting>)>,
    pub(super) tenant: Option<Revisioned<TenantSettings>>,
}

#[derive(Default)]
pub(super) struct UserTables {
    pub(super) tenants: HashMap<TenantId, BTreeMap<UserId, User>>,
    /// Each user's customer-page layout, with its revision.
    pub(super) layouts: HashMap<
        (TenantId, UserId),
        crate::store::Revisioned<crate::user::preferences::CustomerPageLayout>,
    >,
}

#[derive(Default)]
pub(super) struct WorkflowTables {
    pub(super) tenants: HashMap<TenantId, TenantWorkflows>,
}

#[derive(Default)]
pub(super) struct TenantWorkflows {
    pub(super) heads: BTreeMap<WorkflowId, Revisioned<Workflow>>,
    /// Every version ever written (`WFV#<id>#<version>`), until the workflow is deleted.
    pub(super) versions: BTreeMap<(WorkflowId, u32), WorkflowDefinition>,
    /// `ACTIVECARE#<module>` and `ACTIVEWORK#<module>`: absent until the first activation, like
    /// the counter items.
    pub(super) active: BTreeMap<(crate::workflow::WorkflowKind, Module), u64>,
}
