//! The run ledger's runs: claims that lose races, takeovers, retries, runs that stay succeeded,
//! and the histories. Commits with effects are in [`super::commits`].

use super::{Tenants, all_pages, at, second_page};
use crate::ids::{ActionId, RecordId, TenantId, WorkflowId};
use crate::run::ledger::RunLedger;
use crate::run::{RecipientRun, RecipientState, RunRecord, RunStatus};
use crate::store::ClaimOutcome::{Claimed, LostRace};
use crate::store::{ClaimOutcome, PageRequest, StoreError};

/// A run of action `a1` of workflow `wf-runs` for record `r-runs`, keyed by `name`.
pub(super) fn run(tenant: &TenantId, name: &str, status: RunStatus, minutes: i64) -> RunRecord {
    RunRecord {
        key: format!("{tenant}/wf-runs/r-runs/Y2026/{name}"),
        tenant: tenant.clone(),
        workflow: WorkflowId::new("wf-runs").expect("a valid workflow id"),
        version: 1,
        record: RecordId::new("r-runs").expect("a valid record id"),
        action: ActionId::new("a1").expect("a valid action id"),
        kind: "sms".into(),
        cause: "Y2026".into(),
        status,
        attempts: 1,
        started_at: at(minutes),
        updated_at: at(minutes),
        lease_until: None,
        output: Vec::new(),
        error: None,
        skipped: Vec::new(),
        recipients: Vec::new(),
        depth: 0,
        dead_letter: None,
    }
}

fn recipient(to: &str, state: RecipientState) -> RecipientRun {
    RecipientRun {
        state,
        ..RecipientRun::pending(to)
    }
}

pub(super) async fn stored(ledger: &dyn RunLedger, r: &RunRecord) -> Option<RunRecord> {
    ledger.get(&r.tenant, &r.key).await.expect("get a run")
}

async fn claim(ledger: &dyn RunLedger, r: &RunRecord, over: Option<&RunRecord>) -> ClaimOutcome {
    ledger.claim(r, over).await.expect("claim a run")
}

async fn record(ledger: &dyn RunLedger, r: &RunRecord) {
    let outcome = ledger.record(r).await.expect("record a run");
    assert_eq!(outcome, Claimed, "recording {} (not succeeded yet)", r.key);
}

pub async fn a_run_is_claimed_once(ledger: &dyn RunLedger, t: &Tenants) {
    let first = RunRecord {
        lease_until: Some(at(5)),
        ..run(&t.tenant, "claim", RunStatus::InProgress, 0)
    };
    assert_eq!(
        claim(ledger, &first, None).await,
        Claimed,
        "the first claim"
    );
    let second = RunRecord {
        attempts: 2,
        ..first.clone()
    };
    let outcome = claim(ledger, &second, None).await;
    assert_eq!(outcome, LostRace, "a second claim loses");
    assert_eq!(
        stored(ledger, &first).await.as_ref(),
        Some(&first),
        "the first stays"
    );
    let elsewhere = RunRecord {
        tenant: t.other.clone(),
        ..first
    };
    assert_eq!(
        stored(ledger, &elsewhere).await,
        None,
        "another tenant sees no run"
    );
    let outcome = claim(ledger, &elsewhere, None).await;
    assert_eq!(outcome, Claimed, "each tenant has a ledger of its own");
}

pub async fn an_expired_run_is_taken_over_once(ledger: &dyn RunLedger, t: &Tenants) {
    let expired = RunRecord {
        lease_until: Some(at(5)),
        ..run(&t.tenant, "takeover", RunStatus::InProgress, 0)
    };
    claim(ledger, &expired, None).await;
    let takeover = RunRecord {
        attempts: 2,
        updated_at: at(10),
        lease_until: Some(at(15)),
        ..expired.clone()
    };
    let outcome = claim(ledger, &takeover, Some(&expired)).await;
    assert_eq!(outcome, Claimed, "the expired run is taken over");
    let rival = RunRecord {
        lease_until: Some(at(16)),
        ..takeover.clone()
    };
    let outcome = claim(ledger, &rival, Some(&expired)).await;
    assert_eq!(outcome, LostRace, "the run seen is no longer stored");
    let failed = RunRecord {
        status: RunStatus::Failed,
        ..takeover.clone()
    };
    let outcome = claim(ledger, &rival, Some(&failed)).await;
    assert_eq!(outcome, LostRace, "the stored run has another status");
    assert_eq!(
        stored(ledger, &expired).await,
        Some(takeover),
        "one takeover"
    );
    let ghost = run(&t.tenant, "ghost", RunStatus::InProgress, 0);
    let outcome = claim(ledger, &ghost, Some(&ghost)).await;
    assert_eq!(outcome, LostRace, "there is no run to take over");
    assert_eq!(stored(ledger, &ghost).await, None, "and none is written");
}

