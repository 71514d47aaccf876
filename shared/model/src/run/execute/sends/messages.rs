//! A person's message, queued on a customer by the records API, sent as a workflow's send is:
//! claimed, each recipient once, the outcome of each call stored before the next. The message
//! was rendered when it was written, so what goes out is what the person saw; the run's outcome
//! is written back on the message, also by a redelivery that finds the run settled.

use serde_json::Value;

use super::numbers::{nobody_to_text, text_recipients};
use super::prepare::{Message, Prepared};
use super::{Claim, ExecuteError, Executor, JobOutcome};
use crate::action::SettingKind;
use crate::ids::SettingId;
use crate::record::stored::StoredRecord;
use crate::run::providers::{Email, SendError};
use crate::run::{RecipientState, RunStatus, SkippedRecipient};
use crate::schedule::ActionJob;
use crate::schema::Module;
use crate::settings::{Setting, SmsGateway};
use crate::store::StoreError;
use crate::workflow::ExternalSendGuarantee;

/// A person sends again if they want to: a send in doubt is never repeated on its own.
const GUARANTEE: ExternalSendGuarantee = ExternalSendGuarantee::AtMostOnce;

/// A comma-joined list of the message, each entry once.
fn list(message: &StoredRecord, name: &str) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    message
        .text(name)
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty() && seen.insert(a.to_lowercase()))
        .map(str::to_owned)
        .collect()
}

