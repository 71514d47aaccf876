//! The HTTP client providers are called through, and the resolver behind it: every connection
//! goes only to addresses the deployment's outbound policy allows (public ones on AWS), whatever
//! a host name resolves to at that moment, and redirects are never followed. The URL as written
//! is checked before each request (IP literals do not go through the resolver).

use async_trait::async_trait;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use crm_model::ports::{HostResolver, SendError};
use crm_model::settings::outbound::OutboundPolicy;

/// The environment variable that lets providers be reached over plain http on loopback: the
/// local stack sets it for its stub servers; the template never does.
pub const ALLOW_LOCAL_VAR: &str = "CRM_ALLOW_LOCAL_PROVIDERS";

/// The deployment's policy from the environment (https to public hosts unless the variable
/// says `true`).
pub fn policy_from_env() -> OutboundPolicy {
    match std::env::var(ALLOW_LOCAL_VAR).as_deref() {
        Ok("true" | "1") => OutboundPolicy::LOCAL,
        _ => OutboundPolicy::PUBLIC,
    }
}

/// Resolves with the system resolver and keeps only the allowed addresses.
#[derive(Debug, Clone, Copy)]
struct AllowedAddresses(OutboundPolicy);

impl reqwest::dns::Resolve for AllowedAddresses {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| policy.allows_ip(a.ip()))
                .collect();
            if allowed.is_empty() {
                let refused = std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    format!("'{host}' resolves to no public address"),
                );
                return Err(Box::new(refused) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The client every provider call goes through.
pub fn http_client(policy: OutboundPolicy) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        // A proxy would connect on our behalf, past the resolver's check.
        .no_proxy()
        .dns_resolver(Arc::new(AllowedAddresses(policy)))
        .build()
        // Built once per sandbox, before any request. A default client instead would follow
        // redirects, honour proxies and resolve without the check: failing the sandbox's start
        // is the safe answer (it only fails if the TLS backend cannot start at all).
        .expect("the provider HTTP client builds")
}

/// Refuses a URL the policy does not allow, before any connection is made.
pub fn checked_url(policy: OutboundPolicy, raw: &str) -> Result<reqwest::Url, SendError> {
    policy
        .check_url(raw)
        .map_err(|reason| SendError::Permanent(format!("provider URL refused: {reason}")))
}

/// The system resolver, for the check at save time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

#[async_trait]
impl HostResolver for SystemResolver {
    async fn resolve(&self, host: &str) -> Vec<IpAddr> {
        match tokio::net::lookup_host((host, 0)).await {
            Ok(found) => found.map(|a| a.ip()).collect(),
            Err(_) => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_name_that_resolves_to_loopback_is_not_connected_to_on_aws() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let url = format!("http://localhost:{port}/");
        let public = http_client(OutboundPolicy::PUBLIC);
        let refused = public.get(&url).send().await;
        assert!(refused.is_err(), "refused before connecting");
        let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
        assert!(accepted.is_err(), "no connection reached the listener");
    }

    #[test]
    fn urls_are_checked_before_a_request() {
        assert!(checked_url(OutboundPolicy::PUBLIC, "https://169.254.169.254/").is_err());
        assert!(checked_url(OutboundPolicy::LOCAL, "http://127.0.0.1:9/").is_ok());
    }
}
