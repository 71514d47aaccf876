//! Injected faults for the executor on the emulator (the soak and the fault suite): a clock moved
//! by hand, an SMS gateway that fails transiently or "crashes" the executor right after a send,
//! the ledger that then fails, and the SMS the emulator's SNS sent.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crm_model::clock::Clock;
use crm_model::ids::{RecordId, TenantId, WorkflowId};
use crm_model::ports::{
    ClaimOutcome, Page, PageRequest, RunLedger, SendError, SmsSender, StoreError,
};
use crm_model::run::{Effect, RunRecord};
use crm_model::settings::SmsGateway;
use crm_model::settings::secrets::GatewayKeys;

/// A clock the soak moves forward between rounds.
pub struct SteppedClock(pub Mutex<DateTime<Utc>>);

impl Clock for SteppedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// A cheap, stable hash: which calls the faults hit.
pub fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[derive(Default)]
pub struct Faults {
    /// Calls made per request id, so a retry of a failed call draws again.
    pub calls: HashMap<String, u32>,
    /// Runs whose next ledger write fails: the executor "crashed" after the provider took it.
    pub crashed: HashSet<String>,
    pub transient: u32,
    pub crashes: u32,
    /// Numbers whose first call fails transiently.
    pub refuse_once: HashSet<String>,
    /// The soak's random faults: 5 % of calls fail transiently, 0.5 % crash after the send.
    pub random: bool,
}

