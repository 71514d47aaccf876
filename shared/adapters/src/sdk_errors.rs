//! What an AWS SDK failure says, for the operators reading the store's errors: the service's
//! code and message (the SDK's own Display says only "service error"), or the transport's
//! context. Every SDK crate shares these error types.

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

pub(crate) fn described<E, R>(error: &SdkError<E, R>) -> String
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match error.as_service_error() {
        Some(service) => format!(
            "{}: {}",
            service.code().unwrap_or("unknown"),
            service.message().unwrap_or("")
        ),
        None => DisplayErrorContext(error).to_string(),
    }
}
