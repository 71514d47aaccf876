//! AWS implementations of the model's ports: DynamoDB stores, SES v2 mail, EventBridge and SQS
//! messaging, Secrets Manager for provider credentials, HTTP providers behind an outbound check.
//! Every client is built from one `SdkConfig`, which honours `AWS_ENDPOINT_URL`, so the same code
//! talks to AWS, LocalStack or the local moto server.

pub mod attachments;
pub mod config;
pub mod dynamo;
pub mod events;
#[cfg(feature = "iam-audit")]
pub mod iam_audit;
pub mod imap;
pub mod oauth;
pub mod outbound;
pub mod print;
pub mod providers;
mod sdk_errors;
pub mod secrets;
pub mod send;
pub mod switchboard;
pub mod task_sync;

pub use config::{ConfigError, Tables};