/// SNS behind the injected faults.
pub struct FaultySms {
    pub inner: Arc<dyn SmsSender>,
    pub faults: Arc<Mutex<Faults>>,
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
            if faults.refuse_once.remove(to) {
                faults.transient += 1;
                return Err(SendError::Transient("injected: HTTP 503".into()));
            }
            if faults.random {
                let n = faults.calls.entry(request_id.to_owned()).or_default();
                *n += 1;
                fnv(&format!("{request_id}#{n}")) % 1000
            } else {
                // No random fault: a draw that fails nothing.
                500
            }
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
pub struct CrashingLedger {
    pub inner: Arc<dyn RunLedger>,
    pub faults: Arc<Mutex<Faults>>,
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
    async fn record_unstarted(&self, run: &RunRecord) -> Result<ClaimOutcome, StoreError> {
        self.inner.record_unstarted(run).await
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

    async fn advance(
        &self,
        tenant: &TenantId,
        name: &str,
        expected: u64,
    ) -> Result<ClaimOutcome, StoreError> {
        self.inner.advance(tenant, name, expected).await
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

/// Every SMS the emulator's SNS sent, by number.
pub fn sms_by_number() -> HashMap<String, usize> {
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

/// A tenant on the emulator with an SNS SMS provider (`sms`) and template (`sms-hello`,
/// "Chào #Name!"), an administrator (`u-admin`) and two users with phones, and the executor's
/// own AWS wiring behind the injected faults and the hand-moved clock.
pub struct SmsWorld {
    pub stores: crm_adapters::dynamo::Stores,
    pub schedule: crm_adapters::dynamo::DynamoScheduleStore,
    pub tenant: TenantId,
    pub faults: Arc<Mutex<Faults>>,
    pub clock: Arc<SteppedClock>,
    /// Digits unique to this world, for phone numbers no other test uses.
    pub prefix: u64,
}

pub const START: &str = "2027-05-17T01:00:00Z";

impl SmsWorld {
    pub async fn new() -> Self {
        use crm_model::ports::{SettingsStore, UserDirectory};
        let clients = super::clients().await;
        let stores = crm_adapters::dynamo::Stores::new(&clients.dynamodb, &super::tables());
        let schedule = crm_adapters::dynamo::DynamoScheduleStore::new(
            clients.dynamodb.clone(),
            super::fresh_schedule_table(&clients.dynamodb).await,
        );
        let tenant = super::fresh_tenant();
        let prefix = 100 + fnv(tenant.as_str()) % 900;
        for (id, phone) in [
            ("u-admin", None),
            ("u-owner", Some(format!("0981{prefix}001"))),
            ("u-manager", Some(format!("0982{prefix}002"))),
        ] {
            let user = crm_model::user::User {
                id: crm_model::ids::UserId::new(id).unwrap(),
                name: format!("Người dùng {id}"),
                email: format!("{id}@example.vn"),
                phone,
                team: None,
                role: crm_model::user::Role::Administrator,
                manager: None,
                active: true,
            };
            stores.users.put(&tenant, &user).await.unwrap();
        }
        for (id, setting) in [
            (
                "sms",
                serde_json::json!({"kind": "sms_provider", "name": "SNS", "gateway": {"type": "sns", "sender_id": "CRMDEMO"}}),
            ),
            (
                "sms-hello",
                serde_json::json!({"kind": "sms_template", "name": "Chào", "module": "Customer", "body": "Chào #Name!"}),
            ),
        ] {
            let setting = serde_json::from_value(setting).unwrap();
            let id = crm_model::ids::SettingId::new(id).unwrap();
            stores
                .settings
                .create(&tenant, &id, &setting)
                .await
                .unwrap();
        }
        Self {
            stores,
            schedule,
            tenant,
            faults: Arc::new(Mutex::new(Faults::default())),
            clock: Arc::new(SteppedClock(Mutex::new(START.parse().unwrap()))),
            prefix,
        }
    }

    /// The workflow use cases (acting on New Year's Day).
    pub fn workflows<'a>(
        &'a self,
        clock: &'a crm_model::ports::FixedClock,
    ) -> crm_model::workflow::service::Workflows<'a> {
        crm_model::workflow::service::Workflows {
            workflows: &self.stores.workflows,
            settings: &self.stores.settings,
            users: &self.stores.users,
            schedule: &self.schedule,
            clock,
        }
    }

    /// A workflow created and activated by the administrator.
    pub async fn workflow(&self, id: &str, definition: Value) -> WorkflowId {
        let clock = crm_model::ports::FixedClock("2027-01-01T00:00:00Z".parse().unwrap());
        let admin = crm_model::ids::UserId::new("u-admin").unwrap();
        let id = WorkflowId::new(id).unwrap();
        let cases = self.workflows(&clock);
        cases
            .create(
                &self.tenant,
                &admin,
                id.clone(),
                serde_json::from_value(definition).unwrap(),
            )
            .await
            .unwrap();
        cases
            .activate(&self.tenant, &admin, &id, None)
            .await
            .unwrap();
        id
    }

    /// The executor function's own wiring (`Deps::aws`) over the emulator, its gateway and ledger
    /// behind the faults and its clock the world's.
    pub async fn deps(&self) -> action_executor::Deps {
        let sdk = super::sdk().await;
        let mut deps = action_executor::Deps::aws(
            self.stores.clone(),
            action_executor::AwsClients {
                sns: aws_sdk_sns::Client::new(&sdk),
                ses: aws_sdk_sesv2::Client::new(&sdk),
                secrets: aws_sdk_secretsmanager::Client::new(&sdk),
                attachments: super::attachments(&sdk),
            },
            crm_model::settings::outbound::OutboundPolicy::LOCAL,
        );
        deps.sms = Arc::new(FaultySms {
            inner: deps.sms.clone(),
            faults: self.faults.clone(),
        });
        deps.ledger = Arc::new(CrashingLedger {
            inner: deps.ledger.clone(),
            faults: self.faults.clone(),
        });
        deps.clock = self.clock.clone();
        deps
    }

    /// A job of `action` for record `record`, with the fields the scan or the stream would have
    /// seen.
    pub fn job(
        &self,
        workflow: &WorkflowId,
        record: &str,
        action: &str,
        fields: Value,
    ) -> crm_model::schedule::ActionJob {
        crm_model::schedule::ActionJob {
            depth: 0,
            tenant: self.tenant.clone(),
            workflow: workflow.clone(),
            version: 1,
            record: RecordId::new(record).unwrap(),
            cause: "E1".into(),
            action: crm_model::ids::ActionId::new(action).unwrap(),
            due_at: START.parse().unwrap(),
            snapshot: fields.as_object().cloned(),
        }
    }

    /// Moves the clock (past a send's lease, say).
    pub fn advance(&self, by: chrono::Duration) {
        *self.clock.0.lock().unwrap() += by;
    }
}

/// An SQS message carrying `job` as the automation bus's rule delivers it.
pub fn message(
    job: &crm_model::schedule::ActionJob,
    id: &str,
    received: u32,
) -> aws_lambda_events::event::sqs::SqsMessage {
    let mut message = aws_lambda_events::event::sqs::SqsMessage::default();
    message.message_id = Some(id.to_owned());
    message.body = Some(
        serde_json::json!({"source": "crm.automation", "detail-type": "ActionJob", "detail": job})
            .to_string(),
    );
    message
        .attributes
        .insert("ApproximateReceiveCount".into(), received.to_string());
    message
}

/// A batch of messages.
pub fn batch(
    messages: Vec<aws_lambda_events::event::sqs::SqsMessage>,
) -> aws_lambda_events::event::sqs::SqsEvent {
    let mut event = aws_lambda_events::event::sqs::SqsEvent::default();
    event.records = messages;
    event
}
