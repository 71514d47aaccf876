//! action-executor through `action_executor::handle`: SQS batches carrying a job of every
//! action kind (SMS by SNS and by a brandname gateway, email plain and with a PDF, tasks with
//! and without external sync, notifications, field updates of the record and of a related one,
//! hand-overs to a user and by round robin that move open activities, ZNS, care cards), each
//! delivered twice. Providers reached over HTTP point at a closed loopback port: their
//! credentials are still read from Secrets Manager, which is the AWS call that matters here.

use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use crm_model::ids::{ActionId, RecordId, WorkflowId};
use crm_model::ports::FixedClock;
use crm_model::schedule::ActionJob;
use crm_model::schema::Module;
use crm_model::settings::outbound::OutboundPolicy;
use serde_json::{Value, json};

use super::harness::Audited;
use super::seed::{Seed, at};

const NOW: &str = "2027-05-17T01:00:00Z";
/// Nothing listens there: a provider call fails at once, without leaving the machine.
const CLOSED_PORT: &str = "http://127.0.0.1:9";

async fn settings(seed: &Seed) {
    let settings: [(&str, Value); 12] = [
        (
            "sms",
            json!({"kind": "sms_provider", "name": "SNS", "gateway": {"type": "sns", "sender_id": "CRMDEMO"}}),
        ),
        (
            "esms",
            json!({"kind": "sms_provider", "name": "eSMS", "gateway": {"type": "brandname", "base_url": CLOSED_PORT, "brandname": "CRMDEMO"}}),
        ),
        (
            "sms-t",
            json!({"kind": "sms_template", "name": "HPBD", "module": "Customer", "body": "Chúc mừng sinh nhật #Name!"}),
        ),
        (
            "mailer",
            json!({"kind": "email_sender", "name": "CSKH", "from_address": "noreply@example.com", "from_name": "Chăm sóc khách hàng"}),
        ),
        (
            "mail-t",
            json!({"kind": "email_template", "name": "HPBD", "module": "Customer", "subject": "Chúc mừng #Name", "html_body": "<p>#Name</p>"}),
        ),
        (
            "order-mail-t",
            json!({"kind": "email_template", "name": "Đơn", "module": "Order", "subject": "Đơn #Code", "html_body": "<p>#Code</p>"}),
        ),
        (
            "voucher",
            json!({"kind": "print_template", "name": "Phiếu", "module": "Customer", "file_name": "Phiếu #Name", "body": "Kính gửi #Name"}),
        ),
        (
            "oa",
            json!({"kind": "zns_provider", "name": "OA", "oa_id": "1234", "base_url": CLOSED_PORT}),
        ),
        (
            "zns-t",
            json!({"kind": "zns_template", "name": "HPBD", "zalo_template_id": "231677", "parameters": ["customer_name"]}),
        ),
        (
            "jira",
            json!({"kind": "task_connection", "name": "Jira", "url": format!("{CLOSED_PORT}/tasks")}),
        ),
        (
            "rr",
            json!({"kind": "allocation_rule", "name": "Vòng tròn", "module": "Customer", "users": ["u-owner", "u-manager"]}),
        ),
        (
            "rr-order",
            // A team's members, by fewest open orders below a cap: the users listing and the
            // open-records index.
            json!({"kind": "allocation_rule", "name": "Đơn", "module": "Order", "team": "Miền Bắc",
                "strategy": {"type": "fewest_open"}, "max_open": 100}),
        ),
    ];
    for (id, setting) in settings {
        seed.setting(id, setting).await;
    }
}