impl Executor<'_> {
    /// Sends the message `job` names, once, and writes its outcome on it.
    pub(in crate::run::execute) async fn send_message(
        &self,
        job: &ActionJob,
    ) -> Result<JobOutcome, ExecuteError> {
        let found = self.records.get(&job.tenant, &job.record).await?;
        let Some(message) = found.filter(|m| m.value.module == Module::Message) else {
            return self
                .fail(
                    job,
                    "message",
                    "the message no longer exists".into(),
                    Vec::new(),
                )
                .await;
        };
        let message = message.value;
        let kind = match message.text("Channel") {
            "Sms" => "sms",
            _ => "email",
        };
        let mut skipped = Vec::new();
        let outcome = match self.prepare_message(job, &message, &mut skipped).await? {
            Ok(prepared) => self.send_prepared(job, kind, prepared, skipped).await,
            Err(SendError::Permanent(reason)) => self.fail(job, kind, reason, skipped).await,
            Err(SendError::Transient(reason) | SendError::InDoubt(reason)) => {
                Err(ExecuteError::Provider(reason))
            }
        };
        // Written back whatever came of it (a failure to write it is retried with the job).
        self.reflect(job).await?;
        outcome
    }

    async fn send_prepared(
        &self,
        job: &ActionJob,
        kind: &str,
        prepared: Prepared,
        skipped: Vec<SkippedRecipient>,
    ) -> Result<JobOutcome, ExecuteError> {
        let now = self.clock.now();
        match self
            .claim_send(job, kind, now, GUARANTEE, &prepared.recipients, skipped)
            .await?
        {
            Claim::Run(run) => self.deliver_all(&prepared, *run, GUARANTEE).await,
            Claim::Done(outcome) => Ok(outcome),
        }
    }

    /// The provider and recipients of a queued message; `Err` when it cannot go out.
    async fn prepare_message(
        &self,
        job: &ActionJob,
        message: &StoredRecord,
        skipped: &mut Vec<SkippedRecipient>,
    ) -> Result<Result<Prepared, SendError>, ExecuteError> {
        let gone = |what: &str| Ok(Err(SendError::Permanent(what.to_owned())));
        let Ok(sender) = SettingId::new(message.text("Sender")) else {
            return gone("the message names no sender");
        };
        let to = list(message, "To");
        if message.text("Channel") == "Sms" {
            let gateway = match self
                .setting(&job.tenant, SettingKind::SmsProvider, &sender)
                .await?
            {
                Some(Setting::SmsProvider(p)) => p.gateway,
                _ => return gone(&format!("SMS provider '{sender}' no longer exists")),
            };
            let countries = self
                .tenant_settings(&job.tenant, self.clock.now())
                .await?
                .message_countries;
            let numbers = text_recipients(&to, &countries, skipped);
            if numbers.is_empty() {
                return Ok(Err(SendError::Permanent(nobody_to_text(skipped))));
            }
            let keys = match &gateway {
                SmsGateway::Sns { .. } => None,
                SmsGateway::Brandname { .. } => match self
                    .credentials(job, SettingKind::SmsProvider, &sender)
                    .await?
                {
                    Ok(keys) => Some(keys),
                    Err(error) => return Ok(Err(error)),
                },
            };
            return Ok(Ok(Prepared {
                recipients: numbers,
                message: Message::Sms {
                    gateway,
                    keys,
                    body: message.text("Body").to_owned(),
                },
            }));
        }
        if self
            .setting(&job.tenant, SettingKind::EmailSender, &sender)
            .await?
            .is_none()
        {
            return gone(&format!("sender '{sender}' no longer exists"));
        }
        let recipients: Vec<String> = to
            .into_iter()
            .filter(|a| crate::record::is_plausible_email(a))
            .collect();
        if recipients.is_empty() {
            return gone("no recipient has a valid email address");
        }
        let reply_to = Some(message.text("ReplyTo").to_owned()).filter(|r| !r.is_empty());
        Ok(Ok(Prepared {
            recipients: recipients.clone(),
            message: Message::Email {
                email: Email {
                    from: message.text("From").to_owned(),
                    to: String::new(),
                    cc: list(message, "Cc"),
                    bcc: list(message, "Bcc"),
                    reply_to,
                    subject: message.text("Subject").to_owned(),
                    html: message.text("Body").to_owned(),
                    attachments: Vec::new(),
                },
                print: None,
                copies_with: recipients.first().cloned(),
            },
        }))
    }

    /// Writes the run's outcome on the message (its status, the provider's ids, the error),
    /// unless it says so already; read again and written again when the message moved meanwhile.
    pub(in crate::run::execute) async fn reflect(
        &self,
        job: &ActionJob,
    ) -> Result<(), ExecuteError> {
        let Some(run) = self.ledger.get(&job.tenant, &job.idempotency_key()).await? else {
            return Ok(());
        };
        let sent = run
            .recipients
            .iter()
            .filter(|r| r.state == RecipientState::Sent)
            .count();
        let status = match run.status {
            // The queue gave up on it: nothing sends it any more.
            _ if run.dead_letter.is_some() => "Failed",
            RunStatus::Succeeded => "Sent",
            RunStatus::Failed if sent > 0 => "PartlySent",
            RunStatus::Failed | RunStatus::Cancelled => "Failed",
            RunStatus::Unknown => "Unknown",
            // Still on its way: a retry is coming.
            _ => "Queued",
        };
        let at = run
            .updated_at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        for _ in 0..3 {
            let Some(stored) = self.records.get(&job.tenant, &job.record).await? else {
                return Ok(());
            };
            let now_final = stored.value.text("Status") != "Queued";
            if now_final && status == "Queued" {
                // Another delivery settled it meanwhile: an outcome is never taken back.
                return Ok(());
            }
            let mut message = stored.value.clone();
            let fields = &mut message.fields;
            let mut set = |name: &str, value: Option<String>| match value.filter(|v| !v.is_empty())
            {
                Some(v) => {
                    fields.insert(name.to_owned(), Value::String(v));
                }
                None => {
                    fields.remove(name);
                }
            };
            set("Status", Some(status.to_owned()));
            set("ProviderIds", Some(run.output.join(", ")));
            set("Error", run.error.clone());
            if sent > 0 {
                set("SentAt", Some(at.clone()));
            }
            if message.fields == stored.value.fields {
                return Ok(());
            }
            message
                .fields
                .insert("UpdatedAt".into(), Value::String(at.clone()));
            match self
                .records
                .replace(&job.tenant, &message, stored.revision)
                .await
            {
                Ok(_) => return Ok(()),
                Err(StoreError::Conflict { .. }) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(ExecuteError::Busy)
    }
}
