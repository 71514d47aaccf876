//! Submitting: which definition applies and who may submit, the record locked, skipped steps,
//! approvers resolved, revenue recorded once, definitions validated.

use super::*;

#[tokio::test]
async fn a_submitted_quote_waits_locked_for_the_managers_decision_whose_actions_run_once() {
    let o = office_with(discount_definition()).await;
    quote(&o, "q1", 25).await;

    let submitted = o
        .submit(&o.sales(), Module::Quote, "q1", "r1")
        .await
        .unwrap();
    assert_eq!(submitted.status, RequestStatus::Pending);
    let step = submitted.current.clone().unwrap();
    assert_eq!(step.approvers, [uid("u-lead")], "the submitter's manager");
    assert_eq!(step.deadline_at, Some(at("2026-12-02T02:00:00Z")));
    assert_eq!(step.remind_at, Some(at("2026-12-01T22:00:00Z")));
    assert_eq!(o.fields("q1").await["Approval"]["request"], json!("r1"));
    assert_eq!(o.pending_of("u-lead").await, [rid("r1")]);

    // The stream follows the submission up: its actions, the approver told, the reminder armed.
    let followed = o.followups().handle(None, &submitted).await.unwrap();
    assert_eq!(followed.jobs_published, 1);
    assert_eq!(followed.timers_armed, 1);
    assert_eq!(o.inbox_of("u-lead").await.len(), 1);
    let entry =
        o.w.stores
            .schedule
            .get(
                &o.w.tenant,
                &WorkflowId::new("discount").unwrap(),
                &rid("q1"),
            )
            .await
            .unwrap()
            .unwrap();
    assert_eq!(entry.next.unwrap().fire_at, at("2026-12-01T22:00:00Z"));

    // Locked: the salesperson may not edit, delete or hand it over; an administrator may.
    let edit = json!({"Discount": 30}).as_object().unwrap().clone();
    let refused = o
        .records()
        .patch(&o.sales(), Module::Quote, &rid("q1"), &edit, None)
        .await;
    let Err(RecordError::Conflict(said)) = refused else {
        panic!("{refused:?}");
    };
    assert!(
        said.contains("Duyệt chiết khấu") && said.contains("r1"),
        "{said}"
    );
    let deleted = o
        .records()
        .delete(&o.sales(), Module::Quote, &rid("q1"), None)
        .await;
    assert!(
        matches!(deleted, Err(RecordError::Conflict(_))),
        "{deleted:?}"
    );
    let admin = o.actor("u-director", Role::Administrator);
    o.records()
        .patch(&admin, Module::Quote, &rid("q1"), &edit, None)
        .await
        .unwrap();

    // Only the step's approver decides.
    let stranger = o
        .decide("u-other", Module::Quote, "q1", "r1", Verdict::Approve)
        .await;
    assert!(
        matches!(
            stranger,
            Err(ApprovalError::Transition(TransitionError::NotAnApprover(_)))
        ),
        "{stranger:?}"
    );
    let before =
        o.w.stores
            .approvals
            .get(&o.w.tenant, &rid("q1"), &rid("r1"))
            .await
            .unwrap()
            .unwrap();
    let approved = o
        .decide("u-lead", Module::Quote, "q1", "r1", Verdict::Approve)
        .await
        .unwrap();
    assert_eq!(approved.status, RequestStatus::Approved);
    let events: Vec<Event> = approved.history.iter().map(|e| e.event).collect();
    assert_eq!(
        events,
        [
            Event::Submitted,
            Event::StepStarted,
            Event::Approved,
            Event::Completed
        ]
    );
    assert!(!o.fields("q1").await.contains_key("Approval"), "unlocked");
    assert!(o.pending_of("u-lead").await.is_empty());

    // The approval's actions, once: a redelivered stream record publishes the same keys.
    let first = o
        .followups()
        .handle(Some(&before.value), &approved)
        .await
        .unwrap();
    assert_eq!(first.jobs_published, 1);
    o.followups()
        .handle(Some(&before.value), &approved)
        .await
        .unwrap();
    let jobs = o.w.publisher.jobs();
    let approve_keys: Vec<String> = jobs
        .iter()
        .filter(|j| j.action.as_str() == "tell-approved")
        .map(|j| j.idempotency_key())
        .collect();
    assert_eq!(approve_keys.len(), 2);
    assert_eq!(
        approve_keys[0], approve_keys[1],
        "the executor runs it once"
    );
    assert!(approve_keys[0].contains("r1.approved"));
    assert!(
        o.inbox_of("u-sales")
            .await
            .iter()
            .any(|m| m.contains("đã được phê duyệt")),
        "the submitter hears the outcome"
    );
    // Nothing pending: the timer is disarmed.
    let entry =
        o.w.stores
            .schedule
            .get(
                &o.w.tenant,
                &WorkflowId::new("discount").unwrap(),
                &rid("q1"),
            )
            .await
            .unwrap()
            .unwrap();
    assert!(entry.next.is_none());

    // Decided: nothing more can happen to it.
    let again = o
        .decide("u-lead", Module::Quote, "q1", "r1", Verdict::Reject)
        .await;
    assert!(
        matches!(
            again,
            Err(ApprovalError::Transition(TransitionError::NotPending(
                RequestStatus::Approved
            )))
        ),
        "{again:?}"
    );
}