fn customer_workflow() -> Value {
    json!({
        "module": "Customer", "name": "Mọi hành động",
        "trigger": {"type": "time", "date_field": "Birthday", "recurrence": "yearly", "time_of_day": "08:00:00"},
        "actions": [
            {"kind": "sms", "id": "sms", "name": "SMS", "provider": "sms", "recipient_fields": [{"field": "Phone"}], "template": "sms-t"},
            {"kind": "sms", "id": "sms-brand", "name": "SMS brandname", "provider": "esms", "recipient_fields": [{"field": "Phone"}], "template": "sms-t"},
            {"kind": "email", "id": "email", "name": "Email", "sender": "mailer", "recipient_fields": [{"field": "Email"}], "users": ["u-manager"], "template": "mail-t"},
            {"kind": "email", "id": "email-pdf", "name": "Email PDF", "sender": "mailer", "recipient_fields": [{"field": "Email"}], "template": "mail-t",
             "attachment": {"print_template": "voucher", "format": "pdf"}},
            {"kind": "task", "id": "task", "name": "Gọi", "title": "Gọi #Name", "due": {"days_after": 0, "time_of_day": "17:00:00"},
             "task_type": "Call", "priority": "High", "assignee": {"type": "record_owner"}, "related_users": ["u-manager"],
             "attachment": {"print_template": "voucher", "format": "pdf"}},
            {"kind": "task", "id": "task-sync", "name": "Gọi (Jira)", "title": "Gọi #Name", "due": {"days_after": 1}, "task_type": "Call",
             "priority": "High", "assignee": {"type": "record_owner"}, "external_sync": {"connection": "jira", "project": "CSKH"}},
            {"kind": "notification", "id": "tell", "name": "Báo", "users": ["u-manager"], "notify_owner": true, "message": "Sinh nhật #Name"},
            {"kind": "update_fields", "id": "mark", "name": "Ghi nhận", "values": [
                {"field": "Description", "value": {"type": "merge", "text": "Đã chúc mừng #Name"}}]},
            {"kind": "zns", "id": "zns", "name": "ZNS", "provider": "oa", "recipient_field": {"field": "Phone"},
             "template": "zns-t", "parameters": {"customer_name": "#Name"}},
            {"kind": "handover", "id": "give-user", "name": "Bàn giao", "to": {"type": "user", "user_id": "u-manager"},
             "move_open_activities": ["task", "care_card"]},
            {"kind": "handover", "id": "give-rr", "name": "Phân bổ", "to": {"type": "allocation_rule", "rule": "rr"},
             "move_open_activities": ["task"]}
        ]
    })
}

fn order_workflow() -> Value {
    json!({
        "module": "Order", "name": "Sau giao hàng",
        "trigger": {"type": "time", "date_field": "DeliveryDate", "recurrence": "once", "time_of_day": "08:00:00"},
        "actions": [
            {"kind": "care_card", "id": "card", "name": "Thẻ", "based_on": {"type": "products"}, "owner": {"type": "order_salesperson"},
             "notify_owner": true, "layout": "Sau bán", "care_date": {"days_after": 2},
             "fields": [{"field": "Notes", "value": {"type": "merge", "text": "Đơn #Code"}}]},
            {"kind": "update_fields", "id": "mark-customer", "name": "Khách", "via": "Customer", "values": [
                {"field": "Description", "value": {"type": "literal", "value": "Đã giao đơn"}}]},
            {"kind": "email", "id": "mail-customer", "name": "Email khách", "sender": "mailer",
             "recipient_fields": [{"via": "Customer", "field": "Email"}], "template": "order-mail-t"},
            {"kind": "handover", "id": "give-order", "name": "Phân bổ đơn", "to": {"type": "allocation_rule", "rule": "rr-order"}}
        ]
    })
}

fn job(seed: &Seed, workflow: &WorkflowId, record: &RecordId, action: &str) -> ActionJob {
    ActionJob {
        depth: 0,
        tenant: seed.tenant.clone(),
        workflow: workflow.clone(),
        version: 1,
        record: record.clone(),
        cause: "Y2027".into(),
        action: ActionId::new(action).unwrap(),
        due_at: at(NOW),
        snapshot: None,
    }
}

