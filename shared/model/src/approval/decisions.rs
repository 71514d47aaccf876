//! The decisions on a request: approve, reject or record (through the API or an email's link),
//! recall, reassign. Each reads the request and its record, applies the transition and saves it
//! on the condition that neither moved meanwhile; a lost race is read and decided again, so of
//! two deciders one wins and the other is told what happened.

use serde_json::{Value, json};

use super::links::DecisionLink;
use super::request::{ApprovalRequest, Decided, Decision, RequestStatus, TransitionError};
use super::service::{
    ATTEMPTS, ApprovalError, Approvals, DecisionInput, Pinned, Reassignment, Verdict,
    check_comment, locked,
};
use super::{RECORDED_AT, RECORDED_BY, RECORDED_REVENUE, StepKind};
use crate::ids::{RecordId, TenantId, UserId};
use crate::record::service::Actor;
use crate::record::stored::StoredRecord;
use crate::schema::Module;
use crate::store::StoreError;

impl Approvals<'_> {
    /// Reads the request and its record, applies `change` and saves, again from a fresh read
    /// when the request or the record moved meanwhile.
    async fn transition<F>(
        &self,
        tenant: &TenantId,
        record_id: &RecordId,
        id: &RecordId,
        mut change: F,
    ) -> Result<ApprovalRequest, ApprovalError>
    where
        F: FnMut(&mut ApprovalRequest, &Pinned, &StoredRecord) -> Result<Decided, ApprovalError>,
    {
        let settings = self.tenant(tenant).await?;
        for _ in 0..ATTEMPTS {
            let before = self
                .approvals
                .get(tenant, record_id, id)
                .await?
                .ok_or(ApprovalError::NotFound("approval request"))?;
            let stored = self.record(tenant, before.value.module, record_id).await?;
            let pinned = self.pinned(&before.value).await?;
            let now = self.clock.now();
            let mut next = before.value.clone();
            let decided = change(&mut next, &pinned, &stored.value)?;
            if decided == Decided::StepDone {
                let from = next.current.as_ref().map_or(0, |c| c.index + 1);
                self.advance(&settings, &pinned, &mut next, from, &stored.value, now)
                    .await?;
            }
            let record = if next.is_pending() {
                None
            } else {
                let mut freed = locked(&stored.value, None);
                if let Some(recorded) = next
                    .history
                    .iter()
                    .rev()
                    .find(|e| e.event == super::request::Event::Recorded)
                    .filter(|_| next.status == RequestStatus::Approved)
                {
                    let at = recorded
                        .at
                        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                    freed
                        .fields
                        .insert(RECORDED_REVENUE.into(), json!(recorded.revenue));
                    freed.fields.insert(RECORDED_BY.into(), json!(recorded.by));
                    freed.fields.insert(RECORDED_AT.into(), json!(at));
                    freed.fields.insert("UpdatedAt".into(), json!(at));
                    freed.fields.insert("UpdatedBy".into(), json!(recorded.by));
                }
                Some(freed)
            };
            if !next.fits() {
                return Err(ApprovalError::HistoryFull);
            }
            let saved = self
                .approvals
                .save(
                    &before,
                    &next,
                    record.as_ref().map(|r| (r, stored.revision)),
                )
                .await;
            match saved {
                Ok(saved) => return Ok(saved.value),
                Err(StoreError::Conflict { .. }) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(ApprovalError::Busy)
    }

    /// An approver's decision on the current step.
    pub async fn decide(
        &self,
        actor: &Actor,
        module: Module,
        record: &RecordId,
        id: &RecordId,
        input: DecisionInput,
    ) -> Result<ApprovalRequest, ApprovalError> {
        self.get(actor, module, record, id).await?;
        self.decide_as(&actor.tenant, &actor.user, record, id, input, None)
            .await
    }

    /// `user`'s decision; `round`, for a decision link, the step it was sent for.
    async fn decide_as(
        &self,
        tenant: &TenantId,
        user: &UserId,
        record: &RecordId,
        id: &RecordId,
        input: DecisionInput,
        round: Option<u32>,
    ) -> Result<ApprovalRequest, ApprovalError> {
        check_comment(&input.comment)?;
        if input.revenue.is_some_and(|r| r < 0) {
            return Err(ApprovalError::Invalid(
                "/revenue",
                "a whole amount from 0".into(),
            ));
        }
        if input.revenue.is_some() && input.verdict != Verdict::Record {
            return Err(ApprovalError::Invalid(
                "/revenue",
                "only a record step records revenue".into(),
            ));
        }
        let now = self.clock.now();
        self.transition(tenant, record, id, |request, pinned, stored| {
            let current = request.current.as_ref();
            if round.is_some() && current.map(|c| c.round) != round {
                return Err(ApprovalError::LinkSpent("the step it was sent for is over"));
            }
            let record_step = current
                .and_then(|c| pinned.spec.steps.get(c.index))
                .is_some_and(|s| s.kind == StepKind::Record);
            let decision = match input.verdict {
                Verdict::Approve => Decision::Approve,
                Verdict::Reject => Decision::Reject,
                Verdict::Record => {
                    if let Some(at) = stored.fields.get(RECORDED_AT).and_then(Value::as_str) {
                        return Err(ApprovalError::AlreadyRecorded(at.to_owned()));
                    }
                    let total = stored.fields.get("Amount").and_then(Value::as_i64);
                    let revenue = input.revenue.or(total).ok_or(ApprovalError::Invalid(
                        "/revenue",
                        "the order has no total: say the revenue to record".into(),
                    ))?;
                    Decision::Record { revenue }
                }
            };
            Ok(request.decide(user, decision, record_step, input.comment.clone(), now)?)
        })
        .await
    }

    /// A decision through an email's link: `token` names the approver; nobody logs in.
    pub async fn decide_by_link(
        &self,
        token: &str,
        input: DecisionInput,
    ) -> Result<ApprovalRequest, ApprovalError> {
        let (link, _) = self.open_link(token).await?;
        self.decide_as(
            &link.tenant,
            &link.approver,
            &link.record,
            &link.request,
            input,
            Some(link.round),
        )
        .await
        .map_err(|error| match error {
            ApprovalError::Transition(TransitionError::AlreadyDecided(_)) => {
                ApprovalError::LinkSpent("you already decided this step")
            }
            ApprovalError::Transition(TransitionError::NotPending(_)) => {
                ApprovalError::LinkSpent("the request is over")
            }
            ApprovalError::Transition(TransitionError::NotAnApprover(_)) => {
                ApprovalError::LinkSpent("you are no longer an approver of this step")
            }
            other => other,
        })
    }

    /// What a decision link opens, before anything is decided (the page a mail client's link
    /// check may load as often as it likes): the link and its request, once its signature holds.
    pub async fn open_link(
        &self,
        token: &str,
    ) -> Result<(DecisionLink, ApprovalRequest), ApprovalError> {
        // One answer for every link that opens nothing, so that none tells whether a request
        // exists.
        const NOT_OURS: &str = "it is not a link we sent, or it expired";
        let (link, signed) =
            DecisionLink::parse(token).ok_or(ApprovalError::LinkSpent(NOT_OURS))?;
        let found = self
            .approvals
            .get(&link.tenant, &link.record, &link.request)
            .await?
            .ok_or(ApprovalError::LinkSpent(NOT_OURS))?;
        if !link.verify(&found.value.link_key, &signed, self.clock.now()) {
            return Err(ApprovalError::LinkSpent(NOT_OURS));
        }
        // A link works for an active user only: no login means no membership check elsewhere.
        let active = self
            .users
            .get(&link.tenant, &link.approver)
            .await?
            .is_some_and(|u| u.active);
        if !active {
            return Err(ApprovalError::LinkSpent("you are no longer an active user"));
        }
        Ok((link, found.value))
    }

    /// The submitter takes the request back.
    pub async fn recall(
        &self,
        actor: &Actor,
        module: Module,
        record: &RecordId,
        id: &RecordId,
        comment: Option<String>,
    ) -> Result<ApprovalRequest, ApprovalError> {
        check_comment(&comment)?;
        self.get(actor, module, record, id).await?;
        let now = self.clock.now();
        self.transition(&actor.tenant, record, id, |request, _, _| {
            request.recall(&actor.user, comment.clone(), now)?;
            Ok(Decided::Rejected)
        })
        .await
    }

    /// An administrator gives an approver's part of the current step to another active user.
    pub async fn reassign(
        &self,
        actor: &Actor,
        module: Module,
        record: &RecordId,
        id: &RecordId,
        change: Reassignment,
    ) -> Result<ApprovalRequest, ApprovalError> {
        let Reassignment { from, to, comment } = &change;
        check_comment(comment)?;
        if actor.role != crate::user::Role::Administrator {
            return Err(ApprovalError::Forbidden(
                "only an administrator may reassign an approval".into(),
            ));
        }
        self.get(actor, module, record, id).await?;
        let active = self
            .users
            .get(&actor.tenant, to)
            .await?
            .is_some_and(|u| u.active);
        if !active {
            return Err(ApprovalError::Invalid(
                "/to",
                format!("no active user '{to}'"),
            ));
        }
        let now = self.clock.now();
        self.transition(&actor.tenant, record, id, |request, _, _| {
            request.reassign(&actor.user, from, to, comment.clone(), now)?;
            Ok(Decided::Waiting)
        })
        .await
    }
}
