//! Translating DynamoDB errors into the domain's `StoreError`.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::CancellationReason;
use crm_model::ports::StoreError;

/// Any SDK failure that is not a condition the caller asked about: the store is unavailable.
pub(crate) fn unavailable<E, R>(error: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + aws_sdk_dynamodb::error::ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    // The SDK's own Display says only "service error"; operators need the code and message.
    let described = match error.as_service_error() {
        Some(service) => format!(
            "{}: {}",
            service.code().unwrap_or("unknown"),
            service.message().unwrap_or("")
        ),
        None => aws_sdk_dynamodb::error::DisplayErrorContext(&error).to_string(),
    };
    StoreError::Unavailable(described.into())
}

pub(crate) fn corrupt(error: serde_dynamo::Error) -> StoreError {
    StoreError::Corrupt(error.to_string())
}

/// Whether the transaction item at `index` failed its condition.
pub(crate) fn condition_failed(reasons: &[CancellationReason], index: usize) -> bool {
    reasons
        .get(index)
        .and_then(CancellationReason::code)
        .is_some_and(|code| code == "ConditionalCheckFailed")
}

/// A request the SDK's builder refused to build (a missing required member): a bug here, reported
/// as the store being unavailable rather than a panic.
pub(crate) fn built<T, E: std::error::Error + Send + Sync + 'static>(
    built: Result<T, E>,
) -> Result<T, StoreError> {
    built.map_err(|e| StoreError::Unavailable(Box::new(e)))
}
