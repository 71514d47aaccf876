//! Validated identifiers. Every id is a short ASCII token, so it can sit inside a DynamoDB key
//! (`T#<tenant>#...`) without escaping and can never smuggle a key separator in.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {max} characters")]
    TooLong { max: usize },
    #[error("may contain only letters a-z, A-Z, digits, '-' and '_'")]
    InvalidCharacter,
}

const MAX_ID_LEN: usize = 64;

/// FNV-1a of `bytes`: a hash that stays the same across processes and releases, for ids derived
/// from what they name (a job's recipient, a client's key).
pub fn stable_hash(bytes: impl IntoIterator<Item = u8>) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

fn check_id(value: &str) -> Result<(), IdError> {
    if value.is_empty() {
        return Err(IdError::Empty);
    }
    if value.len() > MAX_ID_LEN {
        return Err(IdError::TooLong { max: MAX_ID_LEN });
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(IdError::InvalidCharacter);
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Result<Self, IdError> {
                let value = value.into();
                check_id(&value)?;
                Ok(Self(value))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// A company using the product. Comes from the authorizer's claims, never from a body.
    TenantId
);
id_type!(
    /// A CRM user (employee) of a tenant.
    UserId
);
id_type!(
    /// A record of any module.
    RecordId
);
id_type!(
    /// A workflow (care or work).
    WorkflowId
);
id_type!(
    /// A template, sender, provider or allocation rule referenced by actions.
    SettingId
);
id_type!(
    /// An action inside a workflow; stable across versions so run history lines up.
    ActionId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_uuid_like_tokens() {
        assert!(TenantId::new("acme-01").is_ok());
        assert!(RecordId::new("0192f3a4-7b1c-7d2e-8f00-123456789abc").is_ok());
    }

    #[test]
    fn ids_reject_key_separators_and_empty() {
        assert_eq!(TenantId::new(""), Err(IdError::Empty));
        assert_eq!(TenantId::new("a#b"), Err(IdError::InvalidCharacter));
        assert_eq!(TenantId::new("a b"), Err(IdError::InvalidCharacter));
        assert_eq!(
            TenantId::new("x".repeat(65)),
            Err(IdError::TooLong { max: 64 })
        );
    }

    #[test]
    fn ids_deserialize_through_validation() {
        let bad: Result<TenantId, _> = serde_json::from_str("\"T#1\"");
        assert!(bad.is_err());
        let good: TenantId = serde_json::from_str("\"t1\"").unwrap();
        assert_eq!(good.as_str(), "t1");
    }
}
