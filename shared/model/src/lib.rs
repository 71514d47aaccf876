//! The CRM automation model: modules and records, care and work workflows (triggers, conditions,
//! actions), merge-field templates, validation, and the ports the adapters implement.
//!
//! Pure and synchronous except for the port traits; no AWS dependency, so every rule here is
//! testable without a network.

pub mod action;
pub mod clock;
pub mod condition;
pub mod ids;
pub mod phone;
pub mod ports;
pub mod record;
pub mod run;
pub mod schedule;
pub mod schema;
pub mod settings;
pub mod store;
pub mod template;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod trigger;
pub mod user;
pub mod validation;
pub mod workflow;
