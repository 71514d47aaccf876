//! The catalogue of sample workflows an administrator starts from ("create from a template").
//! A sample names the settings and users it needs as bindings (`${sms_provider}`); creating a
//! workflow from it fills them in, then validates the result like any other definition.

use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

use crate::action::SettingKind;
use crate::ids::{SettingId, UserId};
use crate::validation::{Problems, pointer_segment};
use crate::workflow::{WorkflowDefinition, WorkflowKind};

/// What a binding must name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BindingKind {
    Setting(SettingKind),
    User,
}

#[derive(Debug, Clone, Serialize)]
pub struct Binding {
    pub name: &'static str,
    pub kind: BindingKind,
    pub description: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    pub id: &'static str,
    pub name_vi: &'static str,
    pub name_en: &'static str,
    pub description: &'static str,
    pub kind: WorkflowKind,
    pub bindings: Vec<Binding>,
    /// The definition with `${binding}` placeholders.
    pub definition: Value,
}

pub(crate) fn setting(name: &'static str, kind: SettingKind, description: &'static str) -> Binding {
    Binding {
        name,
        kind: BindingKind::Setting(kind),
        description,
    }
}

pub(crate) fn user(name: &'static str, description: &'static str) -> Binding {
    Binding {
        name,
        kind: BindingKind::User,
        description,
    }
}

