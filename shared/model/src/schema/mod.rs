//! Modules and their typed fields: the schema every record, condition, action and merge field is
//! validated against. Built-in fields come from [`builtin`]; tenants add custom fields.

mod builtin;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

use crate::validation::Problems;

/// A record type of the CRM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Module {
    Customer,
    Contact,
    Lead,
    Opportunity,
    Quote,
    Order,
    Invoice,
    Task,
    CareCard,
    Call,
    Meeting,
    Note,
    /// An email or SMS sent from a record (and, synced from a mailbox, received).
    Message,
}

impl Module {
    pub const ALL: [Module; 13] = [
        Module::Customer,
        Module::Contact,
        Module::Lead,
        Module::Opportunity,
        Module::Quote,
        Module::Order,
        Module::Invoice,
        Module::Task,
        Module::CareCard,
        Module::Call,
        Module::Meeting,
        Module::Note,
        Module::Message,
    ];

    /// The activities of a customer's activity tab, besides what the automation did.
    pub const ACTIVITIES: [Module; 6] = [
        Module::Task,
        Module::CareCard,
        Module::Call,
        Module::Meeting,
        Module::Note,
        Module::Message,
    ];

    /// Whether records of the module are written only by what they log (a message by its
    /// sending), never through the generic record routes.
    pub fn is_log(self) -> bool {
        self == Module::Message
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Module::Customer => "Customer",
            Module::Contact => "Contact",
            Module::Lead => "Lead",
            Module::Opportunity => "Opportunity",
            Module::Quote => "Quote",
            Module::Order => "Order",
            Module::Invoice => "Invoice",
            Module::Task => "Task",
            Module::CareCard => "CareCard",
            Module::Call => "Call",
            Module::Meeting => "Meeting",
            Module::Note => "Note",
            Module::Message => "Message",
        }
    }

    /// The field that names a record of the module, as a reference to it shows.
    pub fn title_field(self) -> &'static str {
        match self {
            Module::Customer | Module::Contact | Module::Lead | Module::Opportunity => "Name",
            Module::Quote | Module::Order | Module::Invoice => "Code",
            Module::Task | Module::CareCard | Module::Note => "Title",
            Module::Call | Module::Meeting | Module::Message => "Subject",
        }
    }

    /// The label the Vietnamese console shows.
    pub fn label_vi(self) -> &'static str {
        match self {
            Module::Customer => "Khách hàng",
            Module::Contact => "Liên hệ",
            Module::Lead => "Tiềm năng",
            Module::Opportunity => "Cơ hội",
            Module::Quote => "Báo giá",
            Module::Order => "Đơn hàng",
            Module::Invoice => "Hóa đơn",
            Module::Task => "Nhiệm vụ",
            Module::CareCard => "Thẻ chăm sóc",
            Module::Call => "Cuộc gọi",
            Module::Meeting => "Cuộc họp",
            Module::Note => "Ghi chú",
            Module::Message => "Email và SMS",
        }
    }
}

impl fmt::Display for Module {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One choice of a pick-list field: the stored value and its labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PickOption {
    pub value: String,
    pub label_vi: String,
    pub label_en: String,
}

/// What a field holds. Conditions, merge rendering and validation all dispatch on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum FieldKind {
    Text,
    Number,
    /// Whole units of the tenant's currency (đồng for VND).
    Money,
    Date,
    DateTime,
    PickList {
        options: Vec<PickOption>,
    },
    MultiPickList {
        options: Vec<PickOption>,
    },
    User,
    Phone,
    Email,
    Boolean,
    Reference {
        module: Module,
    },
    /// An IANA time-zone name; a time trigger fires in it when the record has one.
    TimeZone,
    /// An order's lines: product, product category, quantity, unit price.
    LineItems,
    /// Several CRM users (a task's related users).
    Users,
    /// Files stored with the record, by name (a task's printed attachments); written by the
    /// system, downloaded through a link.
    Files,
    /// Why the record scores what it does, per scoring rule: written by the scoring rules,
    /// read on the record, never tested by a condition.
    ScoreBreakdown,
    /// The approval a record waits for (absent when none): written when it is submitted and
    /// when its request ends, read on the record, never tested by a condition.
    Approval,
}

