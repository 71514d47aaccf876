//! External sends (SMS, Zalo ZNS, email): claimed in the ledger first, the provider's id
//! recorded after, a half-done send following the workflow's guarantee.

use super::{Context, ExecuteError, Executor, JobOutcome, SEND_LEASE_SECONDS, recipient_id};
use crate::action::{Action, FieldPath, SettingKind};
use crate::ids::{RecordId, UserId};
use crate::phone::NumberType;
use crate::record::FieldValue;
use crate::run::providers::{Email, SendError, lease};
use crate::run::{RunRecord, RunStatus, SkipReason, SkippedRecipient};
use crate::schedule::ActionJob;
use crate::settings::secrets::{AccessToken, GatewayKeys};
use crate::settings::{Setting, SmsGateway};
use crate::store::ClaimOutcome;
use crate::template::Escape;
use crate::workflow::ExternalSendGuarantee;

impl Executor<'_> {
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

    pub(super) async fn send(
        &self,
        job: &ActionJob,
        c: &Context,
    ) -> Result<JobOutcome, ExecuteError> {
        let kind = c.action.kind_name();
        let guarantee = c.definition.external_sends;
        let mut run = RunRecord::start(job, kind, c.now);
        run.lease_until = Some(lease(c.now, SEND_LEASE_SECONDS));
        // Claim first: a new job, the usual case, needs no read of the ledger.
        if self.ledger.claim(&run, None).await? == ClaimOutcome::LostRace {
            let existing = self.ledger.get(&job.tenant, &job.idempotency_key()).await?;
            let takeover = match existing {
                // Claimed and then removed: nothing to decide on; the queue brings it back.
                None => return Err(ExecuteError::Busy),
                Some(e) if e.status == RunStatus::Retrying => e,
                Some(e) if e.status != RunStatus::InProgress => return Ok(JobOutcome::Duplicate),
                Some(e) if e.lease_until.is_some_and(|until| until > c.now) => {
                    return Err(ExecuteError::Busy);
                }
                Some(e) if guarantee == ExternalSendGuarantee::AtMostOnce => {
                    // The earlier delivery stopped after claiming: it may have sent. Never twice.
                    let mut unknown = e.clone();
                    unknown.status = RunStatus::Unknown;
                    unknown.updated_at = c.now;
                    unknown.error = Some("the executor stopped between claiming and recording this send; it may or may not have been delivered".into());
                    self.ledger.record(&unknown).await?;
                    return Ok(JobOutcome::Unknown);
                }
                Some(e) => e,
            };
            run.attempts = takeover.attempts + 1;
            run.started_at = takeover.started_at;
            if self.ledger.claim(&run, Some(&takeover)).await? == ClaimOutcome::LostRace {
                return Err(ExecuteError::Busy);
            }
        }
        let mut skipped = Vec::new();
        let prepared = match &c.action {
            Action::Sms(a) => self.send_sms(job, c, a, &mut skipped).await,
            Action::Zns(a) => self.send_zns(job, c, a, &mut skipped).await,
            Action::Email(a) => self.send_email(job, c, a).await,
            _ => Ok(Err(SendError::Permanent("not a send".into()))),
        };
        if !skipped.is_empty() {
            // Counts only: the numbers themselves stay in the tenant's run history.
            let count = |reason| skipped.iter().filter(|s| s.reason == reason).count();
            tracing::info!(
                kind,
                invalid_number = count(SkipReason::InvalidNumber),
                number_type = count(SkipReason::NumberType),
                country = count(SkipReason::Country),
                "recipients skipped, not sent to"
            );
        }
        run.skipped = skipped;
        let result = match prepared {
            Ok(result) => result,
            Err(error) => {
                // Every read a send needs comes before its first provider call, so nothing went
                // out: the run is left retrying, and the redelivery sends without waiting for
                // the lease (best effort: if this write fails too, the lease decides).
                run.status = RunStatus::Retrying;
                run.lease_until = None;
                run.updated_at = self.clock.now();
                run.error = Some(format!("not sent yet: {error}"));
                let _ = self.ledger.record(&run).await;
                return Err(error);
            }
        };
        run.updated_at = self.clock.now();
        run.lease_until = None;
        match result {
            Ok(ids) => {
                run.status = RunStatus::Succeeded;
                run.output = ids.clone();
                self.ledger.record(&run).await?;
                Ok(JobOutcome::Succeeded(ids))
            }
            Err(SendError::Permanent(reason)) => {
                run.status = RunStatus::Failed;
                run.error = Some(reason.clone());
                self.ledger.record(&run).await?;
                Ok(JobOutcome::Failed(reason))
            }
            Err(SendError::Transient(reason)) => {
                // Nothing went out: the redelivery sends again.
                run.status = RunStatus::Retrying;
                run.error = Some(reason.clone());
                self.ledger.record(&run).await?;
                Err(ExecuteError::Provider(reason))
            }
        }
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

    async fn send_sms(
        &self,
        job: &ActionJob,
        c: &Context,
        a: &crate::action::SmsAction,
        skipped: &mut Vec<SkippedRecipient>,
    ) -> Result<Result<Vec<String>, SendError>, ExecuteError> {
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
        let secrets: Vec<&str> = keys
            .iter()
            .flat_map(|k| [k.api_key.as_str(), k.secret_key.as_str()])
            .collect();
        let mut ids = Vec::new();
        let key = job.idempotency_key();
        for number in &e164 {
            // One request id per recipient, stable across redeliveries.
            let request_id = recipient_id("sms", &key, number);
            match self
                .sms
                .send(&gateway, keys.as_ref(), number, &body, request_id.as_str())
                .await
            {
                Ok(id) => ids.push(id),
                Err(error) => return Ok(Err(error.scrubbed(&secrets))),
            }
        }
        Ok(Ok(ids))
    }

    async fn send_zns(
        &self,
        job: &ActionJob,
        c: &Context,
        a: &crate::action::ZnsAction,
        skipped: &mut Vec<SkippedRecipient>,
    ) -> Result<Result<Vec<String>, SendError>, ExecuteError> {
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
        let key = job.idempotency_key();
        let mut ids = Vec::new();
        for number in &numbers {
            // Zalo's tracking id is short: the job's key when it fits, else a digest of it and
            // the number.
            let tracking = if numbers.len() == 1 && key.len() <= 48 {
                key.clone()
            } else {
                recipient_id("zns", &key, number).to_string()
            };
            match self
                .zns
                .send(
                    &provider,
                    &token,
                    number,
                    &template.zalo_template_id,
                    &data,
                    &tracking,
                )
                .await
            {
                Ok(id) => ids.push(id),
                Err(error) => return Ok(Err(error.scrubbed(&[&token.access_token]))),
            }
        }
        Ok(Ok(ids))
    }

    async fn send_email(
        &self,
        job: &ActionJob,
        c: &Context,
        a: &crate::action::EmailAction,
    ) -> Result<Result<Vec<String>, SendError>, ExecuteError> {
        let attachments = match &a.attachment {
            None => Vec::new(),
            Some(attachment) => match self.print(job, c, attachment).await? {
                Ok(file) => vec![file],
                Err(reason) => return Ok(Err(SendError::Permanent(reason))),
            },
        };
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
        to.sort();
        to.dedup();
        if to.is_empty() {
            return Ok(Err(SendError::Permanent(
                "no recipient has a valid email address".into(),
            )));
        }
        let from = if sender.from_name.is_empty() {
            sender.from_address.clone()
        } else {
            format!("\"{}\" <{}>", sender.from_name, sender.from_address)
        };
        let email = Email {
            from,
            to,
            reply_to: sender.reply_to.clone(),
            subject,
            html,
            attachments,
        };
        Ok(self
            .email
            .send(&email)
            .await
            .map(|id| vec![id])
            .map_err(|e| e.scrubbed(&[])))
    }
}

