//! Provider credentials in AWS Secrets Manager, one secret per provider setting under the name
//! the model derives (`crm/<tenant>/<kind>/<setting id>`), and a short per-sandbox cache in
//! front of it for the executor.

use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::sync::Mutex;

use crm_model::ports::{SecretVault, StoreError};
use crm_model::settings::secrets::{SecretName, SecretStatus, SecretValue};

/// Secrets Manager as the vault.
#[derive(Debug, Clone)]
pub struct SecretsManagerVault {
    client: Client,
}

impl SecretsManagerVault {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    pub fn from_sdk(sdk: &aws_config::SdkConfig) -> Self {
        Self::new(Client::new(sdk))
    }
}

fn unavailable<E, R>(error: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    // The code and message say what went wrong; the secret's value is never in them.
    let described = format!("Secrets Manager {}", crate::sdk_errors::described(&error));
    StoreError::Unavailable(described.into())
}

fn instant(at: &aws_sdk_secretsmanager::primitives::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(at.secs(), at.subsec_nanos())
}

#[async_trait]
impl SecretVault for SecretsManagerVault {
    async fn put(&self, name: &SecretName, value: &SecretValue) -> Result<(), StoreError> {
        let put = self
            .client
            .put_secret_value()
            .secret_id(name.as_str())
            .secret_string(value.expose())
            .send()
            .await;
        match put {
            Ok(_) => return Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) => {}
            Err(e) => return Err(unavailable(e)),
        }
        let created = self
            .client
            .create_secret()
            .name(name.as_str())
            .description("Provider credentials of one CRM tenant, written by the settings API")
            .secret_string(value.expose())
            .send()
            .await;
        match created {
            Ok(_) => Ok(()),
            // Another request created it in between: write the value over it.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_exists_exception()) =>
            {
                self.client
                    .put_secret_value()
                    .secret_id(name.as_str())
                    .secret_string(value.expose())
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(unavailable)
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn get(&self, name: &SecretName) -> Result<Option<SecretValue>, StoreError> {
        match self
            .client
            .get_secret_value()
            .secret_id(name.as_str())
            .send()
            .await
        {
            Ok(found) => Ok(found.secret_string().map(SecretValue::new)),
            // Never set, or deleted and not yet purged.
            Err(e)
                if e.as_service_error().is_some_and(|s| {
                    s.is_resource_not_found_exception() || s.is_invalid_request_exception()
                }) =>
            {
                Ok(None)
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn status(&self, name: &SecretName) -> Result<SecretStatus, StoreError> {
        match self
            .client
            .describe_secret()
            .secret_id(name.as_str())
            .send()
            .await
        {
            Ok(found) if found.deleted_date().is_none() => Ok(SecretStatus {
                configured: true,
                updated_at: found
                    .last_changed_date()
                    .or(found.created_date())
                    .and_then(instant),
            }),
            Ok(_) => Ok(SecretStatus {
                configured: false,
                updated_at: None,
            }),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(SecretStatus {
                    configured: false,
                    updated_at: None,
                })
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn delete(&self, name: &SecretName) -> Result<(), StoreError> {
        match self
            .client
            .delete_secret()
            .secret_id(name.as_str())
            .force_delete_without_recovery(true)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(unavailable(e)),
        }
    }
}

/// How long a sandbox keeps a credential it read: a send then costs no Secrets Manager call,
/// and a rotated credential is in use everywhere within this time.
pub const CACHE_SECONDS: i64 = 300;

/// A vault that remembers what it read for [`CACHE_SECONDS`]. Absent secrets are not
/// remembered, so credentials set after a failed send are used by the retry.
pub struct CachedVault<V> {
    inner: V,
    ttl: Duration,
    read: Mutex<HashMap<SecretName, (DateTime<Utc>, SecretValue)>>,
}

impl<V> CachedVault<V> {
    pub fn new(inner: V) -> Self {
        Self::with_ttl(inner, Duration::seconds(CACHE_SECONDS))
    }

    pub fn with_ttl(inner: V, ttl: Duration) -> Self {
        Self {
            inner,
            ttl,
            read: Mutex::new(HashMap::new()),
        }
    }
}

#[async_trait]
impl<V: SecretVault> SecretVault for CachedVault<V> {
    async fn put(&self, name: &SecretName, value: &SecretValue) -> Result<(), StoreError> {
        self.inner.put(name, value).await?;
        if let Ok(mut read) = self.read.lock() {
            read.remove(name);
        }
        Ok(())
    }

    async fn get(&self, name: &SecretName) -> Result<Option<SecretValue>, StoreError> {
        let now = Utc::now();
        if let Ok(read) = self.read.lock() {
            if let Some((at, value)) = read.get(name) {
                if now - *at < self.ttl {
                    return Ok(Some(value.clone()));
                }
            }
        }
        let found = self.inner.get(name).await?;
        if let (Some(value), Ok(mut read)) = (&found, self.read.lock()) {
            read.insert(name.clone(), (now, value.clone()));
        }
        Ok(found)
    }

    async fn status(&self, name: &SecretName) -> Result<SecretStatus, StoreError> {
        self.inner.status(name).await
    }

    async fn delete(&self, name: &SecretName) -> Result<(), StoreError> {
        self.inner.delete(name).await?;
        if let Ok(mut read) = self.read.lock() {
            read.remove(name);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crm_model::action::SettingKind;
    use crm_model::ids::{SettingId, TenantId};
    use crm_model::testing::memory::MemorySecretVault;

    #[tokio::test]
    async fn a_warm_sandbox_reads_each_secret_once_and_never_remembers_an_absent_one() {
        let memory = MemorySecretVault::new();
        let vault = CachedVault::new(memory.clone());
        let name = SecretName::for_setting(
            &TenantId::new("acme").unwrap(),
            SettingKind::ZnsProvider,
            &SettingId::new("oa").unwrap(),
        );
        assert_eq!(vault.get(&name).await.unwrap(), None);
        memory
            .put(&name, &SecretValue::new("{\"access_token\":\"t\"}"))
            .await
            .unwrap();
        for _ in 0..3 {
            assert!(vault.get(&name).await.unwrap().is_some());
        }
        assert_eq!(memory.reads(), 2, "one miss, then one read for three sends");
    }
}