impl FieldKind {
    /// Kept by the system as JSON and shown on the record: nothing parses or compares it.
    pub fn is_system_json(&self) -> bool {
        matches!(self, FieldKind::ScoreBreakdown | FieldKind::Approval)
    }

    pub fn name(&self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::Number => "number",
            FieldKind::Money => "money",
            FieldKind::Date => "date",
            FieldKind::DateTime => "datetime",
            FieldKind::PickList { .. } => "pick-list",
            FieldKind::MultiPickList { .. } => "multi-pick-list",
            FieldKind::User => "user",
            FieldKind::Phone => "phone",
            FieldKind::Email => "email",
            FieldKind::Boolean => "boolean",
            FieldKind::Reference { .. } => "reference",
            FieldKind::TimeZone => "time zone",
            FieldKind::LineItems => "line items",
            FieldKind::Users => "users",
            FieldKind::Files => "files",
            FieldKind::ScoreBreakdown => "score breakdown",
            FieldKind::Approval => "approval",
        }
    }

    pub fn options(&self) -> &[PickOption] {
        match self {
            FieldKind::PickList { options } | FieldKind::MultiPickList { options } => options,
            _ => &[],
        }
    }

    pub fn is_temporal(&self) -> bool {
        matches!(self, FieldKind::Date | FieldKind::DateTime)
    }
}

/// A field of a module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDef {
    /// Code name, used in records, conditions and `#Name` merge fields.
    pub name: String,
    pub label_vi: String,
    pub label_en: String,
    #[serde(flatten)]
    pub kind: FieldKind,
    #[serde(default)]
    pub required: bool,
    /// Set by the system (created/updated by/at); never written by users or actions.
    #[serde(default)]
    pub read_only: bool,
    #[serde(default)]
    pub custom: bool,
}

/// A tenant's custom field, as an administrator defines it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomField {
    pub module: Module,
    pub name: String,
    pub label_vi: String,
    pub label_en: String,
    pub kind: FieldKind,
    #[serde(default)]
    pub required: bool,
}

/// The fields of one module for one tenant: built-in first, then custom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleSchema {
    module: Module,
    fields: Vec<FieldDef>,
}

impl ModuleSchema {
    pub fn module(&self) -> Module {
        self.module
    }

    pub fn fields(&self) -> &[FieldDef] {
        &self.fields
    }

    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Finds a field by code name, or by its Vietnamese or English label (case-insensitive), as
    /// `#{Ngày sinh}` merge fields name them.
    pub fn field_by_name_or_label(&self, key: &str) -> Option<&FieldDef> {
        self.field_index_by_name_or_label(key)
            .map(|i| &self.fields[i])
    }

    /// The position of that field in [`ModuleSchema::fields`].
    pub fn field_index_by_name_or_label(&self, key: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == key).or_else(|| {
            self.fields.iter().position(|f| {
                eq_ignore_case(&f.label_vi, key)
                    || eq_ignore_case(&f.label_en, key)
                    || eq_ignore_case(&f.name, key)
            })
        })
    }
}

fn eq_ignore_case(a: &str, b: &str) -> bool {
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

/// Every module's fields for one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    modules: BTreeMap<Module, ModuleSchema>,
}

impl Schema {
    /// The built-in modules and fields, with no custom field.
    pub fn builtin() -> Self {
        let modules = Module::ALL
            .iter()
            .map(|&module| {
                let fields = builtin::fields(module);
                (module, ModuleSchema { module, fields })
            })
            .collect();
        Self { modules }
    }