#[tokio::test]
async fn the_entry_condition_and_submitters_decide_whether_a_record_can_be_submitted() {
    let o = office_with(discount_definition()).await;
    quote(&o, "q-small", 10).await;
    quote(&o, "q-big", 30).await;
    let none = o.submit(&o.sales(), Module::Quote, "q-small", "r1").await;
    assert!(
        matches!(none, Err(ApprovalError::NoneApplies(_))),
        "{none:?}"
    );
    let other = o.actor("u-other", Role::Salesperson);
    let not_owner = o.submit(&other, Module::Quote, "q-big", "r2").await;
    assert!(
        matches!(not_owner, Err(ApprovalError::Forbidden(_))),
        "{not_owner:?}"
    );
    o.submit(&o.sales(), Module::Quote, "q-big", "r3")
        .await
        .unwrap();
    let twice = o.submit(&o.sales(), Module::Quote, "q-big", "r4").await;
    assert!(
        matches!(&twice, Err(ApprovalError::AlreadyPending(r)) if r == &rid("r3")),
        "{twice:?}"
    );
}

#[tokio::test]
async fn the_first_matching_definition_by_priority_applies() {
    let o = Office::new().await;
    o.record(Module::Customer, "c1", json!({"Name": "An"}))
        .await;
    let mut loose = discount_definition();
    loose["name"] = json!("Mọi báo giá");
    loose["condition"] = json!({"type": "all_records"});
    loose["trigger"]["priority"] = json!(5);
    loose["trigger"]["steps"][0]["approvers"] = json!([{"type": "user", "user": "u-acct"}]);
    o.definition("a-loose", loose).await;
    let mut strict = discount_definition();
    strict["trigger"]["priority"] = json!(1);
    o.definition("b-strict", strict).await;
    quote(&o, "q1", 30).await;
    quote(&o, "q2", 5).await;
    let big = o
        .submit(&o.sales(), Module::Quote, "q1", "r1")
        .await
        .unwrap();
    assert_eq!(big.workflow.as_str(), "b-strict", "lower priority first");
    let small = o
        .submit(&o.sales(), Module::Quote, "q2", "r2")
        .await
        .unwrap();
    assert_eq!(
        small.workflow.as_str(),
        "a-loose",
        "the next one that matches"
    );
}

#[tokio::test]
async fn an_order_under_50_million_goes_straight_to_accounting_and_its_revenue_is_recorded_once() {
    let o = Office::new().await;
    o.record(Module::Customer, "c1", json!({"Name": "An"}))
        .await;
    o.definition("recording", recording_definition()).await;
    order(&o, "o1", 30000000).await;
    let submitted = o
        .submit(&o.sales(), Module::Order, "o1", "r1")
        .await
        .unwrap();
    let step = submitted.current.clone().unwrap();
    assert_eq!(
        (step.index, step.approvers.clone()),
        (1, vec![uid("u-acct")])
    );
    assert_eq!(submitted.history[1].event, Event::StepSkipped);

    let approve = o
        .decide("u-acct", Module::Order, "o1", "r1", Verdict::Approve)
        .await;
    assert!(
        matches!(
            approve,
            Err(ApprovalError::Transition(TransitionError::RecordStep(_)))
        ),
        "{approve:?}"
    );
    o.clock.set("2026-12-01T03:00:00Z");
    let recorded = o
        .decide("u-acct", Module::Order, "o1", "r1", Verdict::Record)
        .await
        .unwrap();
    assert_eq!(recorded.status, RequestStatus::Approved);
    let fields = o.fields("o1").await;
    assert_eq!(
        fields["RecordedRevenue"],
        json!(30000000),
        "the order's total"
    );
    assert_eq!(fields["RecordedBy"], json!("u-acct"));
    assert_eq!(fields["RecordedAt"], json!("2026-12-01T03:00:00.000Z"));
    assert!(!fields.contains_key("Approval"));

    // Recorded once: a second submission is refused with when.
    let twice = o.submit(&o.sales(), Module::Order, "o1", "r2").await;
    assert!(
        matches!(&twice, Err(ApprovalError::AlreadyRecorded(when)) if when.starts_with("2026-12-01T03:00")),
        "{twice:?}"
    );
}

