//! HTTP providers for Vietnamese carriers: a brandname SMS gateway with an eSMS-style JSON API,
//! and Zalo's ZNS template-message API. The executor hands each call the tenant's credentials
//! (read from the vault under the tenant's own name); every request goes through the
//! outbound-checked client of `outbound`.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

use crate::outbound::{checked_url, http_client};
use crate::send::SnsSmsSender;
use crm_model::ports::{SendError, SmsSender, ZnsSender};
use crm_model::run::execute::PROVIDER_CALL_SECONDS;
use crm_model::settings::outbound::OutboundPolicy;
use crm_model::settings::secrets::{AccessToken, GatewayKeys};
use crm_model::settings::{SmsGateway, ZnsProvider};

/// Sends a request and reads a JSON answer, mapping transport failures and HTTP statuses.
pub(crate) async fn post_json(
    request: reqwest::RequestBuilder,
) -> Result<serde_json::Value, SendError> {
    let response = request.send().await.map_err(transport)?;
    let code = response.status();
    let body = response.text().await.map_err(transport)?;
    if let Some(error) = status(code, &body) {
        return Err(error);
    }
    Ok(serde_json::from_str(&body).unwrap_or(serde_json::Value::Null))
}

/// Tries a send up to three times while the provider answers with a transient error, waiting
/// 200 ms, then 400 ms, each with up to 50 % random jitter (so that concurrent executors do not
/// retry in step), all within [`PROVIDER_CALL_SECONDS`]: an attempt is cut off when that time is
/// spent, and none starts after it. A send that still fails goes back to the queue, which
/// redelivers it later.
pub(crate) async fn with_retries<F, Fut>(send: F) -> Result<String, SendError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<String, SendError>>,
{
    let budget = Duration::from_secs(PROVIDER_CALL_SECONDS.unsigned_abs());
    within(budget, send).await
}

