//! The records API's composition root: the router's state built from the environment (DynamoDB
//! tables, the system clock) once per sandbox. Tests and the local server build the same router
//! over other stores.

use std::sync::Arc;

use crm_adapters::attachments::S3Attachments;
use crm_adapters::dynamo::Stores;
use crm_api::records_api::State;
use crm_model::ports::SystemClock;

/// The state over the DynamoDB stores and the attachments bucket.
pub fn state(stores: Stores, attachments: S3Attachments) -> State {
    State {
        records: Arc::new(stores.records),
        users: Arc::new(stores.users),
        settings: Arc::new(stores.settings),
        runs: Arc::new(stores.runs),
        inbox: Arc::new(stores.inbox),
        approvals: Arc::new(stores.approvals),
        workflows: Arc::new(stores.workflows),
        schedule: Arc::new(stores.schedule),
        attachments: Arc::new(attachments),
        clock: Arc::new(SystemClock),
        members: Arc::default(),
    }
}

/// The deployed wiring: the tables the template names in the environment.
pub async fn state_from_env() -> Result<State, crm_adapters::ConfigError> {
    crm_model::phone::load_metadata();
    let sdk = crm_adapters::config::load_sdk_config().await;
    Ok(state(
        Stores::from_env(&sdk)?,
        S3Attachments::from_env(&sdk)?,
    ))
}

/// The API's router over `state`.
pub fn app(state: State) -> axum::Router {
    crm_api::records_api::router(state)
}
