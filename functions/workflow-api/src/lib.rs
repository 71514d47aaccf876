//! The automation settings API's composition root: the router's state built from the
//! environment (DynamoDB tables, the automation bus, Secrets Manager, the system clock and
//! resolver) once per sandbox. Tests and the local server build the same router over other
//! stores.

use std::sync::Arc;

use crm_adapters::dynamo::Stores;
use crm_adapters::outbound::SystemResolver;
use crm_adapters::secrets::SecretsManagerVault;
use crm_api::workflow_api::State;
use crm_model::ports::{JobPublisher, SystemClock};
use crm_model::settings::outbound::OutboundPolicy;

/// The state over the DynamoDB stores, `publisher`, Secrets Manager through `secrets`, and the
/// outbound policy providers are held to.
pub fn state(
    stores: Stores,
    publisher: Arc<dyn JobPublisher>,
    secrets: aws_sdk_secretsmanager::Client,
    outbound: OutboundPolicy,
) -> State {
    State {
        workflows: Arc::new(stores.workflows),
        settings: Arc::new(stores.settings),
        users: Arc::new(stores.users),
        schedule: Arc::new(stores.schedule),
        records: Arc::new(stores.records),
        runs: Arc::new(stores.runs),
        publisher,
        clock: Arc::new(SystemClock),
        members: Arc::default(),
        secrets: Arc::new(SecretsManagerVault::new(secrets)),
        resolver: Arc::new(SystemResolver),
        outbound,
        mailbox_sync: Arc::new(stores.mailbox_sync),
    }
}

/// The deployed wiring: the tables and bus the template names in the environment.
pub async fn state_from_env() -> Result<State, crm_adapters::ConfigError> {
    crm_model::phone::load_metadata();
    let sdk = crm_adapters::config::load_sdk_config().await;
    let publisher = crm_adapters::events::EventBridgeJobPublisher::from_env(&sdk)?;
    Ok(state(
        Stores::from_env(&sdk)?,
        Arc::new(publisher),
        aws_sdk_secretsmanager::Client::new(&sdk),
        crm_adapters::outbound::policy_from_env(),
    ))
}

/// The API's router over `state`.
pub fn app(state: State) -> axum::Router {
    crm_api::workflow_api::router(state)
}
