//! External sends (SMS, Zalo ZNS, email), exactly once per recipient.
//!
//! A send is prepared first (settings, credentials, message, recipients: reads only), then its
//! run is claimed with the recipients in the order they are sent to, all pending. Each provider
//! call's outcome is stored before the next call, so a run found abandoned mid-send has at most
//! one recipient whose send is in doubt: the first pending one. It follows the workflow's
//! guarantee (at most once: shown as unknown; at least once: sent again, under the same request
//! id); every other recipient is either sent (never again) or certainly not sent (sent now). A
//! retry, automatic or an administrator's, sends only to the recipients not sent to yet.

mod messages;
mod numbers;
mod prepare;

use chrono::Duration;

use self::prepare::{Message, Prepared};
use super::{Context, ExecuteError, Executor, JobOutcome, SEND_LEASE_SECONDS, recipient_id};
use crate::run::providers::{MAX_EMAIL_BYTES, SendError, lease};
use crate::run::{
    RecipientRun, RecipientState, RunRecord, RunStatus, SkipReason, SkippedRecipient,
};
use crate::schedule::ActionJob;
use crate::store::ClaimOutcome;
use crate::workflow::ExternalSendGuarantee;

/// The longest one provider call may take (the HTTP providers' timeout, with room for the
/// retries inside an SDK call): no call starts unless this much of the batch's budget is left.
pub const PROVIDER_CALL_SECONDS: i64 = 12;

pub(super) const IN_DOUBT: &str =
    "the executor stopped during this send; it may or may not have been delivered";

