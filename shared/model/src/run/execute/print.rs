//! Print attachments: a print template rendered for the record, as a PDF (through the
//! [`DocumentPrinter`](crate::run::providers::DocumentPrinter) port) or as the template's own HTML
//! document.

use super::{Context, ExecuteError, Executor};
use crate::action::SettingKind;
use crate::schedule::ActionJob;
use crate::settings::Setting;
use crate::template::Escape;

impl Executor<'_> {
    /// The print template rendered for the record: a PDF, or the template's own HTML document.
    pub(super) async fn print(
        &self,
        job: &ActionJob,
        c: &Context,
        attachment: &crate::action::PrintAttachment,
    ) -> Result<Result<crate::run::providers::Attachment, String>, ExecuteError> {
        use crate::action::AttachmentFormat;
        let Some(Setting::PrintTemplate(template)) = self
            .setting(
                &job.tenant,
                SettingKind::PrintTemplate,
                &attachment.print_template,
            )
            .await?
        else {
            return Ok(Err(format!(
                "print template '{}' no longer exists",
                attachment.print_template
            )));
        };
        let name = file_name(&c.render(&template.file_name, Escape::Plain));
        Ok(match attachment.format {
            AttachmentFormat::Pdf => {
                let body = c
                    .render(&template.body, Escape::Plain)
                    .replace("\r\n", "\n");
                let paragraphs: Vec<String> = body
                    .split("\n\n")
                    .map(|p| p.trim().to_owned())
                    .filter(|p| !p.is_empty())
                    .collect();
                self.printer
                    .pdf(&name, &paragraphs)
                    .map(|data| crate::run::providers::Attachment {
                        file_name: format!("{name}.pdf"),
                        content_type: "application/pdf".into(),
                        data,
                    })
            }
            AttachmentFormat::Original => {
                // The template is plain text: all of it is escaped, not only the merged values.
                let body = c
                    .render(&template.body, Escape::Plain)
                    .replace("\r\n", "\n");
                let mut paragraphs = String::new();
                for p in body.split("\n\n").filter(|p| !p.trim().is_empty()) {
                    let mut escaped = String::new();
                    crate::template::escape_html_into(&mut escaped, p.trim());
                    paragraphs.push_str(&format!("<p>{}</p>\n", escaped.replace('\n', "<br>")));
                }
                let mut title = String::new();
                crate::template::escape_html_into(&mut title, &name);
                let html = format!(
                    "<!DOCTYPE html>\n<html lang=\"vi\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\n<body>\n{paragraphs}</body></html>\n"
                );
                Ok(crate::run::providers::Attachment {
                    file_name: format!("{name}.html"),
                    content_type: "text/html; charset=utf-8".into(),
                    data: html.into_bytes(),
                })
            }
        })
    }
}

/// A file name from rendered text: no path separators or control characters, never empty.
fn file_name(rendered: &str) -> String {
    let cleaned: String = rendered
        .chars()
        .map(|c| {
            if c.is_control() || "/\\:*?\"<>|".contains(c) {
                '_'
            } else {
                c
            }
        })
        .collect();
    let trimmed = cleaned.trim().trim_matches('.');
    if trimmed.is_empty() {
        "document".to_owned()
    } else {
        trimmed.chars().take(120).collect()
    }
}