pub async fn a_retry_is_requested_only_for_retryable_runs(ledger: &dyn RunLedger, t: &Tenants) {
    for status in [
        RunStatus::Failed,
        RunStatus::Unknown,
        RunStatus::Retrying,
        RunStatus::Cancelled,
    ] {
        let done = RunRecord {
            lease_until: Some(at(5)),
            error: Some("rejected".into()),
            recipients: vec![
                recipient("+84901111111", RecipientState::Sent),
                recipient("+84902222222", RecipientState::Failed),
                recipient("+84903333333", RecipientState::Unknown),
                recipient("+84904444444", RecipientState::Pending),
            ],
            ..run(&t.tenant, &format!("retry-{status:?}"), status, 0)
        };
        record(ledger, &done).await;
        let retry = ledger.request_retry(&done, at(30)).await;
        let mut expected = RunRecord {
            status: RunStatus::Retrying,
            updated_at: at(30),
            lease_until: None,
            ..done.clone()
        };
        for r in &mut expected.recipients[1..] {
            r.state = RecipientState::Pending;
        }
        let retry = retry.expect("request a retry");
        assert_eq!(
            retry.as_ref(),
            Some(&expected),
            "a {status:?} run is retried: only the recipients not sent to are pending again"
        );
        assert_eq!(
            stored(ledger, &done).await.as_ref(),
            Some(&expected),
            "as stored"
        );
    }
    for status in [RunStatus::Succeeded, RunStatus::InProgress] {
        let other = run(&t.tenant, &format!("no-retry-{status:?}"), status, 0);
        record(ledger, &other).await;
        let retry = ledger.request_retry(&other, at(30)).await;
        assert_eq!(
            retry.expect("retry"),
            None,
            "a {status:?} run is not retried"
        );
        assert_eq!(stored(ledger, &other).await, Some(other), "unchanged");
    }
    let changed = RunRecord {
        attempts: 2,
        ..run(&t.tenant, "retry-changed", RunStatus::Failed, 0)
    };
    record(ledger, &changed).await;
    let seen = RunRecord {
        attempts: 1,
        ..changed.clone()
    };
    let retry = ledger.request_retry(&seen, at(30)).await;
    assert_eq!(
        retry.expect("retry"),
        None,
        "a run changed since it was read"
    );
    assert_eq!(stored(ledger, &changed).await, Some(changed), "unchanged");
    let ghost = run(&t.tenant, "retry-ghost", RunStatus::Failed, 0);
    let retry = ledger.request_retry(&ghost, at(30)).await;
    assert_eq!(retry.expect("retry"), None, "a missing run is not retried");
    assert_eq!(stored(ledger, &ghost).await, None, "nor written");
}

