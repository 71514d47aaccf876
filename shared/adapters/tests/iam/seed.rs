//! What a scenario needs before the function under audit runs, written through clients that
//! are not audited: a tenant of its own with users, settings, records and active workflows.

use chrono::{DateTime, Utc};
use crm_adapters::dynamo::{DynamoScheduleStore, Stores};
use crm_model::ids::{RecordId, SettingId, TenantId, UserId, WorkflowId};
use crm_model::ports::{FixedClock, RecordStore, SettingsStore, StoredRecord, UserDirectory};
use crm_model::schema::Module;
use crm_model::user::{Role, User};
use crm_model::workflow::service::Workflows;
use serde_json::Value;

use super::support;

pub fn at(instant: &str) -> DateTime<Utc> {
    instant.parse().expect("an RFC 3339 instant")
}

pub struct Seed {
    pub tenant: TenantId,
    /// The stack's tables, with a schedule table of this scenario's own.
    pub stores: Stores,
    pub schedule_table: String,
    pub clients: support::Clients,
    /// Digits unique to the scenario, for phone numbers and addresses.
    pub tag: String,
}

impl Seed {
    /// A tenant with an administrator, an owner and a manager who can receive SMS and email.
    pub async fn new() -> Self {
        let clients = support::clients().await;
        let schedule_table = support::fresh_schedule_table(&clients.dynamodb).await;
        let stores = Stores {
            schedule: DynamoScheduleStore::new(clients.dynamodb.clone(), &schedule_table),
            ..Stores::new(&clients.dynamodb, &support::tables())
        };
        let tenant = support::fresh_tenant();
        let tag: String = uuid::Uuid::new_v4()
            .as_u128()
            .to_string()
            .chars()
            .take(6)
            .collect();
        let seed = Self {
            tenant,
            stores,
            schedule_table,
            clients,
            tag,
        };
        for (id, role, digit) in [
            ("u-admin", Role::Administrator, 0),
            ("u-owner", Role::Salesperson, 1),
            ("u-manager", Role::Salesperson, 2),
        ] {
            let user = User {
                id: UserId::new(id).unwrap(),
                name: format!("Người dùng {id}"),
                email: format!("{id}.{}@example.vn", seed.tag),
                phone: Some(format!("098{digit}{:0>6}", seed.tag)),
                team: Some("Miền Bắc".into()),
                role,
                manager: None,
                active: true,
            };
            seed.stores.users.put(&seed.tenant, &user).await.unwrap();
        }
        seed
    }

    pub fn phone(&self) -> String {
        format!("0912{:0>6}", self.tag)
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

    pub async fn record(&self, id: &str, module: Module, fields: Value) -> RecordId {
        let record = StoredRecord {
            id: RecordId::new(id).unwrap(),
            module,
            fields: fields.as_object().expect("fields").clone(),
        };
        self.stores
            .records
            .create(&self.tenant, &record)
            .await
            .unwrap();
        record.id
    }

    fn workflows<'a>(&'a self, clock: &'a FixedClock) -> Workflows<'a> {
        Workflows {
            workflows: &self.stores.workflows,
            settings: &self.stores.settings,
            users: &self.stores.users,
            schedule: &self.stores.schedule,
            clock,
        }
    }

    /// Creates and activates a workflow at `now` (an activation files a backfill request).
    pub async fn active_workflow(&self, id: &str, definition: Value, now: &str) -> WorkflowId {
        let clock = FixedClock(at(now));
        let cases = self.workflows(&clock);
        let id = WorkflowId::new(id).unwrap();
        let admin = UserId::new("u-admin").unwrap();
        let definition = serde_json::from_value(definition).expect("a workflow definition");
        cases
            .create(&self.tenant, &admin, id.clone(), definition)
            .await
            .unwrap();
        cases
            .activate(&self.tenant, &admin, &id, None)
            .await
            .unwrap();
        id
    }

    /// An active scoring rule writing the customers' custom field `Score` (added here):
    /// points for a phone, and for a purchase within the last 90 days.
    pub async fn scoring_rule(&self, now: &str) -> WorkflowId {
        crm_model::testing::add_number_fields(
            &self.stores.settings,
            &self.tenant,
            Module::Customer,
            &["Score"],
        )
        .await;
        let rule = serde_json::json!({"module": "Customer", "name": "Điểm",
            "trigger": {"type": "score", "score_field": "Score", "criteria": [
                {"name": "Có điện thoại", "points": 10, "condition": {"type": "formula", "formula": "1",
                    "clauses": [{"field": "Phone", "op": "is_not_empty"}]}},
                {"name": "Mua gần đây", "points": 30, "condition": {"type": "formula", "formula": "1",
                    "clauses": [{"field": "LastPurchaseDate", "op": "within_last_days", "value": 90}]}}]}});
        self.active_workflow("wf-score", rule, now).await
    }

    /// Deactivates a workflow at `now` (which files a cleanup request).
    pub async fn deactivate(&self, id: &WorkflowId, now: &str) {
        let clock = FixedClock(at(now));
        let admin = UserId::new("u-admin").unwrap();
        self.workflows(&clock)
            .deactivate(
                &self.tenant,
                &admin,
                id,
                None,
                crm_model::workflow::QueuedJobs::Cancel,
            )
            .await
            .unwrap();
    }
}
