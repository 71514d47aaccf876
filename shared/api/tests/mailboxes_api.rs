//! Mailboxes through the settings API over the emulator: an administrator connects a user's
//! mailbox (checked field by field: a private host, a stranger, a sent folder that is the inbox),
//! sets its password or token by the way it logs in, and reads where its sync stands; the
//! salesperson and other tenants read nothing of it.

mod common;

use axum::http::{Method, StatusCode};
use common::{App, Tenant, call, workflow_api_with};
use crm_model::ids::SettingId;
use crm_model::mailbox::ports::{FolderCheckpoint, SyncStatus, SyncStatusStore};
use crm_model::settings::outbound::OutboundPolicy;
use serde_json::{Value, json};
use std::collections::HashMap;

async fn send(
    app: &App,
    method: Method,
    path: &str,
    claims: &HashMap<String, String>,
    body: Option<Value>,
) -> common::Answer {
    call(&app.router, method, path, Some(claims), body, &[]).await
}

fn gmail() -> Value {
    json!({"id": "lan-gmail", "name": "Gmail của Lan", "user": "u-sales", "host": "imap.gmail.com",
           "username": "lan@example.vn", "auth": "oauth2", "sent": "[Gmail]/Sent Mail"})
}

#[tokio::test]
async fn a_mailbox_is_checked_by_field_and_its_credentials_follow_its_way_of_logging_in() {
    let app = workflow_api_with(OutboundPolicy::PUBLIC).await;
    let tenant = Tenant::new(&app).await;
    let admin = tenant.admin();
    for (change, field) in [
        (json!({"host": "10.0.0.5"}), "/host"),
        (json!({"host": "localhost"}), "/host"),
        (json!({"host": "imap.gmail.com:993/x"}), "/host"),
        (json!({"user": "u-nobody"}), "/user"),
        (json!({"sent": "INBOX"}), "/sent"),
        (json!({"aliases": ["not an address"]}), "/aliases/0"),
    ] {
        let mut body = gmail();
        body.as_object_mut()
            .unwrap()
            .extend(change.as_object().unwrap().clone());
        let refused = send(
            &app,
            Method::POST,
            "/settings/mailboxes",
            &admin,
            Some(body),
        )
        .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {}",
            refused.body
        );
        assert!(
            refused.body.to_string().contains(field),
            "{field}: {}",
            refused.body
        );
    }
    let created = send(
        &app,
        Method::POST,
        "/settings/mailboxes",
        &admin,
        Some(gmail()),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["port"], 993);
    assert_eq!(created.body["inbox"], "INBOX");
    // The salesperson whose mailbox it is does not administer it.
    let mine = send(
        &app,
        Method::POST,
        "/settings/mailboxes",
        &tenant.salesperson(),
        Some(gmail()),
    )
    .await;
    assert_eq!(mine.status, StatusCode::FORBIDDEN, "{}", mine.body);

    // An OAuth2 mailbox takes an access token, not a password.
    let path = "/settings/mailboxes/lan-gmail/credentials";
    let password = send(
        &app,
        Method::PUT,
        path,
        &admin,
        Some(json!({"password": "x"})),
    )
    .await;
    assert_eq!(
        password.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        password.body
    );
    let token = send(
        &app,
        Method::PUT,
        path,
        &admin,
        Some(json!({"access_token": "ya29.token"})),
    )
    .await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.body);
    assert_eq!(token.body["configured"], true);
}

#[tokio::test]
async fn where_a_mailboxs_sync_stands_is_shown_to_its_tenants_administrators_only() {
    let app = workflow_api_with(OutboundPolicy::PUBLIC).await;
    let (tenant, other) = (Tenant::new(&app).await, Tenant::new(&app).await);
    let created = send(
        &app,
        Method::POST,
        "/settings/mailboxes",
        &tenant.admin(),
        Some(gmail()),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let path = "/settings/mailboxes/lan-gmail/sync";
    let never = send(&app, Method::GET, path, &tenant.admin(), None).await;
    assert_eq!(never.status, StatusCode::OK, "{}", never.body);
    assert_eq!(
        never.body,
        json!({"folders": {}, "stored": 0, "skipped": 0})
    );

    let mut status = SyncStatus {
        stored: 12,
        last_error: Some("the server refused the login: [AUTHENTICATIONFAILED]".into()),
        last_run_at: Some("2026-11-30T08:00:00Z".parse().unwrap()),
        ..SyncStatus::default()
    };
    status.folders.insert(
        "INBOX".into(),
        FolderCheckpoint {
            uid_validity: 7,
            last_uid: 40,
        },
    );
    let id = SettingId::new("lan-gmail").unwrap();
    app.stores
        .mailbox_sync
        .put(&tenant.id, &id, &status)
        .await
        .unwrap();
    let shown = send(&app, Method::GET, path, &tenant.admin(), None).await;
    assert_eq!(shown.body["stored"], 12);
    assert_eq!(
        shown.body["folders"]["INBOX"],
        json!({"uid_validity": 7, "last_uid": 40})
    );
    assert!(
        shown.body["last_error"]
            .as_str()
            .unwrap()
            .contains("refused the login")
    );

    for (who, expected) in [
        (tenant.salesperson(), StatusCode::FORBIDDEN),
        (other.admin(), StatusCode::NOT_FOUND),
    ] {
        let refused = send(&app, Method::GET, path, &who, None).await;
        assert_eq!(refused.status, expected, "{}", refused.body);
    }
    let none = send(
        &app,
        Method::GET,
        "/settings/mailboxes/nope/sync",
        &tenant.admin(),
        None,
    )
    .await;
    assert_eq!(none.status, StatusCode::NOT_FOUND, "{}", none.body);
}
