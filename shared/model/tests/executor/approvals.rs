//! An approval's own jobs: the approver's email with a decision link that opens the request,
//! sent once; the step's reminder and its deadline escalating to the approvers' managers, each
//! once; and the outcome's actions, which run even after the definition is switched off.

use super::world::user;
use super::*;
use crm_model::approval::followups::{email_cause, timer_job};
use crm_model::approval::links::DecisionLink;
use crm_model::approval::request::{Event, RequestStatus};
use crm_model::approval::service::Approvals;
use crm_model::approval::store::ApprovalStore;
use crm_model::ids::{UserId, WorkflowId};
use crm_model::ports::{FixedClock, NotificationInbox, UserDirectory};
use crm_model::record::service::Actor;
use crm_model::user::access::Access;
use crm_model::user::{Role, User};

fn definition() -> serde_json::Value {
    json!({
        "module": "Quote", "name": "Duyệt chiết khấu",
        "trigger": {"type": "approval",
            "steps": [{"name": "Trưởng nhóm", "approvers": [{"type": "owner_manager"}],
                       "deadline": {"hours": 24, "remind_before_hours": 4, "escalate": true}}],
            "on_approve": ["tell"], "email_sender": "mailer"},
        "actions": [{"kind": "notification", "id": "tell", "name": "Báo", "notify_owner": true, "message": "#Code đã duyệt"}]
    })
}

/// The owner's manager is u-manager, whose manager is u-director; a quote submitted at NOW.
async fn submitted(w: &World) -> (WorkflowId, crm_model::approval::request::ApprovalRequest) {
    for (id, manager) in [
        ("u-owner", Some("u-manager")),
        ("u-manager", Some("u-director")),
        ("u-director", None),
    ] {
        let user = User {
            id: UserId::new(id).unwrap(),
            name: id.into(),
            email: format!("{id}@example.vn"),
            phone: None,
            team: None,
            role: Role::Salesperson,
            manager: manager.map(|m| UserId::new(m).unwrap()),
            active: true,
        };
        w.stores.users.put(&w.tenant, &user).await.unwrap();
    }
    let workflow = w.workflow("discount", definition()).await;
    w.customer("c1", json!({"Name": "An"})).await;
    let quote = w
        .record(
            "q1",
            Module::Quote,
            json!({"Code": "BG1", "Customer": "c1", "Owner": "u-owner"}),
        )
        .await;
    let clock = FixedClock(at(NOW));
    let approvals = approvals_of(w, &clock);
    let owner = Actor {
        tenant: w.tenant.clone(),
        user: user("u-owner"),
        role: Role::Salesperson,
        access: Access::everything(),
    };
    let request = approvals
        .submit(
            &owner,
            Module::Quote,
            &quote,
            None,
            RecordId::new("r1").unwrap(),
            "secret-key".into(),
        )
        .await
        .unwrap();
    (workflow, request)
}

fn approvals_of<'a>(w: &'a World, clock: &'a FixedClock) -> Approvals<'a> {
    Approvals {
        approvals: &w.stores.approvals,
        records: &w.stores.records,
        workflows: &w.stores.workflows,
        settings: &w.stores.settings,
        users: &w.stores.users,
        clock,
    }
}

async fn request_now(w: &World) -> crm_model::approval::request::ApprovalRequest {
    let (q1, r1) = (RecordId::new("q1").unwrap(), RecordId::new("r1").unwrap());
    w.stores
        .approvals
        .get(&w.tenant, &q1, &r1)
        .await
        .unwrap()
        .unwrap()
        .value
}

#[tokio::test]
async fn the_approver_is_emailed_once_a_link_that_decides_as_them() {
    let w = World::new().await;
    let (workflow, request) = submitted(&w).await;
    let mut job = w.job(&workflow, &request.record, "approval-email");
    job.cause = email_cause(&request.id, 1, &user("u-manager"));
    let outcome = w.execute(&job).await.unwrap();
    assert!(matches!(outcome, JobOutcome::Succeeded(_)), "{outcome:?}");
    assert_eq!(w.execute(&job).await.unwrap(), JobOutcome::Duplicate);
    let mails = w.email.delivered();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0].email;
    assert_eq!(mail.to, "u-manager@example.vn");
    assert!(
        mail.subject.contains("Duyệt chiết khấu"),
        "{}",
        mail.subject
    );
    let start = mail
        .html
        .find("https://crm.example.vn/approval-links/")
        .unwrap();
    let token: String = mail.html[start..]
        .trim_start_matches("https://crm.example.vn/approval-links/")
        .chars()
        .take_while(|c| *c != '"')
        .collect();
    let (link, signed) = DecisionLink::parse(&token).unwrap();
    assert_eq!(link.approver, user("u-manager"));
    assert_eq!(link.round, 1);
    assert!(link.verify("secret-key", &signed, at(NOW)));

    // Someone never asked gets nothing.
    let mut stranger = job.clone();
    stranger.cause = email_cause(&request.id, 1, &user("u-owner"));
    let outcome = w.execute(&stranger).await.unwrap();
    assert!(
        matches!(&outcome, JobOutcome::Succeeded(out) if out[0].starts_with("not sent")),
        "{outcome:?}"
    );
    assert_eq!(w.email.delivered().len(), 1);
}

