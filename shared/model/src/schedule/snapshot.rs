//! What a send's job carries of its record: the fields the send reads (its recipient fields,
//! the merge fields of its texts, the record's time zone), not the whole record, so that a
//! record with large text fields does not travel ten times over the bus. When the texts cannot
//! be known (a template gone, a print attachment, which renders a document of the whole record)
//! the job carries every field, as before.

use std::collections::BTreeSet;

use crate::action::{Action, FieldPath, SettingKind};
use crate::ids::SettingId;
use crate::schema::{ModuleSchema, Schema};
use crate::settings::Setting;
use crate::template::MergeTemplate;

/// The field holding a record's own time zone, which dates in messages are shown in.
const TIME_ZONE_FIELD: &str = "TimeZone";

/// The template setting whose texts a send renders, when they live in a setting.
pub fn template_of(action: &Action) -> Option<(SettingKind, &SettingId)> {
    match action {
        Action::Sms(a) => Some((SettingKind::SmsTemplate, &a.template)),
        Action::Email(a) => Some((SettingKind::EmailTemplate, &a.template)),
        _ => None,
    }
}

/// The record fields `action` reads when sent, given the setting [`template_of`] names
/// (`None` when it is not found); `None` when every field may be read.
pub fn fields_read(
    action: &Action,
    template: Option<&Setting>,
    schema: &Schema,
    module: &ModuleSchema,
) -> Option<BTreeSet<String>> {
    let mut fields = BTreeSet::from([TIME_ZONE_FIELD.to_owned()]);
    let mut add_path = |path: &FieldPath| {
        // A related record's field is read from that record: here only the reference.
        fields.insert(path.via.clone().unwrap_or_else(|| path.field.clone()));
    };
    let texts: Vec<&str> = match (action, template) {
        (Action::Sms(a), Some(Setting::SmsTemplate(t))) => {
            a.recipient_fields.iter().for_each(&mut add_path);
            vec![t.body.as_str()]
        }
        (Action::Zns(a), _) => {
            add_path(&a.recipient_field);
            a.parameters.values().map(String::as_str).collect()
        }
        (Action::Email(a), Some(Setting::EmailTemplate(t))) if a.attachment.is_none() => {
            a.recipient_fields.iter().for_each(&mut add_path);
            vec![t.subject.as_str(), t.html_body.as_str()]
        }
        _ => return None,
    };
    for text in texts {
        let template = MergeTemplate::parse(text, schema, module.module()).ok()?;
        fields.extend(template.fields(module).map(str::to_owned));
    }
    Some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Module;
    use crate::template::SmsTemplate;
    use serde_json::json;

    fn action(value: serde_json::Value) -> Action {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn an_sms_reads_its_recipient_fields_its_merge_fields_and_the_time_zone() {
        let schema = Schema::builtin();
        let sms = action(
            json!({"kind": "sms", "id": "sms", "name": "SMS", "provider": "p",
            "recipient_fields": [{"field": "Phone"}], "template": "t"}),
        );
        let template = Setting::SmsTemplate(SmsTemplate {
            name: "Sinh nhật".into(),
            module: Module::Customer,
            body: "Chúc mừng sinh nhật #Name, mã #{Mã khách hàng}".into(),
        });
        let module = schema.module(Module::Customer);
        let read = fields_read(&sms, Some(&template), &schema, module).unwrap();
        assert_eq!(
            read.into_iter().collect::<Vec<_>>(),
            ["Code", "Name", "Phone", "TimeZone"]
        );
        assert_eq!(
            fields_read(&sms, None, &schema, module),
            None,
            "a template gone: all"
        );
    }

    #[test]
    fn a_zns_reads_its_parameters_and_an_email_with_a_document_reads_everything() {
        let schema = Schema::builtin();
        let module = schema.module(Module::Order);
        let zns = action(
            json!({"kind": "zns", "id": "zns", "name": "ZNS", "provider": "p",
            "recipient_field": {"via": "Customer", "field": "Phone"}, "template": "t",
            "parameters": {"code": "#Code"}}),
        );
        let read = fields_read(&zns, None, &schema, module).unwrap();
        assert_eq!(
            read.into_iter().collect::<Vec<_>>(),
            ["Code", "Customer", "TimeZone"]
        );
        let email = action(
            json!({"kind": "email", "id": "mail", "name": "Mail", "sender": "s",
            "recipient_fields": [{"via": "Customer", "field": "Email"}], "template": "t",
            "attachment": {"print_template": "invoice", "format": "pdf"}}),
        );
        assert_eq!(fields_read(&email, None, &schema, module), None);
    }
}
