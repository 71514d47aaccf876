//! The action executor over the in-memory stores and the recording providers: each action kind's
//! effect read back (SMS, ZNS, email and task pushes from the fakes, records, runs and
//! notifications from the stores), exactly once when a job is delivered twice in turn or at
//! once; half-done sends under each guarantee, store outages on either side of a provider's
//! acceptance, provider outages and rejections, and hand-overs, care cards and task syncs.

mod approvals;
mod effects;
mod emails;
mod handovers;
mod kill_switch;
mod per_recipient;
mod providers;
mod recipients;
mod scoring;
mod sends;
mod world;

use crm_model::ids::RecordId;
use crm_model::ports::{PageRequest, RecordStore, RunLedger, SendError, StoreError, StoredRecord};
use crm_model::run::execute::{ExecuteError, JobOutcome};
use crm_model::run::{RunRecord, RunStatus};
use crm_model::schedule::ActionJob;
use crm_model::schema::Module;
use crm_model::settings::SmsGateway;
use serde_json::json;
use world::{Delivery, E164, NOW, PHONE, StoreFault, World, at, birthday_workflow, join_all};

/// The birthday workflow with its sends under the at-least-once guarantee.
fn at_least_once() -> serde_json::Value {
    let mut definition = birthday_workflow();
    definition["external_sends"] = json!("at_least_once");
    definition
}
