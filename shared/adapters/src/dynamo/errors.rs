//! Translating DynamoDB errors into the domain's `StoreError`.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::CancellationReason;
use crm_model::ports::StoreError;

/// Any SDK failure that is not a condition the caller asked about: the store is unavailable.
pub(crate) fn unavailable<E, R>(error: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    StoreError::Unavailable(Box::new(error))
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