#[tokio::test]
async fn an_order_from_50_million_is_reviewed_by_the_managers_first() {
    let o = Office::new().await;
    o.record(Module::Customer, "c1", json!({"Name": "An"}))
        .await;
    o.definition("recording", recording_definition()).await;
    order(&o, "o2", 80000000).await;
    let submitted = o
        .submit(&o.sales(), Module::Order, "o2", "r1")
        .await
        .unwrap();
    assert_eq!(submitted.current.unwrap().approvers, [uid("u-lead")]);
    let reviewed = o
        .decide("u-lead", Module::Order, "o2", "r1", Verdict::Approve)
        .await
        .unwrap();
    assert_eq!(reviewed.status, RequestStatus::Pending);
    let step = reviewed.current.unwrap();
    assert_eq!((step.name.as_str(), step.round), ("Kế toán", 2));
    let input = DecisionInput {
        verdict: Verdict::Record,
        revenue: Some(75_000_000),
        comment: None,
    };
    o.approvals()
        .decide(
            &o.actor("u-acct", Role::Salesperson),
            Module::Order,
            &rid("o2"),
            &rid("r1"),
            input,
        )
        .await
        .unwrap();
    assert_eq!(o.fields("o2").await["RecordedRevenue"], json!(75000000));
}

#[tokio::test]
async fn approvers_come_from_roles_fields_and_team_managers_and_only_active_users_decide() {
    let o = Office::new().await;
    o.record(Module::Customer, "c1", json!({"Name": "An"}))
        .await;
    // The team's manager stands in for a user who names none.
    let mut settings =
        o.w.stores
            .settings
            .tenant_settings(&o.w.tenant)
            .await
            .unwrap();
    settings
        .value
        .team_managers
        .insert("Hà Nội".into(), uid("u-director"));
    o.w.stores
        .settings
        .put_tenant_settings(&o.w.tenant, &settings.value, settings.revision)
        .await
        .unwrap();
    let mut definition = discount_definition();
    definition["trigger"]["steps"][0]["approvers"] = json!([
        {"type": "role", "role": "administrator"},
        {"type": "owner_manager"},
        {"type": "user_field", "field": "Owner"}
    ]);
    definition["trigger"]["submitters"] = json!({"owner": true, "users": ["u-other"]});
    o.definition("discount", definition).await;
    o.record(
        Module::Quote,
        "q1",
        json!({"Code": "q1", "Customer": "c1", "Discount": 30, "Owner": "u-other"}),
    )
    .await;
    let other = o.actor("u-other", Role::Salesperson);
    let submitted = o.submit(&other, Module::Quote, "q1", "r1").await.unwrap();
    let approvers = submitted.current.unwrap().approvers;
    // The administrators (the world's own and the director), the owner's team manager (the
    // director again, once), the owner named by the field.
    assert_eq!(approvers, [admin(), uid("u-director"), uid("u-other")]);

    // A step whose every approver is inactive cannot start.
    let mut lead = person("u-lead", Role::Salesperson, Some("u-director"), None);
    lead.active = false;
    o.w.stores.users.put(&o.w.tenant, &lead).await.unwrap();
    let mut only_lead = discount_definition();
    only_lead["trigger"]["priority"] = json!(0);
    only_lead["trigger"]["steps"][0]["approvers"] = json!([{"type": "user", "user": "u-lead"}]);
    only_lead["condition"] = json!({"type": "matching", "group": {"combine": "and", "rules": [
        {"field": "Discount", "op": "greater_than", "value": 50}]}});
    o.definition("a-lead", only_lead).await;
    quote(&o, "q2", 60).await;
    let nobody = o.submit(&o.sales(), Module::Quote, "q2", "r2").await;
    assert!(
        matches!(nobody, Err(ApprovalError::Resolve(_))),
        "{nobody:?}"
    );
    assert!(
        !o.fields("q2").await.contains_key("Approval"),
        "nothing locked"
    );
}

