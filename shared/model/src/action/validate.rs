//! Checking actions against the schema and the tenant's settings.

use super::*;
use crate::record::{FieldValue, is_plausible_email};
use crate::schema::{FieldDef, FieldKind, Module, Schema};
use crate::template::check_merge_text;
use crate::validation::Problems;

/// Cc and Bcc addresses an email action may list, each: every message goes to its recipient and
/// all of them, within SES's 50 destinations a message.
pub const MAX_COPIES: usize = 20;

/// Addresses an email action may list besides its fields and users (each gets its own message).
pub const MAX_EXTRA_ADDRESSES: usize = 100;

/// Checks actions of a workflow of `module`; problems collect in the checker.
pub(crate) struct Checker<'a> {
    schema: &'a Schema,
    module: Module,
    catalog: &'a dyn Catalog,
    pub problems: Problems,
}

pub(crate) fn validate_with<'a>(
    schema: &'a Schema,
    module: Module,
    catalog: &'a dyn Catalog,
) -> Checker<'a> {
    Checker {
        schema,
        module,
        catalog,
        problems: Problems::default(),
    }
}

impl Checker<'_> {
    fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(path, message);
    }

    fn merge(&mut self, text: &str, path: &str) {
        check_merge_text(text, self.schema, self.module, path, &mut self.problems);
    }

    fn required_text(&mut self, text: &str, path: &str) {
        if text.trim().is_empty() {
            self.push(path, "is required");
        }
    }

    fn setting(&mut self, kind: SettingKind, id: &SettingId, path: &str) -> Option<SettingInfo> {
        let found = self.catalog.setting(kind, id);
        if found.is_none() {
            self.push(
                path,
                format!("no {kind:?} '{id}'").replace("Template", " template"),
            );
        }
        found
    }

    /// A template or rule of the workflow's module.
    fn module_setting(
        &mut self,
        kind: SettingKind,
        id: &SettingId,
        path: &str,
    ) -> Option<SettingInfo> {
        let info = self.setting(kind, id, path)?;
        match info.module {
            Some(m) if m != self.module => {
                self.push(path, format!("'{id}' belongs to {m}, not {}", self.module));
                None
            }
            _ => Some(info),
        }
    }

    fn user(&mut self, user: &UserId, path: &str) {
        if !self.catalog.user_exists(user) {
            self.push(path, format!("no user '{user}'"));
        }
    }

    fn users(&mut self, users: &[UserId], path: &str) {
        for (i, user) in users.iter().enumerate() {
            self.user(user, &format!("{path}/{i}"));
        }
    }

    /// The field a path names, checked to be of one of `kinds`.
    fn field_path(&mut self, fp: &FieldPath, path: &str, kinds: &[&str]) -> Option<FieldDef> {
        let module = self.via(fp.via.as_deref(), &format!("{path}/via"))?;
        let Some(def) = self.schema.module(module).field(&fp.field).cloned() else {
            self.push(
                format!("{path}/field"),
                format!("{module} has no field '{}'", fp.field),
            );
            return None;
        };
        if !kinds.is_empty() && !kinds.contains(&def.kind.name()) {
            self.push(
                format!("{path}/field"),
                format!(
                    "'{}' is a field of kind {}; expected {}",
                    fp.field,
                    def.kind.name(),
                    kinds.join(" or ")
                ),
            );
            return None;
        }
        Some(def)
    }

    /// The module reached through an optional reference field of the workflow's module.
    fn via(&mut self, via: Option<&str>, path: &str) -> Option<Module> {
        let Some(via) = via else {
            return Some(self.module);
        };
        match self.schema.module(self.module).field(via).map(|f| &f.kind) {
            Some(FieldKind::Reference { module }) => Some(*module),
            Some(_) => {
                self.push(path, format!("'{via}' is not a reference field"));
                None
            }
            None => {
                self.push(path, format!("{} has no field '{via}'", self.module));
                None
            }
        }
    }

    fn assignments(&mut self, target: Module, values: &[FieldAssignment], path: &str) {
        for (i, assignment) in values.iter().enumerate() {
            let at = format!("{path}/{i}");
            if values[..i].iter().any(|a| a.field == assignment.field) {
                self.push(
                    format!("{at}/field"),
                    format!("'{}' is set twice", assignment.field),
                );
                continue;
            }
            let Some(def) = self.schema.module(target).field(&assignment.field).cloned() else {
                self.push(
                    format!("{at}/field"),
                    format!("{target} has no field '{}'", assignment.field),
                );
                continue;
            };
            if def.read_only {
                self.push(
                    format!("{at}/field"),
                    format!("'{}' is set by the system", def.name),
                );
                continue;
            }
            if def.name == "Customer" && crate::record::blocks_customer_delete(target) {
                // Its customer's count of dependents moves with people's edits only.
                self.push(
                    format!("{at}/field"),
                    format!("the customer of a {target} is changed by hand, not by a workflow"),
                );
                continue;
            }
            let value_path = format!("{at}/value");
            match &assignment.value {
                AssignedValue::Literal { value } => match FieldValue::parse(&def.kind, value) {
                    Ok(Some(_)) => {}
                    Ok(None) => self.push(value_path, "use 'clear' to empty a field"),
                    Err(message) => self.push(value_path, message),
                },
                AssignedValue::Merge { text } => {
                    if def.kind != FieldKind::Text {
                        self.push(
                            value_path,
                            format!(
                                "merged text fits only text fields; '{}' is a {} field",
                                def.name,
                                def.kind.name()
                            ),
                        );
                    } else {
                        self.merge(text, &format!("{value_path}/text"));
                    }
                }
                AssignedValue::Today { offset_days } => {
                    if !def.kind.is_temporal() {
                        self.push(
                            value_path,
                            format!(
                                "'today' fits only date fields; '{}' is a {} field",
                                def.name,
                                def.kind.name()
                            ),
                        );
                    } else if offset_days.unsigned_abs() > 3660 {
                        self.push(
                            format!("{value_path}/offset_days"),
                            "at most 3660 days either way",
                        );
                    }
                }
                AssignedValue::Clear {} => {
                    if def.required {
                        self.push(
                            value_path,
                            format!("'{}' is required and cannot be cleared", def.name),
                        );
                    }
                }
            }
        }
    }

    fn pick_value(&mut self, module: Module, field: &str, value: &str, path: &str) {
        let options = self
            .schema
            .module(module)
            .field(field)
            .map(|f| f.kind.options().to_vec());
        if !options.unwrap_or_default().iter().any(|o| o.value == value) {
            self.push(path, format!("'{value}' is not a {module} {field} option"));
        }
    }

    fn attachment(&mut self, attachment: &Option<PrintAttachment>, path: &str) {
        if let Some(a) = attachment {
            self.module_setting(
                SettingKind::PrintTemplate,
                &a.print_template,
                &format!("{path}/print_template"),
            );
        }
    }

    pub fn action(&mut self, action: &Action, path: &str) {
        let name = action.name();
        if name.trim().is_empty() || name.chars().count() > 255 {
            self.push(
                format!("{path}/name"),
                "is required, at most 255 characters",
            );
        }
        match action {
            Action::UpdateFields(a) => {
                if a.values.is_empty() {
                    self.push(format!("{path}/values"), "set at least one field");
                }
                if let Some(target) = self.via(a.via.as_deref(), &format!("{path}/via")) {
                    self.assignments(target, &a.values, &format!("{path}/values"));
                }
            }
            Action::Email(a) => {
                self.setting(
                    SettingKind::EmailSender,
                    &a.sender,
                    &format!("{path}/sender"),
                );
                self.module_setting(
                    SettingKind::EmailTemplate,
                    &a.template,
                    &format!("{path}/template"),
                );
                for (i, fp) in a.recipient_fields.iter().enumerate() {
                    self.field_path(fp, &format!("{path}/recipient_fields/{i}"), &["email"]);
                }
                self.users(&a.users, &format!("{path}/users"));
                if a.extra_addresses.len() > MAX_EXTRA_ADDRESSES {
                    self.push(
                        format!("{path}/extra_addresses"),
                        format!("at most {MAX_EXTRA_ADDRESSES} addresses"),
                    );
                }
                for (i, address) in a.extra_addresses.iter().enumerate() {
                    if !is_plausible_email(address) {
                        self.push(
                            format!("{path}/extra_addresses/{i}"),
                            "not an email address",
                        );
                    }
                }
                for (list, addresses) in [("cc", &a.cc), ("bcc", &a.bcc)] {
                    if addresses.len() > MAX_COPIES {
                        self.push(
                            format!("{path}/{list}"),
                            format!("at most {MAX_COPIES} addresses"),
                        );
                    }
                    for (i, address) in addresses.iter().enumerate() {
                        if !is_plausible_email(address) {
                            self.push(format!("{path}/{list}/{i}"), "not an email address");
                        }
                    }
                }
                if a.recipient_fields.is_empty()
                    && a.users.is_empty()
                    && a.extra_addresses.is_empty()
                {
                    self.push(
                        format!("{path}/recipient_fields"),
                        "name at least one recipient",
                    );
                }
                self.attachment(&a.attachment, &format!("{path}/attachment"));
            }
            Action::Task(a) => {
                self.required_text(&a.title, &format!("{path}/title"));
                self.merge(&a.title, &format!("{path}/title"));
                self.merge(&a.description, &format!("{path}/description"));
                if a.due.days_after > 3660 {
                    self.push(format!("{path}/due/days_after"), "at most 3660 days");
                }
                self.pick_value(
                    Module::Task,
                    "TaskType",
                    &a.task_type,
                    &format!("{path}/task_type"),
                );
                self.pick_value(
                    Module::Task,
                    "Priority",
                    &a.priority,
                    &format!("{path}/priority"),
                );
                match &a.assignee {
                    Assignee::User { user_id } => {
                        self.user(user_id, &format!("{path}/assignee/user_id"))
                    }
                    Assignee::RecordOwner {} => {}
                    Assignee::Field { field } => {
                        let fp = FieldPath {
                            via: None,
                            field: field.clone(),
                        };
                        self.field_path(&fp, &format!("{path}/assignee"), &["user"]);
                    }
                }
                self.users(&a.related_users, &format!("{path}/related_users"));
                if a.related_users.len() > crate::record::MAX_LISTED {
                    self.push(
                        format!("{path}/related_users"),
                        format!("at most {} users", crate::record::MAX_LISTED),
                    );
                }
                self.attachment(&a.attachment, &format!("{path}/attachment"));
                if let Some(sync) = &a.external_sync {
                    self.setting(
                        SettingKind::TaskConnection,
                        &sync.connection,
                        &format!("{path}/external_sync/connection"),
                    );
                    self.required_text(&sync.project, &format!("{path}/external_sync/project"));
                }
            }
            Action::Handover(a) => {
                match &a.to {
                    HandoverTarget::User { user_id } => {
                        self.user(user_id, &format!("{path}/to/user_id"))
                    }
                    HandoverTarget::AllocationRule { rule } => {
                        self.module_setting(
                            SettingKind::AllocationRule,
                            rule,
                            &format!("{path}/to/rule"),
                        );
                    }
                }
                let kinds = &a.move_open_activities;
                if kinds
                    .iter()
                    .enumerate()
                    .any(|(i, k)| kinds[..i].contains(k))
                {
                    self.push(
                        format!("{path}/move_open_activities"),
                        "lists an activity kind twice",
                    );
                }
            }
            Action::Sms(a) => {
                self.setting(
                    SettingKind::SmsProvider,
                    &a.provider,
                    &format!("{path}/provider"),
                );
                self.module_setting(
                    SettingKind::SmsTemplate,
                    &a.template,
                    &format!("{path}/template"),
                );
                for (i, fp) in a.recipient_fields.iter().enumerate() {
                    self.field_path(fp, &format!("{path}/recipient_fields/{i}"), &["phone"]);
                }
                self.users(&a.users, &format!("{path}/users"));
                if a.recipient_fields.is_empty() && a.users.is_empty() {
                    self.push(
                        format!("{path}/recipient_fields"),
                        "name at least one recipient",
                    );
                }
            }
            Action::Zns(a) => {
                self.setting(
                    SettingKind::ZnsProvider,
                    &a.provider,
                    &format!("{path}/provider"),
                );
                self.field_path(
                    &a.recipient_field,
                    &format!("{path}/recipient_field"),
                    &["phone"],
                );
                self.users(&a.users, &format!("{path}/users"));
                if let Some(info) = self.setting(
                    SettingKind::ZnsTemplate,
                    &a.template,
                    &format!("{path}/template"),
                ) {
                    for wanted in &info.parameters {
                        if !a.parameters.contains_key(wanted) {
                            self.push(
                                format!("{path}/parameters"),
                                format!("template parameter '{wanted}' has no value"),
                            );
                        }
                    }
                    for given in a.parameters.keys() {
                        if !info.parameters.contains(given) {
                            self.push(
                                format!("{path}/parameters/{given}"),
                                "the ZNS template has no such parameter",
                            );
                        }
                    }
                }
                for (name, text) in &a.parameters {
                    self.merge(text, &format!("{path}/parameters/{name}"));
                }
            }
            Action::CareCard(a) => {
                if self.module != Module::Order {
                    self.push(
                        format!("{path}/kind"),
                        "care cards are created for orders: only Order workflows may add them",
                    );
                    return;
                }
                if let CardOwner::User { user_id } = &a.owner {
                    self.user(user_id, &format!("{path}/owner/user_id"));
                }
                self.required_text(&a.layout, &format!("{path}/layout"));
                if a.care_date.days_after.unsigned_abs() > 3660 {
                    self.push(
                        format!("{path}/care_date/days_after"),
                        "at most 3660 days before or after",
                    );
                }
                if let Some(field) = &a.care_date.from_field {
                    let dated = self
                        .schema
                        .module(Module::Order)
                        .field(field)
                        .is_some_and(|d| matches!(d.kind, FieldKind::Date | FieldKind::DateTime));
                    if !dated {
                        self.push(
                            format!("{path}/care_date/from_field"),
                            format!("'{field}' is not a date field of orders"),
                        );
                    }
                }
                self.assignments(Module::CareCard, &a.fields, &format!("{path}/fields"));
            }
            Action::Notification(a) => {
                self.users(&a.users, &format!("{path}/users"));
                if a.users.is_empty() && !a.notify_owner {
                    self.push(
                        format!("{path}/users"),
                        "name at least one user, or notify the owner",
                    );
                }
                self.required_text(&a.message, &format!("{path}/message"));
                self.merge(&a.message, &format!("{path}/message"));
            }
        }
    }
}
