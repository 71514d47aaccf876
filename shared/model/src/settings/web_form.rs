//! Web forms (the intake of a company's website): a module, the fields a visitor may fill,
//! values every submission gets, and who gets what no allocation rule takes. A form is reached
//! with a key of its own, `<tenant>.<form>.<secret>`: the tenant and form it names are trusted
//! only once the secret's SHA-256 matches the one the form keeps. The key sits in the website's
//! page, so it is no password: it lets anyone submit to that one form only, and an
//! administrator replaces it (which stops the old one) when it is abused. The settings keep
//! only its hash.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::ids::{SettingId, TenantId, UserId};
use crate::schema::{Module, Schema};
use crate::validation::Problems;

/// The most fields a form offers.
pub const MAX_FORM_FIELDS: usize = 50;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebForm {
    pub name: String,
    /// Lead, Customer or Contact.
    pub module: Module,
    /// The fields a submission may fill; any other is refused.
    pub fields: Vec<String>,
    /// Set on every submission (for example `{"Source": "WebForm"}`), over what it sent.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub fixed: Map<String, Value>,
    /// Who creates the submissions, and owns those no allocation rule or default owner takes.
    pub owner: UserId,
    /// SHA-256 (hex) of the form's secret, kept by the API when a key is issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_sha256: Option<String>,
}

impl WebForm {
    pub fn validate(&self, schema: &Schema, user_exists: &dyn Fn(&UserId) -> bool) -> Problems {
        let mut problems = Problems::default();
        if self.name.trim().is_empty() || self.name.chars().count() > 255 {
            problems.push("/name", "is required, at most 255 characters");
        }
        if !matches!(
            self.module,
            Module::Lead | Module::Customer | Module::Contact
        ) {
            problems.push("/module", "a web form creates leads, customers or contacts");
        }
        let module = schema.module(self.module);
        if self.fields.is_empty() || self.fields.len() > MAX_FORM_FIELDS {
            problems.push(
                "/fields",
                format!("a form offers 1 to {MAX_FORM_FIELDS} fields"),
            );
        }
        for (i, name) in self.fields.iter().enumerate() {
            match module.field(name) {
                None => problems.push(
                    format!("/fields/{i}"),
                    format!("{} has no field '{name}'", self.module),
                ),
                // Nor may a visitor name the tenant's users or records.
                Some(def)
                    if def.read_only
                        || name == "Owner"
                        || matches!(
                            def.kind,
                            crate::schema::FieldKind::User
                                | crate::schema::FieldKind::Users
                                | crate::schema::FieldKind::Reference { .. }
                        ) =>
                {
                    problems.push(
                        format!("/fields/{i}"),
                        format!("'{name}' is not for visitors to fill"),
                    )
                }
                Some(_) if self.fields[..i].contains(name) => {
                    problems.push(format!("/fields/{i}"), format!("'{name}' is listed twice"))
                }
                Some(_) => {}
            }
        }
        if let Err(p) = crate::record::parse_fields(
            module,
            &self.fixed,
            "/fixed",
            // Only the values given: the submission brings the rest.
            crate::record::ParseMode::Update,
        ) {
            problems.extend(p);
        }
        for def in module.fields().iter().filter(|f| f.required) {
            if !self.fields.contains(&def.name) && !self.fixed.contains_key(&def.name) {
                problems.push(
                    "/fields",
                    format!("'{}' is required: offer it, or fix its value", def.name),
                );
            }
        }
        if self.fixed.contains_key("Owner") {
            problems.push("/fixed/Owner", "the owner comes from the allocation rules");
        }
        if !user_exists(&self.owner) {
            problems.push("/owner", format!("no user '{}'", self.owner));
        }
        if self
            .key_sha256
            .as_deref()
            .is_some_and(|h| h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            problems.push("/key_sha256", "64 hexadecimal digits, as issued");
        }
        problems
    }

    /// Whether `secret` is the form's current secret.
    pub fn opens_with(&self, secret: &str) -> bool {
        let Some(kept) = self.key_sha256.as_deref() else {
            return false;
        };
        let given = hex_sha256(secret);
        // Compared in full whatever differs, so the time taken tells nothing.
        given.len() == kept.len()
            && given
                .bytes()
                .zip(kept.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b.to_ascii_lowercase()))
                == 0
    }
}

pub fn hex_sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A form key as a visitor's browser sends it: `<tenant>.<form>.<secret>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormKey {
    pub tenant: TenantId,
    pub form: SettingId,
    pub secret: String,
}

impl FormKey {
    /// The key of `form` with `secret`.
    pub fn text(tenant: &TenantId, form: &SettingId, secret: &str) -> String {
        format!("{tenant}.{form}.{secret}")
    }

    /// `None` for anything that is not a key's shape (answered as an unknown form).
    pub fn parse(key: &str) -> Option<FormKey> {
        let mut parts = key.splitn(3, '.');
        let (tenant, form, secret) = (parts.next()?, parts.next()?, parts.next()?);
        if secret.len() < 32 || secret.len() > 128 {
            return None;
        }
        Some(FormKey {
            tenant: TenantId::new(tenant).ok()?,
            form: SettingId::new(form).ok()?,
            secret: secret.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(secret: &str) -> WebForm {
        WebForm {
            name: "Liên hệ".into(),
            module: Module::Lead,
            fields: vec!["Name".into(), "Phone".into()],
            fixed: Map::new(),
            owner: UserId::new("u-admin").unwrap(),
            key_sha256: Some(hex_sha256(secret)),
        }
    }

    #[test]
    fn a_form_opens_only_with_its_current_secret() {
        let secret = "s".repeat(40);
        assert!(form(&secret).opens_with(&secret));
        assert!(!form(&secret).opens_with(&"t".repeat(40)));
        let mut unissued = form(&secret);
        unissued.key_sha256 = None;
        assert!(!unissued.opens_with(&secret));
    }

    #[test]
    fn a_key_names_its_tenant_and_form_and_anything_else_is_no_key() {
        let secret = "a".repeat(43);
        let key = FormKey::parse(&format!("acme.contact-form.{secret}")).unwrap();
        assert_eq!(
            (key.tenant.as_str(), key.form.as_str()),
            ("acme", "contact-form")
        );
        assert!(FormKey::parse("acme.contact-form.short").is_none());
        assert!(FormKey::parse("acme-only").is_none());
    }

    #[test]
    fn a_form_offers_only_fields_a_visitor_may_fill() {
        let schema = Schema::builtin();
        let mut bad = form("x");
        bad.fields = vec![
            "Name".into(),
            "Owner".into(),
            "CreatedAt".into(),
            "Nope".into(),
        ];
        bad.fixed
            .insert("Source".into(), Value::String("Nowhere".into()));
        let problems = bad.validate(&schema, &|_| true);
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            ["/fields/1", "/fields/2", "/fields/3", "/fixed/Source"],
            "{problems:?}"
        );
    }
}
