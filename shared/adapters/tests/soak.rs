//! The soak: 10,000 SMS jobs through the executor's own handler (`action_executor::handle`, its
//! AWS wiring: the runs ledger in DynamoDB, SMS through SNS, both on the emulator) with faults
//! injected all along: 5 % of provider calls fail transiently, 1 % of jobs are delivered twice
//! (in the same batch or a later one), and 0.5 % of sends crash the executor right after the
//! provider took the message (the ledger write that would record it fails). Batches are taken
//! from a simulated queue by five executors at once, failed jobs come back with their receive
//! count, and the clock moves past the send lease between rounds, as the queue's visibility
//! timeout would.
//!
//! What must hold, counted from the emulator's SNS log: every job's number got its message
//! (lost = 0) and none got two (duplicated = 0). The jobs are under the default at-most-once
//! guarantee, so a crash after the send leaves that run `unknown`, never sent again.
//!
//! `SOAK_JOBS` sets the size (default 10,000); the figures print as `soak_*=` lines
//! (`cargo test -p crm-adapters --test soak -- --nocapture`).

mod support;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use chrono::Duration;
use serde_json::json;

use crm_model::ports::RunLedger;
use crm_model::run::RunStatus;
use support::faults::{SmsWorld, fnv, message, sms_by_number};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_jobs_under_injected_faults_lose_nothing_and_send_nothing_twice() {
    let jobs_wanted: usize = std::env::var("SOAK_JOBS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let started = std::time::Instant::now();
    let w = SmsWorld::new().await;
    let workflow = w
        .workflow(
            "wf-soak",
            json!({
                "module": "Customer", "name": "Chào",
                "trigger": {"type": "record_event", "on": "created"},
                "actions": [{"kind": "sms", "id": "sms", "name": "SMS", "provider": "sms",
                             "template": "sms-hello", "recipient_fields": [{"field": "Phone"}]}]
            }),
        )
        .await;
    w.faults.lock().unwrap().random = true;
    let mut deps = w.deps().await;
    deps.max_receives = 1000;
    let deps = Arc::new(deps);

    // Numbers of this run only: +84 91, a digit of the tenant, the job's index.
    let digit = 1 + fnv(w.tenant.as_str()) % 8;
    let numbers: Vec<String> = (0..jobs_wanted)
        .map(|i| format!("+8491{digit}{i:06}"))
        .collect();
    let job = |i: usize| {
        w.job(
            &workflow,
            &format!("c{i}"),
            "sms",
            json!({"Name": format!("Khách {i}"), "Phone": numbers[i]}),
        )
    };
    let mut queue: VecDeque<(usize, u32)> = VecDeque::new();
    let mut duplicates = 0;
    for i in 0..jobs_wanted {
        queue.push_back((i, 1));
        if fnv(&format!("dup-{i}")) % 100 == 0 {
            // Delivered twice: the copy comes right after, in the same batch or the next.
            queue.push_back((i, 1));
            duplicates += 1;
        }
    }

    let mut rounds = 0;
    let mut deliveries = 0;
    while !queue.is_empty() && rounds < 50 {
        rounds += 1;
        let round: Vec<(usize, u32)> = queue.drain(..).collect();
        deliveries += round.len();
        let batches: Vec<Vec<(usize, u32)>> = round.chunks(10).map(<[_]>::to_vec).collect();
        // Five executors at once, as the event source mapping allows.
        for wave in batches.chunks(5) {
            let handled = futures_util::future::join_all(wave.iter().map(|batch| {
                let deps = deps.clone();
                let mut event = SqsEvent::default();
                event.records = batch
                    .iter()
                    .enumerate()
                    .map(|(n, (i, received))| message(&job(*i), &format!("m-{n}"), *received))
                    .collect();
                async move { (handle_batch(&deps, &event).await, batch.clone()) }
            }))
            .await;
            for (failed, batch) in handled {
                for n in failed {
                    let (i, received) = batch[n];
                    queue.push_back((i, received + 1));
                }
            }
        }
        // The queue's visibility timeout passes: the send leases of crashed deliveries too.
        w.advance(Duration::minutes(3));
    }
    assert!(queue.is_empty(), "every job settled within {rounds} rounds");

    let sent = sms_by_number();
    let lost = numbers.iter().filter(|n| !sent.contains_key(*n)).count();
    let duplicated = numbers
        .iter()
        .filter(|n| sent.get(*n).copied().unwrap_or(0) > 1)
        .count();
    let mut statuses: HashMap<RunStatus, usize> = HashMap::new();
    for i in 0..jobs_wanted {
        let run = w
            .stores
            .runs
            .get(&w.tenant, &job(i).idempotency_key())
            .await
            .unwrap()
            .expect("every job has its run");
        *statuses.entry(run.status).or_default() += 1;
    }
    let count = |status| statuses.get(&status).copied().unwrap_or(0);
    let faults = w.faults.lock().unwrap();
    println!("soak_jobs={jobs_wanted}");
    println!("soak_deliveries={deliveries}");
    println!("soak_duplicate_deliveries={duplicates}");
    println!("soak_transient_failures={}", faults.transient);
    println!("soak_crashes_after_send={}", faults.crashes);
    println!("soak_rounds={rounds}");
    println!("soak_lost={lost}");
    println!("soak_duplicated={duplicated}");
    for status in [RunStatus::Succeeded, RunStatus::Unknown, RunStatus::Failed] {
        println!("soak_runs_{}={}", status.as_str(), count(status));
    }
    println!("soak_seconds={:.1}", started.elapsed().as_secs_f64());
    assert_eq!(lost, 0, "lost sends");
    assert_eq!(duplicated, 0, "sends made twice");
    assert_eq!(
        count(RunStatus::Succeeded) + count(RunStatus::Unknown),
        jobs_wanted,
        "every run settled: {statuses:?}"
    );
    assert_eq!(
        count(RunStatus::Unknown) as u32,
        faults.crashes,
        "exactly the sends a crash followed are left for review"
    );
}

/// The positions of the batch's messages to redeliver.
async fn handle_batch(deps: &action_executor::Deps, event: &SqsEvent) -> Vec<usize> {
    let response = action_executor::handle(deps, event, None).await;
    response
        .batch_item_failures
        .iter()
        .filter_map(|f| f.item_identifier.strip_prefix("m-")?.parse().ok())
        .collect()
}
