//! In-memory implementations of every port, with DynamoDB's semantics where the domain relies
//! on them (conditional writes, revisions, atomic counters, claims that lose races, cursors), and
//! the contract suite that both the in-memory and the DynamoDB implementations must pass.

pub mod contract;
pub mod memory;
