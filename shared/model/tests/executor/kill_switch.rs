//! The kill switch: jobs already queued when their workflow is deactivated or deleted are not
//! carried out (each run shows as cancelled), unless the deactivation asked them to finish.

use super::*;
use crm_model::ports::FixedClock;
use crm_model::run::RecipientState;
use crm_model::workflow::QueuedJobs;
use world::user;

async fn queued_jobs(w: &World) -> (ActionJob, ActionJob) {
    let customer = w
        .customer(
            "c1",
            json!({"Name": "Chi", "Phone": PHONE, "Owner": "u-owner"}),
        )
        .await;
    let workflow = w.workflow("wf-switch", birthday_workflow()).await;
    (
        w.job(&workflow, &customer, "sms"),
        w.job(&workflow, &customer, "task"),
    )
}

async fn deactivate(w: &World, queued: QueuedJobs) {
    let clock = FixedClock(at("2027-05-17T00:59:00Z"));
    let id = crm_model::ids::WorkflowId::new("wf-switch").unwrap();
    w.workflows(&clock)
        .deactivate(&w.tenant, &user("u-owner"), &id, None, queued)
        .await
        .unwrap();
}

#[tokio::test]
async fn jobs_queued_before_a_deactivation_are_cancelled_and_show_so() {
    let w = World::new().await;
    let (sms, task) = queued_jobs(&w).await;
    deactivate(&w, QueuedJobs::Cancel).await;
    for job in [&sms, &task] {
        let outcome = w.execute(job).await.unwrap();
        assert_eq!(
            outcome,
            JobOutcome::Cancelled("the workflow was deactivated before this job ran".into())
        );
        let run = w.run(&job.idempotency_key()).await;
        assert_eq!(run.status, RunStatus::Cancelled);
        assert_eq!(run.kind, job.action.as_str(), "the action's kind is kept");
        assert_eq!(
            w.execute(job).await.unwrap(),
            JobOutcome::Duplicate,
            "a redelivery stays cancelled"
        );
    }
    assert_eq!(w.sms.attempts(), 0, "nothing sent");
    let task_run = w.run(&task.idempotency_key()).await;
    assert!(task_run.output.is_empty(), "no task created: {task_run:?}");
}

#[tokio::test]
async fn a_deactivation_that_lets_queued_jobs_finish_carries_them_out() {
    let w = World::new().await;
    let (sms, task) = queued_jobs(&w).await;
    deactivate(&w, QueuedJobs::Finish).await;
    for job in [&sms, &task] {
        let outcome = w.execute(job).await.unwrap();
        assert!(matches!(outcome, JobOutcome::Succeeded(_)), "{outcome:?}");
    }
    assert_eq!(w.sms.delivered().len(), 1);
}

#[tokio::test]
async fn jobs_of_a_deleted_workflow_are_cancelled() {
    let w = World::new().await;
    let (sms, _) = queued_jobs(&w).await;
    deactivate(&w, QueuedJobs::Finish).await;
    let clock = FixedClock(at("2027-05-17T00:59:30Z"));
    w.workflows(&clock)
        .delete(&w.tenant, &sms.workflow, None)
        .await
        .unwrap();
    assert_eq!(
        w.execute(&sms).await.unwrap(),
        JobOutcome::Cancelled("the workflow was deleted before this job ran".into())
    );
    assert_eq!(w.sms.attempts(), 0);
}

#[tokio::test]
async fn a_send_waiting_for_its_retry_is_cancelled_and_keeps_whom_it_already_sent_to() {
    let w = World::new().await;
    let (sms, _) = queued_jobs(&w).await;
    let mut definition = birthday_workflow();
    definition["actions"][0]["users"] = json!(["u-owner"]);
    let clock = FixedClock(at("2027-05-17T00:00:00Z"));
    w.workflows(&clock)
        .update(
            &w.tenant,
            &user("u-owner"),
            &sms.workflow,
            serde_json::from_value(definition).unwrap(),
            None,
        )
        .await
        .unwrap();
    let sms = ActionJob { version: 2, ..sms };
    w.sms.deliver_next(1);
    w.sms.fail_next(1, SendError::Transient("throttled".into()));
    assert!(w.execute(&sms).await.is_err());
    deactivate(&w, QueuedJobs::Cancel).await;
    assert!(matches!(
        w.execute(&sms).await.unwrap(),
        JobOutcome::Cancelled(_)
    ));
    let run = w.run(&sms.idempotency_key()).await;
    assert_eq!(run.status, RunStatus::Cancelled);
    let states: Vec<_> = run.recipients.iter().map(|r| r.state).collect();
    assert_eq!(states, [RecipientState::Sent, RecipientState::Pending]);
    assert_eq!(w.sms.delivered().len(), 1, "the rest is not sent");
}