/// The numbers an SMS or ZNS goes to (E.164, sorted, each once) out of the phone numbers as
/// entered; every other number is added to `skipped` once, with why: not a valid number, of a
/// type texts never go to ([`NumberType::receives_messages`]), or of a country not in
/// `countries` (the tenant's `message_countries`). Blank values are nobody, not skipped.
fn text_recipients(
    entered: &[String],
    countries: &[String],
    skipped: &mut Vec<SkippedRecipient>,
) -> Vec<String> {
    let mut numbers = Vec::new();
    // Skipped spellings of one number are one skipped recipient.
    let mut skipped_numbers: Vec<String> = Vec::new();
    for raw in entered {
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        let (number, reason, detail) = match crate::phone::parse(raw) {
            None => (
                raw.to_owned(),
                SkipReason::InvalidNumber,
                "not a valid phone number".to_owned(),
            ),
            Some(n) if !n.kind.receives_messages() => {
                let detail = format!(
                    "a {} number: SMS and ZNS never go to premium-rate, shared-cost, toll-free, \
                     personal, UAN, voicemail or pager numbers",
                    type_words(n.kind)
                );
                (n.e164, SkipReason::NumberType, detail)
            }
            Some(n) => match n.region {
                Some(region) if countries.contains(&region) => {
                    numbers.push(n.e164);
                    continue;
                }
                Some(region) => {
                    let detail = format!(
                        "a number of {region} (+{}), not among the countries the tenant sends \
                         SMS and ZNS to",
                        n.country_code
                    );
                    (n.e164, SkipReason::Country, detail)
                }
                None => {
                    let detail = format!(
                        "a non-geographic number (+{}), of no country the tenant sends SMS and \
                         ZNS to",
                        n.country_code
                    );
                    (n.e164, SkipReason::Country, detail)
                }
            },
        };
        if !skipped_numbers.contains(&number) {
            skipped_numbers.push(number);
            skipped.push(SkippedRecipient {
                recipient: raw.to_owned(),
                reason,
                detail,
            });
        }
    }
    numbers.sort();
    numbers.dedup();
    numbers
}

fn type_words(kind: NumberType) -> &'static str {
    match kind {
        NumberType::Mobile => "mobile",
        NumberType::FixedLine => "fixed-line",
        NumberType::FixedLineOrMobile => "fixed-line or mobile",
        NumberType::TollFree => "toll-free",
        NumberType::PremiumRate => "premium-rate",
        NumberType::SharedCost => "shared-cost",
        NumberType::Voip => "VoIP",
        NumberType::PersonalNumber => "personal",
        NumberType::Pager => "pager",
        NumberType::Uan => "UAN (company)",
        NumberType::Voicemail => "voicemail",
        NumberType::Unknown => "unclassified",
    }
}

/// Why an SMS or ZNS with no number left to send to fails.
fn nobody_to_text(skipped: &[SkippedRecipient]) -> String {
    let count = |reason| skipped.iter().filter(|s| s.reason == reason).count();
    if count(SkipReason::InvalidNumber) == skipped.len() {
        return "no recipient has a valid phone number".into();
    }
    let parts: Vec<String> = [
        (SkipReason::InvalidNumber, "not a valid phone number"),
        (SkipReason::NumberType, "of a type texts never go to"),
        (
            SkipReason::Country,
            "of a country the tenant does not send to",
        ),
    ]
    .into_iter()
    .filter(|(reason, _)| count(*reason) > 0)
    .map(|(reason, words)| format!("{} {words}", count(reason)))
    .collect();
    format!(
        "every recipient was skipped ({}); nothing was sent",
        parts.join(", ")
    )
}