async fn within<F, Fut>(budget: Duration, mut send: F) -> Result<String, SendError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<String, SendError>>,
{
    let started = tokio::time::Instant::now();
    let mut attempt = 0u32;
    loop {
        let left = budget.saturating_sub(started.elapsed());
        let result = match tokio::time::timeout(left, send()).await {
            Ok(result) => result,
            Err(_) => {
                return Err(SendError::Transient(format!(
                    "no answer within {} s",
                    budget.as_secs()
                )));
            }
        };
        match result {
            Err(SendError::Transient(_)) if attempt < 2 => {
                let base = 200u64 << attempt;
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.subsec_nanos());
                let jitter = u64::from(nanos) % (base / 2 + 1);
                let pause = Duration::from_millis(base + jitter);
                if started.elapsed() + pause >= budget {
                    return result;
                }
                tokio::time::sleep(pause).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

fn transport(error: reqwest::Error) -> SendError {
    // Timeouts and refused connections are worth a retry.
    SendError::Transient(format!("HTTP: {error}"))
}

/// How much of an error body a failure quotes: the provider's reason, not its whole page.
const QUOTED_BODY_CHARS: usize = 300;

fn status(status: reqwest::StatusCode, body: &str) -> Option<SendError> {
    let quoted: String = body.chars().take(QUOTED_BODY_CHARS).collect();
    if status.is_redirection() {
        // Redirects are not followed: a provider API has no reason to send one, and following
        // it would take the credentials wherever it points.
        Some(SendError::Permanent(format!(
            "HTTP {status}: redirects are not followed"
        )))
    } else if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        Some(SendError::Transient(format!("HTTP {status}: {quoted}")))
    } else if !status.is_success() {
        Some(SendError::Permanent(format!("HTTP {status}: {quoted}")))
    } else {
        None
    }
}

/// An eSMS-style brandname gateway (`SendMultipleMessage_V4_post_json`).
#[derive(Debug, Clone)]
pub struct BrandnameSmsGateway {
    http: reqwest::Client,
    policy: OutboundPolicy,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GatewayAnswer {
    code_result: String,
    #[serde(rename = "SMSID", default)]
    sms_id: Option<String>,
    #[serde(default)]
    error_message: Option<String>,
}

impl BrandnameSmsGateway {
    pub fn new(policy: OutboundPolicy) -> Self {
        Self {
            http: http_client(policy),
            policy,
        }
    }

    async fn send(
        &self,
        base_url: &str,
        brandname: &str,
        credentials: &GatewayKeys,
        to: &str,
        text: &str,
        request_id: &str,
    ) -> Result<String, SendError> {
        // The gateway takes national numbers (0912…).
        let national = to
            .strip_prefix("+84")
            .map(|n| format!("0{n}"))
            .unwrap_or_else(|| to.to_owned());
        let url = checked_url(
            self.policy,
            &format!(
                "{}/MainService.svc/json/SendMultipleMessage_V4_post_json/",
                base_url.trim_end_matches('/')
            ),
        )?;
        let response = self
            .http
            .post(url)
            .json(&json!({
                "ApiKey": credentials.api_key, "SecretKey": credentials.secret_key,
                "Phone": national, "Content": text, "Brandname": brandname,
                "SmsType": "2", "IsUnicode": "1", "RequestId": request_id,
            }))
            .send()
            .await
            .map_err(transport)?;
        let code = response.status();
        let body = response.text().await.map_err(transport)?;
        if let Some(error) = status(code, &body) {
            return Err(error);
        }
        let answer: GatewayAnswer = serde_json::from_str(&body)
            .map_err(|e| SendError::Transient(format!("unreadable gateway answer: {e}")))?;
        match answer.code_result.as_str() {
            "100" => answer
                .sms_id
                .ok_or_else(|| SendError::Transient("gateway accepted without an SMSID".into())),
            // 99: an unknown error on the gateway's side.
            "99" => Err(SendError::Transient(format!(
                "gateway code 99: {}",
                answer.error_message.unwrap_or_default()
            ))),
            other => Err(SendError::Permanent(format!(
                "gateway code {other}: {}",
                answer.error_message.unwrap_or_default()
            ))),
        }
    }
}

/// SMS through whichever gateway the provider setting names.
#[derive(Debug, Clone)]
pub struct SmsGateways {
    pub sns: SnsSmsSender,
    pub brandname: BrandnameSmsGateway,
}

#[async_trait]
impl SmsSender for SmsGateways {
    async fn send(
        &self,
        gateway: &SmsGateway,
        keys: Option<&GatewayKeys>,
        to: &str,
        text: &str,
        request_id: &str,
    ) -> Result<String, SendError> {
        match gateway {
            SmsGateway::Sns { sender_id } => self.sns.send(sender_id, to, text).await,
            SmsGateway::Brandname {
                base_url,
                brandname,
            } => {
                let keys = keys.ok_or_else(|| {
                    SendError::Permanent("the gateway's credentials are not set".into())
                })?;
                // The request id lets the gateway drop a retried duplicate.
                with_retries(|| {
                    self.brandname
                        .send(base_url, brandname, keys, to, text, request_id)
                })
                .await
            }
        }
    }
}

/// Zalo's ZNS template-message API (`POST {base}/message/template`).
#[derive(Debug, Clone)]
pub struct ZaloZns {
    http: reqwest::Client,
    policy: OutboundPolicy,
}

#[derive(Deserialize)]
struct ZaloAnswer {
    error: i64,
    #[serde(default)]
    message: String,
    #[serde(default)]
    data: Option<ZaloData>,
}

#[derive(Deserialize)]
struct ZaloData {
    msg_id: String,
}

/// Zalo's "too many requests" answer; everything else it refuses is permanent.
const ZALO_RATE_LIMITED: i64 = -32;

impl ZaloZns {
    pub fn new(policy: OutboundPolicy) -> Self {
        Self {
            http: http_client(policy),
            policy,
        }
    }
}

#[async_trait]
impl ZnsSender for ZaloZns {
    async fn send(
        &self,
        provider: &ZnsProvider,
        token: &AccessToken,
        phone: &str,
        template_id: &str,
        data: &BTreeMap<String, String>,
        tracking_id: &str,
    ) -> Result<String, SendError> {
        with_retries(|| self.send_once(provider, token, phone, template_id, data, tracking_id))
            .await
    }
}

impl ZaloZns {
    async fn send_once(
        &self,
        provider: &ZnsProvider,
        token: &AccessToken,
        phone: &str,
        template_id: &str,
        data: &BTreeMap<String, String>,
        tracking_id: &str,
    ) -> Result<String, SendError> {
        let url = checked_url(
            self.policy,
            &format!(
                "{}/message/template",
                provider.base_url.trim_end_matches('/')
            ),
        )?;
        let response = self
            .http
            .post(url)
            .header("access_token", &token.access_token)
            .json(&json!({"phone": phone, "template_id": template_id, "template_data": data, "tracking_id": tracking_id}))
            .send()
            .await
            .map_err(transport)?;
        let code = response.status();
        let body = response.text().await.map_err(transport)?;
        if let Some(error) = status(code, &body) {
            return Err(error);
        }
        let answer: ZaloAnswer = serde_json::from_str(&body)
            .map_err(|e| SendError::Transient(format!("unreadable Zalo answer: {e}")))?;
        match (answer.error, answer.data) {
            (0, Some(data)) => Ok(data.msg_id),
            (0, None) => Err(SendError::Transient(
                "Zalo accepted without a msg_id".into(),
            )),
            (ZALO_RATE_LIMITED, _) => Err(SendError::Transient(format!(
                "Zalo {}: {}",
                answer.error, answer.message
            ))),
            (code, _) => Err(SendError::Permanent(format!(
                "Zalo {code}: {}",
                answer.message
            ))),
        }
    }
}

#[cfg(test)]
mod budget_tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_provider_that_never_answers_is_given_up_on_within_the_call_budget() {
        let started = tokio::time::Instant::now();
        let outcome = with_retries(|| async {
            std::future::pending::<()>().await;
            Ok("never".to_owned())
        })
        .await;
        assert!(matches!(outcome, Err(SendError::Transient(ref t)) if t.contains("no answer")));
        assert_eq!(
            started.elapsed(),
            Duration::from_secs(PROVIDER_CALL_SECONDS.unsigned_abs())
        );
    }

    #[tokio::test(start_paused = true)]
    async fn slow_transient_failures_are_not_retried_past_the_call_budget() {
        let started = tokio::time::Instant::now();
        let mut calls = 0;
        let outcome = with_retries(|| {
            calls += 1;
            async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Err::<String, _>(SendError::Transient("HTTP 503".into()))
            }
        })
        .await;
        assert!(
            matches!(outcome, Err(SendError::Transient(_))),
            "{outcome:?}"
        );
        assert_eq!(
            started.elapsed(),
            Duration::from_secs(PROVIDER_CALL_SECONDS.unsigned_abs()),
            "the third attempt is cut off at the budget"
        );
        assert_eq!(calls, 3);
    }
}
