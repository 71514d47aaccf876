//! Exactly once per recipient: an SMS to three numbers (the customer's, the owner's and the
//! manager's) where one recipient fails, transiently or for good, or the executor stops right
//! after one send. Whatever happens, a number sent to is never sent to again by a redelivery, and
//! a number not sent to is not lost.

use super::*;
use crm_model::run::RecipientState;
use serde_json::Value;

const OWNER: &str = "+84981000001";
const MANAGER: &str = "+84982000002";

/// The birthday SMS to the customer and both users: three recipients, sent in this order.
fn three_recipients(guarantee: &str) -> Value {
    let mut definition = birthday_workflow();
    definition["external_sends"] = json!(guarantee);
    definition["actions"][0]["users"] = json!(["u-owner", "u-manager"]);
    definition
}

async fn sms_job(w: &World, guarantee: &str) -> ActionJob {
    let customer = w
        .customer(
            "c1",
            json!({"Name": "Chi", "Phone": PHONE, "Owner": "u-owner"}),
        )
        .await;
    let workflow = w.workflow("wf-three", three_recipients(guarantee)).await;
    w.job(&workflow, &customer, "sms")
}

fn states(run: &RunRecord) -> Vec<(&str, RecipientState)> {
    run.recipients
        .iter()
        .map(|r| (r.to.as_str(), r.state))
        .collect()
}

/// How many times each number was sent to, in the order of the recipients.
fn sends_to(w: &World) -> [usize; 3] {
    let sent = w.sms.delivered();
    [E164, OWNER, MANAGER].map(|n| sent.iter().filter(|m| m.to == n).count())
}

#[tokio::test]
async fn a_transient_failure_of_the_second_recipient_is_retried_for_the_second_and_third_only() {
    let w = World::new().await;
    let job = sms_job(&w, "at_most_once").await;
    w.sms.deliver_next(1);
    w.sms.fail_next(1, SendError::Transient("throttled".into()));
    assert!(matches!(
        w.execute(&job).await,
        Err(ExecuteError::Provider(reason)) if reason == "throttled"
    ));
    let waiting = w.run(&job.idempotency_key()).await;
    assert_eq!(waiting.status, RunStatus::Retrying);
    assert_eq!(
        states(&waiting),
        [
            (E164, RecipientState::Sent),
            (OWNER, RecipientState::Pending),
            (MANAGER, RecipientState::Pending)
        ]
    );
    assert_eq!(waiting.recipients[1].error.as_deref(), Some("throttled"));
    let outcome = w.execute(&job).await.unwrap();
    assert_eq!(
        outcome,
        JobOutcome::Succeeded(vec!["sms-1".into(), "sms-2".into(), "sms-3".into()])
    );
    assert_eq!(sends_to(&w), [1, 1, 1], "nobody twice, nobody lost");
    assert_eq!(w.execute(&job).await.unwrap(), JobOutcome::Duplicate);
    let done = w.run(&job.idempotency_key()).await;
    assert_eq!((done.status, done.attempts), (RunStatus::Succeeded, 2));
}

#[tokio::test]
async fn a_recipient_refused_for_good_fails_the_run_and_an_administrators_retry_sends_to_it_alone()
{
    let w = World::new().await;
    let job = sms_job(&w, "at_most_once").await;
    w.sms.deliver_next(1);
    w.sms
        .fail_next(1, SendError::Permanent("number blocked".into()));
    let outcome = w.execute(&job).await.unwrap();
    assert_eq!(
        outcome,
        JobOutcome::Failed("1 of 3 recipients refused (number blocked)".into())
    );
    assert_eq!(sends_to(&w), [1, 0, 1], "the others are sent all the same");
    let failed = w.run(&job.idempotency_key()).await;
    assert_eq!(failed.status, RunStatus::Failed);
    assert_eq!(
        states(&failed),
        [
            (E164, RecipientState::Sent),
            (OWNER, RecipientState::Failed),
            (MANAGER, RecipientState::Sent)
        ]
    );
    assert_eq!(failed.output, ["sms-1", "sms-2"]);
    assert_eq!(
        w.execute(&job).await.unwrap(),
        JobOutcome::Duplicate,
        "a redelivery does not retry what failed for good"
    );
    // The administrator unblocks the number and retries the run.
    let retrying = w
        .stores
        .runs
        .request_retry(&failed, at(NOW))
        .await
        .unwrap()
        .expect("a failed run is retried");
    assert_eq!(retrying.recipients[1].state, RecipientState::Pending);
    let outcome = w.execute(&job).await.unwrap();
    assert_eq!(
        outcome,
        JobOutcome::Succeeded(vec!["sms-1".into(), "sms-3".into(), "sms-2".into()])
    );
    assert_eq!(
        sends_to(&w),
        [1, 1, 1],
        "only the refused number was sent again"
    );
}

