//! Identity keys: what makes two customers the same person or company for the duplicate check
//! (seed 003 §2.4). A phone in any Vietnamese spelling, an email in any letter case, a tax code
//! with or without spaces, a name whatever its case and spacing (or its accents too) and a
//! customer code each give one key; customers sharing a key are duplicate candidates. Every kind
//! is indexed; each tenant chooses which kinds count ([`DEFAULT_RULE`] until it does), so that a
//! change of rule needs no index rewritten.

use serde_json::{Map, Value};

use crate::schema::Module;

/// The kinds of identity, in the order keys are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    Phone,
    Email,
    TaxCode,
    /// The name, whatever its letter case and spacing.
    Name,
    /// The name, whatever its case, spacing and Vietnamese accents (Nguyễn = Nguyen).
    NameUnaccented,
    /// The customer code, whatever its case and spacing.
    Code,
}

/// The kinds that count until a tenant chooses: phone, email, tax code.
pub const DEFAULT_RULE: [IdentityKind; 3] = [
    IdentityKind::Phone,
    IdentityKind::Email,
    IdentityKind::TaxCode,
];

/// The most customers one key names that a duplicate check reads: a name many people share says
/// little, and reading thousands of namesakes would make the check slow for everyone.
pub const MAX_MATCHES_PER_KEY: usize = 200;

impl IdentityKind {
    pub const ALL: [IdentityKind; 6] = [
        IdentityKind::Phone,
        IdentityKind::Email,
        IdentityKind::TaxCode,
        IdentityKind::Name,
        IdentityKind::NameUnaccented,
        IdentityKind::Code,
    ];

    fn prefix(self) -> &'static str {
        match self {
            IdentityKind::Phone => "phone:",
            IdentityKind::Email => "email:",
            IdentityKind::TaxCode => "tax:",
            IdentityKind::Name => "name:",
            IdentityKind::NameUnaccented => "plain-name:",
            IdentityKind::Code => "code:",
        }
    }

    /// The customer field the kind reads.
    pub fn field(self) -> &'static str {
        match self {
            IdentityKind::Phone => "Phone",
            IdentityKind::Email => "Email",
            IdentityKind::TaxCode => "TaxCode",
            IdentityKind::Name | IdentityKind::NameUnaccented => "Name",
            IdentityKind::Code => "Code",
        }
    }

    /// The kind a key was made for.
    pub fn of_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| key.starts_with(k.prefix()))
    }
}

/// Letters as compared: composed (a name typed with combining marks is the same name), lower
/// case, single spaces.
fn folded(raw: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    raw.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .nfc()
        .collect::<String>()
        .to_lowercase()
}

/// Letters without their tone and vowel marks (decomposed, the combining marks dropped; đ as d,
/// which Unicode does not decompose).
fn unaccented(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::is_combining_mark;
    text.nfd()
        .filter(|c| !is_combining_mark(*c))
        .map(|c| if c == 'đ' { 'd' } else { c })
        .collect()
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
        IdentityKind::Name => Some(folded(raw)).filter(|n| n.chars().count() >= 2)?,
        IdentityKind::NameUnaccented => {
            Some(unaccented(&folded(raw))).filter(|n| n.chars().count() >= 2)?
        }
        IdentityKind::Code => Some(folded(raw).replace(' ', "")).filter(|c| !c.is_empty())?,
    };
    // Keys become partition keys (at most 2,048 bytes); nothing that identifies anyone is longer.
    (normalized.len() <= 254).then(|| format!("{}{normalized}", kind.prefix()))
}

/// The identity keys of a stored record, of every kind (the index holds them all): a customer's,
/// and a contact's email ([`contact_key`]), which the mailbox sync matches addresses with.
pub fn keys(module: Module, fields: &Map<String, Value>) -> Vec<String> {
    match module {
        Module::Customer => keys_of(module, fields, &IdentityKind::ALL),
        Module::Contact => fields
            .get(IdentityKind::Email.field())
            .and_then(Value::as_str)
            .and_then(contact_key)
            .into_iter()
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether records of `module` are written with identity keys.
pub fn is_identified(module: Module) -> bool {
    matches!(module, Module::Customer | Module::Contact)
}

/// The key of a contact's email: apart from customers' keys, so that a duplicate check of
/// customers never meets a contact.
pub fn contact_key(email: &str) -> Option<String> {
    key(IdentityKind::Email, email).map(|k| format!("contact-{k}"))
}

/// The keys of the kinds a tenant's rule counts.
pub fn keys_of(module: Module, fields: &Map<String, Value>, kinds: &[IdentityKind]) -> Vec<String> {
    if module != Module::Customer {
        return Vec::new();
    }
    kinds
        .iter()
        .filter_map(|kind| key(*kind, fields.get(kind.field())?.as_str()?))
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
    fn names_match_whatever_their_case_spacing_and_if_chosen_their_accents() {
        assert_eq!(
            key(IdentityKind::Name, " Nguyễn  Thị HẰNG "),
            Some("name:nguyễn thị hằng".into())
        );
        assert_eq!(
            key(IdentityKind::NameUnaccented, "Nguyễn Thị Hằng"),
            key(IdentityKind::NameUnaccented, "nguyen thi hang")
        );
        assert_ne!(
            key(IdentityKind::Name, "Nguyễn Thị Hằng"),
            key(IdentityKind::Name, "Nguyen Thi Hang")
        );
        assert_eq!(
            key(IdentityKind::NameUnaccented, "Đỗ Đức"),
            Some("plain-name:do duc".into())
        );
        assert_eq!(
            key(IdentityKind::Code, "kh 001"),
            key(IdentityKind::Code, "KH001")
        );
        // Typed with combining marks (decomposed), the same name.
        let decomposed = "Nguye\u{302}\u{303}n";
        assert_eq!(
            key(IdentityKind::Name, decomposed),
            key(IdentityKind::Name, "Nguyễn")
        );
    }

    #[test]
    fn customers_have_keys_and_contacts_only_their_email_apart() {
        let f = fields(json!({"Phone": "0912345678", "Email": "A@b.vn", "TaxCode": "0101243150"}));
        assert_eq!(keys(Module::Customer, &f).len(), 3);
        assert_eq!(keys(Module::Contact, &f), ["contact-email:a@b.vn"]);
        assert_eq!(IdentityKind::of_key("contact-email:a@b.vn"), None);
        assert!(keys(Module::Order, &f).is_empty());
        assert_eq!(
            IdentityKind::of_key("email:a@b.vn"),
            Some(IdentityKind::Email)
        );
    }
}
