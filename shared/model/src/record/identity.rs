//! Identity keys: what makes two customers the same person or company for the duplicate check
//! (seed 003 §2.4). A phone in any Vietnamese spelling, an email in any letter case and a tax code
//! with or without spaces each give one key; customers sharing a key are duplicate candidates.

use serde_json::{Map, Value};

use crate::schema::Module;

/// The kinds of identity, in the order keys are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    Phone,
    Email,
    TaxCode,
}

impl IdentityKind {
    fn prefix(self) -> &'static str {
        match self {
            IdentityKind::Phone => "phone:",
            IdentityKind::Email => "email:",
            IdentityKind::TaxCode => "tax:",
        }
    }

    /// The kind a key was made for.
    pub fn of_key(key: &str) -> Option<Self> {
        [Self::Phone, Self::Email, Self::TaxCode]
            .into_iter()
            .find(|k| key.starts_with(k.prefix()))
    }
}

/// The key of one raw value, or `None` when the value cannot identify anyone.
pub fn key(kind: IdentityKind, raw: &str) -> Option<String> {
    let normalized = match kind {
        IdentityKind::Phone => crate::phone::normalize_vn(raw)?,
        IdentityKind::Email => {
            let email = raw.trim().to_lowercase();
            crate::record::is_plausible_email(&email).then_some(email)?
        }
        IdentityKind::TaxCode => {
            let code: String = raw
                .chars()
                .filter(|c| !c.is_whitespace() && *c != '.')
                .flat_map(char::to_uppercase)
                .collect();
            (code.len() >= 3).then_some(code)?
        }
    };
    // Keys become partition keys (at most 2,048 bytes); nothing that identifies anyone is longer.
    (normalized.len() <= 254).then(|| format!("{}{normalized}", kind.prefix()))
}

/// The identity keys of a stored record: only customers have them.
pub fn keys(module: Module, fields: &Map<String, Value>) -> Vec<String> {
    if module != Module::Customer {
        return Vec::new();
    }
    [
        (IdentityKind::Phone, "Phone"),
        (IdentityKind::Email, "Email"),
        (IdentityKind::TaxCode, "TaxCode"),
    ]
    .into_iter()
    .filter_map(|(kind, field)| key(kind, fields.get(field)?.as_str()?))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn vietnamese_phone_spellings_share_one_key() {
        let a = key(IdentityKind::Phone, "0912 345 678");
        assert_eq!(a.as_deref(), Some("phone:+84912345678"));
        assert_eq!(key(IdentityKind::Phone, "+84912345678"), a);
        assert_eq!(key(IdentityKind::Phone, "84912345678"), a);
        assert_eq!(key(IdentityKind::Phone, "không có"), None);
    }

    #[test]
    fn emails_ignore_case_and_tax_codes_ignore_spacing() {
        assert_eq!(
            key(IdentityKind::Email, " Hang.Nguyen@Example.VN "),
            key(IdentityKind::Email, "hang.nguyen@example.vn")
        );
        assert_eq!(
            key(IdentityKind::TaxCode, "0101 243 150"),
            Some("tax:0101243150".into())
        );
    }

    #[test]
    fn only_customers_have_keys() {
        let f = fields(json!({"Phone": "0912345678", "Email": "a@b.vn", "TaxCode": "0101243150"}));
        assert_eq!(keys(Module::Customer, &f).len(), 3);
        assert!(keys(Module::Contact, &f).is_empty());
        assert_eq!(
            IdentityKind::of_key("email:a@b.vn"),
            Some(IdentityKind::Email)
        );
    }
}
