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

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crm_adapters::dynamo::Stores;
use crm_model::clock::Clock;
use crm_model::ids::{ActionId, RecordId, SettingId, TenantId, UserId, WorkflowId};
use crm_model::ports::{
    ClaimOutcome, Page, PageRequest, RunLedger, SendError, SettingsStore, SmsSender, StoreError,
    UserDirectory,
};
use crm_model::run::{Effect, RunRecord, RunStatus};
use crm_model::schedule::ActionJob;
use crm_model::settings::SmsGateway;
use crm_model::settings::outbound::OutboundPolicy;
use crm_model::settings::secrets::GatewayKeys;
use crm_model::user::{Role, User};
use crm_model::workflow::service::Workflows;

/// A clock the soak moves forward between rounds.
struct SteppedClock(Mutex<DateTime<Utc>>);

impl Clock for SteppedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// A cheap, stable hash: which calls the faults hit.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[derive(Default)]
struct Faults {
    /// Calls made per request id, so a retry of a failed call draws again.
    calls: HashMap<String, u32>,
    /// Runs whose next ledger write fails: the executor "crashed" after the provider took it.
    crashed: HashSet<String>,
    transient: u32,
    crashes: u32,
}

/// SNS behind the injected faults.
struct FaultySms {
    inner: Arc<dyn SmsSender>,
    faults: Arc<Mutex<Faults>>,
}

#[async_trait]
impl SmsSender for FaultySms {
    async fn send(
        &self,
        gateway: &SmsGateway,
        keys: Option<&GatewayKeys>,
        to: &str,
        text: &str,
        request_id: &str,
    ) -> Result<String, SendError> {
        let draw = {
            let mut faults = self.faults.lock().unwrap();
            let n = faults.calls.entry(request_id.to_owned()).or_default();
            *n += 1;
            fnv(&format!("{request_id}#{n}")) % 1000
        };
        if draw < 50 {
            self.faults.lock().unwrap().transient += 1;
            return Err(SendError::Transient("injected: HTTP 503".into()));
        }
        let sent = self.inner.send(gateway, keys, to, text, request_id).await?;
        if draw >= 995 {
            let mut faults = self.faults.lock().unwrap();
            faults.crashed.insert(to.to_owned());
            faults.crashes += 1;
        }
        Ok(sent)
    }
}

/// The DynamoDB ledger, failing the write that follows a crashed send.
struct CrashingLedger {
    inner: Arc<dyn RunLedger>,
    faults: Arc<Mutex<Faults>>,
}

impl CrashingLedger {
    fn crashed(&self, run: &RunRecord) -> bool {
        let mut faults = self.faults.lock().unwrap();
        run.recipients.iter().any(|r| faults.crashed.remove(&r.to))
    }
}

