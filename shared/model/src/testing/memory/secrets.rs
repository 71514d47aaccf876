//! The secret vault in memory (Secrets Manager deployed), and a host resolver with fixed answers.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::settings::outbound::HostResolver;
use crate::settings::secrets::{SecretName, SecretStatus, SecretValue, SecretVault};
use crate::store::StoreError;

#[derive(Debug, Default)]
struct VaultState {
    values: BTreeMap<SecretName, (SecretValue, DateTime<Utc>)>,
    reads: u64,
    fail_next: u32,
}

/// Secrets by name. Clones share their state.
#[derive(Debug, Clone, Default)]
pub struct MemorySecretVault {
    state: Arc<Mutex<VaultState>>,
}

impl MemorySecretVault {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, VaultState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every name that holds a value.
    pub fn names(&self) -> Vec<String> {
        self.lock().values.keys().map(|n| n.to_string()).collect()
    }

    /// The stored value, as a test looks at it.
    pub fn value(&self, name: &SecretName) -> Option<String> {
        self.lock()
            .values
            .get(name)
            .map(|(v, _)| v.expose().to_owned())
    }

    /// How many times a value was read.
    pub fn reads(&self) -> u64 {
        self.lock().reads
    }

    /// Makes the next `n` calls fail with `StoreError::Unavailable`.
    pub fn fail_next(&self, n: u32) {
        self.lock().fail_next += n;
    }

    fn fault(state: &mut VaultState) -> Result<(), StoreError> {
        if state.fail_next > 0 {
            state.fail_next -= 1;
            return Err(StoreError::Unavailable(
                "injected secret vault fault".into(),
            ));
        }
        Ok(())
    }
}

#[async_trait]
impl SecretVault for MemorySecretVault {
    async fn put(&self, name: &SecretName, value: &SecretValue) -> Result<(), StoreError> {
        let mut state = self.lock();
        Self::fault(&mut state)?;
        state
            .values
            .insert(name.clone(), (value.clone(), Utc::now()));
        Ok(())
    }

    async fn get(&self, name: &SecretName) -> Result<Option<SecretValue>, StoreError> {
        let mut state = self.lock();
        Self::fault(&mut state)?;
        state.reads += 1;
        Ok(state.values.get(name).map(|(v, _)| v.clone()))
    }

    async fn status(&self, name: &SecretName) -> Result<SecretStatus, StoreError> {
        let mut state = self.lock();
        Self::fault(&mut state)?;
        let at = state.values.get(name).map(|(_, at)| *at);
        Ok(SecretStatus {
            configured: at.is_some(),
            updated_at: at,
        })
    }

    async fn delete(&self, name: &SecretName) -> Result<(), StoreError> {
        let mut state = self.lock();
        Self::fault(&mut state)?;
        state.values.remove(name);
        Ok(())
    }
}

/// Resolves the hosts it was told about; every other name does not resolve.
#[derive(Debug, Clone, Default)]
pub struct FixedResolver {
    answers: Arc<Mutex<HashMap<String, Vec<IpAddr>>>>,
}

impl FixedResolver {
    pub fn new() -> Self {
        Self::default()
    }

    /// From now on `host` resolves to `addresses`.
    pub fn answer(&self, host: &str, addresses: &[IpAddr]) {
        if let Ok(mut answers) = self.answers.lock() {
            answers.insert(host.to_ascii_lowercase(), addresses.to_vec());
        }
    }
}

#[async_trait]
impl HostResolver for FixedResolver {
    async fn resolve(&self, host: &str) -> Vec<IpAddr> {
        self.answers
            .lock()
            .ok()
            .and_then(|a| a.get(&host.to_ascii_lowercase()).cloned())
            .unwrap_or_default()
    }
}
