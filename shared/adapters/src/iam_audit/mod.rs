//! IAM audit for tests (feature `iam-audit`, enabled by this crate's dev-dependencies only, so
//! that no Lambda binary carries it).
//!
//! Every AWS call a function makes is recorded by an SDK interceptor ([`CallLog`], put into each
//! client with [`audited_client!`](crate::audited_client)) as what IAM authorizes: an action on
//! a resource, one per item of a transaction or per table of a batch. [`Template`] reads that
//! function's statements from `template.yaml` (inline statements, SAM policy templates, event
//! sources), and [`FunctionPolicy::denied`] lists every call they do not allow, with IAM's
//! matching rules. `shared/adapters/tests/iam/` runs each function's handler over the emulator
//! with audited clients and fails on any denied call.
//!
//! ```text
//! let log = CallLog::new();
//! let dynamodb = audited_client!(aws_sdk_dynamodb, &sdk, &log);
//! // … run the function's handler over clients built like that …
//! let template = Template::load("template.yaml", Deployment::local())?;
//! let policy = template.function_policy("action-executor")?;
//! let denied = policy.denied(&log.calls(), template.deployment());
//! assert!(denied.is_empty(), "{}", report(&policy.function, &denied));
//! ```

mod access;
mod calls;
mod policy;
mod sam;
mod template;

pub use access::{Access, Resource, accesses, iam_prefix, s3_accesses};
pub use calls::{AwsCall, CallLog};
pub use policy::{
    Denied, Deployment, Effect, FunctionPolicy, LOCAL_ACCOUNT, Statement, Unused, action_matches,
    report, resource_matches,
};
pub use template::{Template, TemplateError};

#[cfg(test)]
mod tests;
