//! Approval and sales-recording workflows over the in-memory stores: which definition applies,
//! who may submit, the record locked while pending, steps skipped by their condition, first
//! response and unanimous steps, recording an order's revenue once, recall and reassign, a
//! request pinned to its version, races settled by the request's revision, decision links, and
//! what the stream follows a request's change up with.

mod support;

use crm_model::approval::followups::Followups;
use crm_model::approval::links::DecisionLink;
use crm_model::approval::request::{ApprovalRequest, Event, RequestStatus, TransitionError};
use crm_model::approval::service::{
    ApprovalError, Approvals, DecisionInput, Reassignment, Verdict,
};
use crm_model::approval::store::ApprovalStore;
use crm_model::ids::{RecordId, UserId, WorkflowId};
use crm_model::ports::{
    FixedClock, RecordStore, ScheduleEntries, SettingsStore, StoredRecord, UserDirectory,
};
use crm_model::record::service::{Actor, RecordError, Records};
use crm_model::schema::Module;
use crm_model::store::{PageRequest, StoreError};
use crm_model::user::access::Access;
use crm_model::user::notifications::NotificationInbox;
use crm_model::user::{Role, User};
use serde_json::{Value, json};
use support::clock::ManualClock;
use support::{World, admin, at};

const NOW: &str = "2026-12-01T02:00:00Z";

fn uid(id: &str) -> UserId {
    UserId::new(id).unwrap()
}

fn rid(id: &str) -> RecordId {
    RecordId::new(id).unwrap()
}

fn person(id: &str, role: Role, manager: Option<&str>, team: Option<&str>) -> User {
    User {
        id: uid(id),
        name: id.into(),
        email: format!("{id}@example.vn"),
        phone: None,
        team: team.map(str::to_owned),
        role,
        manager: manager.map(uid),
        active: true,
    }
}

struct Office {
    w: World,
    clock: ManualClock,
}

impl Office {
    /// A salesperson whose manager is the lead, the lead whose manager is the director, an
    /// accountant and a second salesperson.
    async fn new() -> Self {
        let w = World::new().await;
        for user in [
            person("u-sales", Role::Salesperson, Some("u-lead"), Some("Hà Nội")),
            person("u-other", Role::Salesperson, None, Some("Hà Nội")),
            person("u-lead", Role::Salesperson, Some("u-director"), None),
            person("u-director", Role::Administrator, None, None),
            person("u-acct", Role::Salesperson, None, None),
        ] {
            w.stores.users.put(&w.tenant, &user).await.unwrap();
        }
        Office {
            w,
            clock: ManualClock::at(NOW),
        }
    }

    fn approvals(&self) -> Approvals<'_> {
        Approvals {
            approvals: &self.w.stores.approvals,
            records: &self.w.stores.records,
            workflows: &self.w.stores.workflows,
            settings: &self.w.stores.settings,
            users: &self.w.stores.users,
            clock: &self.clock,
        }
    }

    fn records(&self) -> Records<'_> {
        Records {
            records: &self.w.stores.records,
            users: &self.w.stores.users,
            settings: &self.w.stores.settings,
            runs: &self.w.stores.runs,
            inbox: &self.w.stores.inbox,
            clock: &self.clock,
        }
    }

    fn followups(&self) -> Followups<'_> {
        Followups {
            workflows: &self.w.stores.workflows,
            schedule: &self.w.stores.schedule,
            publisher: &self.w.publisher,
            inbox: &self.w.stores.inbox,
        }
    }

    fn actor(&self, user: &str, role: Role) -> Actor {
        Actor {
            tenant: self.w.tenant.clone(),
            user: uid(user),
            role,
            access: Access::everything(),
        }
    }

    fn sales(&self) -> Actor {
        self.actor("u-sales", Role::Salesperson)
    }

    async fn definition(&self, id: &str, definition: Value) -> WorkflowId {
        let clock = FixedClock(at(NOW));
        let cases = self.w.use_cases(&clock);
        let id = WorkflowId::new(id).unwrap();
        cases
            .create(
                &self.w.tenant,
                &admin(),
                id.clone(),
                serde_json::from_value(definition).unwrap(),
            )
            .await
            .unwrap();
        cases
            .activate(&self.w.tenant, &admin(), &id, None)
            .await
            .unwrap();
        id
    }

    async fn record(&self, module: Module, id: &str, fields: Value) -> RecordId {
        let record = StoredRecord {
            id: rid(id),
            module,
            fields: fields.as_object().unwrap().clone(),
        };
        self.w
            .stores
            .records
            .create(&self.w.tenant, &record)
            .await
            .unwrap();
        record.id
    }

    async fn fields(&self, id: &str) -> serde_json::Map<String, Value> {
        let stored = self.w.stores.records.get(&self.w.tenant, &rid(id)).await;
        stored.unwrap().unwrap().value.fields
    }

    async fn submit(
        &self,
        actor: &Actor,
        module: Module,
        record: &str,
        request: &str,
    ) -> Result<ApprovalRequest, ApprovalError> {
        self.approvals()
            .submit(
                actor,
                module,
                &rid(record),
                Some("xin duyệt".into()),
                rid(request),
                format!("key-of-{request}"),
            )
            .await
    }

    async fn decide(
        &self,
        user: &str,
        module: Module,
        record: &str,
        request: &str,
        verdict: Verdict,
    ) -> Result<ApprovalRequest, ApprovalError> {
        let input = DecisionInput {
            verdict,
            revenue: None,
            comment: Some("ok".into()),
        };
        self.approvals()
            .decide(
                &self.actor(user, Role::Salesperson),
                module,
                &rid(record),
                &rid(request),
                input,
            )
            .await
    }

    async fn pending_of(&self, user: &str) -> Vec<RecordId> {
        let page = PageRequest::first(100);
        let found = self
            .approvals()
            .pending(&self.actor(user, Role::Salesperson), &page)
            .await
            .unwrap();
        found.items.into_iter().map(|p| p.request).collect()
    }

    async fn inbox_of(&self, user: &str) -> Vec<String> {
        let page = PageRequest::first(100);
        let user = uid(user);
        let found = self
            .w
            .stores
            .inbox
            .list(&self.w.tenant, &user, false, &page);
        found
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|n| n.message)
            .collect()
    }
}

