//! A mailbox's OAuth2 token endpoint (Google's, Microsoft's): the `refresh_token` grant
//! (RFC 6749 §6) through the outbound-checked HTTP client, so that the endpoint an administrator
//! names is reached over https at a public address only.

use async_trait::async_trait;
use serde::Deserialize;

use crm_model::mailbox::ports::{MailError, TokenExchange};
use crm_model::settings::outbound::OutboundPolicy;
use crm_model::settings::secrets::{OAuthRefresh, scrub};

/// Trades refresh tokens for access tokens over HTTPS.
#[derive(Debug, Clone)]
pub struct HttpTokenExchange {
    client: reqwest::Client,
    policy: OutboundPolicy,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
}

impl HttpTokenExchange {
    pub fn new(policy: OutboundPolicy) -> Self {
        Self {
            client: crate::outbound::http_client(policy),
            policy,
        }
    }
}

#[async_trait]
impl TokenExchange for HttpTokenExchange {
    async fn access_token(
        &self,
        token_url: &str,
        refresh: &OAuthRefresh,
    ) -> Result<String, MailError> {
        let url = self.policy.check_url(token_url).map_err(|reason| {
            MailError::Unreachable(format!("token endpoint refused: {reason}"))
        })?;
        let form = serde_urlencoded::to_string([
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.refresh_token.as_str()),
            ("client_id", refresh.client_id.as_str()),
            ("client_secret", refresh.client_secret.as_str()),
        ])
        .map_err(|e| MailError::Protocol(e.to_string()))?;
        let answer = self
            .client
            .post(url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .body(form)
            .send()
            .await
            .map_err(|e| MailError::Unreachable(format!("token endpoint: {e}")))?;
        let status = answer.status();
        let body = answer
            .text()
            .await
            .map_err(|e| MailError::Unreachable(format!("token endpoint: {e}")))?;
        // The endpoint may echo what it was sent: never kept or logged as is.
        let secrets = [
            refresh.refresh_token.as_str(),
            refresh.client_secret.as_str(),
        ];
        if status.is_client_error() {
            return Err(MailError::Login(format!(
                "the token endpoint refused the refresh token ({status}): {}",
                scrub(&body, &secrets, 300)
            )));
        }
        if !status.is_success() {
            return Err(MailError::Unreachable(format!(
                "the token endpoint answered {status}"
            )));
        }
        serde_json::from_str::<TokenAnswer>(&body)
            .map(|t| t.access_token)
            .map_err(|_| MailError::Protocol("the token endpoint gave no access_token".into()))
    }
}