impl Executor<'_> {
    pub(super) async fn send(
        &self,
        job: &ActionJob,
        c: &Context,
    ) -> Result<JobOutcome, ExecuteError> {
        let kind = c.action.kind_name();
        let mut skipped = Vec::new();
        let prepared = self.prepare(job, c, &mut skipped).await?;
        log_skipped(kind, &skipped);
        let mut prepared = match prepared {
            Ok(prepared) => prepared,
            Err(SendError::Permanent(reason)) => {
                return self.fail(job, kind, reason, skipped).await;
            }
            Err(SendError::Transient(reason) | SendError::InDoubt(reason)) => {
                return Err(ExecuteError::Provider(reason));
            }
        };
        let guarantee = c.definition.external_sends;
        let mut run = match self
            .claim_send(job, kind, c.now, guarantee, &prepared.recipients, skipped)
            .await?
        {
            Claim::Run(run) => *run,
            Claim::Done(outcome) => return Ok(outcome),
        };
        let finished = match self.finish_email(job, c, &mut prepared.message).await {
            Ok(finished) => finished,
            Err(error) => {
                // Nothing went out yet: leave the run retrying, so the redelivery sends without
                // waiting for the lease and nothing is taken for in doubt.
                run.status = RunStatus::Retrying;
                run.lease_until = None;
                run.updated_at = self.clock.now();
                run.error = Some(format!("not sent yet: {error}"));
                let _ = self.ledger.progress(&run).await;
                return Err(error);
            }
        };
        if let Err(reason) = finished {
            for recipient in &mut run.recipients {
                if recipient.state == RecipientState::Pending {
                    recipient.state = RecipientState::Failed;
                    recipient.error = Some(reason.clone());
                }
            }
            return self.settle(run, None).await;
        }
        self.deliver_all(&prepared, run, c.definition.external_sends)
            .await
    }

    /// Claims the run of a send to `recipients` (in the order they are sent to, all pending), or
    /// takes over one retrying or abandoned, following `guarantee` for the recipient whose send
    /// is in doubt; `Done` when the job needs nothing more (sent already, or left for review).
    pub(super) async fn claim_send(
        &self,
        job: &ActionJob,
        kind: &str,
        now: chrono::DateTime<chrono::Utc>,
        guarantee: ExternalSendGuarantee,
        recipients: &[String],
        skipped: Vec<SkippedRecipient>,
    ) -> Result<Claim, ExecuteError> {
        let mut run = RunRecord::start(job, kind, now);
        run.lease_until = Some(lease(now, SEND_LEASE_SECONDS));
        run.skipped = skipped;
        run.recipients = recipients.iter().map(RecipientRun::pending).collect();
        // Claim first: a new job, the usual case, needs no read of the ledger.
        if self.ledger.claim(&run, None).await? == ClaimOutcome::LostRace {
            let existing = self.ledger.get(&job.tenant, &run.key).await?;
            let (takeover, abandoned) = match existing {
                // Claimed and then removed: nothing to decide on; the queue brings it back.
                None => return Err(ExecuteError::Busy),
                Some(e) if e.status == RunStatus::Retrying => (e, false),
                Some(e) if e.status != RunStatus::InProgress => {
                    return Ok(Claim::Done(JobOutcome::Duplicate));
                }
                Some(e) if e.lease_until.is_some_and(|until| until > now) => {
                    return Err(ExecuteError::Busy);
                }
                Some(e) => (e, true),
            };
            if abandoned
                && takeover.recipients.is_empty()
                && guarantee == ExternalSendGuarantee::AtMostOnce
            {
                // A run claimed before recipients were tracked: it may have sent to anyone.
                let mut unknown = takeover.clone();
                unknown.status = RunStatus::Unknown;
                unknown.updated_at = now;
                unknown.error = Some(IN_DOUBT.into());
                self.ledger.record(&unknown).await?;
                return Ok(Claim::Done(JobOutcome::Unknown));
            }
            run.recipients = resume(&takeover, abandoned, guarantee, recipients);
            run.attempts = takeover.attempts + 1;
            run.started_at = takeover.started_at;
            if self.ledger.claim(&run, Some(&takeover)).await? == ClaimOutcome::LostRace {
                return Err(ExecuteError::Busy);
            }
        }
        Ok(Claim::Run(Box::new(run)))
    }

    /// An email's print attachment, printed once the run is claimed, and its size checked;
    /// `Err` is why it cannot go out.
    async fn finish_email(
        &self,
        job: &ActionJob,
        c: &Context,
        message: &mut Message,
    ) -> Result<Result<(), String>, ExecuteError> {
        let Message::Email { email, print, .. } = message else {
            return Ok(Ok(()));
        };
        if let Some(print) = print {
            match self.print(job, c, print).await? {
                Ok(file) => email.attachments.push(file),
                Err(reason) => return Ok(Err(reason)),
            }
        }
        let bytes = email.encoded_bytes();
        if bytes > MAX_EMAIL_BYTES {
            return Ok(Err(format!(
                "the email is {} MB with its attachment; at most {} MB",
                bytes.div_ceil(1024 * 1024),
                MAX_EMAIL_BYTES / (1024 * 1024)
            )));
        }
        Ok(Ok(()))
    }

    /// Sends to every pending recipient in order, storing each outcome before the next call,
    /// then settles the run.
    async fn deliver_all(
        &self,
        prepared: &Prepared,
        mut run: RunRecord,
        guarantee: ExternalSendGuarantee,
    ) -> Result<JobOutcome, ExecuteError> {
        let pending: Vec<usize> = (0..run.recipients.len())
            .filter(|&i| run.recipients[i].state == RecipientState::Pending)
            .collect();
        let single = run.recipients.len() == 1;
        let mut stopped = None;
        for (n, &i) in pending.iter().enumerate() {
            if self.out_of_time() {
                stopped = Some(
                    "the batch ran out of time before this send; it goes out on the next delivery"
                        .to_owned(),
                );
                break;
            }
            let to = run.recipients[i].to.clone();
            let recipient = &mut run.recipients[i];
            match self.deliver(&run.key, &prepared.message, &to, single).await {
                Ok(id) => {
                    recipient.state = RecipientState::Sent;
                    recipient.id = Some(id);
                    recipient.error = None;
                }
                Err(SendError::Permanent(reason)) => {
                    recipient.state = RecipientState::Failed;
                    recipient.error = Some(reason);
                }
                Err(SendError::Transient(reason)) => {
                    // Not sent: stays pending for the redelivery.
                    recipient.error = Some(reason.clone());
                    stopped = Some(reason);
                    break;
                }
                Err(SendError::InDoubt(reason))
                    if guarantee == ExternalSendGuarantee::AtMostOnce =>
                {
                    // May have gone out: never sent again but by an administrator's choice.
                    recipient.state = RecipientState::Unknown;
                    recipient.error = Some(reason);
                }
                Err(SendError::InDoubt(reason)) => {
                    // At least once: sent again on the redelivery.
                    recipient.error = Some(reason.clone());
                    stopped = Some(reason);
                    break;
                }
            }
            if n + 1 < pending.len() {
                run.updated_at = self.clock.now();
                if self.ledger.progress(&run).await? == ClaimOutcome::LostRace {
                    // Another delivery took the run over: it carries on from what is stored.
                    return Err(ExecuteError::Busy);
                }
            }
        }
        self.settle(run, stopped).await
    }

    /// One provider call for one recipient, its message id on success.
    async fn deliver(
        &self,
        key: &str,
        message: &Message,
        to: &str,
        single: bool,
    ) -> Result<String, SendError> {
        match message {
            Message::Sms {
                gateway,
                keys,
                body,
            } => {
                // One request id per recipient, stable across redeliveries.
                let request_id = recipient_id("sms", key, to);
                let secrets: Vec<&str> = keys
                    .iter()
                    .flat_map(|k| [k.api_key.as_str(), k.secret_key.as_str()])
                    .collect();
                self.sms
                    .send(gateway, keys.as_ref(), to, body, request_id.as_str())
                    .await
                    .map_err(|e| e.scrubbed(&secrets))
            }
            Message::Zns {
                provider,
                token,
                template_id,
                data,
            } => {
                // Zalo's tracking id is short: the job's key when it fits, else a digest of it
                // and the number.
                let tracking = if single && key.len() <= 48 {
                    key.to_owned()
                } else {
                    recipient_id("zns", key, to).to_string()
                };
                self.zns
                    .send(provider, token, to, template_id, data, &tracking)
                    .await
                    .map_err(|e| e.scrubbed(&[&token.access_token]))
            }
            Message::Email {
                email, copies_with, ..
            } => {
                let mut email = crate::run::providers::Email {
                    to: to.to_owned(),
                    ..email.clone()
                };
                if copies_with.as_ref().is_some_and(|with| with != to) {
                    email.cc.clear();
                    email.bcc.clear();
                }
                self.email.send(&email).await.map_err(|e| e.scrubbed(&[]))
            }
        }
    }

    /// The run's final state (or retrying, when `stopped` says why the rest waits), stored while
    /// this delivery still holds the claim.
    async fn settle(
        &self,
        mut run: RunRecord,
        stopped: Option<String>,
    ) -> Result<JobOutcome, ExecuteError> {
        run.updated_at = self.clock.now();
        run.lease_until = None;
        run.output = run.recipients.iter().filter_map(|r| r.id.clone()).collect();
        let count = |state| run.recipients.iter().filter(|r| r.state == state).count();
        let (failed, unknown) = (
            count(RecipientState::Failed),
            count(RecipientState::Unknown),
        );
        let outcome = if let Some(reason) = &stopped {
            run.status = RunStatus::Retrying;
            run.error = Some(reason.clone());
            Err(ExecuteError::Provider(reason.clone()))
        } else if failed > 0 {
            let first = run
                .recipients
                .iter()
                .find_map(|r| (r.state == RecipientState::Failed).then(|| r.error.clone()))
                .flatten()
                .unwrap_or_default();
            let reason = if run.recipients.len() == 1 {
                first
            } else {
                format!(
                    "{failed} of {} recipients refused ({first})",
                    run.recipients.len()
                )
            };
            run.status = RunStatus::Failed;
            run.error = Some(reason.clone());
            Ok(JobOutcome::Failed(reason))
        } else if unknown > 0 {
            run.status = RunStatus::Unknown;
            run.error = Some(IN_DOUBT.into());
            Ok(JobOutcome::Unknown)
        } else {
            run.status = RunStatus::Succeeded;
            run.error = None;
            Ok(JobOutcome::Succeeded(run.output.clone()))
        };
        if self.ledger.progress(&run).await? == ClaimOutcome::LostRace {
            tracing::warn!("the run was taken over before its outcome was stored");
            return Err(ExecuteError::Busy);
        }
        outcome
    }

    /// A job that cannot be carried out: failed for good, keeping what an earlier delivery sent;
    /// a redelivery of a job already settled stays a duplicate whatever changed since.
    pub(super) async fn fail(
        &self,
        job: &ActionJob,
        kind: &str,
        reason: String,
        skipped: Vec<SkippedRecipient>,
    ) -> Result<JobOutcome, ExecuteError> {
        let written = self
            .overwrite_run(job, kind, true, |run| {
                run.status = RunStatus::Failed;
                run.error = Some(reason.clone());
                run.skipped = skipped;
                run.dead_letter = None;
            })
            .await?;
        match written {
            Overwrite::Written => Ok(JobOutcome::Failed(reason)),
            Overwrite::Settled => Ok(JobOutcome::Duplicate),
            Overwrite::Busy => Err(ExecuteError::Busy),
        }
    }

    /// Writes the end of a job that will not (or no longer) be carried out (failed, cancelled,
    /// dead-lettered) over the run as read, only if it is still as read (a compare-and-set on
    /// its status and attempts): a delivery that claimed it meanwhile wins. A settled run is
    /// left alone; one in progress under a live lease is another delivery's (`Busy`) unless
    /// `live_is_busy` is off; an abandoned send's first pending recipient is marked in doubt.
    pub(in crate::run::execute) async fn overwrite_run(
        &self,
        job: &ActionJob,
        kind: &str,
        live_is_busy: bool,
        change: impl FnOnce(&mut RunRecord),
    ) -> Result<Overwrite, ExecuteError> {
        let now = self.clock.now();
        let previous = self.ledger.get(&job.tenant, &job.idempotency_key()).await?;
        let mut run = match &previous {
            Some(done) if done.status.is_final() => return Ok(Overwrite::Settled),
            Some(busy)
                if live_is_busy
                    && busy.status == RunStatus::InProgress
                    && busy.lease_until.is_some_and(|until| until > now) =>
            {
                return Ok(Overwrite::Busy);
            }
            Some(previous) => previous.clone(),
            None => RunRecord::start(job, kind, now),
        };
        if run.status == RunStatus::InProgress {
            mark_in_doubt(&mut run);
        }
        change(&mut run);
        // A delivery wrote it: never a run without attempt, which the scan may write over.
        run.attempts = run.attempts.max(1);
        run.updated_at = now;
        run.lease_until = None;
        Ok(match self.ledger.claim(&run, previous.as_ref()).await? {
            ClaimOutcome::Claimed => Overwrite::Written,
            ClaimOutcome::LostRace => Overwrite::Busy,
        })
    }

    /// Whether the batch's budget leaves too little for another provider call.
    pub(in crate::run::execute) fn out_of_time(&self) -> bool {
        self.deadline.is_some_and(|deadline| {
            self.clock.now() + Duration::seconds(PROVIDER_CALL_SECONDS) > deadline
        })
    }
}

