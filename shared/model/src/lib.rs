//! The CRM automation model: modules and records, care and work workflows (triggers, conditions,
//! actions), merge-field templates, validation, and the ports the adapters implement.
//!
//! Pure and synchronous except for the port traits; no AWS dependency, so every rule here is
//! testable without a network.

pub mod action;
pub mod app;
pub mod condition;
pub mod identity;
pub mod ids;
pub mod loyalty;
pub mod phone;
pub mod ports;
pub mod record;
pub mod run;
pub mod samples;
pub mod schedule;
pub mod schema;
pub mod settings;
pub mod template;
pub mod trigger;
pub mod user;
pub mod validation;
pub mod workflow;
