//! Everything a send needs before its first provider call: the provider and its credentials,
//! the rendered message, and the recipients in the order they are sent to. All of it is read
//! before the run is claimed, so a failed read leaves nothing behind to clean up.

use std::collections::BTreeMap;

use super::super::{Context, ExecuteError, Executor};
use super::numbers::{nobody_to_text, text_recipients};
use crate::action::{Action, FieldPath, SettingKind};
use crate::ids::{RecordId, UserId};
use crate::record::FieldValue;
use crate::run::SkippedRecipient;
use crate::run::providers::{Email, SendError};
use crate::schedule::ActionJob;
use crate::settings::secrets::{AccessToken, GatewayKeys};
use crate::settings::{Setting, SmsGateway, ZnsProvider};
use crate::template::{Escape, MAX_SMS_CHARS};

/// A send ready to go.
pub(in crate::run::execute) struct Prepared {
    /// Who it goes to, each once, in the order they are sent to.
    pub recipients: Vec<String>,
    pub message: Message,
}

/// What each provider call of a send carries.
pub(in crate::run::execute) enum Message {
    Sms {
        gateway: SmsGateway,
        keys: Option<GatewayKeys>,
        body: String,
    },
    Zns {
        provider: ZnsProvider,
        token: AccessToken,
        template_id: String,
        data: BTreeMap<String, String>,
    },
    /// One email per recipient, addressed to it alone (`email.to` is set for each send), with
    /// the action's copies. A print attachment is printed only once the run is claimed, so a
    /// redelivery of a sent email prints nothing.
    Email {
        email: Email,
        print: Option<crate::action::PrintAttachment>,
        /// The one recipient whose message carries the copies (a person's email: each copy
        /// once); `None`, every recipient's (a workflow's, which copies on every message).
        copies_with: Option<String>,
    },
}

type Preparation = Result<Result<Prepared, SendError>, ExecuteError>;

