//! The world the executor's use-case tests run in: one tenant over the in-memory stores with two
//! users, the settings the emulator suite creates (an SNS SMS provider and template, an email
//! sender and template, a print template), and the recording provider fakes.
//!
//! Two things make interleavings and crashes reachable without AWS:
//! - the executor's ledger yields to the scheduler before every call, and the SMS gateway before
//!   every send (as a network round trip would), so two deliveries under `tokio::join!` really
//!   interleave at those points on the test's single thread;
//! - the store can be told to go down the moment the SMS gateway or the task app accepts
//!   ([`World::store_fails_after_next_accept`]), which is a crash between the provider's
//!   acceptance and the ledger's record.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_model::action::SettingKind;
use crm_model::ids::{ActionId, RecordId, SettingId, TenantId, UserId, WorkflowId};
use crm_model::ports::SecretVault;
use crm_model::ports::{
    ClaimOutcome, FixedClock, NotificationInbox, Page, PageRequest, RecordStore, Revisioned,
    RunLedger, SendError, SettingsStore, SmsSender, StoreError, StoredRecord, TaskSync,
    UserDirectory,
};
use crm_model::run::execute::{ExecuteError, Executor, ExecutorCache, JobOutcome};
use crm_model::run::{Effect, RunRecord};
use crm_model::schedule::ActionJob;
use crm_model::schema::Module;
use crm_model::settings::secrets::{GatewayKeys, SecretName, SecretValue, SigningKey};
use crm_model::settings::{SmsGateway, TaskConnection};
use crm_model::testing::memory::{
    MemoryRunLedger, MemorySecretVault, MemoryStores, RecordingEmail, RecordingSms,
    RecordingTaskSync, RecordingZns, TextPrinter,
};
use crm_model::user::{Role, User};
use crm_model::workflow::service::Workflows;
use serde_json::{Value, json};
use std::sync::Mutex;

/// When every job is due, and when the executor runs unless a test says otherwise.
pub const NOW: &str = "2027-05-17T01:00:00Z";
/// The customers' phone number, as entered and as the gateway receives it.
pub const PHONE: &str = "0912345678";
pub const E164: &str = "+84912345678";

/// What the store does when it goes down right after a provider accepted.
#[derive(Debug, Clone, Copy)]
pub enum StoreFault {
    /// The next ledger write is refused: nothing recorded.
    Down,
    /// The next ledger write happens but its answer is lost.
    ReplyLost,
}

/// How a job reaches the executor twice.
#[derive(Debug, Clone, Copy)]
pub enum Delivery {
    /// One delivery after the other.
    InTurn,
    /// Two deliveries at once (interleaved at every ledger call), then one more.
    AtOnce,
}

pub struct World {
    pub stores: MemoryStores,
    pub sms: RecordingSms,
    pub zns: RecordingZns,
    pub email: RecordingEmail,
    pub task_sync: RecordingTaskSync,
    pub printer: TextPrinter,
    pub attachments: crm_model::testing::memory::MemoryAttachments,
    pub secrets: MemorySecretVault,
    pub tenant: TenantId,
    after_accept: Mutex<Option<StoreFault>>,
}

pub fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("test instant")
}

pub fn user(id: &str) -> UserId {
    UserId::new(id).unwrap()
}

pub fn birthday_workflow() -> Value {
    json!({
        "module": "Customer", "name": "Sinh nhật",
        "trigger": {"type": "time", "date_field": "Birthday", "recurrence": "yearly", "time_of_day": "08:00:00"},
        "actions": [
            {"kind": "sms", "id": "sms", "name": "SMS", "provider": "sms", "recipient_fields": [{"field": "Phone"}], "template": "sms-birthday"},
            {"kind": "email", "id": "email", "name": "Email", "sender": "mailer", "recipient_fields": [{"field": "Email"}],
             "users": ["u-manager"], "template": "email-birthday"},
            {"kind": "task", "id": "task", "name": "Gọi", "title": "Gọi chúc mừng #Name", "description": "SĐT #Phone",
             "due": {"days_after": 0, "time_of_day": "17:00:00"}, "task_type": "Call", "priority": "High",
             "assignee": {"type": "record_owner"}, "related_users": ["u-manager"]},
            {"kind": "notification", "id": "tell", "name": "Báo", "users": ["u-manager"], "notify_owner": true, "message": "Sinh nhật #Name"},
            {"kind": "update_fields", "id": "mark", "name": "Ghi nhận", "values": [
                {"field": "Description", "value": {"type": "merge", "text": "Đã chúc mừng #Name"}},
                {"field": "Rank", "value": {"type": "literal", "value": "Silver"}}]}
        ]
    })
}

