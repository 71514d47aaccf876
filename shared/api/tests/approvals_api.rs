//! Approval and sales-recording workflows through both APIs over DynamoDB (local emulator): a
//! definition saved and activated like any workflow, managers in the users API, a record
//! submitted and locked, decisions, races of approvers, a double click and a recall against an
//! approval settled to one outcome, the history and the pending list, revenue recorded once,
//! and decision links that work without a login, once.

mod common;

use axum::http::{Method, StatusCode};
use common::{App, Tenant, call, call_raw, records_api, workflow_api};
use crm_model::approval::links::DecisionLink;
use crm_model::approval::store::ApprovalStore;
use crm_model::ids::{RecordId, UserId};
use serde_json::{Value, json};
use std::collections::HashMap;

type Claims = HashMap<String, String>;

async fn send(
    app: &App,
    method: Method,
    path: &str,
    claims: &Claims,
    body: Option<Value>,
) -> common::Answer {
    call(&app.router, method, path, Some(claims), body, &[]).await
}

/// Both APIs, a tenant whose salesperson reports to the manager (an administrator), a customer.
struct Office {
    records: App,
    workflows: App,
    tenant: Tenant,
    customer: String,
}

impl Office {
    async fn new() -> Self {
        let (records, workflows) = (records_api().await, workflow_api().await);
        let tenant = Tenant::new(&records).await;
        let mut office = Office {
            records,
            workflows,
            tenant,
            customer: String::new(),
        };
        let admin = office.tenant.admin();
        let sales = json!({"id": "u-sales", "name": "Sáng", "email": "u-sales@example.vn",
                           "role": "salesperson", "manager": "u-manager"});
        let put = send(
            &office.records,
            Method::PUT,
            "/users/u-sales",
            &admin,
            Some(sales),
        )
        .await;
        assert_eq!(put.status, StatusCode::OK, "{}", put.body);
        let customer = office
            .post_record("Customer", json!({"Name": "Công ty An Phát"}))
            .await;
        assert_eq!(customer.status, StatusCode::CREATED, "{}", customer.body);
        office.customer = customer.body["id"].as_str().unwrap().to_owned();
        office
    }

    fn manager(&self) -> Claims {
        self.tenant.claims("u-manager", "[admin]")
    }

    async fn post_record(&self, module: &str, body: Value) -> common::Answer {
        let path = format!("/records/{module}");
        send(
            &self.records,
            Method::POST,
            &path,
            &self.tenant.salesperson(),
            Some(body),
        )
        .await
    }

    async fn definition(&self, id: &str, mut definition: Value) {
        let admin = self.tenant.admin();
        definition["id"] = json!(id);
        let created = send(
            &self.workflows,
            Method::POST,
            "/workflows",
            &admin,
            Some(definition),
        )
        .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let path = format!("/workflows/{id}/activate");
        let active = send(&self.workflows, Method::POST, &path, &admin, None).await;
        assert_eq!(active.status, StatusCode::OK, "{}", active.body);
    }

    async fn submit(&self, module: &str, record: &str) -> common::Answer {
        let path = format!("/records/{module}/{record}/approvals");
        let body = json!({"comment": "Xin duyệt"});
        send(
            &self.records,
            Method::POST,
            &path,
            &self.tenant.salesperson(),
            Some(body),
        )
        .await
    }

    async fn act(
        &self,
        claims: &Claims,
        target: (&str, &str, &str),
        action: &str,
        body: Option<Value>,
    ) -> common::Answer {
        let (module, record, request) = target;
        let path = format!("/records/{module}/{record}/approvals/{request}/{action}");
        send(&self.records, Method::POST, &path, claims, body).await
    }
}

fn discount_approval() -> Value {
    json!({
        "module": "Quote", "name": "Duyệt chiết khấu trên 20%",
        "trigger": {"type": "approval",
            "steps": [{"name": "Quản lý duyệt", "approvers": [{"type": "submitter_manager"}, {"type": "user", "user": "u-admin"}]}],
            "on_approve": ["tell"]},
        "condition": {"type": "matching", "group": {"combine": "and", "rules": [
            {"field": "Discount", "op": "greater_than", "value": 20}]}},
        "actions": [{"kind": "notification", "id": "tell", "name": "Báo", "notify_owner": true, "message": "#Code đã duyệt"}]
    })
}

