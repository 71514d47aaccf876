//! Outbound sync of created tasks: an HTTP POST to the external task app, signed with
//! HMAC-SHA256 over the body (header `X-Signature: sha256=<hex>`), with the job's idempotency
//! key in `Idempotency-Key`, retried on transient failures.

use async_trait::async_trait;
use aws_lc_rs::hmac;

use crate::outbound::{checked_url, http_client};
use crate::providers::{post_json, with_retries};
use crm_model::ports::{SendError, TaskSync};
use crm_model::settings::TaskConnection;
use crm_model::settings::outbound::OutboundPolicy;
use crm_model::settings::secrets::SigningKey;

#[derive(Debug, Clone)]
pub struct HttpTaskSync {
    http: reqwest::Client,
    policy: OutboundPolicy,
}

/// `sha256=<hex>` of the body under the key.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let tag = hmac::sign(&key, body);
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

impl HttpTaskSync {
    pub fn new(policy: OutboundPolicy) -> Self {
        Self {
            http: http_client(policy),
            policy,
        }
    }
}

#[async_trait]
impl TaskSync for HttpTaskSync {
    async fn push(
        &self,
        connection: &TaskConnection,
        key: &SigningKey,
        task: &serde_json::Value,
        idempotency_key: &str,
    ) -> Result<String, SendError> {
        let url = checked_url(self.policy, &connection.url)?;
        let body = serde_json::to_vec(task).map_err(|e| SendError::Permanent(e.to_string()))?;
        let signed = signature(&key.signing_key, &body);
        with_retries(|| {
            let request = self
                .http
                .post(url.clone())
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