impl World {
    pub async fn new() -> Self {
        let stores = MemoryStores::new();
        let tenant = TenantId::new("acme").unwrap();
        for (id, phone) in [("u-owner", "0981000001"), ("u-manager", "0982000002")] {
            let user = User {
                id: user(id),
                name: format!("Người dùng {id}"),
                email: format!("{id}@example.vn"),
                phone: Some(phone.to_owned()),
                team: None,
                role: Role::Salesperson,
                manager: None,
                active: true,
            };
            stores.users.put(&tenant, &user).await.unwrap();
        }
        let w = World {
            stores,
            sms: RecordingSms::new(),
            zns: RecordingZns::new(),
            email: RecordingEmail::new(),
            task_sync: RecordingTaskSync::new(),
            printer: TextPrinter::new(),
            attachments: crm_model::testing::memory::MemoryAttachments::new(),
            secrets: MemorySecretVault::new(),
            tenant,
            after_accept: Mutex::new(None),
        };
        w.setting(
            "print-voucher",
            json!({"kind": "print_template", "name": "Phiếu ưu đãi", "module": "Customer",
            "file_name": "Phiếu ưu đãi #Name",
            "body": "Kính gửi #Name,\n\nCảm ơn quý khách đã đồng hành. Phiếu này giảm 20% cho đơn hàng kế tiếp.\n\n<Không áp dụng cùng khuyến mãi khác>"}),
        )
        .await;
        w.setting(
            "sms",
            json!({"kind": "sms_provider", "name": "SNS", "gateway": {"type": "sns", "sender_id": "CRMDEMO"}}),
        )
        .await;
        w.setting(
            "sms-birthday",
            json!({"kind": "sms_template", "name": "HPBD", "module": "Customer", "body": "Chúc mừng sinh nhật #Name!"}),
        )
        .await;
        w.setting(
            "mailer",
            json!({"kind": "email_sender", "name": "CSKH", "from_address": "noreply@example.com", "from_name": "Chăm sóc khách hàng"}),
        )
        .await;
        w.setting(
            "email-birthday",
            json!({"kind": "email_template", "name": "HPBD", "module": "Customer",
            "subject": "Chúc mừng sinh nhật #Name", "html_body": "<p>Kính gửi <b>#Name</b>, chúc mừng sinh nhật!</p>"}),
        )
        .await;
        w
    }

    pub async fn setting(&self, id: &str, setting: Value) {
        self.stores
            .settings
            .create(
                &self.tenant,
                &SettingId::new(id).unwrap(),
                &serde_json::from_value(setting).unwrap(),
            )
            .await
            .unwrap();
    }

    /// Stores credentials for setting `id` of `kind` under this world's tenant, as the settings
    /// API would.
    pub async fn credentials(&self, kind: SettingKind, id: &str, value: Value) {
        let name = SecretName::for_setting(&self.tenant, kind, &SettingId::new(id).unwrap());
        self.secrets
            .put(&name, &SecretValue::new(value.to_string()))
            .await
            .unwrap();
    }

    pub async fn record(&self, id: &str, module: Module, fields: Value) -> RecordId {
        let record = StoredRecord {
            id: RecordId::new(id).unwrap(),
            module,
            fields: fields.as_object().unwrap().clone(),
        };
        self.stores
            .records
            .create(&self.tenant, &record)
            .await
            .unwrap();
        record.id
    }

    pub async fn customer(&self, id: &str, fields: Value) -> RecordId {
        self.record(id, Module::Customer, fields).await
    }

    /// A workflow created and activated by the owner at the start of the year.
    /// The workflow use cases, acting at `now`.
    pub fn workflows<'a>(&'a self, clock: &'a FixedClock) -> Workflows<'a> {
        Workflows {
            workflows: &self.stores.workflows,
            settings: &self.stores.settings,
            users: &self.stores.users,
            schedule: &self.stores.schedule,
            clock,
        }
    }

