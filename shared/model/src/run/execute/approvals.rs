//! An approval's own jobs: a step's timer (its reminder, its deadline with the escalation to
//! the approvers' managers) and an approver's email with its decision links. The outcome
//! actions of an approval are ordinary actions of its pinned version and run as any other.

use chrono::Duration;

use super::{ExecuteError, Executor, JobOutcome, SEND_LEASE_SECONDS};
use crate::approval::followups::parse_email_cause;
use crate::approval::links::{DecisionLink, LINK_DAYS};
use crate::approval::request::ApprovalRequest;
use crate::approval::service::pending_request;
use crate::approval::{EMAIL_KIND, TIMER_KIND};
use crate::run::providers::{Email, SendError, lease};
use crate::run::{RecipientRun, RecipientState, RunRecord, RunStatus};
use crate::schedule::ActionJob;
use crate::settings::Setting;
use crate::store::{ClaimOutcome, StoreError};

impl Executor<'_> {
    /// Whether `job` is one of an approval's own, and its outcome if so.
    pub(super) async fn approval_job(
        &self,
        job: &ActionJob,
    ) -> Option<Result<JobOutcome, ExecuteError>> {
        match job.action.as_str() {
            TIMER_KIND => Some(self.approval_timer(job).await),
            EMAIL_KIND => Some(self.approval_email(job).await),
            _ => None,
        }
    }

    async fn settle_approval_run(
        &self,
        job: &ActionJob,
        kind: &str,
        output: Vec<String>,
    ) -> Result<JobOutcome, ExecuteError> {
        let mut run = RunRecord::start(job, kind, self.clock.now());
        run.status = RunStatus::Succeeded;
        run.output = output.clone();
        Ok(match self.ledger.record(&run).await? {
            ClaimOutcome::Claimed => JobOutcome::Succeeded(output),
            ClaimOutcome::LostRace => JobOutcome::Duplicate,
        })
    }

    /// A step's reminder or deadline came: the request moves on (conditionally on its
    /// revision; a redelivery finds the timer handled and does nothing).
    async fn approval_timer(&self, job: &ActionJob) -> Result<JobOutcome, ExecuteError> {
        let key = job.idempotency_key();
        if self
            .ledger
            .get(&job.tenant, &key)
            .await?
            .is_some_and(|run| run.status.is_final())
        {
            return Ok(JobOutcome::Duplicate);
        }
        let Some(stored) = self.records.get(&job.tenant, &job.record).await? else {
            return self
                .fail(
                    job,
                    TIMER_KIND,
                    "the record no longer exists".into(),
                    Vec::new(),
                )
                .await;
        };
        let Some(request_id) = pending_request(&stored.value) else {
            let output = vec!["nothing pending: the request was decided before its timer".into()];
            return self.settle_approval_run(job, TIMER_KIND, output).await;
        };
        let settings = self.tenant_settings(&job.tenant, self.clock.now()).await?;
        for _ in 0..5 {
            let Some(before) = self
                .approvals
                .get(&job.tenant, &job.record, &request_id)
                .await?
            else {
                return self
                    .fail(
                        job,
                        TIMER_KIND,
                        "the request no longer exists".into(),
                        Vec::new(),
                    )
                    .await;
            };
            let now = self.clock.now();
            let mut next: ApprovalRequest = before.value.clone();
            let escalating = next.current.as_ref().filter(|step| {
                step.escalate && !step.deadline_passed && step.deadline_at.is_some_and(|d| d <= now)
            });
            let mut managers = Vec::new();
            if let Some(step) = escalating {
                for user in step.undecided() {
                    let manager = crate::approval::resolve::manager_of(
                        self.users,
                        &settings,
                        &job.tenant,
                        &user,
                    )
                    .await?;
                    managers.extend(manager);
                }
            }
            let reminded = next.remind(now);
            let passed = next.pass_deadline(managers, now);
            // A history at its size limit takes no more lines: only ending the request does.
            if !reminded && !passed || !next.fits() {
                let output = vec!["nothing due".into()];
                return self.settle_approval_run(job, TIMER_KIND, output).await;
            }
            let said = next
                .history
                .last()
                .map(|e| {
                    let users: Vec<String> = e.users.iter().map(ToString::to_string).collect();
                    format!("{:?}: {}", e.event, users.join(", ")).to_lowercase()
                })
                .unwrap_or_default();
            match self.approvals.save(&before, &next, None).await {
                Ok(_) => return self.settle_approval_run(job, TIMER_KIND, vec![said]).await,
                Err(StoreError::Conflict { .. }) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(ExecuteError::Busy)
    }

    /// One approver's email with approve and reject links, sent once (at most once: a send the
    /// executor stopped in the middle of shows as unknown, as the workflow's other sends do).
    async fn approval_email(&self, job: &ActionJob) -> Result<JobOutcome, ExecuteError> {
        let now = self.clock.now();
        let Some((request_id, line, approver)) = parse_email_cause(&job.cause) else {
            return self
                .fail(
                    job,
                    EMAIL_KIND,
                    "not an approval email job".into(),
                    Vec::new(),
                )
                .await;
        };
        let Some(request) = self
            .approvals
            .get(&job.tenant, &job.record, &request_id)
            .await?
        else {
            return self
                .fail(
                    job,
                    EMAIL_KIND,
                    "the request no longer exists".into(),
                    Vec::new(),
                )
                .await;
        };
        let request = request.value;
        // Only while the approver still has the step the line was written for to decide: the
        // line is no older than the step's start (a later step sends its own email).
        let step_started = request
            .history
            .iter()
            .rposition(|e| e.event == crate::approval::request::Event::StepStarted);
        let Some(step) = request.current.as_ref().filter(|s| {
            request.is_pending()
                && s.undecided().contains(&approver)
                && step_started.is_some_and(|start| line >= start)
        }) else {
            let output = vec!["not sent: the step was decided before its email went".into()];
            return self.settle_approval_run(job, EMAIL_KIND, output).await;
        };
        let definition = match self.definition(job, now).await? {
            Ok(definition) => definition,
            Err(reason) => return self.fail(job, EMAIL_KIND, reason, Vec::new()).await,
        };
        let Some(spec) = definition.approval_spec() else {
            return self
                .fail(
                    job,
                    EMAIL_KIND,
                    "not an approval workflow".into(),
                    Vec::new(),
                )
                .await;
        };
        let sender = match &spec.email_sender {
            Some(id) => {
                self.setting(&job.tenant, crate::action::SettingKind::EmailSender, id)
                    .await?
            }
            None => None,
        };
        let Some(Setting::EmailSender(sender)) = sender else {
            let reason = "the approval workflow's email sender no longer exists".into();
            return self.fail(job, EMAIL_KIND, reason, Vec::new()).await;
        };
        let Some(user) = self.users.get(&job.tenant, &approver).await? else {
            let reason = format!("no user '{approver}'");
            return self.fail(job, EMAIL_KIND, reason, Vec::new()).await;
        };
        let link = DecisionLink {
            tenant: job.tenant.clone(),
            record: request.record.clone(),
            request: request.id.clone(),
            round: step.round,
            approver: approver.clone(),
            expires: now + Duration::days(LINK_DAYS),
        };
        let token = link.token(&request.link_key);
        let url = format!("{}/approval-links/{token}", self.links_base);
        let tz = self.tenant_settings(&job.tenant, now).await?.tz();
        let deadline = step
            .deadline_at
            .map(|d| {
                let local = d.with_timezone(&tz).format("%d/%m/%Y %H:%M");
                format!("<p>Hạn phê duyệt: {local} ({tz})</p>")
            })
            .unwrap_or_default();
        let email = Email {
            from: sender.from_header(),
            to: user.email.clone(),
            cc: Vec::new(),
            bcc: Vec::new(),
            reply_to: sender.reply_to.clone(),
            subject: format!("Cần phê duyệt: {} ({})", request.name, step.name),
            html: format!(
                "<p>{} ({}) chờ bạn phê duyệt ở bước {}.</p>{deadline}\
                 <p><a href=\"{url}\">Xem và phê duyệt hoặc từ chối</a> (liên kết dùng một lần, \
                 hết hạn sau {LINK_DAYS} ngày).</p>",
                escape(&request.name),
                escape(request.record.as_str()),
                escape(&step.name),
            ),
            attachments: Vec::new(),
        };
        let mut run = RunRecord::start(job, EMAIL_KIND, now);
        run.lease_until = Some(lease(now, SEND_LEASE_SECONDS));
        run.recipients = vec![RecipientRun::pending(user.email.clone())];
        if self.ledger.claim(&run, None).await? == ClaimOutcome::LostRace {
            match self.ledger.get(&job.tenant, &run.key).await? {
                // Claimed and then removed: nothing to decide on; the queue brings it back.
                None => return Err(ExecuteError::Busy),
                // Not sent yet (a transient failure, or an administrator's retry): this
                // delivery takes it over.
                Some(existing) if existing.status == RunStatus::Retrying => {
                    run.attempts = existing.attempts + 1;
                    run.started_at = existing.started_at;
                    if self.ledger.claim(&run, Some(&existing)).await? == ClaimOutcome::LostRace {
                        return Err(ExecuteError::Busy);
                    }
                }
                Some(existing) if existing.status == RunStatus::InProgress => {
                    if existing.lease_until.is_some_and(|until| until > now) {
                        return Err(ExecuteError::Busy);
                    }
                    // At most once: a send the executor stopped in the middle of is left for
                    // review, as the workflows' other sends are.
                    let mut unknown = existing;
                    super::sends::mark_in_doubt(&mut unknown);
                    unknown.updated_at = now;
                    self.ledger.record(&unknown).await?;
                    return Ok(JobOutcome::Unknown);
                }
                Some(_) => return Ok(JobOutcome::Duplicate),
            }
        }
        match self.email.send(&email).await {
            Ok(id) => {
                run.status = RunStatus::Succeeded;
                run.recipients[0].state = RecipientState::Sent;
                run.recipients[0].id = Some(id.clone());
                run.output = vec![id.clone()];
                run.lease_until = None;
                run.updated_at = self.clock.now();
                self.ledger.record(&run).await?;
                Ok(JobOutcome::Succeeded(vec![id]))
            }
            Err(SendError::Permanent(reason)) => {
                run.status = RunStatus::Failed;
                run.recipients[0].state = RecipientState::Failed;
                run.recipients[0].error = Some(reason.clone());
                run.error = Some(reason.clone());
                run.lease_until = None;
                self.ledger.record(&run).await?;
                Ok(JobOutcome::Failed(reason))
            }
            Err(SendError::InDoubt(reason)) => {
                super::sends::mark_in_doubt(&mut run);
                run.error = Some(reason);
                run.updated_at = self.clock.now();
                self.ledger.record(&run).await?;
                Ok(JobOutcome::Unknown)
            }
            Err(SendError::Transient(reason)) => {
                run.status = RunStatus::Retrying;
                run.lease_until = None;
                run.error = Some(format!("not sent yet: {reason}"));
                let _ = self.ledger.progress(&run).await;
                Err(ExecuteError::Provider(reason))
            }
        }
    }
}

/// `text` with HTML's special characters escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    crate::template::escape_html_into(&mut out, text);
    out
}
