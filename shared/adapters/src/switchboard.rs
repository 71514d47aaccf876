//! A VOIP switchboard over HTTP: `POST {base_url}/calls` with the tenant's API key as a bearer
//! token and `{extension, phone, call_ref}`; it answers `{"call_id": "..."}`. The CRM's call id
//! travels as `call_ref` and as the Idempotency-Key header, so that a request sent again (a
//! retry after no answer) places no second call. Every request goes through the
//! outbound-checked client.

use async_trait::async_trait;
use serde_json::json;

use crate::outbound::{checked_url, http_client};
use crate::providers::{post_json, with_retries};
use crm_model::ports::SendError;
use crm_model::run::providers::Switchboard;
use crm_model::settings::VoipProvider;
use crm_model::settings::outbound::OutboundPolicy;
use crm_model::settings::secrets::GatewayKeys;

#[derive(Debug, Clone)]
pub struct HttpSwitchboard {
    http: reqwest::Client,
    policy: OutboundPolicy,
}

impl HttpSwitchboard {
    pub fn new(policy: OutboundPolicy) -> Self {
        Self {
            http: http_client(policy),
            policy,
        }
    }
}

#[async_trait]
impl Switchboard for HttpSwitchboard {
    async fn dial(
        &self,
        provider: &VoipProvider,
        keys: &GatewayKeys,
        extension: &str,
        phone: &str,
        call_ref: &str,
    ) -> Result<String, SendError> {
        let url = checked_url(
            self.policy,
            &format!("{}/calls", provider.base_url.trim_end_matches('/')),
        )?;
        with_retries(|| async {
            let answer = post_json(
                self.http
                    .post(url.clone())
                    .bearer_auth(&keys.api_key)
                    .header("Idempotency-Key", call_ref)
                    .json(&json!({"extension": extension, "phone": phone, "call_ref": call_ref})),
            )
            .await?;
            answer["call_id"]
                .as_str()
                .filter(|id| !id.is_empty() && id.len() <= 128)
                .map(str::to_owned)
                .ok_or_else(|| {
                    SendError::Permanent("the switchboard answered without a call_id".into())
                })
        })
        .await
    }
}