impl Executor<'_> {
    /// The send of `c.action`; `Err(SendError)` when it cannot go out (a setting gone, nobody to
    /// send to), with the recipients left out added to `skipped`.
    pub(in crate::run::execute) async fn prepare(
        &self,
        job: &ActionJob,
        c: &Context,
        skipped: &mut Vec<SkippedRecipient>,
    ) -> Preparation {
        match &c.action {
            Action::Sms(a) => self.prepare_sms(job, c, a, skipped).await,
            Action::Zns(a) => self.prepare_zns(job, c, a, skipped).await,
            Action::Email(a) => self.prepare_email(job, c, a).await,
            _ => Ok(Err(SendError::Permanent("not a send".into()))),
        }
    }

    /// The addresses a recipient field names (on the record, or on a related record).
    async fn field_values(
        &self,
        job: &ActionJob,
        c: &Context,
        path: &FieldPath,
    ) -> Result<Vec<String>, ExecuteError> {
        let source = match &path.via {
            None => Some(c.record.clone()),
            Some(via) => match c
                .record
                .get(via)
                .and_then(FieldValue::as_text)
                .and_then(|id| RecordId::new(id).ok())
            {
                Some(id) => self
                    .records
                    .get(&job.tenant, &id)
                    .await?
                    .map(|r| r.value.typed(&c.schema)),
                None => None,
            },
        };
        Ok(source
            .and_then(|r| {
                r.get(&path.field)
                    .and_then(FieldValue::as_text)
                    .map(str::to_owned)
            })
            .into_iter()
            .collect())
    }

    async fn user_contacts(
        &self,
        job: &ActionJob,
        users: &[UserId],
        phone: bool,
    ) -> Result<Vec<String>, ExecuteError> {
        let mut out = Vec::new();
        for id in users {
            if let Some(user) = self.users.get(&job.tenant, id).await? {
                if !user.active {
                    continue;
                }
                out.extend(if phone { user.phone } else { Some(user.email) });
            }
        }
        Ok(out)
    }

    async fn prepare_sms(
        &self,
        job: &ActionJob,
        c: &Context,
        a: &crate::action::SmsAction,
        skipped: &mut Vec<SkippedRecipient>,
    ) -> Preparation {
        let provider = self
            .setting(&job.tenant, SettingKind::SmsProvider, &a.provider)
            .await?;
        let gateway = match provider {
            Some(Setting::SmsProvider(p)) => p.gateway,
            _ => {
                return Ok(Err(SendError::Permanent(format!(
                    "SMS provider '{}' no longer exists",
                    a.provider
                ))));
            }
        };
        let body = match self
            .setting(&job.tenant, SettingKind::SmsTemplate, &a.template)
            .await?
        {
            Some(Setting::SmsTemplate(t)) => c.render(&t.body, Escape::Plain),
            _ => {
                return Ok(Err(SendError::Permanent(format!(
                    "SMS template '{}' no longer exists",
                    a.template
                ))));
            }
        };
        let chars = body.chars().count();
        if chars > MAX_SMS_CHARS {
            // Merged values made it longer than the template allowed: five segments at most.
            return Ok(Err(SendError::Permanent(format!(
                "the merged SMS is {chars} characters; at most {MAX_SMS_CHARS} (five segments)"
            ))));
        }
        let mut numbers = Vec::new();
        for path in &a.recipient_fields {
            numbers.extend(self.field_values(job, c, path).await?);
        }
        numbers.extend(self.user_contacts(job, &a.users, true).await?);
        let e164 = text_recipients(&numbers, &c.message_countries, skipped);
        if e164.is_empty() {
            return Ok(Err(SendError::Permanent(nobody_to_text(skipped))));
        }
        let keys: Option<GatewayKeys> = match &gateway {
            SmsGateway::Sns { .. } => None,
            SmsGateway::Brandname { .. } => match self
                .credentials(job, SettingKind::SmsProvider, &a.provider)
                .await?
            {
                Ok(keys) => Some(keys),
                Err(error) => return Ok(Err(error)),
            },
        };
        Ok(Ok(Prepared {
            recipients: e164,
            message: Message::Sms {
                gateway,
                keys,
                body,
            },
        }))
    }

    async fn prepare_zns(
        &self,
        job: &ActionJob,
        c: &Context,
        a: &crate::action::ZnsAction,
        skipped: &mut Vec<SkippedRecipient>,
    ) -> Preparation {
        let provider = match self
            .setting(&job.tenant, SettingKind::ZnsProvider, &a.provider)
            .await?
        {
            Some(Setting::ZnsProvider(p)) => p,
            _ => {
                return Ok(Err(SendError::Permanent(format!(
                    "ZNS provider '{}' no longer exists",
                    a.provider
                ))));
            }
        };
        let template = match self
            .setting(&job.tenant, SettingKind::ZnsTemplate, &a.template)
            .await?
        {
            Some(Setting::ZnsTemplate(t)) => t,
            _ => {
                return Ok(Err(SendError::Permanent(format!(
                    "ZNS template '{}' no longer exists",
                    a.template
                ))));
            }
        };
        let data: std::collections::BTreeMap<String, String> = a
            .parameters
            .iter()
            .map(|(name, text)| (name.clone(), c.render(text, Escape::Plain)))
            .collect();
        let mut phones = self.field_values(job, c, &a.recipient_field).await?;
        phones.extend(self.user_contacts(job, &a.users, true).await?);
        // Zalo takes 84… without the plus.
        let numbers: Vec<String> = text_recipients(&phones, &c.message_countries, skipped)
            .iter()
            .filter_map(|e164| e164.strip_prefix('+').map(str::to_owned))
            .collect();
        if numbers.is_empty() {
            return Ok(Err(SendError::Permanent(nobody_to_text(skipped))));
        }
        let token: AccessToken = match self
            .credentials(job, SettingKind::ZnsProvider, &a.provider)
            .await?
        {
            Ok(token) => token,
            Err(error) => return Ok(Err(error)),
        };
        Ok(Ok(Prepared {
            recipients: numbers,
            message: Message::Zns {
                provider,
                token,
                template_id: template.zalo_template_id,
                data,
            },
        }))
    }

    async fn prepare_email(
        &self,
        job: &ActionJob,
        c: &Context,
        a: &crate::action::EmailAction,
    ) -> Preparation {
        if let Some(print) = &a.attachment {
            // Read now, before the claim (and kept in the sandbox's cache for the printing
            // after it): a store outage here leaves nothing claimed.
            if self
                .setting(
                    &job.tenant,
                    SettingKind::PrintTemplate,
                    &print.print_template,
                )
                .await?
                .is_none()
            {
                return Ok(Err(SendError::Permanent(format!(
                    "print template '{}' no longer exists",
                    print.print_template
                ))));
            }
        }
        let sender = match self
            .setting(&job.tenant, SettingKind::EmailSender, &a.sender)
            .await?
        {
            Some(Setting::EmailSender(s)) => s,
            _ => {
                return Ok(Err(SendError::Permanent(format!(
                    "sender '{}' no longer exists",
                    a.sender
                ))));
            }
        };
        let (subject, html) = match self
            .setting(&job.tenant, SettingKind::EmailTemplate, &a.template)
            .await?
        {
            Some(Setting::EmailTemplate(t)) => (
                c.render(&t.subject, Escape::Plain),
                c.render(&t.html_body, Escape::Html),
            ),
            _ => {
                return Ok(Err(SendError::Permanent(format!(
                    "email template '{}' no longer exists",
                    a.template
                ))));
            }
        };
        let mut to = Vec::new();
        for path in &a.recipient_fields {
            to.extend(self.field_values(job, c, path).await?);
        }
        to.extend(self.user_contacts(job, &a.users, false).await?);
        to.extend(a.extra_addresses.iter().cloned());
        to.retain(|address| crate::record::is_plausible_email(address));
        // Each address once, whatever its case: each gets a message of its own.
        let mut seen = std::collections::HashSet::new();
        to.retain(|address| seen.insert(address.to_lowercase()));
        if to.is_empty() {
            return Ok(Err(SendError::Permanent(
                "no recipient has a valid email address".into(),
            )));
        }
        let from = sender.from_header();
        Ok(Ok(Prepared {
            recipients: to,
            message: Message::Email {
                email: Email {
                    from,
                    to: String::new(),
                    cc: a.cc.clone(),
                    bcc: a.bcc.clone(),
                    reply_to: sender.reply_to.clone(),
                    subject,
                    html,
                    attachments: Vec::new(),
                },
                print: a.attachment.clone(),
                copies_with: None,
            },
        }))
    }
}
