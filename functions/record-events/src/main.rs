//! Lambda entry point of record-events: builds its dependencies once, then serves the records
//! table's stream batches through [`record_events::handle`].

use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let deps = &record_events::Deps::from_env().await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<_>| async move {
        Ok::<_, Error>(record_events::handle(deps, &event.payload).await)
    }))
    .await
}
