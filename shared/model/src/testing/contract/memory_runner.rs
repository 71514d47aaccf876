//! The contract suite against the in-memory stores: a fresh [`MemoryStores`] per check.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::ids::TenantId;
use crate::testing::memory::MemoryStores;

/// A tenant no other check of this run uses.
fn fresh_tenant() -> TenantId {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    TenantId::new(format!("memory-{n}")).expect("a valid tenant id")
}

crate::contract_tests! {
    stores: MemoryStores::new(),
    schedule: MemoryStores::new().schedule,
    tenant: fresh_tenant(),
}
