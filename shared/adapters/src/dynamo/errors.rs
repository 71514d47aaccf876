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
    StoreError::Unavailable(crate::sdk_errors::described(&error).into())
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
