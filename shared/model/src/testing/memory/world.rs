//! The state behind the in-memory stores: one mutex over every table, so that what DynamoDB does
//! in one transaction (a run committed with its effects on records, notifications and counters; a
//! workflow saved with its module's active-care counter) is one critical section here, and no
//! lock order can ever deadlock. Every method takes the lock once, does all its work without an
//! `.await`, and releases it.
//!
//! Fault injection and call counting live in the same state, so a test can make the next calls
//! of one store (or of any store) fail with `StoreError::Unavailable`, as a throttled or timed-out
//! DynamoDB request would, and can count what a use case read and wrote.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::store::StoreError;

/// Which in-memory store a call went to (for fault injection and call counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StoreKind {
    Workflows,
    Settings,
    Users,
    Records,
    Inbox,
    Runs,
    Schedule,
}

impl StoreKind {
    pub const ALL: [StoreKind; 7] = [
        StoreKind::Workflows,
        StoreKind::Settings,
        StoreKind::Users,
        StoreKind::Records,
        StoreKind::Inbox,
        StoreKind::Runs,
        StoreKind::Schedule,
    ];
}

/// Whether a port method reads or writes (DynamoDB GetItem/Query/BatchGetItem versus
/// PutItem/UpdateItem/DeleteItem/TransactWriteItems).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Access {
    Read,
    Write,
}

/// How many calls a store served, and how many of them an injected fault failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallCounts {
    pub reads: u64,
    pub writes: u64,
    pub injected_failures: u64,
}

impl CallCounts {
    fn add(&mut self, other: CallCounts) {
        self.reads += other.reads;
        self.writes += other.writes;
        self.injected_failures += other.injected_failures;
    }
}

/// Faults waiting to happen, counted down as calls consume them.
#[derive(Debug, Clone, Copy, Default)]
struct Faults {
    /// Reads refused before reading anything.
    reads: u32,
    /// Writes refused before writing anything.
    writes: u32,
    /// Writes that happen but whose answer is lost: the caller sees `Unavailable` although the
    /// item was written, as after a timeout on a request DynamoDB did carry out.
    lost_replies: u32,
}

/// Every table of one set of in-memory stores, plus the faults and counts.
#[derive(Default)]
pub(super) struct State {
    pub(super) workflows: super::tables::WorkflowTables,
    pub(super) settings: super::tables::SettingTables,
    pub(super) users: super::tables::UserTables,
    pub(super) records: super::tables::RecordTables,
    pub(super) inbox: super::tables::InboxTables,
    pub(super) runs: super::tables::RunTables,
    pub(super) schedule: super::tables::ScheduleTables,
    /// `None`: faults of whichever store is called next.
    faults: BTreeMap<Option<StoreKind>, Faults>,
    counts: BTreeMap<StoreKind, CallCounts>,
}

impl State {
    /// Consumes one fault of `kind` (its own first, then the any-store ones) if one is pending.
    fn take_fault(&mut self, kind: StoreKind, pick: impl Fn(&mut Faults) -> &mut u32) -> bool {
        for scope in [Some(kind), None] {
            if let Some(faults) = self.faults.get_mut(&scope) {
                let pending = pick(faults);
                if *pending > 0 {
                    *pending -= 1;
                    return true;
                }
            }
        }
        false
    }
}

/// A handle on shared state; cloning it shares the state (as cloned DynamoDB clients share a
/// table).
#[derive(Clone, Default)]
pub(super) struct World(Arc<Mutex<State>>);

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World").finish_non_exhaustive()
    }
}

fn injected(kind: StoreKind, what: &str) -> StoreError {
    StoreError::Unavailable(format!("injected fault: {kind:?} store {what}").into())
}

