//! Test harness: the real routers over the DynamoDB adapters on the local emulator, called with
//! in-process requests that carry JWT claims the way the local entry point does.
#![allow(dead_code)]

use aws_config::{BehaviorVersion, Region};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use tower::ServiceExt;

use crm_adapters::Tables;
use crm_adapters::dynamo::Stores;
use crm_api::LocalClaims;
use crm_model::ids::{TenantId, UserId};
use crm_model::ports::UserDirectory;
use crm_model::settings::outbound::OutboundPolicy;
use crm_model::user::{Role, User};

pub async fn sdk() -> aws_config::SdkConfig {
    let endpoint =
        std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "http://127.0.0.1:4566".into());
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .test_credentials()
        .load()
        .await
}

pub async fn dynamodb() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&sdk().await)
}

pub fn tables() -> Tables {
    Tables::from_env().unwrap_or_else(|_| Tables {
        settings: "crm-local-settings".into(),
        records: "crm-local-records".into(),
        schedule: "crm-local-schedule".into(),
        runs: "crm-local-runs".into(),
    })
}

pub struct App {
    pub router: Router,
    pub stores: Stores,
}

/// The workflow API as the local stack runs it: providers may be loopback stub servers.
pub async fn workflow_api() -> App {
    workflow_api_with(OutboundPolicy::LOCAL).await
}

pub async fn workflow_api_with(outbound: OutboundPolicy) -> App {
    let client = dynamodb().await;
    // A schedule table of its own: activations request backfills in the global due index.
    let mut tables = tables();
    let schedule = format!("{}-test-{}", tables.schedule, uuid::Uuid::new_v4().simple());
    crm_adapters::dynamo::copy_table_schema(&client, &tables.schedule, &schedule)
        .await
        .unwrap();
    tables.schedule = schedule;
    let stores = Stores::new(&client, &tables);
    let bus = std::env::var("AUTOMATION_BUS").unwrap_or_else(|_| "crm-local-automation".into());
    let publisher = crm_adapters::events::EventBridgeJobPublisher::new(
        aws_sdk_eventbridge::Client::new(&sdk().await),
        bus,
    );
    // The function's own composition root over the emulator's tables.
    let state = workflow_api::state(
        stores.clone(),
        Arc::new(publisher.clone()),
        aws_sdk_secretsmanager::Client::new(&sdk().await),
        outbound,
    );
    App {
        router: workflow_api::app(state),
        stores,
    }
}

/// Stores `user` as an active user of `tenant` with `role`.
pub async fn ensure_user(app: &App, tenant: &str, user: &str, role: Role) {
    ensure_user_in(app, &TenantId::new(tenant).unwrap(), user, role).await;
}

/// Stores `user` as an active user of `tenant` with `role`.
pub async fn ensure_user_in(app: &App, tenant: &TenantId, user: &str, role: Role) {
    let user = User {
        id: UserId::new(user).unwrap(),
        name: format!("Người dùng {user}"),
        email: format!("{user}@example.vn"),
        phone: None,
        team: None,
        role,
        manager: None,
        active: true,
    };
    app.stores.users.put(tenant, &user).await.unwrap();
}

/// A tenant of its own with an administrator, a salesperson and a manager.
pub struct Tenant {
    pub id: TenantId,
}

impl Tenant {
    pub async fn new(app: &App) -> Self {
        let id = TenantId::new(format!("t-{}", uuid::Uuid::new_v4().simple())).unwrap();
        for (user, role) in [
            ("u-admin", Role::Administrator),
            ("u-sales", Role::Salesperson),
            ("u-manager", Role::Administrator),
        ] {
            let user = User {
                id: UserId::new(user).unwrap(),
                name: format!("Người dùng {user}"),
                email: format!("{user}@example.vn"),
                phone: None,
                team: None,
                role,
                manager: None,
                active: true,
            };
            app.stores.users.put(&id, &user).await.unwrap();
        }
        Tenant { id }
    }

    pub fn admin(&self) -> HashMap<String, String> {
        self.claims("u-admin", "[admin]")
    }

    pub fn salesperson(&self) -> HashMap<String, String> {
        self.claims("u-sales", "[sales]")
    }

    pub fn claims(&self, user: &str, groups: &str) -> HashMap<String, String> {
        [
            ("custom:tenant_id".to_owned(), self.id.to_string()),
            ("sub".to_owned(), user.to_owned()),
            ("cognito:groups".to_owned(), groups.to_owned()),
        ]
        .into()
    }
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn etag(&self) -> String {
        self.headers
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    pub fn is_problem(&self) -> bool {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            == Some("application/problem+json")
    }

    pub fn field_error(&self, path: &str) -> bool {
        self.body["errors"]
            .as_array()
            .is_some_and(|errors| errors.iter().any(|e| e["path"] == path))
    }
}

pub async fn call(
    router: &Router,
    method: Method,
    path: &str,
    claims: Option<&HashMap<String, String>>,
    body: Option<Value>,
    extra: &[(&str, &str)],
) -> Answer {
    let raw = body.map(|b| b.to_string());
    call_raw(
        router,
        method,
        path,
        claims,
        raw.as_deref(),
        "application/json",
        extra,
    )
    .await
}

pub async fn call_raw(
    router: &Router,
    method: Method,
    path: &str,
    claims: Option<&HashMap<String, String>>,
    body: Option<&str>,
    content_type: &str,
    extra: &[(&str, &str)],
) -> Answer {
    let mut request = Request::builder().method(method).uri(path);
    if body.is_some() {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    let mut request = request
        .body(Body::from(body.unwrap_or("").to_owned()))
        .unwrap();
    if let Some(claims) = claims {
        request.extensions_mut().insert(LocalClaims(claims.clone()));
    }
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    Answer {
        status,
        headers,
        body,
    }
}

pub async fn records_api() -> App {
    let client = dynamodb().await;
    let stores = Stores::new(&client, &tables());
    let bucket = std::env::var("ATTACHMENTS_BUCKET")
        .unwrap_or_else(|_| "crm-local-attachmentsbucket".to_owned());
    let files = crm_adapters::attachments::S3Attachments::new(
        crm_adapters::attachments::S3Attachments::client(&sdk().await),
        bucket,
    );
    // The local stack's policy: stub switchboards listen on loopback over http.
    let state = records_api::state(
        stores.clone(),
        files,
        aws_sdk_secretsmanager::Client::new(&sdk().await),
        OutboundPolicy::LOCAL,
    );
    App {
        router: records_api::app(state),
        stores,
    }
}

// Records API helpers.

pub async fn send(
    app: &App,
    claims: &HashMap<String, String>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Answer {
    call(&app.router, method, path, Some(claims), body, &[]).await
}

pub async fn create(app: &App, tenant: &Tenant, module: &str, fields: Value) -> String {
    let answer = send(
        app,
        &tenant.salesperson(),
        Method::POST,
        &format!("/records/{module}"),
        Some(fields),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    answer.body["id"].as_str().unwrap().to_owned()
}

/// A record's fields, as the administrator (who reaches every record) reads them.
pub async fn fields(app: &App, tenant: &Tenant, module: &str, id: &str) -> Value {
    let answer = send(
        app,
        &tenant.admin(),
        Method::GET,
        &format!("/records/{module}/{id}"),
        None,
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.body["fields"].clone()
}
