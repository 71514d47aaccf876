//! Message templates (email, SMS, Zalo ZNS, print) and the merge fields inside them.

pub mod draft;
mod format;
mod merge;
mod names;

pub use format::{DisplayNames, NoNames, write_value};
pub use merge::{Escape, MergeError, MergeTemplate, RenderContext, UserPart, escape_html_into};
pub use names::{Directory, LoadedNames, UserLookup, Wanted, look_up};

use serde::{Deserialize, Serialize};

use crate::schema::{Module, Schema};
use crate::validation::Problems;

/// An email template: subject and HTML body with merge fields of its module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailTemplate {
    pub name: String,
    pub module: Module,
    pub subject: String,
    pub html_body: String,
}

/// An SMS template (brandname SMS).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsTemplate {
    pub name: String,
    pub module: Module,
    pub body: String,
}

/// A Zalo ZNS template as registered with Zalo: its id there and the parameter names it takes.
/// Actions map each parameter to a merge text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZnsTemplate {
    pub name: String,
    pub zalo_template_id: String,
    pub parameters: Vec<String>,
}

/// A print template: a document of a module, printed as PDF or kept in its original format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrintTemplate {
    pub name: String,
    pub module: Module,
    /// File name of the printed document, with merge fields (without extension).
    pub file_name: String,
    /// Document text with merge fields; blank lines separate paragraphs.
    pub body: String,
}

/// Longest text an SMS template may hold: five concatenated UCS-2 segments (Vietnamese text
/// with diacritics is sent as UCS-2, 67 characters per concatenated segment).
pub const MAX_SMS_CHARS: usize = 5 * 67;

fn check_name(name: &str, problems: &mut Problems) {
    if name.trim().is_empty() || name.chars().count() > 255 {
        problems.push("/name", "is required, at most 255 characters");
    }
}

/// The merge texts a template setting holds (none for any other setting).
pub fn setting_texts(setting: crate::settings::Setting) -> Vec<String> {
    use crate::settings::Setting;
    match setting {
        Setting::SmsTemplate(t) => vec![t.body],
        Setting::EmailTemplate(t) => vec![t.subject, t.html_body],
        Setting::PrintTemplate(t) => vec![t.file_name, t.body],
        _ => Vec::new(),
    }
}

/// Checks a merge text of `module` at `path`, recording each problem.
pub fn check_merge_text(
    text: &str,
    schema: &Schema,
    module: Module,
    path: &str,
    problems: &mut Problems,
) {
    if let Err(errors) = MergeTemplate::parse(text, schema, module) {
        for error in errors {
            problems.push(path, error.to_string());
        }
    }
}

impl EmailTemplate {
    pub fn validate(&self, schema: &Schema) -> Problems {
        let mut problems = Problems::default();
        check_name(&self.name, &mut problems);
        if self.subject.trim().is_empty() {
            problems.push("/subject", "is required");
        }
        if self.subject.contains(['\r', '\n']) {
            problems.push("/subject", "must be one line");
        }
        check_merge_text(
            &self.subject,
            schema,
            self.module,
            "/subject",
            &mut problems,
        );
        check_merge_text(
            &self.html_body,
            schema,
            self.module,
            "/html_body",
            &mut problems,
        );
        problems
    }
}

impl SmsTemplate {
    pub fn validate(&self, schema: &Schema) -> Problems {
        let mut problems = Problems::default();
        check_name(&self.name, &mut problems);
        let chars = self.body.chars().count();
        if chars == 0 || chars > MAX_SMS_CHARS {
            problems.push(
                "/body",
                format!("must hold 1 to {MAX_SMS_CHARS} characters"),
            );
        }
        check_merge_text(&self.body, schema, self.module, "/body", &mut problems);
        problems
    }
}

impl ZnsTemplate {
    pub fn validate(&self) -> Problems {
        let mut problems = Problems::default();
        check_name(&self.name, &mut problems);
        if self.zalo_template_id.trim().is_empty() {
            problems.push("/zalo_template_id", "is required");
        }
        for (i, p) in self.parameters.iter().enumerate() {
            if p.trim().is_empty() || self.parameters[..i].contains(p) {
                problems.push(
                    format!("/parameters/{i}"),
                    "must be a non-empty, unique name",
                );
            }
        }
        problems
    }
}

impl PrintTemplate {
    pub fn validate(&self, schema: &Schema) -> Problems {
        let mut problems = Problems::default();
        check_name(&self.name, &mut problems);
        if self.file_name.trim().is_empty() || self.file_name.contains(['/', '\\']) {
            problems.push(
                "/file_name",
                "is required and may not contain a path separator",
            );
        }
        check_merge_text(
            &self.file_name,
            schema,
            self.module,
            "/file_name",
            &mut problems,
        );
        check_merge_text(&self.body, schema, self.module, "/body", &mut problems);
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_name_each_bad_merge_field() {
        let schema = Schema::builtin();
        let email = EmailTemplate {
            name: "Sinh nhật".into(),
            module: Module::Customer,
            subject: "Chúc mừng #Nam".into(),
            html_body: "<p>#Name #{Ngày sinh} #Bogus</p>".into(),
        };
        let problems = email.validate(&schema);
        assert!(
            problems.has("/subject") && problems.has("/html_body"),
            "{problems}"
        );
        assert_eq!(problems.len(), 2);

        let sms = SmsTemplate {
            name: "x".into(),
            module: Module::Customer,
            body: "a".repeat(MAX_SMS_CHARS + 1),
        };
        assert!(sms.validate(&schema).has("/body"));
    }
}
