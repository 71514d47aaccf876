//! The loop guard of work workflows: a change made by the executor carries the workflow that
//! made it and how deep in a chain of automation writes it is. A workflow never runs on its own
//! write; a chain of workflows setting each other off stops after `MAX_CHAIN_DEPTH` writes, and
//! each workflow it stops records a failed run saying why.

mod support;

use crm_model::ids::WorkflowId;
use crm_model::ports::RunLedger;
use crm_model::record::origin::{AutomationWrite, MAX_CHAIN_DEPTH};
use crm_model::run::RunStatus;
use crm_model::schedule::record_events::Handled;
use serde_json::json;
use support::stream::{Stream, customer, edit, note_on};

const NOW: &str = "2027-03-01T00:00:00Z";

fn on_every_update() -> serde_json::Value {
    note_on(json!({"type": "record_event", "on": "updated", "repeat_on_every_edit": true}))
}

fn by(workflow: &str, depth: u8) -> AutomationWrite {
    AutomationWrite {
        workflow: WorkflowId::new(workflow).unwrap(),
        depth,
    }
}

fn renamed() -> crm_model::schedule::record_events::Change {
    edit(
        &customer("c1", json!({"Name": "An"})),
        &customer("c1", json!({"Name": "An Nguyễn"})),
    )
}

#[tokio::test]
async fn a_workflow_does_not_run_on_a_change_it_made_itself() {
    let w = Stream::new().await;
    w.workflow("wf-a", on_every_update()).await;
    let own = w
        .try_handle_written_by("e1", &renamed(), Some(&by("wf-a", 1)), NOW)
        .await
        .unwrap();
    assert_eq!(
        own,
        Handled {
            own_writes_ignored: 1,
            ..Handled::default()
        }
    );
    assert!(w.publisher.jobs().is_empty());
    // The same change made by a person runs it.
    let by_person = w.handle("e2", &renamed(), NOW).await;
    assert_eq!(by_person.work_workflows_fired, 1);
    assert_eq!(w.publisher.jobs()[0].depth, 0);
}

#[tokio::test]
async fn another_workflows_change_runs_it_one_step_deeper_in_the_chain() {
    let w = Stream::new().await;
    w.workflow("wf-a", on_every_update()).await;
    let handled = w
        .try_handle_written_by("e1", &renamed(), Some(&by("wf-b", 1)), NOW)
        .await
        .unwrap();
    assert_eq!(handled.work_workflows_fired, 1);
    let jobs = w.publisher.jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        jobs[0].depth, 1,
        "its writes will be the chain's second (depth 2)"
    );
}

#[tokio::test]
async fn a_chain_of_workflows_setting_each_other_off_stops_with_a_failed_run_that_says_why() {
    let w = Stream::new().await;
    let a = w.workflow("wf-a", on_every_update()).await;
    let last = MAX_CHAIN_DEPTH;
    let stopped = w
        .try_handle_written_by("e9", &renamed(), Some(&by("wf-b", last)), NOW)
        .await
        .unwrap();
    assert_eq!(
        stopped,
        Handled {
            chains_stopped: 1,
            ..Handled::default()
        }
    );
    assert!(w.publisher.jobs().is_empty(), "nothing published");
    let key = w.job_key("wf-a", "c1", "e9", "tell");
    let run = w
        .stores
        .runs
        .get(&w.tenant, &key)
        .await
        .unwrap()
        .expect("the stopped workflow's run history says so");
    assert_eq!(
        (run.status, run.kind.as_str()),
        (RunStatus::Failed, "notification")
    );
    let error = run.error.unwrap();
    assert!(
        error.contains("wf-b") && error.contains("chain of 3 automation writes"),
        "{error}"
    );
    assert_eq!(run.workflow, a);
    // One step short of the end, the chain goes on.
    let goes_on = w
        .try_handle_written_by("e10", &renamed(), Some(&by("wf-b", last - 1)), NOW)
        .await
        .unwrap();
    assert_eq!(goes_on.work_workflows_fired, 1);
}
