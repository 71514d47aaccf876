//! Outbound sync of created tasks: an HTTP POST to the external task app, signed with
//! HMAC-SHA256 over the body (header `X-Signature: sha256=<hex>`), with the job's idempotency
//! key in `Idempotency-Key`, retried on transient failures.

use async_trait::async_trait;
use aws_lc_rs::hmac;

use crate::providers::{Secrets, post_json, with_retries};
use crm_model::ports::{SendError, TaskSync};
use crm_model::settings::TaskConnection;

#[derive(Debug, Clone)]
pub struct HttpTaskSync {
    http: reqwest::Client,
    secrets: Secrets,
}

/// `sha256=<hex>` of the body under the key.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let tag = hmac::sign(&key, body);
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

impl HttpTaskSync {
    pub fn new(secrets: Secrets) -> Self {
        Self {
            http: crate::providers::http(),
            secrets,
        }
    }
}

#[async_trait]
impl TaskSync for HttpTaskSync {
    async fn push(
        &self,
        connection: &TaskConnection,
        task: &serde_json::Value,
        idempotency_key: &str,
    ) -> Result<String, SendError> {
        let secret = self.secrets.get(&connection.signing_secret)?;
        let body = serde_json::to_vec(task).map_err(|e| SendError::Permanent(e.to_string()))?;
        let signed = signature(&secret, &body);
        with_retries(|| {
            let request = self
                .http
                .post(&connection.url)
                .header("content-type", "application/json")
                .header("x-signature", &signed)
                .header("idempotency-key", idempotency_key)
                .body(body.clone());
            async move {
                let answer = post_json(request).await?;
                Ok(answer
                    .get("id")
                    .and_then(|id| id.as_str().map(str::to_owned))
                    .unwrap_or_else(|| "accepted".into()))
            }
        })
        .await
    }
}
