//! Provider credentials: kept in a secret vault under a name the server derives from the
//! tenant and the provider setting, written through the settings API and never read back by it.
//! A tenant cannot name a secret at all, so it can reach nothing but its own.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::action::SettingKind;
use crate::ids::{SettingId, TenantId};
use crate::settings::{Setting, SmsGateway};
use crate::store::StoreError;
use crate::validation::Problems;

/// Longest credential value accepted (a Zalo access token is about 400 characters).
pub const MAX_CREDENTIAL_LEN: usize = 4096;

/// The vault name of a provider setting's credentials: `crm/<tenant>/<kind>/<setting id>`.
/// It can only be built from the tenant the caller was verified as, so a name that points at
/// another tenant's secret cannot be expressed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecretName(String);

impl SecretName {
    /// Every name lives under this prefix; the functions' IAM statements allow nothing else.
    pub const PREFIX: &'static str = "crm/";

    pub fn for_setting(tenant: &TenantId, kind: SettingKind, id: &SettingId) -> Self {
        Self(format!("{}{tenant}/{}/{id}", Self::PREFIX, kind.slug()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SecretName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A secret value as stored (JSON of one of the credential shapes below). Its `Debug` never
/// shows the value, so it cannot reach a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretValue(***)")
    }
}

/// What the vault says of a secret without reading it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretStatus {
    pub configured: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
}

/// The secret vault (AWS Secrets Manager deployed).
#[async_trait]
pub trait SecretVault: Send + Sync {
    /// Creates or replaces the value.
    async fn put(&self, name: &SecretName, value: &SecretValue) -> Result<(), StoreError>;

    /// The value; `None` when never set (or deleted).
    async fn get(&self, name: &SecretName) -> Result<Option<SecretValue>, StoreError>;

    /// When the value was last set, without reading it.
    async fn status(&self, name: &SecretName) -> Result<SecretStatus, StoreError>;

    /// Removes the value at once (no recovery window: the setting it belonged to is gone).
    async fn delete(&self, name: &SecretName) -> Result<(), StoreError>;
}

/// The API key pair of a brandname SMS gateway.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayKeys {
    pub api_key: String,
    pub secret_key: String,
}

/// An access token: a Zalo Official Account's, or a mailbox's OAuth2 token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessToken {
    pub access_token: String,
}

/// The password of a mailbox the CRM reads (IMAP LOGIN; an app password for Gmail).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailPassword {
    pub password: String,
}

/// What trades for a mailbox's OAuth2 access tokens at its token endpoint (Google's, Microsoft's):
/// the refresh token the user's consent gave, and the CRM's OAuth client.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthRefresh {
    pub refresh_token: String,
    pub client_id: String,
    pub client_secret: String,
}

/// The HMAC key task sync signs with.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigningKey {
    pub signing_key: String,
}

macro_rules! redacted_debug {
    ($($name:ident),*) => {$(
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, concat!(stringify!($name), "(***)"))
            }
        }
    )*};
}
redacted_debug!(
    GatewayKeys,
    AccessToken,
    SigningKey,
    MailPassword,
    OAuthRefresh
);

/// The credentials a provider setting takes, as the settings API receives them.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Credentials {
    Gateway(GatewayKeys),
    AccessToken(AccessToken),
    Signing(SigningKey),
    Password(MailPassword),
    OAuthRefresh(OAuthRefresh),
}

/// The shape of credentials a setting takes, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialShape {
    Gateway,
    AccessToken,
    Signing,
    /// A mailbox's password.
    Password,
    /// A mailbox's OAuth2 refresh token and client.
    OAuthRefresh,
}

impl CredentialShape {
    /// The fields the body must carry, for error messages.
    pub fn fields(self) -> &'static str {
        match self {
            CredentialShape::Gateway => "api_key, secret_key",
            CredentialShape::AccessToken => "access_token",
            CredentialShape::Signing => "signing_key",
            CredentialShape::Password => "password",
            CredentialShape::OAuthRefresh => "refresh_token, client_id, client_secret",
        }
    }
}

impl Setting {
    /// Which credentials the setting sends with; `None` for settings that use none (templates,
    /// SES senders, SNS SMS).
    pub fn credential_shape(&self) -> Option<CredentialShape> {
        match self {
            Setting::SmsProvider(p) => match p.gateway {
                SmsGateway::Brandname { .. } => Some(CredentialShape::Gateway),
                SmsGateway::Sns { .. } => None,
            },
            Setting::ZnsProvider(_) => Some(CredentialShape::AccessToken),
            Setting::TaskConnection(_) => Some(CredentialShape::Signing),
            Setting::VoipProvider(_) => Some(CredentialShape::Gateway),
            // An OAuth2 access token (Gmail, Microsoft 365), as a Zalo OA's: {access_token}.
            Setting::Mailbox(m) => Some(m.credential_shape()),
            _ => None,
        }
    }
}

