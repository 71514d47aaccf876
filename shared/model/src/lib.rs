//! The CRM automation model: modules and records, care and work workflows (triggers, conditions,
//! actions), merge-field templates, validation, the use cases, and the ports the adapters
//! implement. One folder per aggregate, each with its types, rules, ports and use cases
//! (docs/architecture.md). The rules are synchronous; the use cases are async only where they
//! call a port. No AWS dependency: with the in-memory stores of `testing` every use case runs
//! without a network.

pub mod action;
pub mod allocation;
pub mod approval;
pub mod clock;
pub mod condition;
pub mod ids;
pub mod mailbox;
pub mod phone;
pub mod ports;
pub mod record;
pub mod run;
pub mod schedule;
pub mod schema;
pub mod scoring;
pub mod settings;
pub mod store;
pub mod template;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod trigger;
pub mod user;
pub mod validation;
pub mod workflow;
