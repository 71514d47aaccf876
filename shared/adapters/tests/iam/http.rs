//! Requests to an API router in process, with the JWT claims API Gateway's authorizer passes.

use std::collections::HashMap;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use crm_api::LocalClaims;
use crm_model::ids::TenantId;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

pub struct Caller {
    router: Router,
    claims: HashMap<String, String>,
}

pub struct Answer {
    pub status: StatusCode,
    pub etag: String,
    pub body: Value,
}

impl Caller {
    pub fn new(router: Router, tenant: &TenantId, user: &str, groups: &str) -> Self {
        let claims = [
            ("custom:tenant_id".to_owned(), tenant.to_string()),
            ("sub".to_owned(), user.to_owned()),
            ("cognito:groups".to_owned(), groups.to_owned()),
        ]
        .into();
        Self { router, claims }
    }

    /// The same router as another user of the tenant.
    pub fn as_user(&self, user: &str) -> Self {
        let mut claims = self.claims.clone();
        claims.insert("sub".into(), user.into());
        Self {
            router: self.router.clone(),
            claims,
        }
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        if_match: Option<&str>,
    ) -> Answer {
        self.send_with(method, path, body, if_match, &[]).await
    }

    /// A request with `headers` besides the usual ones.
    pub async fn send_with(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        if_match: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = Request::builder().method(method.clone()).uri(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if body.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        if let Some(etag) = if_match {
            request = request.header(header::IF_MATCH, etag);
        }
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut request = request.body(Body::from(body)).unwrap();
        request
            .extensions_mut()
            .insert(LocalClaims(self.claims.clone()));
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let etag = response
            .headers()
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer { status, etag, body }
    }

    /// A request that must succeed with `expected`.
    pub async fn ok(
        &self,
        expected: StatusCode,
        method: Method,
        path: &str,
        body: Option<Value>,
        if_match: Option<&str>,
    ) -> Answer {
        let answer = self.send(method.clone(), path, body, if_match).await;
        assert_eq!(answer.status, expected, "{method} {path}: {}", answer.body);
        answer
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.ok(StatusCode::OK, Method::GET, path, None, None).await
    }

    pub async fn post(&self, expected: StatusCode, path: &str, body: Value) -> Answer {
        self.ok(expected, Method::POST, path, Some(body), None)
            .await
    }
}
