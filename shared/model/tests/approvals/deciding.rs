//! Deciding: unanimous steps, recall and reassign, pinned versions, races, decision links and the
//! step's timer.

use super::*;

#[tokio::test]
async fn unanimous_steps_wait_for_everyone_and_one_rejection_ends_the_request() {
    let o = office_with(lead_and_accountant("all")).await;
    quote(&o, "q1", 30).await;
    quote(&o, "q2", 30).await;
    o.submit(&o.sales(), Module::Quote, "q1", "r1")
        .await
        .unwrap();
    let half = o
        .decide("u-lead", Module::Quote, "q1", "r1", Verdict::Approve)
        .await
        .unwrap();
    assert_eq!(half.status, RequestStatus::Pending);
    assert_eq!(half.current.unwrap().undecided(), [uid("u-acct")]);
    assert!(
        o.pending_of("u-lead").await.is_empty(),
        "decided: off their list"
    );
    let twice = o
        .decide("u-lead", Module::Quote, "q1", "r1", Verdict::Approve)
        .await;
    assert!(
        matches!(
            twice,
            Err(ApprovalError::Transition(TransitionError::AlreadyDecided(
                _
            )))
        ),
        "a double click: {twice:?}"
    );
    let all = o
        .decide("u-acct", Module::Quote, "q1", "r1", Verdict::Approve)
        .await
        .unwrap();
    assert_eq!(all.status, RequestStatus::Approved);

    o.submit(&o.sales(), Module::Quote, "q2", "r2")
        .await
        .unwrap();
    let rejected = o
        .decide("u-acct", Module::Quote, "q2", "r2", Verdict::Reject)
        .await
        .unwrap();
    assert_eq!(rejected.status, RequestStatus::Rejected);
    assert!(!o.fields("q2").await.contains_key("Approval"));
    assert!(o.pending_of("u-lead").await.is_empty());
}

#[tokio::test]
async fn only_the_submitter_recalls_and_only_an_administrator_reassigns() {
    let o = office_with(discount_definition()).await;
    quote(&o, "q1", 30).await;
    o.submit(&o.sales(), Module::Quote, "q1", "r1")
        .await
        .unwrap();
    let (q1, r1) = (rid("q1"), rid("r1"));
    let approvals = o.approvals();
    let by_other = approvals
        .recall(
            &o.actor("u-other", Role::Salesperson),
            Module::Quote,
            &q1,
            &r1,
            None,
        )
        .await;
    assert!(
        matches!(
            by_other,
            Err(ApprovalError::Transition(TransitionError::NotTheSubmitter))
        ),
        "{by_other:?}"
    );
    let (lead, acct) = (uid("u-lead"), uid("u-acct"));
    let handing = |comment: Option<&str>| Reassignment {
        from: lead.clone(),
        to: acct.clone(),
        comment: comment.map(str::to_owned),
    };
    let not_admin = approvals
        .reassign(&o.sales(), Module::Quote, &q1, &r1, handing(None))
        .await;
    assert!(
        matches!(not_admin, Err(ApprovalError::Forbidden(_))),
        "{not_admin:?}"
    );
    let admin = o.actor("u-director", Role::Administrator);
    let reassigned = approvals
        .reassign(&admin, Module::Quote, &q1, &r1, handing(Some("nghỉ phép")))
        .await
        .unwrap();
    assert_eq!(reassigned.current.unwrap().approvers, [uid("u-acct")]);
    assert_eq!(o.pending_of("u-acct").await, [rid("r1")]);
    assert!(o.pending_of("u-lead").await.is_empty());
    let recalled = approvals
        .recall(&o.sales(), Module::Quote, &q1, &r1, Some("sửa giá".into()))
        .await
        .unwrap();
    assert_eq!(recalled.status, RequestStatus::Recalled);
    assert!(!o.fields("q1").await.contains_key("Approval"));
    assert!(o.pending_of("u-acct").await.is_empty());
}

