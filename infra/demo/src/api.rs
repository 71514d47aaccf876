//! The console's APIs as the demo calls them: the `workflow-api` and `records-api` functions under
//! the Lambda RIE, with an administrator's JWT claims in an HTTP API request.

use axum::http::StatusCode;
use serde_json::Value;

use crate::lambda::{Lambda, http_event};

pub struct Api<'a> {
    pub function: &'a Lambda,
    pub claims: serde_json::Map<String, Value>,
}

impl Api<'_> {
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<(StatusCode, Value), String> {
        let event = http_event(method, path, &self.claims, body.as_ref());
        let response = self.function.invoke(&event).await?;
        let status = response["statusCode"]
            .as_u64()
            .and_then(|s| StatusCode::from_u16(s as u16).ok())
            .ok_or_else(|| format!("{method} {path}: no status in {response}"))?;
        let body = match response["body"].as_str() {
            Some(text) if !text.is_empty() => {
                serde_json::from_str(text).map_err(|e| format!("{method} {path}: {e}"))?
            }
            _ => Value::Null,
        };
        Ok((status, body))
    }

    /// Creates something with a fixed id; on a second run it is already there.
    pub async fn ensure(&self, path: &str, body: Value, what: &str) -> Result<bool, String> {
        match self.call("POST", path, Some(body)).await? {
            (StatusCode::CREATED, _) => Ok(true),
            (StatusCode::CONFLICT, _) => Ok(false),
            (status, body) => Err(format!("creating {what}: {status} {body}")),
        }
    }
}
