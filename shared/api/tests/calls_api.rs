//! Calls through a stub VOIP switchboard on loopback, with the records API against the emulator:
//! the call asked for once per key (the tenant's API key as bearer, the CRM's call id as the
//! Idempotency-Key), its signed events taken once, a forged one refused like a missing
//! switchboard, and the switchboard's keys read from Secrets Manager under the tenant only.

mod common;

use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, Method, StatusCode};
use common::{Tenant, call, create, records_api, send};
use crm_model::action::SettingKind;
use crm_model::ids::SettingId;
use crm_model::ports::{SecretVault, SettingsStore};
use crm_model::settings::secrets::{SecretName, SecretValue};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};

type Seen = Arc<Mutex<Vec<(HeaderMap, Value)>>>;

/// A switchboard that places every call it is asked for as `pbx-<n>`.
async fn switchboard(seen: Seen) -> String {
    let router = axum::Router::new().route(
        "/calls",
        axum::routing::post(
            |axum::extract::State(seen): axum::extract::State<Seen>,
             headers: HeaderMap,
             axum::Json(body): axum::Json<Value>| async move {
                let mut seen = seen.lock().unwrap();
                seen.push((headers, body));
                axum::Json(json!({"call_id": format!("pbx-{}", seen.len())}))
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router.with_state(seen))
            .await
            .unwrap();
    });
    format!("http://{address}")
}

fn sign(secret: &str, body: &str) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

#[tokio::test]
async fn a_call_is_placed_once_per_key_and_its_signed_events_fill_it_once() {
    let app = records_api().await;
    let tenant = Tenant::new(&app).await;
    let seen = Seen::default();
    let base = switchboard(seen.clone()).await;
    app.stores
        .settings
        .create(
            &tenant.id,
            &SettingId::new("pbx").unwrap(),
            &serde_json::from_value(json!({"kind": "voip_provider", "name": "Tổng đài",
                "base_url": base, "extensions": {"u-sales": "101"}}))
            .unwrap(),
        )
        .await
        .unwrap();
    let secret = format!("whsec-{}", tenant.id);
    let vault = crm_adapters::secrets::SecretsManagerVault::new(
        aws_sdk_secretsmanager::Client::new(&common::sdk().await),
    );
    vault
        .put(
            &SecretName::for_setting(
                &tenant.id,
                SettingKind::VoipProvider,
                &SettingId::new("pbx").unwrap(),
            ),
            &SecretValue::new(json!({"api_key": "pbx-api-key", "secret_key": secret}).to_string()),
        )
        .await
        .unwrap();
    let customer = create(
        &app,
        &tenant,
        "Customer",
        json!({"Name": "Đỗ Hạnh", "Phone": "0912345678"}),
    )
    .await;
    let path = format!("/customers/{customer}/calls");
    let ask = json!({"key": "call-1", "phone": "0912 345 678"});
    let placed = send(
        &app,
        &tenant.salesperson(),
        Method::POST,
        &path,
        Some(ask.clone()),
    )
    .await;
    assert_eq!(placed.status, StatusCode::CREATED, "{}", placed.body);
    assert_eq!(placed.body["fields"]["Status"], json!("Ringing"));
    let id = placed.body["id"].as_str().unwrap().to_owned();
    let again = send(&app, &tenant.salesperson(), Method::POST, &path, Some(ask)).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1, "asked once");
        let (headers, body) = &seen[0];
        assert_eq!(headers["authorization"], "Bearer pbx-api-key");
        assert_eq!(headers["idempotency-key"], id.as_str());
        assert_eq!(
            body,
            &json!({"extension": "101", "phone": "+84912345678", "call_ref": id})
        );
    }
    let stranger = send(
        &app,
        &tenant.salesperson(),
        Method::POST,
        &path,
        Some(json!({"key": "call-2", "phone": "0900000000"})),
    )
    .await;
    assert!(stranger.field_error("/phone"), "{}", stranger.body);

    let endpoint = format!("/voip/{}.pbx/events", tenant.id);
    let event = json!({"call_id": "pbx-1", "event": "ended", "direction": "outbound",
        "from": "101", "to": "0912345678", "at": "2026-06-01T02:05:00Z", "duration_seconds": 42,
        "recording_url": "https://pbx.example.vn/r/1.mp3", "call_ref": id})
    .to_string();
    for _ in 0..2 {
        let taken = common::call_raw(
            &app.router,
            Method::POST,
            &endpoint,
            None,
            Some(&event),
            "application/json",
            &[("x-crm-signature", &sign(&secret, &event))],
        )
        .await;
        assert_eq!(taken.status, StatusCode::OK, "{}", taken.body);
        assert_eq!(taken.body, json!({"id": id}));
    }
    let forged = common::call_raw(
        &app.router,
        Method::POST,
        &endpoint,
        None,
        Some(&event),
        "application/json",
        &[("x-crm-signature", &sign("guess", &event))],
    )
    .await;
    assert_eq!(forged.status, StatusCode::NOT_FOUND, "{}", forged.body);
    let read = call(
        &app.router,
        Method::GET,
        &format!("/records/Call/{id}"),
        Some(&tenant.salesperson()),
        None,
        &[],
    )
    .await;
    assert_eq!(read.body["fields"]["Status"], json!("Ended"));
    assert_eq!(read.body["fields"]["DurationSeconds"], json!(42));
    assert_eq!(read.body["fields"]["ProviderCallId"], json!("pbx-1"));
}