#[tokio::test]
async fn a_request_runs_to_its_end_under_the_version_it_was_submitted_under() {
    let o = Office::new().await;
    o.record(Module::Customer, "c1", json!({"Name": "An"}))
        .await;
    let id = o.definition("discount", discount_definition()).await;
    quote(&o, "q1", 30).await;
    o.submit(&o.sales(), Module::Quote, "q1", "r1")
        .await
        .unwrap();
    // The definition gains a second step, then is switched off.
    let clock = FixedClock(at(NOW));
    let mut edited = discount_definition();
    edited["trigger"]["steps"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "Giám đốc", "approvers": [{"type": "user", "user": "u-director"}]}));
    let cases = o.w.use_cases(&clock);
    cases
        .update(
            &o.w.tenant,
            &admin(),
            &id,
            serde_json::from_value(edited).unwrap(),
            None,
        )
        .await
        .unwrap();
    cases
        .deactivate(&o.w.tenant, &admin(), &id, None, Default::default())
        .await
        .unwrap();
    let approved = o
        .decide("u-lead", Module::Quote, "q1", "r1", Verdict::Approve)
        .await
        .unwrap();
    assert_eq!(approved.version, 1);
    assert_eq!(
        approved.status,
        RequestStatus::Approved,
        "version 1 had one step"
    );
}

#[tokio::test]
async fn of_two_decisions_from_the_same_read_the_second_is_refused_and_decided_again() {
    let o = office_with(lead_and_accountant("first")).await;
    quote(&o, "q1", 30).await;
    o.submit(&o.sales(), Module::Quote, "q1", "r1")
        .await
        .unwrap();
    let store = &o.w.stores.approvals;
    let read = store
        .get(&o.w.tenant, &rid("q1"), &rid("r1"))
        .await
        .unwrap()
        .unwrap();
    // The lead rejects meanwhile.
    o.decide("u-lead", Module::Quote, "q1", "r1", Verdict::Reject)
        .await
        .unwrap();
    // A save from the stale read is refused by the request's revision…
    let mut late = read.value.clone();
    late.decide(
        &uid("u-acct"),
        crm_model::approval::request::Decision::Approve,
        false,
        None,
        at(NOW),
    )
    .unwrap();
    let refused = store.save(&read, &late, None).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict { .. })),
        "{refused:?}"
    );
    // …and the use case, reading again, says what happened instead.
    let second = o
        .decide("u-acct", Module::Quote, "q1", "r1", Verdict::Approve)
        .await;
    assert!(
        matches!(
            second,
            Err(ApprovalError::Transition(TransitionError::NotPending(
                RequestStatus::Rejected
            )))
        ),
        "{second:?}"
    );
}

#[tokio::test]
async fn a_decision_link_works_once_for_its_approver_until_it_expires() {
    let o = office_with(discount_definition()).await;
    quote(&o, "q1", 30).await;
    let submitted = o
        .submit(&o.sales(), Module::Quote, "q1", "r1")
        .await
        .unwrap();
    let link = |approver: &str, expires: &str| DecisionLink {
        tenant: o.w.tenant.clone(),
        record: rid("q1"),
        request: rid("r1"),
        round: submitted.current.as_ref().unwrap().round,
        approver: uid(approver),
        expires: at(expires),
    };
    let approve = || DecisionInput {
        verdict: Verdict::Approve,
        revenue: None,
        comment: Some("qua email".into()),
    };
    let key = "key-of-r1";
    // Signed with another key, or for someone not asked, it opens nothing.
    let forged = link("u-lead", "2026-12-08T00:00:00Z").token("guessed");
    let refused = o.approvals().decide_by_link(&forged, approve()).await;
    assert!(
        matches!(refused, Err(ApprovalError::LinkSpent(_))),
        "{refused:?}"
    );
    let stranger = link("u-other", "2026-12-08T00:00:00Z").token(key);
    let refused = o.approvals().decide_by_link(&stranger, approve()).await;
    assert!(
        matches!(refused, Err(ApprovalError::LinkSpent(_))),
        "{refused:?}"
    );
    let expired = link("u-lead", "2026-12-01T01:00:00Z").token(key);
    let refused = o.approvals().decide_by_link(&expired, approve()).await;
    assert!(
        matches!(refused, Err(ApprovalError::LinkSpent(_))),
        "{refused:?}"
    );

    let token = link("u-lead", "2026-12-08T00:00:00Z").token(key);
    let (opened, _) = o.approvals().open_link(&token).await.unwrap();
    assert_eq!(opened.approver, uid("u-lead"));
    let decided = o
        .approvals()
        .decide_by_link(&token, approve())
        .await
        .unwrap();
    assert_eq!(decided.status, RequestStatus::Approved);
    assert_eq!(decided.history[2].by, Some(uid("u-lead")));
    let replayed = o.approvals().decide_by_link(&token, approve()).await;
    assert!(
        matches!(replayed, Err(ApprovalError::LinkSpent(_))),
        "{replayed:?}"
    );
}