impl Credentials {
    /// Reads a request body of the shape the setting takes, naming what does not fit.
    pub fn parse(shape: CredentialShape, body: serde_json::Value) -> Result<Self, Problems> {
        let parsed = match shape {
            CredentialShape::Gateway => serde_json::from_value(body).map(Credentials::Gateway),
            CredentialShape::AccessToken => {
                serde_json::from_value(body).map(Credentials::AccessToken)
            }
            CredentialShape::Signing => serde_json::from_value(body).map(Credentials::Signing),
            CredentialShape::Password => serde_json::from_value(body).map(Credentials::Password),
            CredentialShape::OAuthRefresh => {
                serde_json::from_value(body).map(Credentials::OAuthRefresh)
            }
        };
        let credentials = parsed.map_err(|e| {
            let mut problems = Problems::default();
            problems.push(
                "",
                format!("expected {{{}}}: {}", shape.fields(), strip_position(&e)),
            );
            problems
        })?;
        credentials.validate().into_result(credentials)
    }

    fn values(&self) -> Vec<(&'static str, &str)> {
        match self {
            Credentials::Gateway(k) => {
                vec![("/api_key", &k.api_key), ("/secret_key", &k.secret_key)]
            }
            Credentials::AccessToken(t) => vec![("/access_token", &t.access_token)],
            Credentials::Signing(k) => vec![("/signing_key", &k.signing_key)],
            Credentials::Password(p) => vec![("/password", &p.password)],
            Credentials::OAuthRefresh(r) => vec![
                ("/refresh_token", &r.refresh_token),
                ("/client_id", &r.client_id),
                ("/client_secret", &r.client_secret),
            ],
        }
    }

    fn validate(&self) -> Problems {
        let mut problems = Problems::default();
        for (path, value) in self.values() {
            if value.trim().is_empty() {
                problems.push(path, "is required");
            } else if value.len() > MAX_CREDENTIAL_LEN {
                problems.push(path, format!("at most {MAX_CREDENTIAL_LEN} bytes"));
            } else if value.chars().any(char::is_control) {
                problems.push(path, "may not contain control characters");
            }
        }
        problems
    }

    /// The value as stored in the vault.
    pub fn to_secret(&self) -> SecretValue {
        let json = match self {
            Credentials::Gateway(k) => serde_json::to_string(k),
            Credentials::AccessToken(t) => serde_json::to_string(t),
            Credentials::Signing(k) => serde_json::to_string(k),
            Credentials::Password(p) => serde_json::to_string(p),
            Credentials::OAuthRefresh(r) => serde_json::to_string(r),
        };
        // Serialising plain strings cannot fail; an empty value would read back as unusable.
        SecretValue(json.unwrap_or_default())
    }
}

fn strip_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.find(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

impl SecretValue {
    /// The stored value as the credentials of `T`; `None` when it is not of that shape.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Option<T> {
        serde_json::from_str(&self.0).ok()
    }
}

/// Removes every credential value from `text` (a provider may echo a key back in its error
/// body) and cuts it to `limit` characters, so that what a run stores is safe to show.
pub fn scrub(text: &str, credentials: &[&str], limit: usize) -> String {
    let mut clean = text.to_owned();
    for value in credentials.iter().filter(|v| v.len() >= 4) {
        clean = clean.replace(*value, "***");
    }
    if clean.chars().count() > limit {
        let cut: String = clean.chars().take(limit).collect();
        format!("{cut}…")
    } else {
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_come_from_the_tenant_and_the_setting() {
        let name = SecretName::for_setting(
            &TenantId::new("acme").unwrap(),
            SettingKind::SmsProvider,
            &SettingId::new("esms").unwrap(),
        );
        assert_eq!(name.as_str(), "crm/acme/sms-providers/esms");
    }

    #[test]
    fn credentials_are_checked_by_shape_and_never_printed() {
        let keys = Credentials::parse(
            CredentialShape::Gateway,
            json!({"api_key": "k-123", "secret_key": "s-456"}),
        )
        .unwrap();
        assert!(!format!("{keys:?}").contains("k-123"));
        assert!(!format!("{:?}", keys.to_secret()).contains("s-456"));
        let problems =
            Credentials::parse(CredentialShape::Gateway, json!({"api_key": "k"})).unwrap_err();
        assert!(problems.to_string().contains("secret_key"), "{problems}");
        let problems =
            Credentials::parse(CredentialShape::AccessToken, json!({"access_token": " "}))
                .unwrap_err();
        assert!(problems.has("/access_token"));
    }

    #[test]
    fn scrubbed_text_hides_keys_and_is_cut() {
        let text = scrub("bad key k-123456 for you", &["k-123456"], 10);
        assert_eq!(text, "bad key **…");
    }
}
