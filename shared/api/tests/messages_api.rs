//! Email and SMS from the customer page through the records API against the emulator: queued
//! once per key (202, then 200), refused with the field named, the customer's history filtered,
//! nothing of another tenant's reachable, and messages never written through the record routes.

mod common;

use axum::http::{Method, StatusCode};
use common::{Tenant, create, records_api, send};
use crm_model::ids::SettingId;
use crm_model::ports::SettingsStore;
use serde_json::json;

#[tokio::test]
async fn a_message_is_queued_once_per_key_listed_by_contact_and_refused_field_by_field() {
    let app = records_api().await;
    let tenant = Tenant::new(&app).await;
    app.stores
        .settings
        .create(
            &tenant.id,
            &SettingId::new("mailer").unwrap(),
            &serde_json::from_value(json!({"kind": "email_sender", "name": "CSKH",
                "from_address": "noreply@example.com"}))
            .unwrap(),
        )
        .await
        .unwrap();
    let customer = create(
        &app,
        &tenant,
        "Customer",
        json!({"Name": "Lan", "Email": "lan@example.vn"}),
    )
    .await;
    let contact = create(
        &app,
        &tenant,
        "Contact",
        json!({"Name": "Tuấn", "Customer": customer, "Email": "tuan@example.vn"}),
    )
    .await;
    let path = format!("/customers/{customer}/messages");
    let message = json!({"key": "m-1", "channel": "email", "sender": "mailer",
        "to": ["tuan@example.vn"], "subject": "Chào #Name", "body": "<p>Kính gửi #Name</p>"});
    let queued = send(
        &app,
        &tenant.salesperson(),
        Method::POST,
        &path,
        Some(message.clone()),
    )
    .await;
    assert_eq!(queued.status, StatusCode::ACCEPTED, "{}", queued.body);
    assert_eq!(queued.body["module"], json!("Message"));
    assert_eq!(queued.body["fields"]["Status"], json!("Queued"));
    assert_eq!(queued.body["fields"]["Subject"], json!("Chào Lan"));
    assert_eq!(queued.body["fields"]["Contact"], json!(contact));
    let again = send(
        &app,
        &tenant.salesperson(),
        Method::POST,
        &path,
        Some(message.clone()),
    )
    .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.body["id"], queued.body["id"]);
    let mut other = message.clone();
    other["subject"] = json!("Khác");
    let reused = send(
        &app,
        &tenant.salesperson(),
        Method::POST,
        &path,
        Some(other),
    )
    .await;
    assert_eq!(reused.status, StatusCode::CONFLICT, "{}", reused.body);

    let bad = send(
        &app,
        &tenant.salesperson(),
        Method::POST,
        &path,
        Some(json!({"key": "m-2", "channel": "sms", "sender": "mailer",
            "to": ["0999999999"], "subject": "x", "body": "#Nope"})),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    for field in ["/to/0", "/sender", "/subject", "/body"] {
        assert!(bad.field_error(field), "{field}: {}", bad.body);
    }

    let listed = send(
        &app,
        &tenant.salesperson(),
        Method::GET,
        &format!("{path}?contact={contact}&direction=Outgoing&channel=email"),
        None,
    )
    .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    let none = send(
        &app,
        &tenant.salesperson(),
        Method::GET,
        &format!("{path}?direction=Incoming"),
        None,
    )
    .await;
    assert_eq!(none.body["items"], json!([]));

    // Messages are what was sent: the record routes do not write them.
    let id = queued.body["id"].as_str().unwrap();
    let edited = send(
        &app,
        &tenant.admin(),
        Method::PATCH,
        &format!("/records/Message/{id}"),
        Some(json!({"Subject": "x"})),
    )
    .await;
    assert!(edited.status.is_client_error(), "{}", edited.body);
    let created = send(
        &app,
        &tenant.admin(),
        Method::POST,
        "/records/Message",
        Some(json!({"Subject": "x"})),
    )
    .await;
    assert_eq!(created.status, StatusCode::FORBIDDEN, "{}", created.body);

    let stranger = Tenant::new(&app).await;
    let elsewhere = send(
        &app,
        &stranger.admin(),
        Method::POST,
        &path,
        Some(json!({"key": "m-9", "channel": "email", "sender": "mailer",
            "to": ["lan@example.vn"], "subject": "x", "body": "x"})),
    )
    .await;
    assert_eq!(
        elsewhere.status,
        StatusCode::NOT_FOUND,
        "{}",
        elsewhere.body
    );
}
