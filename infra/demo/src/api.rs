//! The settings API as the demo calls it: the real router, in process, with an administrator's
//! JWT claims.

use std::collections::HashMap;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use crm_api::LocalClaims;

pub struct Api {
    pub router: Router,
    pub claims: HashMap<String, String>,
}

impl Api {
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(StatusCode, Value), String> {
        let mut request = Request::builder().method(method).uri(path);
        if body.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut request = request.body(Body::from(body)).map_err(|e| e.to_string())?;
        request
            .extensions_mut()
            .insert(LocalClaims(self.claims.clone()));
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).map_err(|e| e.to_string())?
        };
        Ok((status, value))
    }

    /// Creates something with a fixed id; on a second run it is already there.
    pub async fn ensure(&self, path: &str, body: Value, what: &str) -> Result<bool, String> {
        match self.call(Method::POST, path, Some(body)).await? {
            (StatusCode::CREATED, _) => Ok(true),
            (StatusCode::CONFLICT, _) => Ok(false),
            (status, body) => Err(format!("creating {what}: {status} {body}")),
        }
    }
}
