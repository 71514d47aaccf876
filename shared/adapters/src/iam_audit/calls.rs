//! The SDK interceptor that records every call a client makes, with what IAM would authorize.

use std::sync::{Arc, Mutex, PoisonError};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use super::access::{Access, accesses, iam_prefix, s3_accesses};

/// One operation a client executed (retries of it are one call: IAM authorizes each attempt
/// alike).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsCall {
    /// The SDK's service id, e.g. `DynamoDB`.
    pub service: String,
    /// The operation, e.g. `TransactWriteItems`.
    pub operation: String,
    /// What IAM authorizes for it: one action and resource per item of a transaction.
    pub accesses: Vec<Access>,
}

/// Every call made by the clients built with it. Cloning shares the log, so one log can sit in
/// every client of one function: build each client with [`audited_client!`](crate::audited_client).
#[derive(Debug, Clone, Default)]
pub struct CallLog {
    calls: Arc<Mutex<Vec<AwsCall>>>,
}

impl CallLog {
    pub fn new() -> Self {
        Self::default()
    }

    /// The calls recorded so far, oldest first.
    pub fn calls(&self) -> Vec<AwsCall> {
        // A test that panicked while holding the lock left a complete Vec behind: still usable.
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn push(&self, call: AwsCall) {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(call);
    }
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "IamAuditCallLog"
    }

    // After serialization and before the retry loop: once per operation, with the request as
    // it goes on the wire and the operation's metadata in the bag.
    fn read_after_serialization(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (service, operation) = cfg
            .load::<Metadata>()
            .map(|m| (m.service().to_owned(), m.name().to_owned()))
            .unwrap_or_else(|| ("unknown".to_owned(), "unknown".to_owned()));
        let accesses = if iam_prefix(&service) == "s3" {
            // The object is in the path, not the body (a pre-signed link passes here too, just
            // before it would be sent).
            // The bucket is an endpoint parameter, set before serialization; the serialized
            // path is the key alone (the endpoint, bucket and all, is applied later).
            let bucket = cfg
                .load::<aws_smithy_runtime_api::client::endpoint::EndpointResolverParams>()
                .and_then(|params| params.get::<aws_sdk_s3::config::endpoint::Params>())
                .and_then(|params| params.bucket());
            s3_accesses(&operation, bucket, context.request().uri())
        } else {
            let body = context.request().body().bytes().unwrap_or_default();
            accesses(&service, &operation, body)
        };
        self.push(AwsCall {
            service,
            operation,
            accesses,
        });
        Ok(())
    }
}

/// A client of any AWS SDK crate whose every call is recorded in a [`CallLog`]; one line per
/// service: `audited_client!(aws_sdk_secretsmanager, &sdk_config, &log)`.
#[macro_export]
macro_rules! audited_client {
    ($sdk_crate:ident, $sdk_config:expr, $log:expr) => {
        $sdk_crate::Client::from_conf(
            $sdk_crate::config::Builder::from($sdk_config)
                .interceptor(::std::clone::Clone::clone($log))
                .build(),
        )
    };
}
