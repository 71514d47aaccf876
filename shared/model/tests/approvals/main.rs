//! Approval and sales-recording workflows over the in-memory stores: which definition applies,
//! who may submit, the record locked while pending, steps skipped by their condition, first
//! response and unanimous steps, recording an order's revenue once, recall and reassign, a
//! request pinned to its version, races settled by the request's revision, decision links, and
//! what the stream follows a request's change up with.

#[path = "../support/mod.rs"]
mod support;

mod deciding;
mod submitting;

use crm_model::approval::followups::Followups;
use crm_model::approval::links::DecisionLink;
use crm_model::approval::request::{ApprovalRequest, Event, RequestStatus, TransitionError};
use crm_model::approval::service::{
    ApprovalError, Approvals, DecisionInput, Reassignment, Verdict,
};
use crm_model::approval::store::ApprovalStore;
use crm_model::ids::{RecordId, UserId, WorkflowId};
use crm_model::ports::{
    FixedClock, RecordStore, ScheduleEntries, SettingsStore, StoredRecord, UserDirectory,
};
use crm_model::record::service::{Actor, RecordError, Records};
use crm_model::schema::Module;
use crm_model::store::{PageRequest, StoreError};
use crm_model::user::access::Access;
use crm_model::user::notifications::NotificationInbox;
use crm_model::user::{Role, User};
use serde_json::{Value, json};
use support::clock::ManualClock;
use support::{World, admin, at};

const NOW: &str = "2026-12-01T02:00:00Z";

fn uid(id: &str) -> UserId {
    UserId::new(id).unwrap()
}

fn rid(id: &str) -> RecordId {
    RecordId::new(id).unwrap()
}

fn person(id: &str, role: Role, manager: Option<&str>, team: Option<&str>) -> User {
    User {
        id: uid(id),
        name: id.into(),
        email: format!("{id}@example.vn"),
        phone: None,
        team: team.map(str::to_owned),
        role,
        manager: manager.map(uid),
        active: true,
    }
}

struct Office {
    w: World,
    clock: ManualClock,
}

impl Office {
    /// A salesperson whose manager is the lead, the lead whose manager is the director, an
    /// accountant and a second salesperson.
    async fn new() -> Self {
        let w = World::new().await;
        for user in [
            person("u-sales", Role::Salesperson, Some("u-lead"), Some("Hà Nội")),
            person("u-other", Role::Salesperson, None, Some("Hà Nội")),
            person("u-lead", Role::Salesperson, Some("u-director"), None),
            person("u-director", Role::Administrator, None, None),
            person("u-acct", Role::Salesperson, None, None),
        ] {
            w.stores.users.put(&w.tenant, &user).await.unwrap();
        }
        Office {
            w,
            clock: ManualClock::at(NOW),
        }
    }

    fn approvals(&self) -> Approvals<'_> {
        Approvals {
            approvals: &self.w.stores.approvals,
            records: &self.w.stores.records,
            workflows: &self.w.stores.workflows,
            settings: &self.w.stores.settings,
            users: &self.w.stores.users,
            clock: &self.clock,
        }
    }

    fn records(&self) -> Records<'_> {
        Records {
            records: &self.w.stores.records,
            users: &self.w.stores.users,
            settings: &self.w.stores.settings,
            runs: &self.w.stores.runs,
            inbox: &self.w.stores.inbox,
            clock: &self.clock,
        }
    }

    fn followups(&self) -> Followups<'_> {
        Followups {
            workflows: &self.w.stores.workflows,
            schedule: &self.w.stores.schedule,
            publisher: &self.w.publisher,
            inbox: &self.w.stores.inbox,
        }
    }

    fn actor(&self, user: &str, role: Role) -> Actor {
        Actor {
            tenant: self.w.tenant.clone(),
            user: uid(user),
            role,
            access: Access::everything(),
        }
    }

    fn sales(&self) -> Actor {
        self.actor("u-sales", Role::Salesperson)
    }

    async fn definition(&self, id: &str, definition: Value) -> WorkflowId {
        let clock = FixedClock(at(NOW));
        let cases = self.w.use_cases(&clock);
        let id = WorkflowId::new(id).unwrap();
        cases
            .create(
                &self.w.tenant,
                &admin(),
                id.clone(),
                serde_json::from_value(definition).unwrap(),
            )
            .await
            .unwrap();
        cases
            .activate(&self.w.tenant, &admin(), &id, None)
            .await
            .unwrap();
        id
    }

    async fn record(&self, module: Module, id: &str, fields: Value) -> RecordId {
        let record = StoredRecord {
            id: rid(id),
            module,
            fields: fields.as_object().unwrap().clone(),
        };
        self.w
            .stores
            .records
            .create(&self.w.tenant, &record)
            .await
            .unwrap();
        record.id
    }

    async fn fields(&self, id: &str) -> serde_json::Map<String, Value> {
        let stored = self.w.stores.records.get(&self.w.tenant, &rid(id)).await;
        stored.unwrap().unwrap().value.fields
    }

    async fn submit(
        &self,
        actor: &Actor,
        module: Module,
        record: &str,
        request: &str,
    ) -> Result<ApprovalRequest, ApprovalError> {
        self.approvals()
            .submit(
                actor,
                module,
                &rid(record),
                Some("xin duyệt".into()),
                rid(request),
                format!("key-of-{request}"),
            )
            .await
    }

    async fn decide(
        &self,
        user: &str,
        module: Module,
        record: &str,
        request: &str,
        verdict: Verdict,
    ) -> Result<ApprovalRequest, ApprovalError> {
        let input = DecisionInput {
            verdict,
            revenue: None,
            comment: Some("ok".into()),
        };
        self.approvals()
            .decide(
                &self.actor(user, Role::Salesperson),
                module,
                &rid(record),
                &rid(request),
                input,
            )
            .await
    }

    async fn pending_of(&self, user: &str) -> Vec<RecordId> {
        let page = PageRequest::first(100);
        let found = self
            .approvals()
            .pending(&self.actor(user, Role::Salesperson), &page)
            .await
            .unwrap();
        found.items.into_iter().map(|p| p.request).collect()
    }

    async fn inbox_of(&self, user: &str) -> Vec<String> {
        let page = PageRequest::first(100);
        let user = uid(user);
        let found = self
            .w
            .stores
            .inbox
            .list(&self.w.tenant, &user, false, &page);
        found
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|n| n.message)
            .collect()
    }
}