#[tokio::test]
async fn an_email_for_a_step_already_decided_is_not_sent_and_one_that_failed_for_a_while_is() {
    use crm_model::approval::service::{DecisionInput, Verdict};
    let w = World::new().await;
    let (workflow, request) = submitted(&w).await;
    let mut job = w.job(&workflow, &request.record, "approval-email");
    job.cause = email_cause(&request.id, 1, &user("u-manager"));
    // The provider is down for the first delivery: the run waits, and the next one sends.
    w.email
        .fail_next(1, SendError::Transient("SES throttled".into()));
    assert!(matches!(
        w.execute(&job).await,
        Err(ExecuteError::Provider(_))
    ));
    let outcome = w.execute(&job).await.unwrap();
    assert!(matches!(outcome, JobOutcome::Succeeded(_)), "{outcome:?}");
    assert_eq!(w.email.delivered().len(), 1);

    // The manager decides; a delayed email for that step then sends nothing.
    let clock = FixedClock(at(NOW));
    let manager = Actor {
        tenant: w.tenant.clone(),
        user: user("u-manager"),
        role: Role::Salesperson,
        access: Access::everything(),
    };
    let input = DecisionInput {
        verdict: Verdict::Approve,
        revenue: None,
        comment: None,
    };
    approvals_of(&w, &clock)
        .decide(&manager, Module::Quote, &request.record, &request.id, input)
        .await
        .unwrap();
    let outcome = w.execute(&job).await.unwrap();
    assert_eq!(outcome, JobOutcome::Duplicate, "sent already");
    let mut late = job.clone();
    late.cause = email_cause(&request.id, 1, &user("u-director"));
    let outcome = w.execute(&late).await.unwrap();
    assert!(
        matches!(&outcome, JobOutcome::Succeeded(out) if out[0].starts_with("not sent")),
        "{outcome:?}"
    );
    assert_eq!(w.email.delivered().len(), 1);
}

#[tokio::test]
async fn the_reminder_then_the_deadline_escalating_to_the_managers_manager_each_happen_once() {
    let w = World::new().await;
    let (workflow, request) = submitted(&w).await;
    let step = request.current.clone().unwrap();
    let due = |fire_at: chrono::DateTime<chrono::Utc>| crm_model::trigger::Occurrence {
        key: crm_model::trigger::OccurrenceKey::Once(fire_at.naive_utc()),
        fire_at,
    };
    let base = crm_model::ports::ScheduleEntry {
        tenant: w.tenant.clone(),
        workflow: workflow.clone(),
        version: 1,
        record: request.record.clone(),
        next: None,
        last_fired: None,
        revision: 0,
        failure: None,
        lane: Default::default(),
    };
    let remind = timer_job(&base, &due(step.remind_at.unwrap()));
    let when = step.remind_at.unwrap().to_rfc3339();
    assert!(matches!(
        w.execute_at(&remind, &when).await.unwrap(),
        JobOutcome::Succeeded(_)
    ));
    assert_eq!(
        w.execute_at(&remind, &when).await.unwrap(),
        JobOutcome::Duplicate
    );
    let reminded = request_now(&w).await;
    assert_eq!(reminded.history.last().unwrap().event, Event::Reminded);
    assert_eq!(reminded.history.last().unwrap().users, [user("u-manager")]);

    let deadline = timer_job(&base, &due(step.deadline_at.unwrap()));
    let when = step.deadline_at.unwrap().to_rfc3339();
    assert!(matches!(
        w.execute_at(&deadline, &when).await.unwrap(),
        JobOutcome::Succeeded(_)
    ));
    assert_eq!(
        w.execute_at(&deadline, &when).await.unwrap(),
        JobOutcome::Duplicate
    );
    let escalated = request_now(&w).await;
    let last = escalated.history.last().unwrap();
    assert_eq!(
        (last.event, last.users.clone()),
        (Event::Escalated, vec![user("u-director")])
    );
    assert_eq!(
        escalated.current.unwrap().approvers,
        [user("u-manager"), user("u-director")],
        "the manager's manager joins; the manager may still decide"
    );
    assert_eq!(escalated.history.len(), reminded.history.len() + 1, "once");
}

#[tokio::test]
async fn the_outcome_actions_run_even_once_the_definition_is_switched_off() {
    let w = World::new().await;
    let (workflow, request) = submitted(&w).await;
    let clock = FixedClock(at(NOW));
    w.workflows(&clock)
        .deactivate(
            &w.tenant,
            &user("u-owner"),
            &workflow,
            None,
            Default::default(),
        )
        .await
        .unwrap();
    let mut job = w.job(&workflow, &request.record, "tell");
    job.cause = format!("{}.approved", request.id);
    let outcome = w.execute(&job).await.unwrap();
    assert!(
        matches!(outcome, JobOutcome::Succeeded(_)),
        "not cancelled: {outcome:?}"
    );
    let told = w
        .stores
        .inbox
        .list(&w.tenant, &user("u-owner"), false, &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(told.items.len(), 1, "the owner told: {:?}", told.items);
    assert_eq!(request_now(&w).await.status, RequestStatus::Pending);
}