#[tokio::test]
async fn the_scan_sends_the_steps_timer_when_it_comes_even_once_the_definition_is_switched_off() {
    let o = Office::new().await;
    o.record(Module::Customer, "c1", json!({"Name": "An"}))
        .await;
    let id = o.definition("discount", discount_definition()).await;
    quote(&o, "q1", 30).await;
    let submitted = o
        .submit(&o.sales(), Module::Quote, "q1", "r1")
        .await
        .unwrap();
    o.followups().handle(None, &submitted).await.unwrap();
    let clock = FixedClock(at(NOW));
    o.w.use_cases(&clock)
        .deactivate(&o.w.tenant, &admin(), &id, None, Default::default())
        .await
        .unwrap();
    let before = support::scanning::scan(&o.w, "2026-12-01T21:00:00Z").await;
    assert_eq!(before.occurrences_fired, 0, "not yet");
    let report = support::scanning::scan(&o.w, "2026-12-01T22:05:00Z").await;
    assert_eq!(report.occurrences_fired, 1, "{report:?}");
    let timers: Vec<_> =
        o.w.publisher
            .jobs()
            .into_iter()
            .filter(|j| j.action.as_str() == crm_model::approval::TIMER_KIND)
            .collect();
    assert_eq!(timers.len(), 1);
    assert_eq!(timers[0].record, rid("q1"));
    assert_eq!(timers[0].due_at, at("2026-12-01T22:00:00Z"));
    let again = support::scanning::scan(&o.w, "2026-12-01T22:10:00Z").await;
    assert_eq!(again.occurrences_fired, 0, "claimed once");
}

#[tokio::test]
async fn a_manager_escalated_to_decides_an_all_must_approve_step_alone() {
    let o = office_with(lead_and_accountant("all")).await;
    quote(&o, "q1", 30).await;
    let submitted = o
        .submit(&o.sales(), Module::Quote, "q1", "r1")
        .await
        .unwrap();
    // The deadline passes with nobody having decided: the lead's manager joins.
    let mut escalated = submitted.clone();
    assert!(escalated.pass_deadline(vec![uid("u-director")], at("2026-12-02T03:00:00Z")));
    let before =
        o.w.stores
            .approvals
            .get(&o.w.tenant, &rid("q1"), &rid("r1"))
            .await
            .unwrap()
            .unwrap();
    o.w.stores
        .approvals
        .save(&before, &escalated, None)
        .await
        .unwrap();
    let decided = o
        .decide("u-director", Module::Quote, "q1", "r1", Verdict::Approve)
        .await
        .unwrap();
    assert_eq!(
        decided.status,
        RequestStatus::Approved,
        "in the stead of both"
    );
}

#[tokio::test]
async fn a_decision_link_stops_working_for_an_approver_deactivated_or_reassigned_away() {
    let o = office_with(lead_and_accountant("first")).await;
    quote(&o, "q1", 30).await;
    o.submit(&o.sales(), Module::Quote, "q1", "r1")
        .await
        .unwrap();
    let link = |approver: &str| {
        DecisionLink {
            tenant: o.w.tenant.clone(),
            record: rid("q1"),
            request: rid("r1"),
            round: 1,
            approver: uid(approver),
            expires: at("2026-12-08T00:00:00Z"),
        }
        .token("key-of-r1")
    };
    let approve = || DecisionInput {
        verdict: Verdict::Approve,
        revenue: None,
        comment: None,
    };
    let mut lead = person("u-lead", Role::Salesperson, Some("u-director"), None);
    lead.active = false;
    o.w.stores.users.put(&o.w.tenant, &lead).await.unwrap();
    let refused = o
        .approvals()
        .decide_by_link(&link("u-lead"), approve())
        .await;
    assert!(
        matches!(refused, Err(ApprovalError::LinkSpent(_))),
        "{refused:?}"
    );
    let admin = o.actor("u-director", Role::Administrator);
    let handing = Reassignment {
        from: uid("u-acct"),
        to: uid("u-other"),
        comment: None,
    };
    o.approvals()
        .reassign(&admin, Module::Quote, &rid("q1"), &rid("r1"), handing)
        .await
        .unwrap();
    let refused = o
        .approvals()
        .decide_by_link(&link("u-acct"), approve())
        .await;
    assert!(
        matches!(refused, Err(ApprovalError::LinkSpent(_))),
        "{refused:?}"
    );
    let decided = o
        .approvals()
        .decide_by_link(&link("u-other"), approve())
        .await
        .unwrap();
    assert_eq!(decided.status, RequestStatus::Approved);
}