    pub async fn workflow(&self, id: &str, definition: Value) -> WorkflowId {
        let clock = FixedClock(at("2027-01-01T00:00:00Z"));
        let cases = self.workflows(&clock);
        let id = WorkflowId::new(id).unwrap();
        let admin = user("u-owner");
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

    pub fn job(&self, workflow: &WorkflowId, record: &RecordId, action: &str) -> ActionJob {
        ActionJob {
            depth: 0,
            tenant: self.tenant.clone(),
            workflow: workflow.clone(),
            version: 1,
            record: record.clone(),
            cause: "Y2027".into(),
            action: ActionId::new(action).unwrap(),
            due_at: at(NOW),
            snapshot: None,
        }
    }

    /// One delivery of `job`, at `NOW`.
    pub async fn execute(&self, job: &ActionJob) -> Result<JobOutcome, ExecuteError> {
        self.execute_at(job, NOW).await
    }

    /// One delivery of `job` at `now`, in a sandbox of its own (a cold cache), as concurrent
    /// Lambda invocations would be.
    pub async fn execute_at(&self, job: &ActionJob, now: &str) -> Result<JobOutcome, ExecuteError> {
        let clock = FixedClock(at(now));
        let cache = ExecutorCache::default();
        Executor {
            workflows: &self.stores.workflows,
            records: &self.stores.records,
            settings: &self.stores.settings,
            users: &self.stores.users,
            ledger: &YieldingLedger(&self.stores.runs),
            sms: &SlowSms(self),
            zns: &self.zns,
            email: &self.email,
            printer: &self.printer,
            attachments: &self.attachments,
            task_sync: &TaskApp(self),
            secrets: &self.secrets,
            clock: &clock,
            cache: &cache,
            approvals: &self.stores.approvals,
            links_base: "https://crm.example.vn",
            deadline: None,
        }
        .execute(job)
        .await
    }

    /// Delivers a job twice, in turn or at once, then once more: exactly one delivery acts, and
    /// every other one is a duplicate (or, at once, told that the first is still working).
    pub async fn deliver_twice(&self, delivery: Delivery, job: &ActionJob) -> JobOutcome {
        match delivery {
            Delivery::InTurn => {
                let first = self.execute(job).await.unwrap();
                assert!(
                    !matches!(first, JobOutcome::Duplicate),
                    "the first delivery acts"
                );
                assert_eq!(self.execute(job).await.unwrap(), JobOutcome::Duplicate);
                first
            }
            Delivery::AtOnce => {
                let (a, b) = tokio::join!(self.execute(job), self.execute(job));
                let outcomes = [a, b];
                let acted: Vec<_> = outcomes
                    .iter()
                    .filter_map(|o| o.as_ref().ok())
                    .filter(|o| !matches!(o, JobOutcome::Duplicate))
                    .cloned()
                    .collect();
                assert_eq!(acted.len(), 1, "{outcomes:?}");
                let stood_back = outcomes
                    .iter()
                    .filter(|o| matches!(o, Ok(JobOutcome::Duplicate) | Err(ExecuteError::Busy)))
                    .count();
                assert_eq!(stood_back, 1, "{outcomes:?}");
                assert_eq!(self.execute(job).await.unwrap(), JobOutcome::Duplicate);
                acted[0].clone()
            }
        }
    }

    /// The run stored under `key`.
    pub async fn run(&self, key: &str) -> RunRecord {
        self.stores
            .runs
            .get(&self.tenant, key)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no run under {key}"))
    }

    pub async fn stored(&self, id: &RecordId) -> Revisioned<StoredRecord> {
        self.stores
            .records
            .get(&self.tenant, id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no record {id}"))
    }

    /// The messages in a user's inbox, sorted.
    pub async fn inbox(&self, id: &str) -> Vec<String> {
        let page = self
            .stores
            .inbox
            .list(&self.tenant, &user(id), false, &PageRequest::first(100))
            .await
            .unwrap();
        let mut messages: Vec<String> = page.items.into_iter().map(|n| n.message).collect();
        messages.sort();
        messages
    }

    /// Makes the store go down (or lose its next answer) the moment the SMS gateway or the task
    /// app next accepts something: the executor's next ledger write meets the fault.
    pub fn store_fails_after_next_accept(&self, fault: StoreFault) {
        *self.after_accept.lock().unwrap() = Some(fault);
    }

    fn accepted(&self) {
        match self.after_accept.lock().unwrap().take() {
            Some(StoreFault::Down) => self.stores.runs.fail_next_writes(1),
            Some(StoreFault::ReplyLost) => self.stores.runs.lose_next_write_replies(1),
            None => {}
        }
    }
}

/// The recording SMS gateway behind a network round trip (a yield), which may take the store
/// down as it accepts.
struct SlowSms<'a>(&'a World);

#[async_trait]
impl SmsSender for SlowSms<'_> {
    async fn send(
        &self,
        gateway: &SmsGateway,
        keys: Option<&GatewayKeys>,
        to: &str,
        text: &str,
        request_id: &str,
    ) -> Result<String, SendError> {
        tokio::task::yield_now().await;
        let sent = self.0.sms.send(gateway, keys, to, text, request_id).await;
        if sent.is_ok() {
            self.0.accepted();
        }
        sent
    }
}

