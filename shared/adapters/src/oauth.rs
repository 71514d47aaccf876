//! A mailbox's OAuth2 token endpoint (Google's, Microsoft's): the `refresh_token` grant
//! (RFC 6749 §6) through the outbound-checked HTTP client, so that the endpoint an administrator
//! names is reached over https at a public address only.

use async_trait::async_trait;
use serde::Deserialize;

use crm_model::mailbox::ports::{Exchanged, MailError, TokenExchange};
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
    #[serde(default)]
    refresh_token: Option<String>,
}

/// The most of a token endpoint's answer read: a token answer is a few KB, and an endpoint an
/// administrator names must not fill the sandbox every tenant's sync shares.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

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
    ) -> Result<Exchanged, MailError> {
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
        let mut answer = self
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
        let mut bytes = Vec::new();
        while let Some(chunk) = answer
            .chunk()
            .await
            .map_err(|e| MailError::Unreachable(format!("token endpoint: {e}")))?
        {
            if bytes.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(MailError::Protocol(format!(
                    "the token endpoint's answer is over {} KB",
                    MAX_ANSWER_BYTES / 1024
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        let body = String::from_utf8_lossy(&bytes);
        // The endpoint may echo what it was sent, as sent: never kept or logged as is.
        let encoded: Vec<String> = [&refresh.refresh_token, &refresh.client_secret]
            .iter()
            .map(|s| serde_urlencoded::to_string([("", s.as_str())]).unwrap_or_default())
            .map(|pair| pair.trim_start_matches('=').to_owned())
            .collect();
        let secrets = [
            refresh.refresh_token.as_str(),
            refresh.client_secret.as_str(),
            encoded[0].as_str(),
            encoded[1].as_str(),
        ];
        // Too many requests, or a timeout: the next run asks again.
        let transient = matches!(status.as_u16(), 408 | 429);
        if status.is_client_error() && !transient {
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
        match serde_json::from_str::<TokenAnswer>(&body) {
            Ok(answer) if !answer.access_token.is_empty() => Ok(Exchanged {
                access_token: answer.access_token,
                refresh_token: answer.refresh_token.filter(|t| !t.is_empty()),
            }),
            _ => Err(MailError::Protocol(
                "the token endpoint gave no access_token".into(),
            )),
        }
    }
}
