//! Decision links: what an approver's email carries so that they can approve or reject without
//! logging in. A link names the tenant, the record, the request, the step's round, the approver
//! and when it expires, signed with HMAC-SHA256 under the request's own key (random, made at
//! submission, never shown). It opens nothing else: another approver, another request or step,
//! a changed field or an expired link fails the signature or the checks, and once its approver
//! has decided the step (or the step moved on) it is spent.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::ids::{RecordId, TenantId, UserId};

/// How long a decision link works.
pub const LINK_DAYS: i64 = 7;

/// What a link names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionLink {
    pub tenant: TenantId,
    pub record: RecordId,
    pub request: RecordId,
    pub round: u32,
    pub approver: UserId,
    pub expires: DateTime<Utc>,
}

fn signature(key: &str, payload: &str) -> Option<Hmac<Sha256>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).ok()?;
    mac.update(payload.as_bytes());
    Some(mac)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

impl DecisionLink {
    fn payload(&self) -> String {
        format!(
            "{}.{}.{}.{}.{}.{}",
            self.tenant,
            self.record,
            self.request,
            self.round,
            self.approver,
            self.expires.timestamp()
        )
    }

    /// The link's token, signed with `key`.
    pub fn token(&self, key: &str) -> String {
        let payload = self.payload();
        let signed = signature(key, &payload)
            .map(|mac| hex(&mac.finalize().into_bytes()))
            .unwrap_or_default();
        format!("{payload}.{signed}")
    }

    /// What a token says, unverified: the caller reads the request it names for its key, then
    /// calls [`DecisionLink::verify`].
    pub fn parse(token: &str) -> Option<(DecisionLink, String)> {
        let parts: Vec<&str> = token.split('.').collect();
        let [tenant, record, request, round, approver, expires, signed] = parts[..] else {
            return None;
        };
        let link = DecisionLink {
            tenant: TenantId::new(tenant).ok()?,
            record: RecordId::new(record).ok()?,
            request: RecordId::new(request).ok()?,
            round: round.parse().ok()?,
            approver: UserId::new(approver).ok()?,
            expires: DateTime::from_timestamp(expires.parse().ok()?, 0)?,
        };
        Some((link, signed.to_owned()))
    }

    /// Whether `signed` is this link's signature under `key` (compared in constant time) and
    /// the link has not expired at `now`.
    pub fn verify(&self, key: &str, signed: &str, now: DateTime<Utc>) -> bool {
        let (Some(mac), Some(given)) = (signature(key, &self.payload()), unhex(signed)) else {
            return false;
        };
        !key.is_empty() && mac.verify_slice(&given).is_ok() && now < self.expires
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link() -> DecisionLink {
        DecisionLink {
            tenant: TenantId::new("acme").unwrap(),
            record: RecordId::new("q1").unwrap(),
            request: RecordId::new("r1").unwrap(),
            round: 2,
            approver: UserId::new("manager").unwrap(),
            expires: "2027-05-20T00:00:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn a_link_verifies_under_its_key_until_it_expires() {
        let token = link().token("key-1");
        let (parsed, signed) = DecisionLink::parse(&token).unwrap();
        assert_eq!(parsed, link());
        let before: DateTime<Utc> = "2027-05-19T23:59:00Z".parse().unwrap();
        assert!(parsed.verify("key-1", &signed, before));
        assert!(
            !parsed.verify("key-2", &signed, before),
            "another request's key"
        );
        assert!(
            !parsed.verify("", &signed, before),
            "a request without a key"
        );
        let after: DateTime<Utc> = "2027-05-20T00:00:00Z".parse().unwrap();
        assert!(!parsed.verify("key-1", &signed, after), "expired");
    }

    #[test]
    fn a_link_changed_in_any_part_fails_its_signature() {
        let token = link().token("key-1");
        let now: DateTime<Utc> = "2027-05-19T00:00:00Z".parse().unwrap();
        for forged in [
            token.replace(".manager.", ".salesperson."),
            token.replace(".2.", ".3."),
            token.replace("acme.", "other."),
            token.replace(".r1.", ".r2."),
        ] {
            let (parsed, signed) = DecisionLink::parse(&forged).unwrap();
            assert!(!parsed.verify("key-1", &signed, now), "{forged}");
        }
        assert!(DecisionLink::parse("acme.q1.r1").is_none());
        assert!(DecisionLink::parse(&format!("{token}.extra")).is_none());
    }
}