#[async_trait]
impl RunLedger for CrashingLedger {
    async fn get(&self, tenant: &TenantId, key: &str) -> Result<Option<RunRecord>, StoreError> {
        self.inner.get(tenant, key).await
    }
    async fn claim(
        &self,
        run: &RunRecord,
        takeover: Option<&RunRecord>,
    ) -> Result<ClaimOutcome, StoreError> {
        self.inner.claim(run, takeover).await
    }
    async fn request_retry(
        &self,
        run: &RunRecord,
        now: DateTime<Utc>,
    ) -> Result<Option<RunRecord>, StoreError> {
        self.inner.request_retry(run, now).await
    }
    async fn progress(&self, run: &RunRecord) -> Result<ClaimOutcome, StoreError> {
        if self.crashed(run) {
            return Err(StoreError::Unavailable(
                "injected: crashed after the send".into(),
            ));
        }
        self.inner.progress(run).await
    }
    async fn record(&self, run: &RunRecord) -> Result<ClaimOutcome, StoreError> {
        self.inner.record(run).await
    }
    async fn commit(
        &self,
        run: &RunRecord,
        effects: &[Effect],
    ) -> Result<ClaimOutcome, StoreError> {
        self.inner.commit(run, effects).await
    }
    async fn counter(&self, tenant: &TenantId, name: &str) -> Result<u64, StoreError> {
        self.inner.counter(tenant, name).await
    }
    async fn record_history(
        &self,
        tenant: &TenantId,
        record: &RecordId,
        page: &PageRequest,
    ) -> Result<Page<RunRecord>, StoreError> {
        self.inner.record_history(tenant, record, page).await
    }
    async fn dead_letters(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<RunRecord>, StoreError> {
        self.inner.dead_letters(tenant, page).await
    }
    async fn history(
        &self,
        tenant: &TenantId,
        workflow: &WorkflowId,
        page: &PageRequest,
    ) -> Result<Page<RunRecord>, StoreError> {
        self.inner.history(tenant, workflow, page).await
    }
}

fn message(job: &ActionJob, id: usize, received: u32) -> SqsMessage {
    let mut message = SqsMessage::default();
    message.message_id = Some(format!("m-{id}"));
    message.body = Some(
        json!({"source": "crm.automation", "detail-type": "ActionJob", "detail": job}).to_string(),
    );
    message
        .attributes
        .insert("ApproximateReceiveCount".into(), received.to_string());
    message
}

/// Every SMS the emulator's SNS sent, by number.
fn sms_by_number() -> HashMap<String, usize> {
    let endpoint =
        std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "http://127.0.0.1:4566".into());
    let output = std::process::Command::new("curl")
        .args(["-sf", &format!("{endpoint}/moto-api/data.json")])
        .output()
        .unwrap();
    let state: Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut counts = HashMap::new();
    for sms in state["sns"]["SMS"].as_array().into_iter().flatten() {
        if let Some(number) = sms["phone_number"].as_str() {
            *counts.entry(number.to_owned()).or_default() += 1;
        }
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_jobs_under_injected_faults_lose_nothing_and_send_nothing_twice() {
    let jobs_wanted: usize = std::env::var("SOAK_JOBS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let started = std::time::Instant::now();
    let clients = support::clients().await;
    let stores = Stores::new(&clients.dynamodb, &support::tables());
    let sdk = support::sdk().await;
    let tenant = support::fresh_tenant();
    // Numbers of this run only: 09 + a prefix of the tenant + the job's index.
    let prefix = 1 + fnv(tenant.as_str()) % 8;
    let admin = User {
        id: UserId::new("u-admin").unwrap(),
        name: "Quản trị".into(),
        email: "admin@example.vn".into(),
        phone: None,
        team: None,
        role: Role::Administrator,
        active: true,
    };
    stores.users.put(&tenant, &admin).await.unwrap();
    for (id, setting) in [
        (
            "sms",
            json!({"kind": "sms_provider", "name": "SNS", "gateway": {"type": "sns", "sender_id": "CRMDEMO"}}),
        ),
        (
            "sms-hello",
            json!({"kind": "sms_template", "name": "Chào", "module": "Customer", "body": "Chào #Name!"}),
        ),
    ] {
        let setting = serde_json::from_value(setting).unwrap();
        let id = SettingId::new(id).unwrap();
        stores
            .settings
            .create(&tenant, &id, &setting)
            .await
            .unwrap();
    }
    let schedule = crm_adapters::dynamo::DynamoScheduleStore::new(
        clients.dynamodb.clone(),
        support::fresh_schedule_table(&clients.dynamodb).await,
    );
    let setup_clock = crm_model::ports::FixedClock("2027-01-01T00:00:00Z".parse().unwrap());
    let workflows = Workflows {
        workflows: &stores.workflows,
        settings: &stores.settings,
        users: &stores.users,
        schedule: &schedule,
        clock: &setup_clock,
    };
    let workflow = WorkflowId::new("wf-soak").unwrap();
    let definition = json!({
        "module": "Customer", "name": "Chào",
        "trigger": {"type": "record_event", "on": "created"},
        "actions": [{"kind": "sms", "id": "sms", "name": "SMS", "provider": "sms",
                     "template": "sms-hello", "recipient_fields": [{"field": "Phone"}]}]
    });
    workflows
        .create(
            &tenant,
            &admin.id,
            workflow.clone(),
            serde_json::from_value(definition).unwrap(),
        )
        .await
        .unwrap();
    workflows
        .activate(&tenant, &admin.id, &workflow, None)
        .await
        .unwrap();

    let faults = Arc::new(Mutex::new(Faults::default()));
    let clock = Arc::new(SteppedClock(Mutex::new(
        "2027-05-17T01:00:00Z".parse().unwrap(),
    )));
    let mut deps = action_executor::Deps::aws(
        stores.clone(),
        action_executor::AwsClients {
            sns: aws_sdk_sns::Client::new(&sdk),
            ses: aws_sdk_sesv2::Client::new(&sdk),
            secrets: aws_sdk_secretsmanager::Client::new(&sdk),
        },
        OutboundPolicy::LOCAL,
    );
    deps.sms = Arc::new(FaultySms {
        inner: deps.sms.clone(),
        faults: faults.clone(),
    });
    deps.ledger = Arc::new(CrashingLedger {
        inner: deps.ledger.clone(),
        faults: faults.clone(),
    });
    deps.clock = clock.clone();
    deps.max_receives = 1000;
    let deps = Arc::new(deps);

    let numbers: Vec<String> = (0..jobs_wanted)
        .map(|i| format!("+8491{prefix}{i:06}"))
        .collect();
    let mut queue: VecDeque<(usize, u32)> = VecDeque::new();
    let mut duplicates = 0;
    for i in 0..jobs_wanted {
        queue.push_back((i, 1));
        if fnv(&format!("dup-{i}")) % 100 == 0 {
            // Delivered twice: the copy comes a few batches later, or in the same batch.
            queue.push_back((i, 1));
            duplicates += 1;
        }
    }
    let job = |i: usize| {
        let mut snapshot = serde_json::Map::new();
        snapshot.insert("Name".into(), json!(format!("Khách {i}")));
        snapshot.insert("Phone".into(), json!(numbers[i]));
        ActionJob {
            depth: 0,
            tenant: tenant.clone(),
            workflow: workflow.clone(),
            version: 1,
            record: RecordId::new(format!("c{i}")).unwrap(),
            cause: "E1".into(),
            action: ActionId::new("sms").unwrap(),
            due_at: "2027-05-17T01:00:00Z".parse().unwrap(),
            snapshot: Some(snapshot),
        }
    };

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
                    .map(|(n, (i, received))| message(&job(*i), n, *received))
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
        *clock.0.lock().unwrap() += Duration::minutes(3);
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
        let run = stores
            .runs
            .get(&tenant, &job(i).idempotency_key())
            .await
            .unwrap()
            .expect("every job has its run");
        *statuses.entry(run.status).or_default() += 1;
    }
    let faults = faults.lock().unwrap();
    println!("soak_jobs={jobs_wanted}");
    println!("soak_deliveries={deliveries}");
    println!("soak_duplicate_deliveries={duplicates}");
    println!("soak_transient_failures={}", faults.transient);
    println!("soak_crashes_after_send={}", faults.crashes);
    println!("soak_rounds={rounds}");
    println!("soak_lost={lost}");
    println!("soak_duplicated={duplicated}");
    for status in [RunStatus::Succeeded, RunStatus::Unknown, RunStatus::Failed] {
        println!(
            "soak_runs_{}={}",
            status.as_str(),
            statuses.get(&status).copied().unwrap_or(0)
        );
    }
    println!("soak_seconds={:.1}", started.elapsed().as_secs_f64());
    assert_eq!(lost, 0, "lost sends");
    assert_eq!(duplicated, 0, "sends made twice");
    assert_eq!(
        statuses.get(&RunStatus::Succeeded).copied().unwrap_or(0)
            + statuses.get(&RunStatus::Unknown).copied().unwrap_or(0),
        jobs_wanted,
        "every run settled: {statuses:?}"
    );
    assert_eq!(
        statuses.get(&RunStatus::Unknown).copied().unwrap_or(0) as u32,
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