/// The recipients a takeover goes on with: those of the run it takes over (the one in doubt
/// settled by the guarantee when the run was abandoned mid-send), without pending ones no longer
/// among the recipients, then the recipients added since.
/// A run an earlier release stored with one email to several addresses (its recipient a list
/// joined by commas) stays one unit: once sent or in doubt it is never planned again.
fn resume(
    previous: &RunRecord,
    abandoned: bool,
    guarantee: ExternalSendGuarantee,
    now_planned: &[String],
) -> Vec<RecipientRun> {
    let mut taken = previous.clone();
    if abandoned && guarantee == ExternalSendGuarantee::AtMostOnce {
        mark_in_doubt(&mut taken);
    }
    let mut recipients = taken.recipients;
    let joined_email = |r: &RecipientRun| r.to.contains(", ") && r.to.contains('@');
    if recipients
        .iter()
        .any(|r| joined_email(r) && r.state != RecipientState::Pending)
    {
        return recipients;
    }
    recipients.retain(|r| !joined_email(r));
    // An address is one recipient whatever its case: a record edited from A@x.vn to a@x.vn
    // after the send is not sent to again.
    let same = |a: &str, b: &str| a.to_lowercase() == b.to_lowercase();
    recipients.retain(|r| {
        r.state != RecipientState::Pending || now_planned.iter().any(|to| same(&r.to, to))
    });
    for to in now_planned {
        if !recipients.iter().any(|r| same(&r.to, to)) {
            recipients.push(RecipientRun::pending(to));
        }
    }
    recipients
}

/// What [`Executor::claim_send`] came to.
pub(super) enum Claim {
    /// Claimed: this delivery sends.
    Run(Box<RunRecord>),
    Done(JobOutcome),
}

/// What [`Executor::overwrite_run`] did.
pub(in crate::run::execute) enum Overwrite {
    Written,
    /// The run was settled already: left as it is.
    Settled,
    /// Another delivery holds or took the run.
    Busy,
}

/// Marks the first pending recipient of an abandoned send as in doubt: it may have been sent.
pub(in crate::run::execute) fn mark_in_doubt(run: &mut RunRecord) {
    if let Some(in_doubt) = run
        .recipients
        .iter_mut()
        .find(|r| r.state == RecipientState::Pending)
    {
        in_doubt.state = RecipientState::Unknown;
        in_doubt.error = Some(IN_DOUBT.into());
    }
}

fn log_skipped(kind: &str, skipped: &[SkippedRecipient]) {
    if skipped.is_empty() {
        return;
    }
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
