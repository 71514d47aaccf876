//! Every function's IAM, tested: its handler runs through its own composition root over the
//! emulator, with AWS clients that record each call (`crm_adapters::iam_audit`), over scenarios
//! that take every path that calls AWS; then each recorded (action, resource) is checked
//! against that function's statements in `template.yaml`. A call the template does not allow
//! fails the test with the list of them; so does a scenario that stops making a call listed
//! here as exercised (the guard against a test that passes by calling nothing).
//!
//!     infra/stack.sh up && source .local/env
//!     cargo test -p crm-adapters --test iam -- --nocapture    # also prints grants never used

#[path = "../support/dovecot.rs"]
mod dovecot;
#[path = "../support/mod.rs"]
mod support;

mod executor;
mod harness;
mod http;
mod mailbox_sync;
mod record_events;
mod records_api;
mod scan;
mod seed;
mod workflow_api;

use harness::Audited;

#[tokio::test]
async fn trigger_scan_makes_only_calls_its_statements_allow() {
    let mut audited = Audited::new("trigger-scan").await;
    scan::exercise(&mut audited).await;
    audited.assert_allowed(&[
        ("dynamodb:Query", "table/crm-local-schedule/index/due"),
        ("dynamodb:Query", "table/crm-local-records/index/gsi1"),
        ("dynamodb:BatchGetItem", "table/crm-local-records"),
        // Claims, the outbox taken over, and the cleanup after a deactivation.
        ("dynamodb:UpdateItem", "table/crm-local-schedule"),
        ("dynamodb:Query", "table/crm-local-schedule"),
        ("dynamodb:DeleteItem", "table/crm-local-schedule"),
        ("events:PutEvents", "event-bus/crm-local-automation"),
    ]);
}

#[tokio::test]
async fn mailbox_sync_makes_only_calls_its_statements_allow() {
    let mut audited = Audited::new("mailbox-sync").await;
    mailbox_sync::exercise(&mut audited).await;
    audited.assert_allowed(&[
        ("dynamodb:Query", "table/crm-local-settings/index/gsi1"),
        ("dynamodb:GetItem", "table/crm-local-settings"),
        // The identity index (customers' and contacts' emails) and the customer.
        ("dynamodb:Query", "table/crm-local-records"),
        ("dynamodb:BatchGetItem", "table/crm-local-records"),
        ("dynamodb:GetItem", "table/crm-local-records"),
        // The message, and the mailbox's sync status.
        ("dynamodb:PutItem", "table/crm-local-records"),
        ("secretsmanager:GetSecretValue", "-AbCdEf"),
    ]);
}

#[tokio::test]
async fn record_events_makes_only_calls_its_statements_allow() {
    let mut audited = Audited::new("record-events").await;
    record_events::exercise(&mut audited).await;
    audited.assert_allowed(&[
        ("dynamodb:Query", "table/crm-local-settings/index/gsi1"),
        // An approval request's change notifies its approver.
        ("dynamodb:PutItem", "table/crm-local-records"),
        ("dynamodb:PutItem", "table/crm-local-schedule"),
        ("dynamodb:DeleteItem", "table/crm-local-schedule"),
        ("events:PutEvents", "event-bus/crm-local-automation"),
    ]);
}

#[tokio::test]
async fn action_executor_makes_only_calls_its_statements_allow() {
    let mut audited = Audited::new("action-executor").await;
    executor::exercise(&mut audited).await;
    audited.assert_allowed(&[
        // A hand-over that moves open activities finds them through the records' gsi2.
        ("dynamodb:Query", "table/crm-local-records/index/gsi2"),
        ("dynamodb:BatchGetItem", "table/crm-local-records"),
        ("dynamodb:PutItem", "table/crm-local-runs"),
        ("sns:Publish", "*"),
        ("ses:SendEmail", "identity/noreply@example.com"),
        ("ses:SendRawEmail", "identity/noreply@example.com"),
        ("secretsmanager:GetSecretValue", "-AbCdEf"),
        ("s3:PutObject", ".pdf"),
    ]);
}

#[tokio::test]
async fn workflow_api_makes_only_calls_its_statements_allow() {
    let mut audited = Audited::new("workflow-api").await;
    workflow_api::exercise(&mut audited).await;
    audited.assert_allowed(&[
        ("dynamodb:PutItem", "table/crm-local-schedule"),
        ("dynamodb:Query", "table/crm-local-records/index/gsi1"),
        ("dynamodb:Query", "table/crm-local-runs/index/gsi2"),
        ("events:PutEvents", "event-bus/crm-local-automation"),
        ("secretsmanager:PutSecretValue", "-AbCdEf"),
    ]);
}

#[tokio::test]
async fn records_api_makes_only_calls_its_statements_allow() {
    let mut audited = Audited::new("records-api").await;
    records_api::exercise(&mut audited).await;
    audited.assert_allowed(&[
        ("dynamodb:Query", "table/crm-local-records/index/gsi2"),
        ("dynamodb:Query", "table/crm-local-records/index/gsi3"),
        ("dynamodb:PutItem", "table/crm-local-records"),
        ("dynamodb:ConditionCheckItem", "table/crm-local-records"),
        // A submission reads the module's approval workflows; a decided approval leaves its
        // approvers' pending lists.
        ("dynamodb:Query", "table/crm-local-settings/index/gsi1"),
        ("dynamodb:DeleteItem", "table/crm-local-records"),
        ("dynamodb:Query", "table/crm-local-runs/index/gsi2"),
        ("s3:GetObject", ".pdf"),
    ]);
}
