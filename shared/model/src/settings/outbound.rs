//! Where providers may be reached: https to public hosts only. A tenant administrator chooses a
//! provider's URL, and the executor sends that tenant's credentials to it, so a URL that reaches
//! the deployment's own network (the instance metadata service, a private endpoint, loopback)
//! is refused when the setting is saved and again when each request connects.

use async_trait::async_trait;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What the deployment allows besides https to public hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboundPolicy {
    /// Plain http and loopback hosts (local stub servers); never set on AWS.
    pub allow_local: bool,
}

impl OutboundPolicy {
    /// https to public hosts only.
    pub const PUBLIC: Self = Self { allow_local: false };
    /// Also http and loopback: the local stack and tests against stub servers.
    pub const LOCAL: Self = Self { allow_local: true };

    /// Whether a connection to `ip` is allowed.
    pub fn allows_ip(self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        if self.allow_local && ip.is_loopback() {
            return true;
        }
        is_public(ip)
    }

    /// Checks a provider URL as written; `Err` says why it is refused. Host names are checked
    /// by name here; what they resolve to is checked by the caller (at save and at connect).
    pub fn check_url(self, raw: &str) -> Result<url::Url, String> {
        if raw.len() > 2048 {
            return Err("at most 2048 characters".into());
        }
        let url = url::Url::parse(raw).map_err(|e| format!("not a URL: {e}"))?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_local => {}
            "http" => return Err("must be https".into()),
            other => return Err(format!("must be https, not {other}")),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("may not carry a user name or password".into());
        }
        match url.host() {
            None => return Err("needs a host".into()),
            Some(url::Host::Ipv4(ip)) => self.check_ip(IpAddr::V4(ip))?,
            Some(url::Host::Ipv6(ip)) => self.check_ip(IpAddr::V6(ip))?,
            Some(url::Host::Domain(name)) => self.check_name(name)?,
        }
        Ok(url)
    }

    fn check_ip(self, ip: IpAddr) -> Result<(), String> {
        if self.allows_ip(ip) {
            Ok(())
        } else {
            Err(format!("{ip} is not a public address"))
        }
    }

    fn check_name(self, name: &str) -> Result<(), String> {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        let local = name == "localhost" || name.ends_with(".localhost");
        if local && self.allow_local {
            return Ok(());
        }
        let internal = local
            || !name.contains('.')
            || INTERNAL_SUFFIXES.iter().any(|s| name.ends_with(s))
            || INTERNAL_NAMES.contains(&name.as_str());
        if internal {
            Err(format!("'{name}' is not a public host name"))
        } else {
            Ok(())
        }
    }
}

/// Names that only mean something inside a private network or a cloud provider's.
const INTERNAL_SUFFIXES: [&str; 5] = [".local", ".internal", ".intranet", ".lan", ".home.arpa"];
const INTERNAL_NAMES: [&str; 2] = ["instance-data.ec2.internal", "metadata.google.internal"];

/// IPv6 addresses that carry an IPv4 address (mapped, compatible, NAT64, 6to4) are judged by
/// the IPv4 address inside.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) if v6.is_loopback() || v6.is_unspecified() => IpAddr::V6(v6),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let embedded = |hi: u16, lo: u16| {
                let [a, b] = hi.to_be_bytes();
                let [c, d] = lo.to_be_bytes();
                IpAddr::V4(Ipv4Addr::new(a, b, c, d))
            };
            if let Some(v4) = v6.to_ipv4() {
                // ::ffff:a.b.c.d and the deprecated ::a.b.c.d
                return IpAddr::V4(v4);
            }
            if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                return embedded(s[6], s[7]);
            }
            if s[0] == 0x2002 {
                return embedded(s[1], s[2]);
            }
            IpAddr::V6(v6)
        }
        v4 => v4,
    }
}

fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => is_public_v6(ip),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let special = ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254/16: the instance metadata service among them
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (carrier NAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240; // reserved
    !special
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    let special = ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local (AWS's fd00:ec2::254 metadata included)
        || (first & 0xffc0) == 0xfe80 // link local
        || (first & 0xffc0) == 0xfec0 // site local (deprecated)
        || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation
        || first == 0x0100 && ip.segments()[1..4] == [0, 0, 0] // discard
        || first == 0x2001 && ip.segments()[1] == 0 // Teredo: a tunnel to any IPv4 address
        || first == 0x0064 && ip.segments()[1] == 0xff9b; // NAT64, the local-use range too
    !special
}

/// Resolves host names, for the check at save time.
#[async_trait]
pub trait HostResolver: Send + Sync {
    /// The addresses `host` resolves to; empty when it does not resolve (the check at connect
    /// time still applies then).
    async fn resolve(&self, host: &str) -> Vec<IpAddr>;
}

/// Checks a URL as written and, for a host name, every address it resolves to now.
pub async fn check_provider_url(
    policy: OutboundPolicy,
    resolver: &dyn HostResolver,
    raw: &str,
) -> Result<(), String> {
    let url = policy.check_url(raw)?;
    if let Some(url::Host::Domain(name)) = url.host() {
        for ip in resolver.resolve(name).await {
            if !policy.allows_ip(ip) {
                return Err(format!(
                    "'{name}' resolves to {ip}, which is not a public address"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_to_public_hosts_passes() {
        let public = OutboundPolicy::PUBLIC;
        assert!(public.check_url("https://api.esms.vn/x").is_ok());
        for refused in [
            "http://api.esms.vn",
            "ftp://api.esms.vn",
            "https://169.254.169.254/latest/meta-data/",
            "https://[fd00:ec2::254]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[64:ff9b::a9fe:a9fe]/",
            "https://[64:ff9b:1::a9fe:a9fe]/",
            "https://[::a9fe:a9fe]/",
            "https://[2002:a9fe:a9fe::1]/",
            "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
            "https://[::1]/",
            "https://127.1/",
            "https://0x7f000001/",
            "https://2130706433/",
            "https://10.0.0.8/",
            "https://192.168.1.1/",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://localhost/",
            "https://gateway.localhost/",
            "https://metadata.google.internal/",
            "https://db.internal/",
            "https://intranet/",
            "https://user:pw@api.esms.vn/",
        ] {
            assert!(public.check_url(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn the_local_stack_may_reach_loopback_stubs_and_nothing_private() {
        let local = OutboundPolicy::LOCAL;
        assert!(local.check_url("http://127.0.0.1:9000/sms").is_ok());
        assert!(local.check_url("http://localhost:9000/").is_ok());
        assert!(local.check_url("http://169.254.169.254/").is_err());
        assert!(local.check_url("http://10.1.2.3/").is_err());
    }

    struct Fixed(Vec<IpAddr>);

    #[async_trait]
    impl HostResolver for Fixed {
        async fn resolve(&self, _: &str) -> Vec<IpAddr> {
            self.0.clone()
        }
    }

    #[tokio::test]
    async fn a_name_that_resolves_inside_is_refused() {
        let inside = Fixed(vec![
            "8.8.8.8".parse().unwrap(),
            "10.0.0.2".parse().unwrap(),
        ]);
        let error = check_provider_url(OutboundPolicy::PUBLIC, &inside, "https://sms.example.vn")
            .await
            .unwrap_err();
        assert!(error.contains("10.0.0.2"), "{error}");
        let outside = Fixed(vec!["203.113.1.1".parse().unwrap()]);
        assert!(
            check_provider_url(OutboundPolicy::PUBLIC, &outside, "https://sms.example.vn")
                .await
                .is_ok()
        );
    }
}