    /// The built-in schema plus a tenant's custom fields; every problem is reported at once.
    pub fn with_custom_fields(custom: &[CustomField]) -> Result<Self, Problems> {
        let mut schema = Self::builtin();
        let mut problems = Problems::default();
        for (i, field) in custom.iter().enumerate() {
            let at = format!("/custom_fields/{i}");
            if !is_field_name(&field.name) {
                problems.push(
                    format!("{at}/name"),
                    "must start with a letter and hold only letters, digits and '_' (at most 64)",
                );
                continue;
            }
            if field.label_vi.trim().is_empty() || field.label_en.trim().is_empty() {
                problems.push(format!("{at}/label_vi"), "both labels are required");
            }
            if let FieldKind::PickList { options } | FieldKind::MultiPickList { options } =
                &field.kind
            {
                if options.is_empty() {
                    problems.push(format!("{at}/kind/options"), "a pick-list needs options");
                }
            }
            if field.kind == FieldKind::Files {
                // Files are stored by the system (printed attachments), never typed in.
                problems.push(format!("{at}/kind"), "a custom field cannot hold files");
            }
            if field.kind == FieldKind::ScoreBreakdown {
                problems.push(
                    format!("{at}/kind"),
                    "the score breakdown is kept by the scoring rules: use a number field for a score",
                );
            }
            if field.kind == FieldKind::Approval {
                problems.push(
                    format!("{at}/kind"),
                    "a record's pending approval is kept by the approval workflows",
                );
            }
            let module = schema.modules.get_mut(&field.module).map(|m| &mut m.fields);
            let Some(fields) = module else { continue };
            if fields.iter().any(|f| f.name == field.name) {
                problems.push(
                    format!("{at}/name"),
                    format!("{} already has a field named {}", field.module, field.name),
                );
                continue;
            }
            fields.push(FieldDef {
                name: field.name.clone(),
                label_vi: field.label_vi.clone(),
                label_en: field.label_en.clone(),
                kind: field.kind.clone(),
                required: field.required,
                read_only: false,
                custom: true,
            });
        }
        problems.into_result(schema)
    }

    pub fn module(&self, module: Module) -> &ModuleSchema {
        // Every module is present: the constructors fill all of `Module::ALL`.
        &self.modules[&module]
    }
}

/// A code name: ASCII letter first, then letters, digits or '_'.
pub fn is_field_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && name.len() <= 64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_has_owner_and_audit_fields() {
        let schema = Schema::builtin();
        for module in Module::ALL {
            let fields = schema.module(module);
            for name in ["Owner", "CreatedAt", "UpdatedAt", "CreatedBy", "UpdatedBy"] {
                assert!(fields.field(name).is_some(), "{module} lacks {name}");
            }
        }
    }

    #[test]
    fn customer_has_the_fields_care_workflows_use() {
        let schema = Schema::builtin();
        let customer = schema.module(Module::Customer);
        assert_eq!(customer.field("Birthday").unwrap().kind, FieldKind::Date);
        assert_eq!(customer.field("Phone").unwrap().kind, FieldKind::Phone);
        assert_eq!(
            customer.field_by_name_or_label("ngày sinh").unwrap().name,
            "Birthday"
        );
        assert_eq!(
            customer
                .field_by_name_or_label("Date of birth")
                .unwrap()
                .name,
            "Birthday"
        );
    }

    #[test]
    fn custom_fields_join_their_module_and_clashes_are_named() {
        let custom = vec![
            CustomField {
                module: Module::Customer,
                name: "ZaloId".into(),
                label_vi: "Zalo".into(),
                label_en: "Zalo".into(),
                kind: FieldKind::Text,
                required: false,
            },
            CustomField {
                module: Module::Customer,
                name: "Phone".into(),
                label_vi: "ĐT".into(),
                label_en: "Phone".into(),
                kind: FieldKind::Phone,
                required: false,
            },
            CustomField {
                module: Module::Order,
                name: "1bad".into(),
                label_vi: "x".into(),
                label_en: "x".into(),
                kind: FieldKind::Text,
                required: false,
            },
        ];
        let problems = Schema::with_custom_fields(&custom).unwrap_err();
        let paths: Vec<_> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["/custom_fields/1/name", "/custom_fields/2/name"]);

        let schema = Schema::with_custom_fields(&custom[..1]).unwrap();
        let field = schema.module(Module::Customer).field("ZaloId").unwrap();
        assert!(field.custom);
    }
}
