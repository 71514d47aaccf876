//! Lambda entry point of the trigger scan, run by a scheduled EventBridge rule: builds its
//! dependencies once, then scans through [`trigger_scan::handle`].

use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let deps = &trigger_scan::Deps::from_env().await?;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            Ok::<_, Error>(trigger_scan::handle(deps, &event.payload).await?)
        },
    ))
    .await
}