impl World {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock leaves consistent state behind (every
        // operation validates before it mutates), so a poisoned lock is still usable.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs one port call of `kind` under the lock: counts it, applies a pending fault, and
    /// otherwise lets `op` read or change the tables. `op` must check every condition before it
    /// changes anything, so that a refused call leaves the tables untouched, like a refused
    /// conditional write or transaction.
    pub(super) fn call<T>(
        &self,
        kind: StoreKind,
        access: Access,
        op: impl FnOnce(&mut State) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut state = self.lock();
        let count = state.counts.entry(kind).or_default();
        match access {
            Access::Read => count.reads += 1,
            Access::Write => count.writes += 1,
        }
        let refused = match access {
            Access::Read => state.take_fault(kind, |f| &mut f.reads),
            Access::Write => state.take_fault(kind, |f| &mut f.writes),
        };
        if refused {
            state.counts.entry(kind).or_default().injected_failures += 1;
            return Err(injected(kind, "did not answer"));
        }
        let result = op(&mut state);
        if access == Access::Write
            && result.is_ok()
            && state.take_fault(kind, |f| &mut f.lost_replies)
        {
            state.counts.entry(kind).or_default().injected_failures += 1;
            return Err(injected(kind, "wrote, but its answer was lost"));
        }
        result
    }

    /// Reads the tables for a test's assertion: not a port call, so it is neither counted nor
    /// failed by a pending fault.
    pub(super) fn peek<T>(&self, op: impl FnOnce(&State) -> T) -> T {
        op(&self.lock())
    }

    /// Changes the tables for a test's setup: not a port call either.
    pub(super) fn peek_mut<T>(&self, op: impl FnOnce(&mut State) -> T) -> T {
        op(&mut self.lock())
    }

    pub(super) fn fail_next_reads(&self, kind: Option<StoreKind>, n: u32) {
        self.lock().faults.entry(kind).or_default().reads = n;
    }

    pub(super) fn fail_next_writes(&self, kind: Option<StoreKind>, n: u32) {
        self.lock().faults.entry(kind).or_default().writes = n;
    }

    pub(super) fn lose_next_write_replies(&self, kind: Option<StoreKind>, n: u32) {
        self.lock().faults.entry(kind).or_default().lost_replies = n;
    }

    pub(super) fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// The calls one store served (`Some`), or all of them together (`None`).
    pub(super) fn calls(&self, kind: Option<StoreKind>) -> CallCounts {
        let state = self.lock();
        let mut total = CallCounts::default();
        for (k, counts) in &state.counts {
            if kind.is_none_or(|wanted| wanted == *k) {
                total.add(*counts);
            }
        }
        total
    }
}

/// BatchGetItem refuses a request that names one key twice; the adapter sends 100 keys a call.
pub(super) fn check_batch<K: PartialEq>(keys: &[K]) -> Result<(), StoreError> {
    for chunk in keys.chunks(100) {
        for (i, key) in chunk.iter().enumerate() {
            if chunk[..i].contains(key) {
                return Err(StoreError::Unavailable(
                    "ValidationException: Provided list of item keys contains duplicates".into(),
                ));
            }
        }
    }
    Ok(())
}

/// The fault-injection and counting methods every store handle has, for the store `$kind`.
macro_rules! store_controls {
    ($store:ty, $kind:expr) => {
        impl $store {
            /// Makes the next `n` reads of this store fail with `StoreError::Unavailable` before
            /// reading anything (replacing any earlier count).
            pub fn fail_next_reads(&self, n: u32) {
                self.world.fail_next_reads(Some($kind), n);
            }

            /// Makes the next `n` writes of this store fail with `StoreError::Unavailable` before
            /// writing anything (replacing any earlier count).
            pub fn fail_next_writes(&self, n: u32) {
                self.world.fail_next_writes(Some($kind), n);
            }

            /// Makes the next `n` successful writes of this store happen and then answer
            /// `StoreError::Unavailable`, like a request whose answer timed out.
            pub fn lose_next_write_replies(&self, n: u32) {
                self.world.lose_next_write_replies(Some($kind), n);
            }

            /// How many reads and writes this store served.
            pub fn calls(&self) -> $crate::testing::memory::CallCounts {
                self.world.calls(Some($kind))
            }
        }
    };
}

pub(super) use store_controls;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_reply_still_writes_and_store_faults_go_before_shared_ones() {
        let world = World::default();
        world.lose_next_write_replies(Some(StoreKind::Users), 1);
        world.fail_next_writes(None, 1);
        let mut written = 0;
        // The any-store fault refuses the first write of any store, before the lost reply.
        let first = world.call(StoreKind::Users, Access::Write, |_| {
            written += 1;
            Ok(())
        });
        assert!(matches!(first, Err(StoreError::Unavailable(_))));
        assert_eq!(written, 0);
        let second = world.call(StoreKind::Users, Access::Write, |_| {
            written += 1;
            Ok(())
        });
        assert!(matches!(second, Err(StoreError::Unavailable(_))));
        assert_eq!(written, 1, "a lost reply happens after the write");
        assert!(
            world
                .call(StoreKind::Users, Access::Write, |_| Ok(()))
                .is_ok()
        );
        let calls = world.calls(Some(StoreKind::Users));
        assert_eq!((calls.writes, calls.injected_failures), (3, 2));
    }
}