/// Every sample, in the order the console lists them.
pub fn catalogue() -> Vec<Sample> {
    use SettingKind::*;
    let mut samples = vec![
        Sample {
            id: "birthday-sms-and-call",
            name_vi: "Chúc mừng sinh nhật khách hàng",
            name_en: "Birthday greeting SMS and call task",
            description: "On each customer's birthday at 8:00, send a greeting SMS and give the owner a call task.",
            kind: WorkflowKind::Care,
            bindings: vec![
                setting("sms_provider", SmsProvider, "the brandname SMS provider"),
                setting(
                    "sms_template",
                    SmsTemplate,
                    "a Customer SMS template with the greeting",
                ),
            ],
            definition: json!({
                "module": "Customer", "name": "Chúc mừng sinh nhật khách hàng",
                "description": "SMS chúc mừng và nhiệm vụ gọi điện vào ngày sinh nhật",
                "trigger": {"type": "time", "date_field": "Birthday", "recurrence": "yearly", "time_of_day": "08:00:00"},
                "condition": {"type": "matching", "group": {"combine": "and", "rules": [
                    {"field": "Phone", "op": "is_not_empty"}]}},
                "actions": [
                    {"kind": "sms", "id": "greeting-sms", "name": "SMS chúc mừng sinh nhật",
                     "provider": "${sms_provider}", "recipient_fields": [{"field": "Phone"}], "template": "${sms_template}"},
                    {"kind": "task", "id": "greeting-call", "name": "Gọi điện chúc mừng",
                     "title": "Gọi chúc mừng sinh nhật #Name", "description": "Khách hàng #Name (#Phone) sinh ngày #Birthday.",
                     "due": {"days_after": 0, "time_of_day": "17:00:00"}, "task_type": "Call", "priority": "High",
                     "assignee": {"type": "record_owner"}}
                ]
            }),
        },
        Sample {
            id: "founding-day-email",
            name_vi: "Chúc mừng ngày thành lập",
            name_en: "Founding day email",
            description: "Every year on an organisation's founding date at 9:00, email its congratulations.",
            kind: WorkflowKind::Care,
            bindings: vec![
                setting("sender", EmailSender, "the sender identity"),
                setting("email_template", EmailTemplate, "a Customer email template"),
            ],
            definition: json!({
                "module": "Customer", "name": "Chúc mừng ngày thành lập",
                "trigger": {"type": "time", "date_field": "FoundedDate", "recurrence": "yearly", "time_of_day": "09:00:00", "feb29": "feb28"},
                "condition": {"type": "matching", "group": {"combine": "and", "rules": [
                    {"field": "CustomerType", "op": "equals", "value": "Organization"},
                    {"field": "Email", "op": "is_not_empty"}]}},
                "actions": [{"kind": "email", "id": "founding-email", "name": "Email chúc mừng",
                             "sender": "${sender}", "recipient_fields": [{"field": "Email"}], "template": "${email_template}"}]
            }),
        },
        Sample {
            id: "order-follow-up-care-card",
            name_vi: "Chăm sóc sau giao hàng",
            name_en: "Order follow-up care card",
            description: "Seven days after an order is delivered, add a care card per product for the order's salesperson.",
            kind: WorkflowKind::Care,
            bindings: vec![],
            definition: json!({
                "module": "Order", "name": "Chăm sóc sau giao hàng 7 ngày",
                "trigger": {"type": "time", "date_field": "DeliveryDate", "recurrence": "once", "time_of_day": "09:00:00",
                            "offset": {"amount": 7, "unit": "days", "direction": "after"}},
                "condition": {"type": "matching", "group": {"combine": "and", "rules": [
                    {"field": "Status", "op": "equals", "value": "Delivered"}]}},
                "actions": [{"kind": "care_card", "id": "follow-up-card", "name": "Thẻ chăm sóc sau giao hàng",
                             "based_on": {"type": "products"}, "owner": {"type": "order_salesperson"},
                             "notify_owner": true, "layout": "Chăm sóc sau bán", "care_date": {"days_after": 1},
                             "fields": [{"field": "Notes", "value": {"type": "merge", "text": "Hỏi thăm trải nghiệm đơn hàng #Code"}}]}]
            }),
        },
        Sample {
            id: "contract-renewal-task",
            name_vi: "Nhắc gia hạn hợp đồng",
            name_en: "Contract renewal task",
            description: "Thirty days before a customer's contract ends, give the owner a renewal task.",
            kind: WorkflowKind::Care,
            bindings: vec![],
            definition: json!({
                "module": "Customer", "name": "Nhắc gia hạn hợp đồng trước 30 ngày",
                "trigger": {"type": "time", "date_field": "ContractEndDate", "recurrence": "once", "time_of_day": "08:30:00",
                            "offset": {"amount": 30, "unit": "days", "direction": "before"}},
                "actions": [{"kind": "task", "id": "renewal-task", "name": "Gia hạn hợp đồng",
                             "title": "Gia hạn hợp đồng với #Name", "description": "Hợp đồng hết hạn ngày #ContractEndDate.",
                             "due": {"days_after": 14}, "task_type": "Meeting", "priority": "High",
                             "assignee": {"type": "record_owner"}}]
            }),
        },
        Sample {
            id: "re-engagement-email",
            name_vi: "Khách hàng lâu chưa mua",
            name_en: "Re-engagement email after 90 days",
            description: "Ninety days after a customer's last purchase, email them a voucher as a PDF.",
            kind: WorkflowKind::Care,
            bindings: vec![
                setting("sender", EmailSender, "the sender identity"),
                setting("email_template", EmailTemplate, "a Customer email template"),
                setting(
                    "voucher",
                    PrintTemplate,
                    "a Customer print template for the voucher",
                ),
            ],
            definition: json!({
                "module": "Customer", "name": "Mời quay lại sau 90 ngày",
                "trigger": {"type": "time", "date_field": "LastPurchaseDate", "recurrence": "once", "time_of_day": "10:00:00",
                            "offset": {"amount": 90, "unit": "days", "direction": "after"}},
                "condition": {"type": "matching", "group": {"combine": "and", "rules": [
                    {"field": "Email", "op": "is_not_empty"}]}},
                "actions": [{"kind": "email", "id": "come-back-email", "name": "Email mời quay lại",
                             "sender": "${sender}", "recipient_fields": [{"field": "Email"}], "template": "${email_template}",
                             "attachment": {"print_template": "${voucher}", "format": "pdf"}}]
            }),
        },
        Sample {
            id: "welcome-email",
            name_vi: "Chào mừng khách hàng mới",
            name_en: "Welcome email",
            description: "When a customer is created with an email address, send a welcome email.",
            kind: WorkflowKind::Work,
            bindings: vec![
                setting("sender", EmailSender, "the sender identity"),
                setting("email_template", EmailTemplate, "a Customer email template"),
            ],
            definition: json!({
                "module": "Customer", "name": "Chào mừng khách hàng mới",
                "trigger": {"type": "record_event", "on": "created"},
                "condition": {"type": "matching", "group": {"combine": "and", "rules": [
                    {"field": "Email", "op": "is_not_empty"}]}},
                "actions": [{"kind": "email", "id": "welcome", "name": "Email chào mừng", "sender": "${sender}",
                             "recipient_fields": [{"field": "Email"}], "template": "${email_template}"}]
            }),
        },
        Sample {
            id: "order-confirmation-email",
            name_vi: "Xác nhận đơn hàng",
            name_en: "Order confirmation email",
            description: "When an order is created, email its customer a confirmation.",
            kind: WorkflowKind::Work,
            bindings: vec![
                setting("sender", EmailSender, "the sender identity"),
                setting("email_template", EmailTemplate, "an Order email template"),
            ],
            definition: json!({
                "module": "Order", "name": "Xác nhận đơn hàng",
                "trigger": {"type": "record_event", "on": "created"},
                "actions": [{"kind": "email", "id": "confirmation", "name": "Email xác nhận", "sender": "${sender}",
                             "recipient_fields": [{"via": "Customer", "field": "Email"}], "template": "${email_template}"}]
            }),
        },
        Sample {
            id: "gold-rank-celebration",
            name_vi: "Khách hàng lên hạng Vàng",
            name_en: "Gold rank notification",
            description: "When a customer's rank changes to Gold, notify the owner and plan a thank-you call.",
            kind: WorkflowKind::Work,
            bindings: vec![],
            definition: json!({
                "module": "Customer", "name": "Khách hàng lên hạng Vàng",
                "trigger": {"type": "record_event", "on": "updated", "watched_fields": ["Rank"], "repeat_on_every_edit": true},
                "condition": {"type": "matching", "group": {"combine": "and", "rules": [
                    {"field": "Rank", "op": "changed_to", "value": "Gold"}]}},
                "actions": [
                    {"kind": "notification", "id": "tell-owner", "name": "Báo chủ sở hữu", "notify_owner": true,
                     "message": "#Name vừa lên hạng Vàng"},
                    {"kind": "task", "id": "thank-you-call", "name": "Gọi cảm ơn", "title": "Gọi cảm ơn #Name",
                     "due": {"days_after": 2}, "task_type": "Call", "priority": "Normal", "assignee": {"type": "record_owner"}}
                ]
            }),
        },
        Sample {
            id: "lead-round-robin",
            name_vi: "Phân bổ tiềm năng mới",
            name_en: "Round-robin new leads",
            description: "When a lead is created, hand it over to the next salesperson of an allocation rule.",
            kind: WorkflowKind::Work,
            bindings: vec![setting(
                "allocation_rule",
                AllocationRule,
                "a Lead allocation rule",
            )],
            definition: json!({
                "module": "Lead", "name": "Phân bổ tiềm năng mới",
                "trigger": {"type": "record_event", "on": "created"},
                "actions": [{"kind": "handover", "id": "allocate", "name": "Phân bổ", "to": {"type": "allocation_rule", "rule": "${allocation_rule}"},
                             "move_open_activities": ["task"]}]
            }),
        },
        Sample {
            id: "contact-birthday-zns",
            name_vi: "Chúc mừng sinh nhật qua Zalo",
            name_en: "Birthday greeting on Zalo (ZNS)",
            description: "On each contact's birthday at 8:00, send a Zalo ZNS greeting and tell their account manager.",
            kind: WorkflowKind::Care,
            bindings: vec![
                setting("zns_provider", ZnsProvider, "the Zalo OA provider"),
                setting(
                    "zns_template",
                    ZnsTemplate,
                    "a ZNS template with parameters customer_name and birthday",
                ),
                user("account_manager", "the user told about each greeting"),
            ],
            definition: json!({
                "module": "Contact", "name": "Chúc mừng sinh nhật qua Zalo",
                "trigger": {"type": "time", "date_field": "Birthday", "recurrence": "yearly", "time_of_day": "08:00:00"},
                "actions": [
                    {"kind": "zns", "id": "zns-greeting", "name": "ZNS chúc mừng", "provider": "${zns_provider}",
                     "recipient_field": {"field": "Phone"}, "template": "${zns_template}",
                     "parameters": {"customer_name": "#Name", "birthday": "#Birthday"}},
                    {"kind": "notification", "id": "tell-manager", "name": "Báo quản lý", "users": ["${account_manager}"],
                     "message": "Đã gửi lời chúc sinh nhật tới #Name"}
                ]
            }),
        },
    ];
    samples.extend(crate::approval::samples::catalogue());
    samples
}