/// An SQS batch as the event source mapping delivers it: each body an EventBridge event.
fn batch(jobs: &[ActionJob]) -> SqsEvent {
    let records: Vec<Value> = jobs
        .iter()
        .map(|job| {
            let event = json!({"version": "0", "detail-type": "ActionJob", "source": "crm.automation", "detail": job});
            json!({"messageId": uuid::Uuid::new_v4().to_string(), "body": event.to_string(),
                "eventSource": "aws:sqs", "awsRegion": "us-east-1", "attributes": {}, "messageAttributes": {}})
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).expect("an SQS batch")
}

/// A quote waiting for the manager since the day before: its step's timer (the reminder and the
/// deadline both due) and the manager's email with the decision link.
async fn approval_jobs(seed: &Seed) -> Vec<ActionJob> {
    use crm_model::approval::followups::email_cause;
    use crm_model::approval::service::Approvals;
    let definition = json!({"module": "Quote", "name": "Duyệt chiết khấu",
        "trigger": {"type": "approval", "email_sender": "mailer",
            "steps": [{"name": "Quản lý", "approvers": [{"type": "user", "user": "u-manager"}],
                       "deadline": {"hours": 12, "remind_before_hours": 2, "escalate": true}}]},
        "actions": []});
    let workflow = seed
        .active_workflow("wf-approval", definition, "2027-01-01T00:00:00Z")
        .await;
    seed.record(
        "q1",
        Module::Quote,
        json!({"Code": "BG1", "Customer": "c1", "Owner": "u-owner"}),
    )
    .await;
    let clock = FixedClock(at("2027-05-16T01:00:00Z"));
    let owner = crm_model::record::service::Actor {
        tenant: seed.tenant.clone(),
        user: crm_model::ids::UserId::new("u-owner").unwrap(),
        role: crm_model::user::Role::Salesperson,
        access: crm_model::user::access::Access::everything(),
    };
    let approvals = Approvals {
        approvals: &seed.stores.approvals,
        records: &seed.stores.records,
        workflows: &seed.stores.workflows,
        settings: &seed.stores.settings,
        users: &seed.stores.users,
        clock: &clock,
    };
    let quote = RecordId::new("q1").unwrap();
    let request = approvals
        .submit(
            &owner,
            Module::Quote,
            &quote,
            None,
            RecordId::new("r1").unwrap(),
            "key".into(),
        )
        .await
        .unwrap();
    let mut timer = job(seed, &workflow, &quote, crm_model::approval::TIMER_KIND);
    timer.cause = "O202705170100".into();
    let mut email = job(seed, &workflow, &quote, crm_model::approval::EMAIL_KIND);
    let manager = crm_model::ids::UserId::new("u-manager").unwrap();
    email.cause = email_cause(&request.id, 1, &manager);
    vec![email, timer]
}

pub async fn exercise(audited: &mut Audited) {
    let seed = Seed::new().await;
    settings(&seed).await;
    let email = format!("an.{}@example.vn", seed.tag);
    let customer = seed
        .record(
            "c1",
            Module::Customer,
            json!({"Name": "Nguyễn Văn An", "Phone": seed.phone(), "Email": email, "Birthday": "1990-05-17", "Owner": "u-owner"}),
        )
        .await;
    // Open activities of the owner, which the hand-overs move.
    let task = json!({"Title": "Gọi lại", "Status": "Open", "Owner": "u-owner", "Assignee": "u-owner", "Customer": "c1"});
    seed.record("t1", Module::Task, task).await;
    seed.record(
        "cc1",
        Module::CareCard,
        json!({"Title": "Chăm sóc", "Status": "Open", "Owner": "u-owner", "Customer": "c1"}),
    )
    .await;
    let line = json!({"product": "Máy lọc nước", "category": "Gia dụng", "quantity": 1, "unit_price": 4500000});
    let order = json!({"Code": "DH00001", "Customer": "c1", "OrderDate": "2027-05-01", "DeliveryDate": "2027-05-17",
        "Status": "Delivered", "Salesperson": "u-manager", "Owner": "u-manager", "Lines": [line]});
    let order = seed.record("o1", Module::Order, order).await;
    let on_customer = seed
        .active_workflow("wf-customer", customer_workflow(), "2027-01-01T00:00:00Z")
        .await;
    let on_order = seed
        .active_workflow("wf-order", order_workflow(), "2027-01-01T00:00:00Z")
        .await;
    let scoring = seed.scoring_rule("2027-01-01T00:00:00Z").await;

    let stores = audited.stores(&seed.schedule_table);
    let clients = action_executor::AwsClients {
        sns: audited.sns(),
        ses: audited.sesv2(),
        secrets: audited.secretsmanager(),
        attachments: audited.attachments(),
    };
    let mut deps = action_executor::Deps::aws(stores, clients, OutboundPolicy::LOCAL);
    deps.clock = Arc::new(FixedClock(at(NOW)));

    let customer_actions = [
        "sms",
        "sms-brand",
        "email",
        "email-pdf",
        "task",
        "task-sync",
        "tell",
        "mark",
        "zns",
        "give-user",
        "give-rr",
    ];
    let mut jobs: Vec<ActionJob> = customer_actions
        .iter()
        .map(|action| job(&seed, &on_customer, &customer, action))
        .collect();
    for action in ["card", "mark-customer", "mail-customer", "give-order"] {
        jobs.push(job(&seed, &on_order, &order, action));
    }
    // The day a scoring rule's criterion flips, its job scores the record again.
    jobs.push(job(&seed, &scoring, &customer, "score"));
    jobs.extend(approval_jobs(&seed).await);
    // Every job twice: the second delivery finds the first one's run.
    for _ in 0..2 {
        for chunk in jobs.chunks(10) {
            action_executor::handle(&deps, &batch(chunk), None).await;
        }
    }
}