#[tokio::test]
async fn a_stop_right_after_the_first_send_leaves_only_that_recipient_in_doubt_under_at_most_once()
{
    let w = World::new().await;
    let job = sms_job(&w, "at_most_once").await;
    w.store_fails_after_next_accept(StoreFault::Down);
    assert!(matches!(w.execute(&job).await, Err(ExecuteError::Store(_))));
    assert_eq!(sends_to(&w), [1, 0, 0]);
    assert!(matches!(
        w.execute_at(&job, "2027-05-17T01:01:00Z").await,
        Err(ExecuteError::Busy)
    ));
    // After the lease: the first number may have been sent, the other two certainly were not.
    assert_eq!(
        w.execute_at(&job, "2027-05-17T01:05:00Z").await.unwrap(),
        JobOutcome::Unknown
    );
    assert_eq!(sends_to(&w), [1, 1, 1], "the two never tried are sent");
    let review = w.run(&job.idempotency_key()).await;
    assert_eq!(review.status, RunStatus::Unknown);
    assert_eq!(
        states(&review),
        [
            (E164, RecipientState::Unknown),
            (OWNER, RecipientState::Sent),
            (MANAGER, RecipientState::Sent)
        ]
    );
    assert_eq!(
        w.execute_at(&job, "2027-05-17T01:10:00Z").await.unwrap(),
        JobOutcome::Duplicate
    );
    assert_eq!(sends_to(&w), [1, 1, 1]);
}

#[tokio::test]
async fn a_stop_right_after_the_first_send_sends_that_recipient_again_under_the_same_request_id_under_at_least_once()
 {
    let w = World::new().await;
    let job = sms_job(&w, "at_least_once").await;
    w.store_fails_after_next_accept(StoreFault::Down);
    assert!(matches!(w.execute(&job).await, Err(ExecuteError::Store(_))));
    let outcome = w.execute_at(&job, "2027-05-17T01:05:00Z").await.unwrap();
    assert!(
        matches!(outcome, JobOutcome::Succeeded(ref ids) if ids.len() == 3),
        "{outcome:?}"
    );
    assert_eq!(sends_to(&w), [2, 1, 1], "only the one in doubt twice");
    let sent = w.sms.delivered();
    let first: Vec<_> = sent.iter().filter(|m| m.to == E164).collect();
    assert_eq!(
        first[0].request_id, first[1].request_id,
        "a gateway that drops repeated request ids sends it once"
    );
}

#[tokio::test]
async fn a_store_outage_before_any_send_leaves_nothing_claimed_and_the_redelivery_sends_to_all() {
    let w = World::new().await;
    let job = sms_job(&w, "at_most_once").await;
    w.stores.users.fail_next_reads(1);
    assert!(matches!(w.execute(&job).await, Err(ExecuteError::Store(_))));
    assert!(
        w.stores
            .runs
            .get(&w.tenant, &job.idempotency_key())
            .await
            .unwrap()
            .is_none(),
        "a failed read claims nothing: no lease to wait for, nothing left unknown"
    );
    let outcome = w.execute(&job).await.unwrap();
    assert!(
        matches!(outcome, JobOutcome::Succeeded(ref ids) if ids.len() == 3),
        "{outcome:?}"
    );
    assert_eq!(sends_to(&w), [1, 1, 1]);
}

#[tokio::test]
async fn a_call_left_in_doubt_is_unknown_under_at_most_once_while_the_others_go_out() {
    let w = World::new().await;
    let job = sms_job(&w, "at_most_once").await;
    w.sms.deliver_next(1);
    w.sms
        .deliver_then_fail_next(1, SendError::InDoubt("no answer within 12 s".into()));
    let outcome = w.execute(&job).await.unwrap();
    assert_eq!(outcome, JobOutcome::Unknown);
    let run = w.run(&job.idempotency_key()).await;
    assert_eq!(
        states(&run),
        [
            (E164, RecipientState::Sent),
            (OWNER, RecipientState::Unknown),
            (MANAGER, RecipientState::Sent)
        ]
    );
    assert_eq!(w.execute(&job).await.unwrap(), JobOutcome::Duplicate);
    assert_eq!(
        sends_to(&w),
        [1, 1, 1],
        "the one in doubt is not sent again"
    );
}

#[tokio::test]
async fn a_call_left_in_doubt_is_sent_again_under_at_least_once() {
    let w = World::new().await;
    let job = sms_job(&w, "at_least_once").await;
    w.sms.deliver_next(1);
    w.sms
        .deliver_then_fail_next(1, SendError::InDoubt("no answer within 12 s".into()));
    assert!(matches!(
        w.execute(&job).await,
        Err(ExecuteError::Provider(_))
    ));
    let outcome = w.execute(&job).await.unwrap();
    assert!(
        matches!(outcome, JobOutcome::Succeeded(ref ids) if ids.len() == 3),
        "{outcome:?}"
    );
    assert_eq!(sends_to(&w), [1, 2, 1], "again, under the same request id");
}

/// The scan records a job the bus refused as a run with no attempt, retrying while it tries
/// again: when the job does reach the executor, it is carried out, once.
#[tokio::test]
async fn a_job_the_scan_could_not_publish_at_first_is_sent_when_it_arrives() {
    let w = World::new().await;
    let job = sms_job(&w, "at_most_once").await;
    let mut held = RunRecord::start(&job, "sms", at(NOW));
    held.attempts = 0;
    held.status = RunStatus::Retrying;
    held.error = Some("the bus refused job 'sms': throttled (attempt 1 of 5)".into());
    w.stores.runs.record_unstarted(&held).await.unwrap();
    let outcome = w.execute(&job).await.unwrap();
    assert!(matches!(outcome, JobOutcome::Succeeded(_)), "{outcome:?}");
    assert_eq!(sends_to(&w), [1, 1, 1]);
    let run = w.run(&job.idempotency_key()).await;
    assert_eq!((run.status, run.attempts), (RunStatus::Succeeded, 1));
    assert!(matches!(
        w.execute(&job).await.unwrap(),
        JobOutcome::Duplicate
    ));
    assert_eq!(sends_to(&w), [1, 1, 1], "once");
}
