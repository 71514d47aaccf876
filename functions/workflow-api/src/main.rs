//! The automation settings API: API Gateway HTTP API (JWT authorizer) → this function → DynamoDB.
//! Builds configuration and clients once per sandbox, then serves the shared router.

use std::sync::Arc;

use crm_adapters::dynamo::Stores;
use crm_adapters::events::EventBridgeJobPublisher;
use crm_adapters::{Tables, config};
use crm_api::workflow_api::{State, router};
use crm_model::ports::SystemClock;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let sdk = config::load_sdk_config().await;
    let tables = Tables::from_env()?;
    let stores = Stores::new(&aws_sdk_dynamodb::Client::new(&sdk), &tables);
    let publisher = EventBridgeJobPublisher::from_env(&sdk)?;
    let state = State {
        workflows: Arc::new(stores.workflows),
        settings: Arc::new(stores.settings),
        users: Arc::new(stores.users),
        schedule: Arc::new(stores.schedule),
        records: Arc::new(stores.records),
        runs: Arc::new(stores.runs),
        publisher: Arc::new(publisher),
        clock: Arc::new(SystemClock),
    };
    lambda_http::run(router(state)).await
}