fn discount_definition() -> Value {
    json!({
        "module": "Quote", "name": "Duyệt chiết khấu",
        "trigger": {"type": "approval",
            "steps": [{"name": "Trưởng nhóm", "approvers": [{"type": "submitter_manager"}],
                       "deadline": {"hours": 24, "remind_before_hours": 4, "escalate": true}}],
            "on_submit": ["tell-submitted"], "on_approve": ["tell-approved"], "on_reject": ["tell-rejected"]},
        "condition": {"type": "matching", "group": {"combine": "and", "rules": [
            {"field": "Discount", "op": "greater_than", "value": 20}]}},
        "actions": [
            {"kind": "notification", "id": "tell-submitted", "name": "Đã gửi", "notify_owner": true, "message": "#Code chờ duyệt"},
            {"kind": "notification", "id": "tell-approved", "name": "Đã duyệt", "notify_owner": true, "message": "#Code đã duyệt"},
            {"kind": "notification", "id": "tell-rejected", "name": "Từ chối", "notify_owner": true, "message": "#Code bị từ chối"}
        ]
    })
}

fn recording_definition() -> Value {
    json!({
        "module": "Order", "name": "Ghi doanh số",
        "trigger": {"type": "approval",
            "submitters": {"owner": true, "roles": ["salesperson"]},
            "steps": [
                {"name": "Quản lý", "approvers": [{"type": "submitter_manager"}],
                 "condition": {"type": "matching", "group": {"combine": "and", "rules": [
                     {"field": "Amount", "op": "greater_or_equal", "value": 50000000}]}}},
                {"name": "Kế toán", "kind": "record", "approvers": [{"type": "user", "user": "u-acct"}]}],
            "on_approve": ["tell"]},
        "actions": [{"kind": "notification", "id": "tell", "name": "Báo", "notify_owner": true, "message": "#Code đã ghi doanh số"}]
    })
}

/// An office with the customer c1 and `definition` as the active approval workflow `discount`.
async fn office_with(definition: Value) -> Office {
    let o = Office::new().await;
    o.record(Module::Customer, "c1", json!({"Name": "An"}))
        .await;
    o.definition("discount", definition).await;
    o
}

/// The discount workflow whose one step the lead and the accountant decide, as `decide` says.
fn lead_and_accountant(decide: &str) -> Value {
    let mut definition = discount_definition();
    definition["trigger"]["steps"][0]["approvers"] =
        json!([{"type": "user", "user": "u-lead"}, {"type": "user", "user": "u-acct"}]);
    definition["trigger"]["steps"][0]["decide"] = json!(decide);
    definition
}

/// An order of the salesperson's for the customer c1.
async fn order(o: &Office, id: &str, amount: i64) -> RecordId {
    o.record(
        Module::Order,
        id,
        json!({"Code": id, "Customer": "c1", "OrderDate": "2026-11-30", "Amount": amount, "Owner": "u-sales"}),
    )
    .await
}

async fn quote(o: &Office, id: &str, discount: i64) -> RecordId {
    o.record(
        Module::Quote,
        id,
        json!({"Code": id, "Customer": "c1", "Discount": discount, "Owner": "u-sales"}),
    )
    .await
}
