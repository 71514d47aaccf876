//! Approval figures over the in-memory stores, which count every port call as the DynamoDB
//! adapters make them: what a submission, a decision, the stream's follow-up and a
//! sales recording cost in reads and writes (each write one call: a transaction is one), and
//! how many requests per second the use cases carry in process for `BENCH_REQUESTS` records,
//! each submitted, approved at a first step and recorded at a second.
//!
//!     cargo bench -p crm-model --bench approvals
//!     BENCH_REQUESTS=5000 cargo bench -p crm-model --bench approvals

use std::time::Instant;

use chrono::{DateTime, Utc};
use crm_model::approval::followups::Followups;
use crm_model::approval::service::{Approvals, DecisionInput, Verdict};
use crm_model::ids::{RecordId, TenantId, UserId, WorkflowId};
use crm_model::ports::{FixedClock, RecordStore, StoredRecord, UserDirectory};
use crm_model::record::service::Actor;
use crm_model::schema::Module;
use crm_model::testing::memory::{CallCounts, MemoryStores, RecordingPublisher};
use crm_model::user::access::Access;
use crm_model::user::{Role, User};
use crm_model::workflow::service::Workflows;
use serde_json::json;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("an instant")
}

fn user(id: &str, manager: Option<&str>) -> User {
    User {
        id: UserId::new(id).expect("an id"),
        name: id.into(),
        email: format!("{id}@example.vn"),
        phone: None,
        team: None,
        role: Role::Salesperson,
        manager: manager.map(|m| UserId::new(m).expect("an id")),
        active: true,
    }
}

fn delta(after: CallCounts, before: CallCounts) -> (u64, u64) {
    (after.reads - before.reads, after.writes - before.writes)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let requests: u64 = std::env::var("BENCH_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let stores = MemoryStores::new();
    let tenant = TenantId::new("bench").expect("an id");
    for u in [
        user("u-sales", Some("u-lead")),
        user("u-lead", None),
        user("u-acct", None),
    ] {
        stores.users.put(&tenant, &u).await.expect("a user");
    }
    let clock = FixedClock(at("2027-05-17T01:00:00Z"));
    let workflows = Workflows {
        workflows: &stores.workflows,
        settings: &stores.settings,
        users: &stores.users,
        schedule: &stores.schedule,
        clock: &clock,
    };
    let definition = json!({"module": "Order", "name": "Ghi doanh số",
        "trigger": {"type": "approval", "submitters": {"owner": true},
            "steps": [{"name": "Quản lý", "approvers": [{"type": "submitter_manager"}],
                       "deadline": {"hours": 24, "remind_before_hours": 4, "escalate": true}},
                      {"name": "Kế toán", "kind": "record", "approvers": [{"type": "user", "user": "u-acct"}]}],
            "on_submit": ["tell"], "on_approve": ["tell"]},
        "actions": [{"kind": "notification", "id": "tell", "name": "Báo", "notify_owner": true, "message": "#Code"}]});
    let admin = UserId::new("u-lead").expect("an id");
    let id = WorkflowId::new("recording").expect("an id");
    workflows
        .create(
            &tenant,
            &admin,
            id.clone(),
            serde_json::from_value(definition).expect("a definition"),
        )
        .await
        .expect("created");
    workflows
        .activate(&tenant, &admin, &id, None)
        .await
        .expect("active");
    let approvals = Approvals {
        approvals: &stores.approvals,
        records: &stores.records,
        workflows: &stores.workflows,
        settings: &stores.settings,
        users: &stores.users,
        clock: &clock,
    };
    let publisher = RecordingPublisher::new();
    let followups = Followups {
        workflows: &stores.workflows,
        schedule: &stores.schedule,
        publisher: &publisher,
        inbox: &stores.inbox,
    };
    let actor = |id: &str| Actor {
        tenant: tenant.clone(),
        user: UserId::new(id).expect("an id"),
        role: Role::Salesperson,
        access: Access::everything(),
    };
    let customer = StoredRecord {
        id: RecordId::new("c").expect("an id"),
        module: Module::Customer,
        fields: json!({"Name": "An"})
            .as_object()
            .cloned()
            .unwrap_or_default(),
    };
    stores
        .records
        .create(&tenant, &customer)
        .await
        .expect("a customer");
    for i in 0..requests {
        let fields = json!({"Code": format!("DH{i}"), "Customer": "c", "OrderDate": "2027-05-16",
                            "Amount": 80_000_000, "Owner": "u-sales"});
        let order = StoredRecord {
            id: RecordId::new(format!("o{i}")).expect("an id"),
            module: Module::Order,
            fields: fields.as_object().cloned().unwrap_or_default(),
        };
        stores
            .records
            .create(&tenant, &order)
            .await
            .expect("an order");
    }
    let input = |verdict| DecisionInput {
        verdict,
        revenue: None,
        comment: None,
    };
    let mut costs = Vec::new();
    let started = Instant::now();
    for i in 0..requests {
        let order = RecordId::new(format!("o{i}")).expect("an id");
        let request = RecordId::new(format!("r{i}")).expect("an id");
        let c0 = stores.total_calls();
        let submitted = approvals
            .submit(
                &actor("u-sales"),
                Module::Order,
                &order,
                None,
                request.clone(),
                "k".into(),
            )
            .await
            .expect("submitted");
        let c1 = stores.total_calls();
        followups.handle(None, &submitted).await.expect("followed");
        let c2 = stores.total_calls();
        let reviewed = approvals
            .decide(
                &actor("u-lead"),
                Module::Order,
                &order,
                &request,
                input(Verdict::Approve),
            )
            .await
            .expect("reviewed");
        let c3 = stores.total_calls();
        followups
            .handle(Some(&submitted), &reviewed)
            .await
            .expect("followed");
        let c4 = stores.total_calls();
        approvals
            .decide(
                &actor("u-acct"),
                Module::Order,
                &order,
                &request,
                input(Verdict::Record),
            )
            .await
            .expect("recorded");
        let c5 = stores.total_calls();
        if i == 0 {
            costs = vec![
                ("submit", delta(c1, c0)),
                ("submit_followup", delta(c2, c1)),
                ("decide_step", delta(c3, c2)),
                ("decide_followup", delta(c4, c3)),
                ("record_final", delta(c5, c4)),
            ];
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!("requests={requests}");
    for (what, (reads, writes)) in costs {
        println!("{what}_reads={reads}");
        println!("{what}_writes={writes}");
    }
    println!("jobs_published={}", publisher.jobs().len());
    println!("in_process_seconds={seconds:.2}");
    println!(
        "in_process_requests_per_second={:.0}",
        requests as f64 / seconds
    );
}
