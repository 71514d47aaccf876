//! The in-memory stores and providers.
//!
//! Every port has an in-memory implementation with the DynamoDB adapters' semantics wherever the
//! domain relies on them: conditional writes and revisions (`AlreadyExists`, `NotFound`,
//! `Conflict` exactly as the adapters translate their refusals), the active care counter changed
//! in the same step as the workflow save, claims that lose races, the run ledger's commit applying
//! its effects atomically, listing orders and page cursors (see `paging.rs`), identity items,
//! and the sharded due index of the schedule. Each file says which adapter it mirrors and how.
//! One difference is deliberate: the indexes here are never stale (DynamoDB's GSIs are eventually
//! consistent), so the code paths that make up for a lagging index (a merge's extra move passes,
//! the overlay of the order just written on a customer's purchase facts) are exercised by
//! neither these stores nor the emulator.
//!
//! [`MemoryStores`] bundles one of each store over one shared state, with fields named like the
//! adapters' `Stores`, so that the run ledger's effects land in its `records` and `inbox`. The
//! store handles are cheap to clone and clones share their state. Any store can be told to fail
//! its next reads or writes with `StoreError::Unavailable` (or to lose the answer of a write that
//! happened), and counts the calls it served.
//!
//! The provider fakes ([`RecordingPublisher`], [`RecordingSms`], [`RecordingZns`],
//! [`RecordingEmail`], [`RecordingTaskSync`], [`TextPrinter`]) record what they were asked to do,
//! so that tests can assert exactly-once sends, and can be told to fail. [`MemorySecretVault`]
//! holds provider credentials; [`FixedResolver`] answers host names as a test says.

mod approvals;
mod attachments;
mod due;
mod mail;
mod notifications;
mod paging;
mod providers;
mod publisher;
mod records;
mod runs;
mod schedule;
mod secrets;
mod settings;
mod tables;
mod users;
mod workflows;
mod world;

#[cfg(test)]
mod tests;

pub use attachments::MemoryAttachments;

/// Approval requests and approvers' pending lists, in the records tables ([`approvals`]).
#[derive(Debug, Clone)]
pub struct MemoryApprovalStore {
    world: World,
}
pub use mail::{FakeMailServer, FixedTokens, MemorySyncStatus};
pub use notifications::MemoryNotificationInbox;
pub use providers::{
    Message, PlacedCall, ProviderMode, Recording, RecordingEmail, RecordingSms,
    RecordingSwitchboard, RecordingTaskSync, RecordingZns, SentEmail, SmsMessage, TaskPush,
    TextPrinter, ZnsMessage,
};
pub use publisher::{PublishFault, RecordingPublisher};
pub use records::MemoryRecordStore;
pub use runs::MemoryRunLedger;
pub use schedule::MemoryScheduleStore;
pub use secrets::{FixedResolver, MemorySecretVault};
pub use settings::MemorySettingsStore;
pub use users::MemoryUserDirectory;
pub use workflows::MemoryWorkflowStore;
pub use world::{CallCounts, StoreKind};

use world::World;

/// Every in-memory store over one shared state, named like `crm_adapters::dynamo::Stores`.
#[derive(Debug, Clone)]
pub struct MemoryStores {
    pub workflows: MemoryWorkflowStore,
    pub settings: MemorySettingsStore,
    pub users: MemoryUserDirectory,
    pub records: MemoryRecordStore,
    pub schedule: MemoryScheduleStore,
    pub runs: MemoryRunLedger,
    pub inbox: MemoryNotificationInbox,
    pub approvals: MemoryApprovalStore,
    world: World,
}

impl Default for MemoryStores {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStores {
    pub fn new() -> Self {
        let world = World::default();
        Self {
            workflows: MemoryWorkflowStore {
                world: world.clone(),
            },
            settings: MemorySettingsStore {
                world: world.clone(),
            },
            users: MemoryUserDirectory {
                world: world.clone(),
            },
            records: MemoryRecordStore {
                world: world.clone(),
            },
            schedule: MemoryScheduleStore {
                world: world.clone(),
            },
            runs: MemoryRunLedger {
                world: world.clone(),
            },
            inbox: MemoryNotificationInbox {
                world: world.clone(),
            },
            approvals: MemoryApprovalStore {
                world: world.clone(),
            },
            world,
        }
    }

    /// Makes the next `n` reads, whichever store they go to, fail with
    /// `StoreError::Unavailable` (after any store's own pending faults).
    pub fn fail_next_reads(&self, n: u32) {
        self.world.fail_next_reads(None, n);
    }

    /// Makes the next `n` writes, whichever store they go to, fail with
    /// `StoreError::Unavailable` without writing anything.
    pub fn fail_next_writes(&self, n: u32) {
        self.world.fail_next_writes(None, n);
    }

    /// Makes the next `n` successful writes, whichever store they go to, happen and then answer
    /// `StoreError::Unavailable`.
    pub fn lose_next_write_replies(&self, n: u32) {
        self.world.lose_next_write_replies(None, n);
    }

    /// Forgets every pending fault, of every store.
    pub fn clear_faults(&self) {
        self.world.clear_faults();
    }

    /// The calls one store served.
    pub fn calls(&self, store: StoreKind) -> CallCounts {
        self.world.calls(Some(store))
    }

    /// The calls all stores served together.
    pub fn total_calls(&self) -> CallCounts {
        self.world.calls(None)
    }
}
