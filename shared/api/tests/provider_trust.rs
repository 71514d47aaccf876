//! Provider settings at the trust boundary, end to end over the emulator (DynamoDB and Secrets
//! Manager): credentials are written to a name the server derives from the caller's tenant and
//! are never shown again; a provider cannot name a secret; provider URLs reach public https
//! hosts only.

mod common;

use axum::http::{Method, StatusCode};
use common::{App, Tenant, call, workflow_api, workflow_api_with};
use crm_model::settings::outbound::OutboundPolicy;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

async fn send(
    app: &App,
    method: Method,
    path: &str,
    claims: &HashMap<String, String>,
    body: Option<Value>,
) -> common::Answer {
    call(&app.router, method, path, Some(claims), body, &[]).await
}

/// A loopback listener that counts the connections it receives (it answers none).
async fn counting_stub() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((_socket, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
        }
    });
    (base, count)
}

fn brandname(base_url: &str) -> Value {
    json!({"id": "esms", "name": "eSMS", "gateway": {"type": "brandname", "base_url": base_url, "brandname": "CRMDEMO"}})
}

#[tokio::test]
async fn credentials_are_write_only_and_kept_under_the_callers_tenant() {
    let app = workflow_api().await;
    let (a, b) = (Tenant::new(&app).await, Tenant::new(&app).await);
    let (stub, _) = counting_stub().await;
    for tenant in [&a, &b] {
        let created = send(
            &app,
            Method::POST,
            "/settings/sms-providers",
            &tenant.admin(),
            Some(brandname(&stub)),
        )
        .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    }
    let path = "/settings/sms-providers/esms/credentials";
    let before = send(&app, Method::GET, path, &a.admin(), None).await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.body);
    assert_eq!(before.body, json!({"configured": false}));

    let set = send(
        &app,
        Method::PUT,
        path,
        &a.admin(),
        Some(json!({"api_key": "key-of-a", "secret_key": "secret-of-a"})),
    )
    .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    assert_eq!(set.body["configured"], true);
    assert!(set.body["updated_at"].is_string());
    // Tenant B's provider of the same id is still without credentials: a different secret.
    let other = send(&app, Method::GET, path, &b.admin(), None).await;
    assert_eq!(other.body["configured"], false, "{}", other.body);

    // No answer ever carries the value.
    for read in [
        send(&app, Method::GET, path, &a.admin(), None).await,
        send(
            &app,
            Method::GET,
            "/settings/sms-providers/esms",
            &a.admin(),
            None,
        )
        .await,
        send(
            &app,
            Method::GET,
            "/settings/sms-providers",
            &a.admin(),
            None,
        )
        .await,
    ] {
        assert_eq!(read.status, StatusCode::OK);
        let text = read.body.to_string();
        assert!(
            !text.contains("key-of-a") && !text.contains("secret-of-a"),
            "{text}"
        );
    }

    // Salespeople neither set nor look; a wrong shape or an empty key changes nothing.
    for method in [Method::GET, Method::PUT, Method::DELETE] {
        let body = (method == Method::PUT).then(|| json!({"api_key": "x", "secret_key": "y"}));
        let refused = send(&app, method.clone(), path, &a.salesperson(), body).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{method}");
    }
    for body in [
        json!({"access_token": "t"}),
        json!({"api_key": "", "secret_key": "s"}),
    ] {
        let refused = send(&app, Method::PUT, path, &a.admin(), Some(body.clone())).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            refused.body
        );
        assert!(refused.is_problem());
    }
    // A template takes no credentials; an unknown setting has none.
    let template = send(
        &app,
        Method::POST,
        "/settings/sms-templates",
        &a.admin(),
        Some(json!({"id": "hello", "name": "Chào", "module": "Customer", "body": "Chào #Name"})),
    )
    .await;
    assert_eq!(template.status, StatusCode::CREATED, "{}", template.body);
    for missing in [
        "/settings/sms-templates/hello/credentials",
        "/settings/sms-providers/nope/credentials",
    ] {
        let answer = send(
            &app,
            Method::PUT,
            missing,
            &a.admin(),
            Some(json!({"api_key": "k", "secret_key": "s"})),
        )
        .await;
        assert_eq!(
            answer.status,
            StatusCode::NOT_FOUND,
            "{missing}: {}",
            answer.body
        );
    }

    // Removing them, or the provider, leaves nothing behind.
    let removed = send(&app, Method::DELETE, path, &a.admin(), None).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    assert_eq!(
        send(&app, Method::GET, path, &a.admin(), None).await.body["configured"],
        false
    );
    let again = send(
        &app,
        Method::PUT,
        path,
        &b.admin(),
        Some(json!({"api_key": "k-b", "secret_key": "s-b"})),
    )
    .await;
    assert_eq!(again.status, StatusCode::OK);
    let deleted = call(
        &app.router,
        Method::DELETE,
        "/settings/sms-providers/esms",
        Some(&b.admin()),
        None,
        &[("if-match", "\"1\"")],
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    let recreated = send(
        &app,
        Method::POST,
        "/settings/sms-providers",
        &b.admin(),
        Some(brandname(&stub)),
    )
    .await;
    assert_eq!(recreated.status, StatusCode::CREATED, "{}", recreated.body);
    let fresh = send(&app, Method::GET, path, &b.admin(), None).await;
    assert_eq!(
        fresh.body["configured"], false,
        "a new provider of the same id starts without credentials"
    );
}

