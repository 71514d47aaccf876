//! The records API's composition root: the router's state built from the environment (DynamoDB
//! tables, Secrets Manager, the VOIP switchboards' HTTP client, the system clock) once per
//! sandbox. Tests and the local server build the same router
//! over other stores.

use std::sync::Arc;

use crm_adapters::attachments::S3Attachments;
use crm_adapters::dynamo::Stores;
use crm_adapters::secrets::{CachedVault, SecretsManagerVault};
use crm_adapters::switchboard::HttpSwitchboard;
use crm_api::records_api::State;
use crm_model::ports::SystemClock;
use crm_model::settings::outbound::OutboundPolicy;

/// The state over the DynamoDB stores, the attachments bucket, Secrets Manager through
/// `secrets` (the switchboards' keys) and the outbound policy switchboards are held to.
pub fn state(
    stores: Stores,
    attachments: S3Attachments,
    secrets: aws_sdk_secretsmanager::Client,
    outbound: OutboundPolicy,
) -> State {
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
        // A busy switchboard's events read its key once a minute, not once per event.
        secrets: Arc::new(CachedVault::new(SecretsManagerVault::new(secrets))),
        switchboard: Arc::new(HttpSwitchboard::new(outbound)),
    }
}

/// The deployed wiring: the tables the template names in the environment.
pub async fn state_from_env() -> Result<State, crm_adapters::ConfigError> {
    crm_model::phone::load_metadata();
    let sdk = crm_adapters::config::load_sdk_config().await;
    Ok(state(
        Stores::from_env(&sdk)?,
        S3Attachments::from_env(&sdk)?,
        aws_sdk_secretsmanager::Client::new(&sdk),
        crm_adapters::outbound::policy_from_env(),
    ))
}

/// The API's router over `state`.
pub fn app(state: State) -> axum::Router {
    crm_api::records_api::router(state)
}