pub fn find(id: &str) -> Option<Sample> {
    catalogue().into_iter().find(|s| s.id == id)
}

impl Sample {
    /// The definition with every binding filled in. Missing, unknown and malformed bindings are
    /// problems under `/bindings`; the result still has to pass workflow validation.
    pub fn instantiate(
        &self,
        bindings: &BTreeMap<String, String>,
    ) -> Result<WorkflowDefinition, Problems> {
        let mut problems = Problems::default();
        for binding in &self.bindings {
            let path = format!("/bindings/{}", binding.name);
            match bindings.get(binding.name) {
                None => problems.push(path, format!("name {}", binding.description)),
                Some(value) => {
                    let valid = match binding.kind {
                        BindingKind::Setting(_) => SettingId::new(value.as_str()).is_ok(),
                        BindingKind::User => UserId::new(value.as_str()).is_ok(),
                    };
                    if !valid {
                        problems.push(path, "not a valid id");
                    }
                }
            }
        }
        for name in bindings.keys() {
            if !self.bindings.iter().any(|b| b.name == name) {
                problems.push(
                    format!("/bindings/{}", pointer_segment(name)),
                    "this sample has no such binding",
                );
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let mut definition = self.definition.clone();
        fill(&mut definition, bindings);
        serde_json::from_value(definition)
            .map_err(|e| Problems::single("/definition", format!("the sample does not parse: {e}")))
    }
}

fn fill(value: &mut Value, bindings: &BTreeMap<String, String>) {
    match value {
        Value::String(s) => {
            if let Some(name) = s.strip_prefix("${").and_then(|rest| rest.strip_suffix('}')) {
                if let Some(bound) = bindings.get(name) {
                    *s = bound.clone();
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| fill(v, bindings)),
        Value::Object(map) => map.values_mut().for_each(|v| fill(v, bindings)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::{MemoryCatalog, SettingInfo};
    use crate::schema::{Module, Schema};

    #[test]
    fn there_are_at_least_eight_samples_with_unique_ids() {
        let samples = catalogue();
        assert!(samples.len() >= 8);
        for (i, s) in samples.iter().enumerate() {
            assert!(samples[..i].iter().all(|o| o.id != s.id), "{} twice", s.id);
        }
    }

    #[test]
    fn every_sample_instantiates_into_a_valid_workflow_of_its_kind() {
        for sample in catalogue() {
            let mut catalog = MemoryCatalog::default();
            let mut bindings = BTreeMap::new();
            let module: Module =
                serde_json::from_value(sample.definition["module"].clone()).unwrap();
            for binding in &sample.bindings {
                let id = format!("bound-{}", binding.name.replace('_', "-"));
                catalog = match binding.kind {
                    BindingKind::Setting(kind) => {
                        let info = SettingInfo {
                            module: Some(module),
                            parameters: vec!["customer_name".into(), "birthday".into()],
                        };
                        let info = if kind == SettingKind::ZnsTemplate {
                            SettingInfo {
                                module: None,
                                ..info
                            }
                        } else {
                            info
                        };
                        catalog.with_setting(kind, &id, info)
                    }
                    BindingKind::User => catalog.with_user(&id),
                };
                bindings.insert(binding.name.to_owned(), id);
            }
            let definition = sample.instantiate(&bindings).unwrap();
            assert_eq!(definition.kind(), sample.kind, "{}", sample.id);
            if let Err(problems) = definition.validate(&Schema::builtin(), &catalog) {
                panic!("{}: {problems}", sample.id);
            }
        }
    }

    #[test]
    fn missing_unknown_and_malformed_bindings_are_named() {
        let sample = find("birthday-sms-and-call").unwrap();
        let bindings: BTreeMap<String, String> = [
            ("sms_template".to_owned(), "a#b".to_owned()),
            ("colour".to_owned(), "x".to_owned()),
        ]
        .into();
        let problems = sample.instantiate(&bindings).unwrap_err();
        assert!(problems.has("/bindings/sms_provider"));
        assert!(problems.has("/bindings/sms_template"));
        assert!(problems.has("/bindings/colour"));
    }
}