#[tokio::test]
async fn definitions_are_validated_with_every_problem_at_its_pointer() {
    let o = Office::new().await;
    let clock = FixedClock(at(NOW));
    let bad = json!({
        "module": "Quote", "name": "Sai",
        "trigger": {"type": "approval",
            "steps": [
                {"name": "Ghi", "kind": "record", "approvers": [{"type": "user", "user": "u-nobody"}]},
                {"name": "Duyệt", "approvers": [{"type": "user_field", "field": "Amount"}],
                 "deadline": {"hours": 4, "remind_before_hours": 6}}],
            "on_approve": ["missing"], "email_sender": "no-sender"},
        "actions": [{"kind": "notification", "id": "idle", "name": "Báo", "notify_owner": true, "message": "x"}]
    });
    let result =
        o.w.use_cases(&clock)
            .create(
                &o.w.tenant,
                &admin(),
                WorkflowId::new("bad").unwrap(),
                serde_json::from_value(bad).unwrap(),
            )
            .await;
    let Err(crm_model::workflow::service::WorkflowError::Invalid(problems)) = result else {
        panic!("{result:?}");
    };
    for path in [
        "/trigger/steps/0/kind",
        "/trigger/steps/0/approvers/0/user",
        "/trigger/steps/1/approvers/0/field",
        "/trigger/steps/1/deadline/remind_before_hours",
        "/trigger/on_approve/0",
        "/trigger/email_sender",
        "/actions/0",
    ] {
        assert!(problems.has(path), "no problem at {path}: {problems}");
    }
}

#[tokio::test]
async fn a_customer_waiting_for_approval_is_not_handed_over_merged_or_deleted() {
    use crm_model::record::service::HandOver;
    let o = Office::new().await;
    let mut definition = discount_definition();
    definition["module"] = json!("Customer");
    definition["condition"] = json!({"type": "all_records"});
    definition["actions"] = json!([]);
    definition["trigger"]["on_submit"] = json!([]);
    definition["trigger"]["on_approve"] = json!([]);
    definition["trigger"]["on_reject"] = json!([]);
    o.definition("credit", definition).await;
    o.record(
        Module::Customer,
        "c1",
        json!({"Name": "An", "Owner": "u-sales"}),
    )
    .await;
    o.record(
        Module::Customer,
        "c2",
        json!({"Name": "An", "Owner": "u-sales"}),
    )
    .await;
    o.submit(&o.sales(), Module::Customer, "c1", "r1")
        .await
        .unwrap();
    let hand_over = HandOver {
        to: uid("u-other"),
        activities: Vec::new(),
    };
    let refused = o
        .records()
        .hand_over(&o.sales(), &rid("c1"), &hand_over)
        .await;
    assert!(
        matches!(refused, Err(RecordError::Conflict(_))),
        "{refused:?}"
    );
    // Deleting or merging it away would leave the request nothing to decide: refused even to
    // an administrator, who may hand it over.
    let admin = o.actor("u-director", Role::Administrator);
    let deleted = o
        .records()
        .delete(&admin, Module::Customer, &rid("c1"), None)
        .await;
    assert!(
        matches!(&deleted, Err(RecordError::Conflict(said)) if said.contains("r1")),
        "{deleted:?}"
    );
    let merged = o.records().merge(&admin, &rid("c2"), &rid("c1"), &[]).await;
    assert!(
        matches!(merged, Err(RecordError::Conflict(_))),
        "{merged:?}"
    );
    let into = o
        .records()
        .merge(&o.sales(), &rid("c1"), &rid("c2"), &[])
        .await;
    assert!(
        matches!(into, Err(RecordError::Conflict(_))),
        "into a locked survivor: {into:?}"
    );
    o.records()
        .hand_over(&admin, &rid("c1"), &hand_over)
        .await
        .unwrap();
    assert_eq!(o.fields("c1").await["Owner"], json!("u-other"));
    assert_eq!(o.fields("c1").await["Approval"]["request"], json!("r1"));
}

#[tokio::test]
async fn a_step_condition_that_no_longer_fits_the_fields_stops_the_submission() {
    let o = Office::new().await;
    o.record(Module::Customer, "c1", json!({"Name": "An"}))
        .await;
    crm_model::testing::add_number_fields(
        &o.w.stores.settings,
        &o.w.tenant,
        Module::Quote,
        &["Margin"],
    )
    .await;
    let mut definition = discount_definition();
    definition["trigger"]["steps"][0]["condition"] = json!({"type": "matching", "group": {
        "combine": "and", "rules": [{"field": "Margin", "op": "less_than", "value": 10}]}});
    o.definition("discount", definition).await;
    // The custom field goes away: the step must not be skipped as if it did not apply.
    let mut settings =
        o.w.stores
            .settings
            .tenant_settings(&o.w.tenant)
            .await
            .unwrap();
    settings.value.custom_fields.clear();
    o.w.stores
        .settings
        .put_tenant_settings(&o.w.tenant, &settings.value, settings.revision)
        .await
        .unwrap();
    quote(&o, "q1", 30).await;
    let refused = o.submit(&o.sales(), Module::Quote, "q1", "r1").await;
    assert!(
        matches!(refused, Err(ApprovalError::Broken(_))),
        "{refused:?}"
    );
    assert!(!o.fields("q1").await.contains_key("Approval"));
}
