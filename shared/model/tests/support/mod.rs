//! The world the use-case tests run in: one tenant over the in-memory stores, with an
//! administrator, an SMS provider and template, and a recording bus.
#![allow(dead_code)]

pub mod clock;
pub mod crm;
pub mod definitions;
pub mod flaky;
pub mod scanning;
pub mod stream;

use chrono::{DateTime, Utc};
use crm_model::ids::{RecordId, SettingId, TenantId, UserId, WorkflowId};
use crm_model::ports::{FixedClock, RecordStore, SettingsStore, StoredRecord, UserDirectory};
use crm_model::settings::outbound::OutboundPolicy;
use crm_model::settings::service::Settings;
use crm_model::settings::{Setting, SmsGateway, SmsProvider};
use crm_model::template::SmsTemplate;
use crm_model::testing::memory::{
    FixedResolver, MemorySecretVault, MemoryStores, RecordingPublisher,
};
use crm_model::user::{Role, User};
use crm_model::workflow::WorkflowDefinition;
use crm_model::workflow::service::Workflows;
use serde_json::json;

pub fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("test instant")
}

pub fn admin() -> UserId {
    UserId::new("u-admin").unwrap()
}

pub struct World {
    pub stores: MemoryStores,
    pub publisher: RecordingPublisher,
    pub secrets: MemorySecretVault,
    pub resolver: FixedResolver,
    pub tenant: TenantId,
}

pub fn birthday_definition() -> WorkflowDefinition {
    serde_json::from_value(json!({
        "module": "Customer", "name": "Sinh nhật",
        "trigger": {"type": "time", "date_field": "Birthday", "recurrence": "yearly", "time_of_day": "08:00:00",
                    "catch_up": {"policy": "latest_only", "max_lateness_minutes": 720}},
        "condition": {"type": "matching", "group": {"combine": "and", "rules": [{"field": "Phone", "op": "is_not_empty"}]}},
        "actions": [
            {"kind": "sms", "id": "sms", "name": "SMS", "provider": "sms", "recipient_fields": [{"field": "Phone"}], "template": "sms-birthday"},
            {"kind": "notification", "id": "tell", "name": "Báo", "notify_owner": true, "message": "Sinh nhật #Name"}
        ]
    }))
    .unwrap()
}

impl World {
    pub async fn new() -> Self {
        Self::seeded(MemoryStores::new(), "acme").await
    }

    /// Another tenant on the same tables (the same due index, the same scan), seeded alike,
    /// publishing to a bus of its own.
    pub async fn beside(&self, tenant: &str) -> Self {
        Self::seeded(self.stores.clone(), tenant).await
    }

    async fn seeded(stores: MemoryStores, tenant: &str) -> Self {
        let tenant = TenantId::new(tenant).unwrap();
        let user = User {
            id: admin(),
            name: "Quản trị".into(),
            email: "admin@example.vn".into(),
            phone: None,
            team: None,
            role: Role::Administrator,
            manager: None,
            active: true,
        };
        stores.users.put(&tenant, &user).await.unwrap();
        let provider = Setting::SmsProvider(SmsProvider {
            name: "SNS".into(),
            gateway: SmsGateway::Sns {
                sender_id: "CRM".into(),
            },
        });
        let template = Setting::SmsTemplate(SmsTemplate {
            name: "Sinh nhật".into(),
            module: crm_model::schema::Module::Customer,
            body: "Chúc mừng sinh nhật #Name".into(),
        });
        stores
            .settings
            .create(&tenant, &SettingId::new("sms").unwrap(), &provider)
            .await
            .unwrap();
        stores
            .settings
            .create(&tenant, &SettingId::new("sms-birthday").unwrap(), &template)
            .await
            .unwrap();
        World {
            stores,
            publisher: RecordingPublisher::new(),
            secrets: MemorySecretVault::new(),
            resolver: FixedResolver::new(),
            tenant,
        }
    }

    /// The settings use cases as deployed: https to public hosts only.
    pub fn settings(&self) -> Settings<'_> {
        Settings {
            settings: &self.stores.settings,
            users: &self.stores.users,
            workflows: &self.stores.workflows,
            secrets: &self.secrets,
            resolver: &self.resolver,
            outbound: OutboundPolicy::PUBLIC,
        }
    }

    pub fn use_cases<'a>(&'a self, clock: &'a FixedClock) -> Workflows<'a> {
        Workflows {
            workflows: &self.stores.workflows,
            settings: &self.stores.settings,
            users: &self.stores.users,
            schedule: &self.stores.schedule,
            clock,
        }
    }

    /// A birthday workflow created and activated at `now`.
    pub async fn active_workflow(&self, id: &str, now: &str) -> WorkflowId {
        let clock = FixedClock(at(now));
        let id = WorkflowId::new(id).unwrap();
        let cases = self.use_cases(&clock);
        cases
            .create(&self.tenant, &admin(), id.clone(), birthday_definition())
            .await
            .unwrap();
        cases
            .activate(&self.tenant, &admin(), &id, None)
            .await
            .unwrap();
        id
    }

    pub async fn customer(&self, id: &str, fields: serde_json::Value) -> RecordId {
        let record = StoredRecord {
            id: RecordId::new(id).unwrap(),
            module: crm_model::schema::Module::Customer,
            fields: fields.as_object().unwrap().clone(),
        };
        self.stores
            .records
            .create(&self.tenant, &record)
            .await
            .unwrap();
        record.id
    }
}
