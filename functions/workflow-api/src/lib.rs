//! The automation settings API's composition root: the router's state built from the
//! environment (DynamoDB tables, the automation bus, the system clock) once per sandbox. Tests
//! and the local server build the same router over other stores.

use std::sync::Arc;

use crm_adapters::dynamo::Stores;
use crm_api::workflow_api::State;
use crm_model::ports::{JobPublisher, SystemClock};

/// The state over the DynamoDB stores and `publisher`.
pub fn state(stores: Stores, publisher: Arc<dyn JobPublisher>) -> State {
    State {
        workflows: Arc::new(stores.workflows),
        settings: Arc::new(stores.settings),
        users: Arc::new(stores.users),
        schedule: Arc::new(stores.schedule),
        records: Arc::new(stores.records),
        runs: Arc::new(stores.runs),
        publisher,
        clock: Arc::new(SystemClock),
    }
}

/// The deployed wiring: the tables and bus the template names in the environment.
pub async fn state_from_env() -> Result<State, crm_adapters::ConfigError> {
    let sdk = crm_adapters::config::load_sdk_config().await;
    let publisher = crm_adapters::events::EventBridgeJobPublisher::from_env(&sdk)?;
    Ok(state(Stores::from_env(&sdk)?, Arc::new(publisher)))
}

/// The API's router over `state`.
pub fn app(state: State) -> axum::Router {
    crm_api::workflow_api::router(state)
}
