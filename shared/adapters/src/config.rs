//! Configuration read once per Lambda sandbox: the shared SDK config every client is built from,
//! and the names of the template's resources (from the environment the template sets).

use aws_config::{BehaviorVersion, SdkConfig};

/// A required setting is missing from the environment.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set (template.yaml sets it for every function)")]
    Missing(&'static str),
    #[error("environment variable {0} is not a number from {1} to {2}")]
    OutOfRange(&'static str, u32, u32),
    #[error("environment variable {0} names something unusable: {1}")]
    Invalid(&'static str, String),
}

/// A whole number from the environment within `min..=max`, or `default` when it is not set.
pub fn number(name: &'static str, default: u32, min: u32, max: u32) -> Result<u32, ConfigError> {
    match std::env::var(name).ok().filter(|v| !v.is_empty()) {
        None => Ok(default),
        Some(value) => value
            .parse::<u32>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or(ConfigError::OutOfRange(name, min, max)),
    }
}

pub(crate) fn var(name: &'static str) -> Result<String, ConfigError> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or(ConfigError::Missing(name))
}

/// Names of the DynamoDB tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tables {
    pub settings: String,
    pub records: String,
    pub schedule: String,
    pub runs: String,
}

impl Tables {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            settings: var("SETTINGS_TABLE")?,
            records: var("RECORDS_TABLE")?,
            schedule: var("SCHEDULE_TABLE")?,
            runs: var("RUNS_TABLE")?,
        })
    }
}

/// Loads region, credentials and endpoint the standard way (environment, profile, container or
/// instance role). `AWS_ENDPOINT_URL` redirects every client, which is how local runs work.
///
/// Every call is bounded (the SDK sets no operation timeout of its own): 3 s to connect and the
/// executor's provider-call budget for the whole operation with its retries, so that a slow SES
/// or SNS cannot hold a batch past its budget. No per-attempt timeout: an attempt cut short
/// after SNS or SES took the message would be retried inside the call and send it twice.
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(call_timeouts())
        .load()
        .await
}

/// The timeouts of every AWS call.
pub fn call_timeouts() -> aws_config::timeout::TimeoutConfig {
    use std::time::Duration;
    let operation = crm_model::run::execute::PROVIDER_CALL_SECONDS.unsigned_abs();
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .operation_timeout(Duration::from_secs(operation))
        .build()
}
