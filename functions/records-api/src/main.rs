//! Lambda entry point of the CRM records API: API Gateway HTTP API (JWT authorizer) → the
//! shared router over DynamoDB, built once per sandbox by [`records_api::state_from_env`].

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let state = records_api::state_from_env().await?;
    lambda_http::run(records_api::app(state)).await
}
