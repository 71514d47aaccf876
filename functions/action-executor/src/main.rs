//! Lambda entry point of the action executor: builds its dependencies once, then serves SQS
//! batches through [`action_executor::handle`].

use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let deps = &action_executor::Deps::from_env().await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<_>| async move {
        let budget = action_executor::budget(event.context.deadline);
        Ok::<_, Error>(action_executor::handle(deps, &event.payload, budget).await)
    }))
    .await
}