fn discount_definition() -> Value {
    json!({
        "module": "Quote", "name": "Duyệt chiết khấu",
        "trigger": {"type": "approval",
            "steps": [{"name": "Trưởng nhóm", "approvers": [{"type": "submitter_manager"}],
                       "deadline": {"hours": 24, "remind_before_hours": 4, "escalate": true}}],
            "on_submit": ["tell-submitted"], "on_approve": ["tell-approved"], "on_reject": ["tell-rejected"]},
        "condition": {"type": "matching", "group": {"combine": "and", "rules": [
            {"field": "Discount", "op": "greater_than", "value": 20}]}},
        "actions": [
            {"kind": "notification", "id": "tell-submitted", "name": "Đã gửi", "notify_owner": true, "message": "#Code chờ duyệt"},
            {"kind": "notification", "id": "tell-approved", "name": "Đã duyệt", "notify_owner": true, "message": "#Code đã duyệt"},
            {"kind": "notification", "id": "tell-rejected", "name": "Từ chối", "notify_owner": true, "message": "#Code bị từ chối"}
        ]
    })
}

fn recording_definition() -> Value {
    json!({
        "module": "Order", "name": "Ghi doanh số",
        "trigger": {"type": "approval",
            "submitters": {"owner": true, "roles": ["salesperson"]},
            "steps": [
                {"name": "Quản lý", "approvers": [{"type": "submitter_manager"}],
                 "condition": {"type": "matching", "group": {"combine": "and", "rules": [
                     {"field": "Amount", "op": "greater_or_equal", "value": 50000000}]}}},
                {"name": "Kế toán", "kind": "record", "approvers": [{"type": "user", "user": "u-acct"}]}],
            "on_approve": ["tell"]},
        "actions": [{"kind": "notification", "id": "tell", "name": "Báo", "notify_owner": true, "message": "#Code đã ghi doanh số"}]
    })
}

async fn quote(o: &Office, id: &str, discount: i64) -> RecordId {
    o.record(
        Module::Quote,
        id,
        json!({"Code": id, "Customer": "c1", "Discount": discount, "Owner": "u-sales"}),
    )
    .await
}

#[tokio::test]
async fn a_submitted_quote_waits_locked_for_the_managers_decision_whose_actions_run_once() {
    let o = Office::new().await;
    o.record(Module::Customer, "c1", json!({"Name": "An"}))
        .await;
    o.definition("discount", discount_definition()).await;
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
    let o = Office::new().await;
    o.record(Module::Customer, "c1", json!({"Name": "An"}))
        .await;
    o.definition("discount", discount_definition()).await;
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
    o.record(
        Module::Order,
        "o1",
        json!({"Code": "DH1", "Customer": "c1", "OrderDate": "2026-11-30", "Amount": 30000000, "Owner": "u-sales"}),
    )
    .await;
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
    o.record(
        Module::Order,
        "o2",
        json!({"Code": "DH2", "Customer": "c1", "OrderDate": "2026-11-30", "Amount": 80000000, "Owner": "u-sales"}),
    )
    .await;
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
async fn unanimous_steps_wait_for_everyone_and_one_rejection_ends_the_request() {
    let o = Office::new().await;
    o.record(Module::Customer, "c1", json!({"Name": "An"}))
        .await;
    let mut both = discount_definition();
    both["trigger"]["steps"][0]["approvers"] =
        json!([{"type": "user", "user": "u-lead"}, {"type": "user", "user": "u-acct"}]);
    both["trigger"]["steps"][0]["decide"] = json!("all");
    o.definition("discount", both).await;
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
    let o = Office::new().await;
    o.record(Module::Customer, "c1", json!({"Name": "An"}))
        .await;
    o.definition("discount", discount_definition()).await;
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
    let o = Office::new().await;
    o.record(Module::Customer, "c1", json!({"Name": "An"}))
        .await;
    let mut two = discount_definition();
    two["trigger"]["steps"][0]["approvers"] =
        json!([{"type": "user", "user": "u-lead"}, {"type": "user", "user": "u-acct"}]);
    o.definition("discount", two).await;
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
    let o = Office::new().await;
    o.record(Module::Customer, "c1", json!({"Name": "An"}))
        .await;
    o.definition("discount", discount_definition()).await;
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
