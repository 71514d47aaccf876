//! Use cases: what the APIs and functions do, written against the ports so that they run the
//! same on DynamoDB and in memory.

pub mod execute;
mod maintenance;
pub mod people;
pub mod preview;
pub mod record_events;
pub mod records;
pub mod runs;
pub mod scan;
pub mod settings;
pub mod upkeep;
pub mod workflows;
