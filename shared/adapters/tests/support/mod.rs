//! Shared set-up of the integration tests: the local emulator (started by `infra/stack.sh up`)
//! and a fresh tenant per test, so tests run in parallel on one emulator without seeing each
//! other's data.
#![allow(dead_code)]

use aws_config::{BehaviorVersion, Region, SdkConfig};
use crm_adapters::{Clients, Tables};
use crm_model::ids::TenantId;

const LOCAL_ENDPOINT: &str = "http://127.0.0.1:4566";

/// The SDK config for the emulator: from the environment when `.local/env` was sourced, else
/// the local defaults.
pub async fn sdk() -> SdkConfig {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| LOCAL_ENDPOINT.into());
    assert!(
        endpoint.starts_with("http://127.") || endpoint.starts_with("http://localhost"),
        "integration tests only run against a local emulator, not {endpoint}"
    );
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .test_credentials()
        .load()
        .await
}

pub async fn clients() -> Clients {
    Clients::new(&sdk().await)
}

/// The local stack's table names (`crm-local-*` unless `.local/env` says otherwise).
pub fn tables() -> Tables {
    Tables::from_env().unwrap_or_else(|_| Tables {
        settings: "crm-local-settings".into(),
        records: "crm-local-records".into(),
        schedule: "crm-local-schedule".into(),
        runs: "crm-local-runs".into(),
    })
}

/// A tenant no other test uses.
pub fn fresh_tenant() -> TenantId {
    TenantId::new(format!("test-{}", uuid::Uuid::new_v4().simple())).expect("uuid is a valid id")
}