/// A quote of the office's customer; its id.
async fn quote(office: &Office, code: &str, discount: i64) -> String {
    let created = office
        .post_record(
            "Quote",
            json!({"Code": code, "Customer": office.customer, "Discount": discount, "Amount": 100000000}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    created.body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_quote_is_submitted_locked_decided_once_and_its_history_read() {
    let o = Office::new().await;
    o.definition("discount", discount_approval()).await;
    let q1 = quote(&o, "BG-q1", 30).await;
    let q_small = quote(&o, "BG-nho", 5).await;

    let none = o.submit("Quote", &q_small).await;
    assert_eq!(none.status, StatusCode::CONFLICT, "{}", none.body);
    assert!(none.is_problem());

    let submitted = o.submit("Quote", &q1).await;
    assert_eq!(submitted.status, StatusCode::CREATED, "{}", submitted.body);
    assert_eq!(submitted.body["status"], "pending");
    assert!(
        submitted.body.get("link_key").is_none(),
        "the signing key never leaves"
    );
    assert_eq!(
        submitted.body["current"]["approvers"],
        json!(["u-manager", "u-admin"])
    );
    let request = submitted.body["id"].as_str().unwrap().to_owned();
    let twice = o.submit("Quote", &q1).await;
    assert_eq!(twice.status, StatusCode::CONFLICT, "{}", twice.body);

    // Locked for the salesperson, and the record says by what.
    let sales = o.tenant.salesperson();
    let edit = send(
        &o.records,
        Method::PATCH,
        &format!("/records/Quote/{q1}"),
        &sales,
        Some(json!({"Discount": 40})),
    )
    .await;
    assert_eq!(edit.status, StatusCode::CONFLICT, "{}", edit.body);
    assert!(
        edit.body["detail"].as_str().unwrap().contains(&request),
        "{}",
        edit.body
    );
    let read = send(
        &o.records,
        Method::GET,
        &format!("/records/Quote/{q1}"),
        &sales,
        None,
    )
    .await;
    assert_eq!(read.body["fields"]["Approval"]["request"], json!(request));

    // The manager sees it waiting; the salesperson may not decide.
    let mine = send(&o.records, Method::GET, "/me/approvals", &o.manager(), None).await;
    assert_eq!(
        mine.body["items"][0]["request"],
        json!(request),
        "{}",
        mine.body
    );
    let target = ("Quote", q1.as_str(), request.as_str());
    let not_theirs = o.act(&sales, target, "approve", None).await;
    assert_eq!(
        not_theirs.status,
        StatusCode::FORBIDDEN,
        "{}",
        not_theirs.body
    );

    // The two approvers decide at once: one outcome.
    let approve = json!({"comment": "Đồng ý"});
    let reject = json!({"comment": "Chiết khấu quá cao"});
    let admin = o.tenant.admin();
    let manager = o.manager();
    let (a, b) = tokio::join!(
        o.act(&manager, target, "approve", Some(approve)),
        o.act(&admin, target, "reject", Some(reject)),
    );
    let statuses = [a.status, b.status];
    assert!(
        statuses.contains(&StatusCode::OK) && statuses.contains(&StatusCode::CONFLICT),
        "{statuses:?}: {} / {}",
        a.body,
        b.body
    );
    let history = send(
        &o.records,
        Method::GET,
        &format!("/records/Quote/{q1}/approvals"),
        &sales,
        None,
    )
    .await;
    let decided = &history.body["items"][0];
    let events: Vec<&str> = decided["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    let finals = events
        .iter()
        .filter(|e| ["completed", "rejected"].contains(e))
        .count();
    assert_eq!(finals, 1, "{events:?}");
    assert_eq!(decided["history"][0]["comment"], "Xin duyệt");
    let read = send(
        &o.records,
        Method::GET,
        &format!("/records/Quote/{q1}"),
        &sales,
        None,
    )
    .await;
    assert!(read.body["fields"].get("Approval").is_none(), "unlocked");
    let edit = send(
        &o.records,
        Method::PATCH,
        &format!("/records/Quote/{q1}"),
        &sales,
        Some(json!({"Discount": 40})),
    )
    .await;
    assert_eq!(edit.status, StatusCode::OK, "{}", edit.body);
    let mine = send(&o.records, Method::GET, "/me/approvals", &o.manager(), None).await;
    assert_eq!(mine.body["items"], json!([]));
}

#[tokio::test]
async fn a_double_click_and_a_recall_racing_an_approval_leave_one_outcome() {
    let o = Office::new().await;
    o.definition("discount", discount_approval()).await;
    let q1 = quote(&o, "BG-q1", 30).await;
    let q2 = quote(&o, "BG-q2", 30).await;
    let manager = o.manager();

    let first = o.submit("Quote", &q1).await;
    let request = first.body["id"].as_str().unwrap().to_owned();
    let target = ("Quote", q1.as_str(), request.as_str());
    let (a, b) = tokio::join!(
        o.act(&manager, target, "approve", None),
        o.act(&manager, target, "approve", None),
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::CONFLICT],
        "{} / {}",
        a.body,
        b.body
    );

    let second = o.submit("Quote", &q2).await;
    let request = second.body["id"].as_str().unwrap().to_owned();
    let target = ("Quote", q2.as_str(), request.as_str());
    let sales = o.tenant.salesperson();
    let (recall, approve) = tokio::join!(
        o.act(
            &sales,
            target,
            "recall",
            Some(json!({"comment": "Sửa lại"}))
        ),
        o.act(&manager, target, "approve", None),
    );
    let statuses = [recall.status, approve.status];
    assert!(
        statuses.contains(&StatusCode::OK) && statuses.contains(&StatusCode::CONFLICT),
        "{statuses:?}: {} / {}",
        recall.body,
        approve.body
    );
    let path = format!("/records/Quote/{q2}/approvals/{request}");
    let read = send(&o.records, Method::GET, &path, &sales, None).await;
    let status = read.body["status"].as_str().unwrap();
    assert!(["recalled", "approved"].contains(&status), "{}", read.body);
}

#[tokio::test]
async fn managers_are_checked_and_an_administrator_reassigns() {
    let o = Office::new().await;
    let admin = o.tenant.admin();
    let bad = json!({"id": "u-sales", "name": "Sáng", "email": "u-sales@example.vn",
                     "role": "salesperson", "manager": "u-nobody"});
    let refused = send(&o.records, Method::PUT, "/users/u-sales", &admin, Some(bad)).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(refused.field_error("/manager"), "{}", refused.body);

    o.definition("discount", discount_approval()).await;
    let q1 = quote(&o, "BG-q1", 30).await;
    let submitted = o.submit("Quote", &q1).await;
    let request = submitted.body["id"].as_str().unwrap().to_owned();
    let target = ("Quote", q1.as_str(), request.as_str());
    let body = json!({"from": "u-manager", "to": "u-sales", "comment": "Nghỉ phép"});
    let by_sales = o
        .act(
            &o.tenant.salesperson(),
            target,
            "reassign",
            Some(body.clone()),
        )
        .await;
    assert_eq!(by_sales.status, StatusCode::FORBIDDEN, "{}", by_sales.body);
    let unknown = json!({"from": "u-manager", "to": "u-nobody"});
    let bad_target = o.act(&admin, target, "reassign", Some(unknown)).await;
    assert_eq!(
        bad_target.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        bad_target.body
    );
    assert!(bad_target.field_error("/to"), "{}", bad_target.body);
    let reassigned = o.act(&admin, target, "reassign", Some(body)).await;
    assert_eq!(reassigned.status, StatusCode::OK, "{}", reassigned.body);
    assert_eq!(
        reassigned.body["current"]["approvers"],
        json!(["u-sales", "u-admin"])
    );
    let unknown_action = o.act(&admin, target, "escalate", None).await;
    assert_eq!(unknown_action.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_orders_revenue_is_recorded_by_accounting_once() {
    let o = Office::new().await;
    let admin = o.tenant.admin();
    let accountant = json!({"id": "u-acct", "name": "Kế toán", "email": "u-acct@example.vn", "role": "salesperson"});
    let created = send(&o.records, Method::POST, "/users", &admin, Some(accountant)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let sample = json!({"id": "recording", "bindings": {"accountant": "u-acct"}});
    let from_sample = send(
        &o.workflows,
        Method::POST,
        "/samples/order-sales-recording/workflows",
        &admin,
        Some(sample),
    )
    .await;
    assert_eq!(
        from_sample.status,
        StatusCode::CREATED,
        "{}",
        from_sample.body
    );
    let active = send(
        &o.workflows,
        Method::POST,
        "/workflows/recording/activate",
        &admin,
        None,
    )
    .await;
    assert_eq!(active.status, StatusCode::OK, "{}", active.body);
    let order = o
        .post_record(
            "Order",
            json!({"Code": "DH-001", "Customer": o.customer, "OrderDate": "2026-11-30", "Amount": 30000000}),
        )
        .await;
    assert_eq!(order.status, StatusCode::CREATED, "{}", order.body);
    let o1 = order.body["id"].as_str().unwrap().to_owned();
    let submitted = o.submit("Order", &o1).await;
    assert_eq!(submitted.status, StatusCode::CREATED, "{}", submitted.body);
    assert_eq!(
        submitted.body["current"]["name"], "Kế toán ghi doanh số",
        "under 50 million"
    );
    let request = submitted.body["id"].as_str().unwrap().to_owned();
    let target = ("Order", o1.as_str(), request.as_str());
    let acct = o.tenant.claims("u-acct", "[sales]");
    let approve = o.act(&acct, target, "approve", None).await;
    assert_eq!(
        approve.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        approve.body
    );
    let negative = o
        .act(&acct, target, "record", Some(json!({"revenue": -1})))
        .await;
    assert!(negative.field_error("/revenue"), "{}", negative.body);
    let recorded = o
        .act(
            &acct,
            target,
            "record",
            Some(json!({"revenue": 29500000, "comment": "Đã đối soát"})),
        )
        .await;
    assert_eq!(recorded.status, StatusCode::OK, "{}", recorded.body);
    assert_eq!(recorded.body["status"], "approved");
    let read = send(
        &o.records,
        Method::GET,
        &format!("/records/Order/{o1}"),
        &o.tenant.salesperson(),
        None,
    )
    .await;
    assert_eq!(
        read.body["fields"]["RecordedRevenue"],
        json!(29500000),
        "{}",
        read.body
    );
    assert_eq!(read.body["fields"]["RecordedBy"], "u-acct");
    let again = o.submit("Order", &o1).await;
    assert_eq!(
        again.status,
        StatusCode::CONFLICT,
        "recorded once: {}",
        again.body
    );
    // The recorded fields are the system's: a person cannot write them.
    let sales = o.tenant.salesperson();
    let forged = send(
        &o.records,
        Method::PATCH,
        &format!("/records/Order/{o1}"),
        &sales,
        Some(json!({"RecordedRevenue": 1})),
    )
    .await;
    assert_eq!(
        forged.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        forged.body
    );
}

#[tokio::test]
async fn a_decision_link_opens_without_a_login_decides_once_and_nothing_else() {
    let o = Office::new().await;
    o.definition("discount", discount_approval()).await;
    let q1 = quote(&o, "BG-q1", 30).await;
    let submitted = o.submit("Quote", &q1).await;
    let request = submitted.body["id"].as_str().unwrap().to_owned();
    // The key the executor signs with, read where it is kept.
    let stored = o
        .records
        .stores
        .approvals
        .get(
            &o.tenant.id,
            &RecordId::new(&q1).unwrap(),
            &RecordId::new(&request).unwrap(),
        )
        .await
        .unwrap()
        .unwrap()
        .value;
    let link = |approver: &str| DecisionLink {
        tenant: o.tenant.id.clone(),
        record: RecordId::new(&q1).unwrap(),
        request: RecordId::new(&request).unwrap(),
        round: 1,
        approver: UserId::new(approver).unwrap(),
        expires: chrono::Utc::now() + chrono::Duration::days(7),
    };
    let token = link("u-manager").token(&stored.link_key);
    let path = format!("/approval-links/{token}");

    let page = call(&o.records.router, Method::GET, &path, None, None, &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.body.as_str().unwrap();
    assert!(
        html.contains("Phê duyệt") && html.contains("method=\"post\""),
        "{html}"
    );
    // Reading decides nothing.
    let still = send(
        &o.records,
        Method::GET,
        &format!("/records/Quote/{q1}/approvals/{request}"),
        &o.manager(),
        None,
    )
    .await;
    assert_eq!(still.body["status"], "pending");

    let forged = link("u-sales")
        .token(&stored.link_key)
        .replace(&request, "other");
    let not_asked = link("u-sales").token(&stored.link_key);
    for token in [forged, not_asked] {
        let refused = call(
            &o.records.router,
            Method::POST,
            &format!("/approval-links/{token}"),
            None,
            Some(json!({"verdict": "approve"})),
            &[],
        )
        .await;
        assert_eq!(refused.status, StatusCode::GONE, "{}", refused.body);
    }

    let decided = call_raw(
        &o.records.router,
        Method::POST,
        &path,
        None,
        Some("verdict=approve&comment=Qua+email"),
        "application/x-www-form-urlencoded",
        &[],
    )
    .await;
    assert_eq!(decided.status, StatusCode::OK, "{}", decided.body);
    let read = send(
        &o.records,
        Method::GET,
        &format!("/records/Quote/{q1}/approvals/{request}"),
        &o.manager(),
        None,
    )
    .await;
    assert_eq!(read.body["status"], "approved");
    assert_eq!(read.body["history"][2]["by"], "u-manager");
    assert_eq!(read.body["history"][2]["comment"], "Qua email");
    let replayed = call(
        &o.records.router,
        Method::POST,
        &path,
        None,
        Some(json!({"verdict": "reject"})),
        &[],
    )
    .await;
    assert_eq!(replayed.status, StatusCode::GONE, "{}", replayed.body);
    // A body over 24 KiB is refused before anything is read; a comment over 2,000 characters
    // is named.
    let too_big = call(
        &o.records.router,
        Method::POST,
        &path,
        None,
        Some(json!({"verdict": "reject", "comment": "x".repeat(30_000)})),
        &[],
    )
    .await;
    assert_eq!(too_big.status, StatusCode::PAYLOAD_TOO_LARGE);
    let long = call(
        &o.records.router,
        Method::POST,
        &path,
        None,
        Some(json!({"verdict": "reject", "comment": "ý".repeat(2_001)})),
        &[],
    )
    .await;
    assert!(long.field_error("/comment"), "{}", long.body);
}