/// The recording task app, which may take the store down as it accepts.
struct TaskApp<'a>(&'a World);

#[async_trait]
impl TaskSync for TaskApp<'_> {
    async fn push(
        &self,
        connection: &TaskConnection,
        key: &SigningKey,
        task: &Value,
        idempotency_key: &str,
    ) -> Result<String, SendError> {
        let pushed = self
            .0
            .task_sync
            .push(connection, key, task, idempotency_key)
            .await;
        if pushed.is_ok() {
            self.0.accepted();
        }
        pushed
    }
}

/// The in-memory ledger, yielding to the scheduler before every call as a DynamoDB round trip
/// would, so that concurrent deliveries interleave between ledger calls.
struct YieldingLedger<'a>(&'a MemoryRunLedger);

#[async_trait]
impl RunLedger for YieldingLedger<'_> {
    async fn get(&self, tenant: &TenantId, key: &str) -> Result<Option<RunRecord>, StoreError> {
        tokio::task::yield_now().await;
        self.0.get(tenant, key).await
    }

    async fn claim(
        &self,
        run: &RunRecord,
        takeover: Option<&RunRecord>,
    ) -> Result<ClaimOutcome, StoreError> {
        tokio::task::yield_now().await;
        self.0.claim(run, takeover).await
    }

    async fn request_retry(
        &self,
        run: &RunRecord,
        now: DateTime<Utc>,
    ) -> Result<Option<RunRecord>, StoreError> {
        tokio::task::yield_now().await;
        self.0.request_retry(run, now).await
    }

    async fn progress(&self, run: &RunRecord) -> Result<ClaimOutcome, StoreError> {
        tokio::task::yield_now().await;
        self.0.progress(run).await
    }

    async fn record(&self, run: &RunRecord) -> Result<ClaimOutcome, StoreError> {
        tokio::task::yield_now().await;
        self.0.record(run).await
    }

    async fn record_unstarted(&self, run: &RunRecord) -> Result<ClaimOutcome, StoreError> {
        tokio::task::yield_now().await;
        self.0.record_unstarted(run).await
    }

    async fn commit(
        &self,
        run: &RunRecord,
        effects: &[Effect],
    ) -> Result<ClaimOutcome, StoreError> {
        tokio::task::yield_now().await;
        self.0.commit(run, effects).await
    }

    async fn counter(&self, tenant: &TenantId, name: &str) -> Result<u64, StoreError> {
        tokio::task::yield_now().await;
        self.0.counter(tenant, name).await
    }

    async fn advance(
        &self,
        tenant: &TenantId,
        name: &str,
        expected: u64,
    ) -> Result<ClaimOutcome, StoreError> {
        self.0.advance(tenant, name, expected).await
    }

    async fn record_history(
        &self,
        tenant: &TenantId,
        record: &RecordId,
        page: &PageRequest,
    ) -> Result<Page<RunRecord>, StoreError> {
        tokio::task::yield_now().await;
        self.0.record_history(tenant, record, page).await
    }

    async fn dead_letters(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<RunRecord>, StoreError> {
        tokio::task::yield_now().await;
        self.0.dead_letters(tenant, page).await
    }

    async fn history(
        &self,
        tenant: &TenantId,
        workflow: &WorkflowId,
        page: &PageRequest,
    ) -> Result<Page<RunRecord>, StoreError> {
        tokio::task::yield_now().await;
        self.0.history(tenant, workflow, page).await
    }
}

/// Runs futures concurrently on this task (no extra dependency for `join_all`).
pub async fn join_all<F: std::future::Future>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    let futures: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    let mut pending: Vec<(usize, std::pin::Pin<Box<F>>)> =
        futures.into_iter().enumerate().collect();
    std::future::poll_fn(|cx| {
        pending.retain_mut(|(i, future)| match future.as_mut().poll(cx) {
            std::task::Poll::Ready(output) => {
                outputs[*i] = Some(output);
                false
            }
            std::task::Poll::Pending => true,
        });
        if pending.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    outputs
        .into_iter()
        .map(|o| o.expect("every future finished"))
        .collect()
}
