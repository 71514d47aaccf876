//! HTTP providers for Vietnamese carriers: a brandname SMS gateway with an eSMS-style JSON API,
//! and Zalo's ZNS template-message API. Credentials come from secrets named in the provider
//! settings, never from the settings themselves.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

use crate::send::SnsSmsSender;
use crm_model::ports::{SendError, SmsSender, ZnsSender};
use crm_model::settings::{SmsGateway, ZnsProvider};

/// Secrets by name. Deployed, they come from the environment: `esms/main` is read from
/// `CRM_SECRET_ESMS_MAIN` (filled from Secrets Manager or SSM by the deployment). Tests and local
/// runs may give them directly instead.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    given: Option<std::collections::HashMap<String, String>>,
}

impl Secrets {
    pub fn from_env() -> Self {
        Self { given: None }
    }

    /// Exactly these secrets, whatever the environment holds.
    pub fn given(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        Self {
            given: Some(pairs.into_iter().collect()),
        }
    }

    pub fn variable(name: &str) -> String {
        let upper: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect();
        format!("CRM_SECRET_{upper}")
    }

    pub fn get(&self, name: &str) -> Result<String, SendError> {
        let found = match &self.given {
            Some(given) => given.get(name).cloned(),
            None => std::env::var(Self::variable(name)).ok(),
        };
        found.ok_or_else(|| {
            SendError::Permanent(format!(
                "secret '{name}' is not configured ({})",
                Self::variable(name)
            ))
        })
    }
}

pub(crate) fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default()
}

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
/// retry in step). A send that still fails goes back to the queue, which redelivers it later.
pub(crate) async fn with_retries<F, Fut>(mut send: F) -> Result<String, SendError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<String, SendError>>,
{
    let mut attempt = 0u32;
    loop {
        match send().await {
            Err(SendError::Transient(_)) if attempt < 2 => {
                let base = 200u64 << attempt;
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.subsec_nanos());
                let jitter = u64::from(nanos) % (base / 2 + 1);
                tokio::time::sleep(Duration::from_millis(base + jitter)).await;
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

fn status(status: reqwest::StatusCode, body: &str) -> Option<SendError> {
    if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        Some(SendError::Transient(format!("HTTP {status}: {body}")))
    } else if !status.is_success() {
        Some(SendError::Permanent(format!("HTTP {status}: {body}")))
    } else {
        None
    }
}

/// An eSMS-style brandname gateway (`SendMultipleMessage_V4_post_json`).
#[derive(Debug, Clone)]
pub struct BrandnameSmsGateway {
    http: reqwest::Client,
    secrets: Secrets,
}

#[derive(Deserialize)]
struct GatewayCredentials {
    api_key: String,
    secret_key: String,
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
    pub fn new(secrets: Secrets) -> Self {
        Self {
            http: http(),
            secrets,
        }
    }

    async fn send(
        &self,
        base_url: &str,
        brandname: &str,
        credentials: &str,
        to: &str,
        text: &str,
        request_id: &str,
    ) -> Result<String, SendError> {
        let credentials: GatewayCredentials = serde_json::from_str(&self.secrets.get(credentials)?)
            .map_err(|e| {
                SendError::Permanent(format!(
                    "secret '{credentials}' is not {{api_key, secret_key}}: {e}"
                ))
            })?;
        // The gateway takes national numbers (0912…).
        let national = to
            .strip_prefix("+84")
            .map(|n| format!("0{n}"))
            .unwrap_or_else(|| to.to_owned());
        let url = format!(
            "{}/MainService.svc/json/SendMultipleMessage_V4_post_json/",
            base_url.trim_end_matches('/')
        );
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
        to: &str,
        text: &str,
        request_id: &str,
    ) -> Result<String, SendError> {
        match gateway {
            SmsGateway::Sns { sender_id } => self.sns.send(sender_id, to, text).await,
            SmsGateway::Brandname {
                base_url,
                brandname,
                credentials_secret,
            } => {
                // The request id lets the gateway drop a retried duplicate.
                with_retries(|| {
                    self.brandname.send(
                        base_url,
                        brandname,
                        credentials_secret,
                        to,
                        text,
                        request_id,
                    )
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
    secrets: Secrets,
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
    pub fn new(secrets: Secrets) -> Self {
        Self {
            http: http(),
            secrets,
        }
    }
}

#[async_trait]
impl ZnsSender for ZaloZns {
    async fn send(
        &self,
        provider: &ZnsProvider,
        phone: &str,
        template_id: &str,
        data: &BTreeMap<String, String>,
        tracking_id: &str,
    ) -> Result<String, SendError> {
        with_retries(|| self.send_once(provider, phone, template_id, data, tracking_id)).await
    }
}

impl ZaloZns {
    async fn send_once(
        &self,
        provider: &ZnsProvider,
        phone: &str,
        template_id: &str,
        data: &BTreeMap<String, String>,
        tracking_id: &str,
    ) -> Result<String, SendError> {
        let token = self.secrets.get(&provider.access_token_secret)?;
        let url = format!(
            "{}/message/template",
            provider.base_url.trim_end_matches('/')
        );
        let response = self
            .http
            .post(url)
            .header("access_token", token)
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