pub async fn progress_is_recorded_only_by_the_delivery_holding_the_claim(
    ledger: &dyn RunLedger,
    t: &Tenants,
) {
    let claimed = RunRecord {
        lease_until: Some(at(2)),
        recipients: vec![
            recipient("+84901111111", RecipientState::Pending),
            recipient("+84902222222", RecipientState::Pending),
        ],
        ..run(&t.tenant, "progress", RunStatus::InProgress, 0)
    };
    assert_eq!(claim(ledger, &claimed, None).await, Claimed);
    let mut first = claimed.clone();
    first.recipients[0].state = RecipientState::Sent;
    first.recipients[0].id = Some("sms-1".into());
    let outcome = ledger.progress(&first).await.expect("progress");
    assert_eq!(
        outcome, Claimed,
        "the claiming delivery records a recipient sent"
    );
    assert_eq!(stored(ledger, &first).await.as_ref(), Some(&first));
    // Another delivery takes the run over (attempt 2): the first may no longer write.
    let takeover = RunRecord {
        attempts: 2,
        ..first.clone()
    };
    assert_eq!(claim(ledger, &takeover, Some(&first)).await, Claimed);
    let mut late = first.clone();
    late.recipients[1].state = RecipientState::Sent;
    let outcome = ledger.progress(&late).await.expect("progress");
    assert_eq!(outcome, LostRace, "a delivery whose claim was taken over");
    assert_eq!(
        stored(ledger, &late).await,
        Some(takeover.clone()),
        "unchanged"
    );
    // Once settled, no progress is written either.
    let done = RunRecord {
        status: RunStatus::Succeeded,
        ..takeover.clone()
    };
    assert_eq!(ledger.progress(&done).await.expect("progress"), Claimed);
    let outcome = ledger.progress(&done).await.expect("progress");
    assert_eq!(outcome, LostRace, "the run is no longer in progress");
    let ghost = run(&t.tenant, "progress-ghost", RunStatus::InProgress, 0);
    let outcome = ledger.progress(&ghost).await.expect("progress");
    assert_eq!(outcome, LostRace, "no claim, no progress");
    assert_eq!(stored(ledger, &ghost).await, None, "and nothing is written");
}

pub async fn a_succeeded_run_is_never_overwritten(ledger: &dyn RunLedger, t: &Tenants) {
    let failed = run(&t.tenant, "final", RunStatus::Failed, 0);
    record(ledger, &failed).await;
    let retried = RunRecord {
        attempts: 2,
        status: RunStatus::Retrying,
        ..failed.clone()
    };
    record(ledger, &retried).await;
    let succeeded = RunRecord {
        attempts: 3,
        status: RunStatus::Succeeded,
        output: vec!["msg-1".into()],
        ..failed.clone()
    };
    record(ledger, &succeeded).await;
    let late = RunRecord {
        output: vec!["msg-2".into()],
        ..succeeded.clone()
    };
    for later in [&failed, &late] {
        let outcome = ledger.record(later).await.expect("record");
        assert_eq!(outcome, LostRace, "a succeeded run stays as it is");
    }
    assert_eq!(stored(ledger, &failed).await, Some(succeeded), "unchanged");
}

pub async fn an_unstarted_failure_never_covers_a_run_that_started(
    ledger: &dyn RunLedger,
    t: &Tenants,
) {
    let held = RunRecord {
        attempts: 0,
        error: Some("the bus refused the job (attempt 1 of 5)".into()),
        ..run(&t.tenant, "unstarted", RunStatus::Retrying, 0)
    };
    let outcome = ledger.record_unstarted(&held).await.expect("record");
    assert_eq!(outcome, Claimed, "where no run exists");
    let parked = RunRecord {
        status: RunStatus::Failed,
        error: Some("the bus refused the job (attempt 5 of 5; parked)".into()),
        ..held.clone()
    };
    let outcome = ledger.record_unstarted(&parked).await.expect("record");
    assert_eq!(outcome, Claimed, "over a run with no attempt either");
    assert_eq!(stored(ledger, &held).await, Some(parked));
    for status in [
        RunStatus::InProgress,
        RunStatus::Retrying,
        RunStatus::Failed,
        RunStatus::Succeeded,
    ] {
        let started = RunRecord {
            attempts: 1,
            ..run(&t.tenant, &format!("started-{status:?}"), status, 0)
        };
        record(ledger, &started).await;
        let failure = RunRecord {
            attempts: 0,
            status: RunStatus::Retrying,
            ..started.clone()
        };
        let outcome = ledger.record_unstarted(&failure).await.expect("record");
        assert_eq!(
            outcome, LostRace,
            "a run a delivery made ({status:?}) is left alone"
        );
        assert_eq!(stored(ledger, &started).await, Some(started), "unchanged");
    }
}

/// The names the runs were keyed by ([`run`]).
fn keys(runs: &[RunRecord]) -> Vec<&str> {
    runs.iter()
        .map(|r| r.key.rsplit('/').next().unwrap_or_default())
        .collect()
}

