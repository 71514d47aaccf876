//! Lambda entry point of the mailbox sync, run by a scheduled EventBridge rule: builds its
//! dependencies once, then syncs through [`mailbox_sync::handle`].

use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let deps = &mailbox_sync::Deps::from_env().await?;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let deadline = event.context.deadline();
            Ok::<_, Error>(mailbox_sync::handle(deps, deadline).await?)
        },
    ))
    .await
}
