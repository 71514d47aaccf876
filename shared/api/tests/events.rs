//! The HTTP API sample event goes through lambda_http's conversion, the JWT claims of its
//! request context and the router, as in Lambda.

mod common;

use axum::http::StatusCode;
use crm_model::user::Role;
use http_body_util::BodyExt;
use tower::ServiceExt;

#[tokio::test]
async fn the_list_workflows_sample_is_answered_for_the_tenant_its_claims_name() {
    let path = format!(
        "{}/../../events/workflow-api-list-workflows.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let request = lambda_http::request::from_str(&text).unwrap();
    let app = common::workflow_api().await;
    // The claims' subject is a user of the claims' tenant (the demo's administrator).
    common::ensure_user(&app, "demo-tenant", "u-admin", Role::Administrator).await;
    let response = app
        .router
        .clone()
        .oneshot(request.map(|body| axum::body::Body::from(body.to_vec())))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value =
        serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert!(body["items"].is_array(), "{body}");

    // Without the authorizer's claims the same request is refused.
    let anonymous = text.replace("\"authorizer\"", "\"no-authorizer\"");
    let request = lambda_http::request::from_str(&anonymous).unwrap();
    let response = app
        .router
        .clone()
        .oneshot(request.map(|body| axum::body::Body::from(body.to_vec())))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}
