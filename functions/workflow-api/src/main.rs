//! Lambda entry point of the automation settings API: API Gateway HTTP API (JWT authorizer) →
//! the shared router over DynamoDB, built once per sandbox by [`workflow_api::state_from_env`].

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let state = workflow_api::state_from_env().await?;
    lambda_http::run(workflow_api::app(state)).await
}