pub async fn history_lists_a_workflows_runs_latest_first(ledger: &dyn RunLedger, t: &Tenants) {
    for (name, minutes) in [("h-1", 10), ("h-3", 30), ("h-2", 20)] {
        record(ledger, &run(&t.tenant, name, RunStatus::Failed, minutes)).await;
    }
    let elsewhere = RunRecord {
        workflow: WorkflowId::new("wf-else").expect("a valid workflow id"),
        ..run(&t.tenant, "h-else", RunStatus::Failed, 40)
    };
    record(ledger, &elsewhere).await;
    record(ledger, &run(&t.other, "h-x", RunStatus::Failed, 50)).await;
    let workflow = WorkflowId::new("wf-runs").expect("a valid workflow id");
    let workflow = &workflow;
    let history = |limit| {
        all_pages("history", limit, move |page| async move {
            ledger.history(&t.tenant, workflow, &page).await
        })
    };
    let expected = ["h-3", "h-2", "h-1"];
    assert_eq!(keys(&history(2).await), expected, "latest first");
    let again = run(&t.tenant, "h-1", RunStatus::Failed, 60);
    record(ledger, &again).await;
    let listed = history(10).await;
    let expected = ["h-1", "h-3", "h-2"];
    assert_eq!(
        keys(&listed),
        expected,
        "a run recorded again moves up, once"
    );
    assert_eq!(listed[0], again, "listed as stored");
    let page = second_page("history", 2, |p| async move {
        ledger.history(&t.tenant, workflow, &p).await
    })
    .await;
    let result = ledger.history(&t.other, workflow, &page).await;
    refused!(result, StoreError::BadCursor, "another tenant's cursor");
}

pub async fn record_history_lists_a_records_runs_latest_first(ledger: &dyn RunLedger, t: &Tenants) {
    let of = |name: &str, workflow: &str, record: &str, minutes| RunRecord {
        workflow: WorkflowId::new(workflow).expect("a valid workflow id"),
        record: RecordId::new(record).expect("a valid record id"),
        ..run(&t.tenant, name, RunStatus::Failed, minutes)
    };
    record(ledger, &of("rh-1", "wf-a", "r-x", 10)).await;
    record(ledger, &of("rh-2", "wf-b", "r-x", 20)).await;
    record(ledger, &of("rh-3", "wf-a", "r-y", 30)).await;
    let x = RecordId::new("r-x").expect("a valid record id");
    let x = &x;
    let listed = all_pages("record history", 1, |page| async move {
        ledger.record_history(&t.tenant, x, &page).await
    })
    .await;
    let expected = ["rh-2", "rh-1"];
    assert_eq!(keys(&listed), expected, "of every workflow, latest first");
    let first = PageRequest::first(10);
    let stranger = ledger.record_history(&t.other, x, &first).await;
    let stranger = stranger.expect("record history").items;
    assert!(
        stranger.is_empty(),
        "another tenant sees none: {stranger:?}"
    );
}

pub async fn dead_lettered_runs_are_listed_latest_first_until_retried(
    ledger: &dyn RunLedger,
    t: &Tenants,
) {
    use crate::run::DeadLetter;
    let dead = |name: &str, minutes: i64| RunRecord {
        status: RunStatus::Retrying,
        dead_letter: Some(DeadLetter {
            at: at(minutes),
            deliveries: 5,
        }),
        ..run(&t.tenant, name, RunStatus::Retrying, minutes)
    };
    record(ledger, &dead("dl-1", 10)).await;
    record(ledger, &dead("dl-2", 20)).await;
    record(ledger, &run(&t.tenant, "dl-alive", RunStatus::Retrying, 30)).await;
    record(
        ledger,
        &RunRecord {
            tenant: t.other.clone(),
            ..dead("dl-x", 40)
        },
    )
    .await;
    let listed = all_pages("dead letters", 1, move |page| async move {
        ledger.dead_letters(&t.tenant, &page).await
    })
    .await;
    assert_eq!(
        keys(&listed),
        ["dl-2", "dl-1"],
        "latest first, this tenant's only"
    );
    let retried = ledger
        .request_retry(&dead("dl-2", 20), at(50))
        .await
        .expect("retry")
        .expect("a dead-lettered run is retried");
    assert_eq!(retried.dead_letter, None, "the retry clears the mark");
    let listed = ledger
        .dead_letters(&t.tenant, &PageRequest::first(10))
        .await
        .expect("list");
    assert_eq!(keys(&listed.items), ["dl-1"]);
}
