//! The HTTP providers against local stub servers that speak their APIs: an eSMS-style brandname
//! gateway and Zalo's ZNS template-message API. What each stub received is checked, and how the
//! providers' answers map to success, permanent and transient failures.

use std::collections::BTreeMap;

mod support;

use support::{Seen, serve, zalo};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use crm_adapters::providers::{BrandnameSmsGateway, ZaloZns};
use crm_model::ports::{SendError, ZnsSender};
use crm_model::settings::ZnsProvider;
use crm_model::settings::outbound::OutboundPolicy;
use crm_model::settings::secrets::{AccessToken, GatewayKeys};
use serde_json::{Value, json};

async fn esms(
    State(seen): State<Seen>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    seen.lock().unwrap().push((headers, body.clone()));
    let answer = match body["Phone"].as_str() {
        _ if body["ApiKey"] != "key" || body["SecretKey"] != "secret" => {
            json!({"CodeResult": "101", "ErrorMessage": "Authorize Failed"})
        }
        Some("0900000000") => json!({"CodeResult": "118", "ErrorMessage": "Invalid phone"}),
        Some("0900000099") => return (StatusCode::SERVICE_UNAVAILABLE, Json(json!({}))),
        _ => {
            json!({"CodeResult": "100", "CountRegenerate": 0, "SMSID": format!("sms-{}", body["RequestId"].as_str().unwrap_or(""))})
        }
    };
    (StatusCode::OK, Json(answer))
}

fn keys(api_key: &str) -> GatewayKeys {
    GatewayKeys {
        api_key: api_key.into(),
        secret_key: "secret".into(),
    }
}

fn token(access_token: &str) -> AccessToken {
    AccessToken {
        access_token: access_token.into(),
    }
}

#[tokio::test]
async fn the_brandname_gateway_sends_national_numbers_in_unicode_and_maps_its_codes() {
    use crm_model::ports::SmsSender;
    let seen: Seen = Default::default();
    let base = serve(
        Router::new()
            .route(
                "/MainService.svc/json/SendMultipleMessage_V4_post_json/",
                post(esms),
            )
            .with_state(seen.clone()),
    )
    .await;
    let gateways = crm_adapters::providers::SmsGateways {
        sns: crm_adapters::send::SnsSmsSender::new(aws_sdk_sns::Client::from_conf(
            aws_sdk_sns::Config::builder()
                .behavior_version_latest()
                .build(),
        )),
        brandname: BrandnameSmsGateway::new(OutboundPolicy::LOCAL),
    };
    let gateway = crm_model::settings::SmsGateway::Brandname {
        base_url: base.clone(),
        brandname: "CRMDEMO".into(),
    };
    let right = keys("key");
    let id = gateways
        .send(
            &gateway,
            Some(&right),
            "+84912345678",
            "Chúc mừng sinh nhật An!",
            "req-1",
        )
        .await
        .unwrap();
    assert_eq!(id, "sms-req-1");
    let request = seen.lock().unwrap()[0].1.clone();
    assert_eq!(request["Phone"], "0912345678");
    assert_eq!(request["Content"], "Chúc mừng sinh nhật An!");
    assert_eq!(
        (
            request["Brandname"].as_str(),
            request["IsUnicode"].as_str(),
            request["SmsType"].as_str()
        ),
        (Some("CRMDEMO"), Some("1"), Some("2"))
    );

    assert!(
        matches!(gateways.send(&gateway, Some(&right), "+84900000000", "x", "req-2").await, Err(SendError::Permanent(m)) if m.contains("118"))
    );
    assert!(matches!(
        gateways
            .send(&gateway, Some(&right), "+84900000099", "x", "req-3")
            .await,
        Err(SendError::Transient(_))
    ));
    let tries = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, body)| body["Phone"] == "0900000099")
        .count();
    assert_eq!(
        tries, 3,
        "a transient failure is retried twice before it goes back to the queue"
    );
    assert!(
        matches!(gateways.send(&gateway, Some(&keys("wrong")), "+84912345678", "x", "req-4").await, Err(SendError::Permanent(m)) if m.contains("101"))
    );
    assert!(
        matches!(gateways.send(&gateway, None, "+84912345678", "x", "req-5").await, Err(SendError::Permanent(m)) if m.contains("not set")),
        "no call without credentials"
    );
    // Deployed (https to public hosts only), the loopback stub is refused before any request.
    let before = seen.lock().unwrap().len();
    let deployed = BrandnameSmsGateway::new(OutboundPolicy::PUBLIC);
    let deployed = crm_adapters::providers::SmsGateways {
        brandname: deployed,
        sns: gateways.sns.clone(),
    };
    assert!(matches!(
        deployed.send(&gateway, Some(&right), "+84912345678", "x", "req-6").await,
        Err(SendError::Permanent(m)) if m.contains("refused")
    ));
    assert_eq!(
        seen.lock().unwrap().len(),
        before,
        "the stub received nothing"
    );
}

#[tokio::test]
async fn zns_sends_the_template_data_with_the_tracking_id_and_maps_zalo_errors() {
    let seen: Seen = Default::default();
    let base = serve(
        Router::new()
            .route("/message/template", post(zalo))
            .with_state(seen.clone()),
    )
    .await;
    let zns = ZaloZns::new(OutboundPolicy::LOCAL);
    let provider = ZnsProvider {
        name: "OA".into(),
        oa_id: "1234".into(),
        base_url: base.clone(),
    };
    let oa = token("oa-token");
    let data: BTreeMap<String, String> = [
        ("customer_name".to_owned(), "Nguyễn Thị Mai".to_owned()),
        ("birthday".to_owned(), "08/03/1992".to_owned()),
    ]
    .into();
    let id = zns
        .send(
            &provider,
            &oa,
            "84912345678",
            "231677",
            &data,
            "t/wf/c1/Y2027/zns",
        )
        .await
        .unwrap();
    assert_eq!(id, "zns-t/wf/c1/Y2027/zns");
    let (headers, body) = seen.lock().unwrap()[0].clone();
    assert_eq!(headers["access_token"], "oa-token");
    assert_eq!(body["template_id"], "231677");
    assert_eq!(body["template_data"]["customer_name"], "Nguyễn Thị Mai");
    assert_eq!(body["tracking_id"], "t/wf/c1/Y2027/zns");

    assert!(
        matches!(zns.send(&provider, &oa, "84900000000", "231677", &data, "t2").await, Err(SendError::Permanent(m)) if m.contains("-108"))
    );
    assert!(matches!(
        zns.send(&provider, &oa, "84900000032", "231677", &data, "t3")
            .await,
        Err(SendError::Transient(_))
    ));
    assert!(matches!(
        zns.send(
            &provider,
            &token("expired"),
            "84912345678",
            "231677",
            &data,
            "t4"
        )
        .await,
        Err(SendError::Permanent(_))
    ));
    let down = ZnsProvider {
        base_url: "http://127.0.0.1:9".into(),
        ..provider
    };
    assert!(matches!(
        zns.send(&down, &oa, "84912345678", "231677", &data, "t5")
            .await,
        Err(SendError::Transient(_))
    ));
}