#[tokio::test]
async fn a_provider_that_names_a_secret_or_an_inside_address_is_refused_and_nothing_is_called() {
    let app = workflow_api().await;
    let (a, b) = (Tenant::new(&app).await, Tenant::new(&app).await);
    let (stub, connections) = counting_stub().await;
    // Tenant B's credentials exist; tenant A names them.
    let created = send(
        &app,
        Method::POST,
        "/settings/sms-providers",
        &b.admin(),
        Some(brandname(&stub)),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let set = send(
        &app,
        Method::PUT,
        "/settings/sms-providers/esms/credentials",
        &b.admin(),
        Some(json!({"api_key": "b", "secret_key": "b"})),
    )
    .await;
    assert_eq!(set.status, StatusCode::OK);
    let mut naming = brandname(&stub);
    naming["gateway"]["credentials_secret"] = json!(format!("crm/{}/sms-providers/esms", b.id));
    let refused = send(
        &app,
        Method::POST,
        "/settings/sms-providers",
        &a.admin(),
        Some(naming),
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(
        refused.field_error("/gateway/credentials_secret"),
        "{}",
        refused.body
    );
    for (kind, body, field) in [
        (
            "zns-providers",
            json!({"name": "OA", "oa_id": "1", "base_url": stub, "access_token_secret": "crm/x"}),
            "/access_token_secret",
        ),
        (
            "task-connections",
            json!({"name": "Jira", "url": stub, "signing_secret": "crm/x"}),
            "/signing_secret",
        ),
    ] {
        let refused = send(
            &app,
            Method::POST,
            &format!("/settings/{kind}"),
            &a.admin(),
            Some(body),
        )
        .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{kind}: {}",
            refused.body
        );
        assert!(refused.field_error(field), "{kind}: {}", refused.body);
    }

    for url in [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "https://169.254.169.254/",
        "https://[fd00:ec2::254]/",
        "https://10.0.0.1/",
        "https://192.168.0.10/",
        "https://metadata.google.internal/",
        "ftp://sms.example.vn/",
    ] {
        let refused = send(
            &app,
            Method::POST,
            "/settings/sms-providers",
            &a.admin(),
            Some(brandname(url)),
        )
        .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{url}: {}",
            refused.body
        );
        assert!(
            refused.field_error("/gateway/base_url"),
            "{url}: {}",
            refused.body
        );
    }
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "the stub received nothing"
    );
    let listed = send(
        &app,
        Method::GET,
        "/settings/sms-providers",
        &a.admin(),
        None,
    )
    .await;
    assert_eq!(listed.body["items"], json!([]), "nothing was saved");
}

#[tokio::test]
async fn deployed_providers_are_reached_over_https_on_public_hosts_only() {
    let app = workflow_api_with(OutboundPolicy::PUBLIC).await;
    let tenant = Tenant::new(&app).await;
    let (stub, connections) = counting_stub().await;
    for url in [
        stub.as_str(),
        "http://sms.example.vn/",
        "https://localhost/",
        "https://127.0.0.1/",
    ] {
        let refused = send(
            &app,
            Method::POST,
            "/settings/sms-providers",
            &tenant.admin(),
            Some(brandname(url)),
        )
        .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{url}: {}",
            refused.body
        );
    }
    let accepted = send(
        &app,
        Method::POST,
        "/settings/sms-providers",
        &tenant.admin(),
        Some(brandname("https://rest.esms.vn")),
    )
    .await;
    assert_eq!(accepted.status, StatusCode::CREATED, "{}", accepted.body);
    assert_eq!(connections.load(Ordering::SeqCst), 0);
}
