//! records-api through `records_api::state` and `app`: every route, as salespeople and an
//! administrator would use them: records of several modules created, listed, read, edited,
//! cloned and deleted; the customer page (related lists, histories, sales, purchase statistics,
//! orders, quotes, opportunities); duplicates and a merge; a hand-over with its notification;
//! users and teams; the inbox.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use super::harness::Audited;
use super::http::Caller;
use super::seed::Seed;
use super::support;
use crm_model::schema::Module;

async fn create(api: &Caller, module: &str, fields: Value) -> String {
    let answer = api
        .post(StatusCode::CREATED, &format!("/records/{module}"), fields)
        .await;
    answer.body["id"].as_str().expect("an id").to_owned()
}

async fn records(api: &Caller) {
    let id = create(
        api,
        "Customer",
        json!({"Name": "Nguyễn Thị Hằng", "Phone": "0912345678", "Province": "Hà Nội"}),
    )
    .await;
    api.get("/records/Customer?Province=H%C3%A0%20N%E1%BB%99i&sort=Name&order=asc&limit=2")
        .await;
    api.get("/records/Customer").await;
    let path = format!("/records/Customer/{id}");
    let read = api.get(&path).await;
    let mut fields = read.body["fields"].clone();
    fields["Province"] = json!("Huế");
    api.ok(
        StatusCode::OK,
        Method::PUT,
        &path,
        Some(fields),
        Some(&read.etag),
    )
    .await;
    api.ok(
        StatusCode::OK,
        Method::PATCH,
        &path,
        Some(json!({"Phone": "+84 987 654 321"})),
        None,
    )
    .await;
    let copy = api
        .ok(
            StatusCode::CREATED,
            Method::POST,
            &format!("{path}/clone"),
            None,
            None,
        )
        .await;
    let contact = create(api, "Contact", json!({"Name": "Chị Mai", "Customer": id})).await;
    api.ok(
        StatusCode::NO_CONTENT,
        Method::DELETE,
        &format!("/records/Contact/{contact}"),
        None,
        None,
    )
    .await;
    let copy = copy.body["id"].as_str().expect("an id").to_owned();
    api.ok(
        StatusCode::NO_CONTENT,
        Method::DELETE,
        &format!("/records/Customer/{copy}"),
        None,
        None,
    )
    .await;
}

async fn customer_page(api: &Caller) -> String {
    let customer = create(
        api,
        "Customer",
        json!({"Name": "Hoàng Văn Nam", "Email": "nam@example.vn"}),
    )
    .await;
    let base = format!("/customers/{customer}");
    let line =
        json!({"product": "Trà sen", "category": "Trà", "quantity": 2.0, "unit_price": 150000});
    let order = json!({"OrderDate": "2026-01-05", "Lines": [line]});
    let order = api
        .post(StatusCode::CREATED, &format!("{base}/orders"), order)
        .await;
    api.post(StatusCode::CREATED, &format!("{base}/quotes"), json!({}))
        .await;
    api.post(
        StatusCode::CREATED,
        &format!("{base}/opportunities"),
        json!({"Amount": 5000000}),
    )
    .await;
    create(
        api,
        "Task",
        json!({"Title": "Gọi lại", "Customer": customer, "Status": "Open"}),
    )
    .await;
    create(
        api,
        "CareCard",
        json!({"Title": "Chăm sóc", "Customer": customer, "Status": "Open"}),
    )
    .await;
    for view in [
        "related",
        "activities",
        "sales",
        "purchase-stats?from=2026-01-01&to=2026-12-31",
        "duplicates",
    ] {
        api.get(&format!("{base}/{view}")).await;
    }
    let order = order.body["id"].as_str().expect("an id").to_owned();
    api.ok(
        StatusCode::NO_CONTENT,
        Method::DELETE,
        &format!("/records/Order/{order}"),
        None,
        None,
    )
    .await;
    customer
}

async fn duplicates_and_merge(api: &Caller) {
    let keep = create(
        api,
        "Customer",
        json!({"Name": "Bùi Thu Trang", "Phone": "0912 345 679"}),
    )
    .await;
    let duplicate = create(
        api,
        "Customer",
        json!({"Name": "Trang Bùi", "Phone": "+84912345679", "Email": "trang@example.vn"}),
    )
    .await;
    api.post(
        StatusCode::CREATED,
        &format!("/customers/{duplicate}/orders"),
        json!({"OrderDate": "2026-06-01"}),
    )
    .await;
    create(
        api,
        "Task",
        json!({"Title": "Gửi báo giá", "Customer": duplicate}),
    )
    .await;
    api.get("/customers/duplicates?phone=%2B84912345679").await;
    api.get("/customers/duplicates?email=trang@example.vn")
        .await;
    let merge = json!({"duplicate": duplicate});
    api.post(
        StatusCode::OK,
        &format!("/customers/{keep}/merge"),
        merge.clone(),
    )
    .await;
    api.post(StatusCode::OK, &format!("/customers/{keep}/merge"), merge)
        .await;
}

async fn hand_over_and_inbox(api: &Caller, customer: &str) {
    api.post(
        StatusCode::OK,
        &format!("/customers/{customer}/hand-over"),
        json!({"to": "u-manager", "activities": ["task", "care_card"]}),
    )
    .await;
    let manager = api.as_user("u-manager");
    let inbox = manager.get("/me/notifications?unread=true").await;
    let key = inbox.body["items"][0]["key"]
        .as_str()
        .expect("a notification")
        .to_owned();
    let read = format!("/me/notifications/{key}/read");
    manager
        .ok(StatusCode::OK, Method::POST, &read, None, None)
        .await;
    manager.get("/me/notifications").await;
}

async fn people(admin: &Caller) {
    let user = json!({"id": "u-hoa", "name": "Trịnh Hoa", "email": "hoa@example.vn", "team": "Miền Bắc", "role": "salesperson"});
    admin.post(StatusCode::CREATED, "/users", user).await;
    admin
        .ok(
            StatusCode::OK,
            Method::PUT,
            "/users/u-hoa",
            Some(json!({"name": "Trịnh Hoa", "email": "hoa@example.vn", "team": "Miền Bắc", "role": "salesperson", "active": false})),
            None,
        )
        .await;
    admin.get("/users").await;
    admin.get("/users/u-hoa").await;
    admin.get("/teams").await;
}

pub async fn exercise(audited: &mut Audited) {
    let seed = Seed::new().await;
    let stores = audited.stores(&seed.schedule_table);
    let router = records_api::app(records_api::state(
        stores,
        audited.attachments(),
        audited.secretsmanager(),
        crm_model::settings::outbound::OutboundPolicy::LOCAL,
    ));
    // The administrator reaches every record and may do everything (deletes and merges
    // included), so every path that calls AWS is taken; a salesperson's listing then reads
    // through their access level (own records: a filter on the owner).
    let admin = Caller::new(router.clone(), &seed.tenant, "u-admin", "[admin]");
    let sales = Caller::new(router, &seed.tenant, "u-owner", "[sales]");

    records(&admin).await;
    let customer = customer_page(&admin).await;
    duplicates_and_merge(&admin).await;
    hand_over_and_inbox(&admin, &customer).await;
    people(&admin).await;
    attachments_and_activities(&admin, &seed).await;
    sales.get("/records/Customer").await;
    allocated_leads(&admin, &seed).await;
    approvals(&admin, &seed).await;
    coming_occurrences(&admin, &seed).await;
    loyalty(&admin, &seed).await;
    calls_and_messages(&admin, &seed).await;
}

/// A call placed through a stub switchboard (its keys read from Secrets Manager), one of its
/// signed events taken, and an email queued on the customer and listed.
async fn calls_and_messages(admin: &Caller, seed: &Seed) {
    use crm_model::ports::{SecretVault, SettingsStore};
    use crm_model::settings::secrets::{SecretName, SecretValue};
    let switchboard = axum::Router::new().route(
        "/calls",
        axum::routing::post(|| async { axum::Json(json!({"call_id": "pbx-1"})) }),
    );
    let base = support::serve(switchboard).await;
    for (id, setting) in [
        (
            "pbx",
            json!({"kind": "voip_provider", "name": "Tổng đài", "base_url": base,
                "extensions": {"u-admin": "101"}}),
        ),
        (
            "mailer",
            json!({"kind": "email_sender", "name": "CSKH", "from_address": "noreply@example.com"}),
        ),
    ] {
        seed.stores
            .settings
            .create(
                &seed.tenant,
                &crm_model::ids::SettingId::new(id).unwrap(),
                &serde_json::from_value(setting).unwrap(),
            )
            .await
            .unwrap();
    }
    let vault = crm_adapters::secrets::SecretsManagerVault::new(
        aws_sdk_secretsmanager::Client::new(&support::sdk().await),
    );
    let secret = "whsec-iam";
    vault
        .put(
            &SecretName::for_setting(
                &seed.tenant,
                crm_model::action::SettingKind::VoipProvider,
                &crm_model::ids::SettingId::new("pbx").unwrap(),
            ),
            &SecretValue::new(json!({"api_key": "k", "secret_key": secret}).to_string()),
        )
        .await
        .unwrap();
    let customer = create(
        admin,
        "Customer",
        json!({"Name": "Lý Thu", "Phone": "0912000111", "Email": "thu@example.vn"}),
    )
    .await;
    admin
        .post(
            StatusCode::CREATED,
            &format!("/customers/{customer}/calls"),
            json!({"key": "call-1", "phone": "0912000111"}),
        )
        .await;
    let event = json!({"call_id": "pbx-1", "event": "ended", "direction": "outbound",
        "from": "101", "to": "0912000111", "at": "2026-06-01T02:00:00Z", "duration_seconds": 12});
    let body = event.to_string();
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = aws_lc_rs::hmac::sign(&key, body.as_bytes());
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    let signature = format!("sha256={hex}");
    let taken = admin
        .send_with(
            Method::POST,
            &format!("/voip/{}.pbx/events", seed.tenant),
            Some(event),
            None,
            &[("x-crm-signature", &signature)],
        )
        .await;
    assert_eq!(taken.status, StatusCode::OK, "{}", taken.body);
    admin
        .post(
            StatusCode::ACCEPTED,
            &format!("/customers/{customer}/messages"),
            json!({"key": "m-1", "channel": "email", "sender": "mailer",
                "to": ["thu@example.vn"], "subject": "Chào #Name", "body": "<p>#Name</p>"}),
        )
        .await;
    admin.get(&format!("/customers/{customer}/messages")).await;
    // The caller's customer-page layout, saved and applied.
    admin.get("/me/customer-page").await;
    admin
        .ok(
            StatusCode::OK,
            Method::PUT,
            "/me/customer-page",
            Some(json!({"summary_fields": ["Name"], "related": [{"list": "orders", "columns": ["Code"]}]})),
            Some("\"0\""),
        )
        .await;
    admin.get(&format!("/customers/{customer}/view")).await;
}

/// Points redeemed against an order (the customer and its ledger entry in one transaction),
/// and the balance with its ledger.
async fn loyalty(admin: &Caller, seed: &Seed) {
    use crm_model::ports::SettingsStore;
    let current = seed
        .stores
        .settings
        .tenant_settings(&seed.tenant)
        .await
        .unwrap();
    let mut settings = current.value;
    settings.loyalty = Some(crm_model::record::loyalty::LoyaltyRule {
        amount_per_point: 100_000,
        tiers: Vec::new(),
    });
    seed.stores
        .settings
        .put_tenant_settings(&seed.tenant, &settings, current.revision)
        .await
        .unwrap();
    let customer = create(admin, "Customer", json!({"Name": "Đỗ Thị Loan"})).await;
    let order = admin
        .post(
            StatusCode::CREATED,
            &format!("/customers/{customer}/orders"),
            json!({"OrderDate": "2026-02-01", "Amount": 3_000_000}),
        )
        .await;
    let order = order.body["id"].as_str().expect("an id").to_owned();
    admin
        .post(
            StatusCode::CREATED,
            &format!("/customers/{customer}/loyalty/redemptions"),
            json!({"order": order, "points": 10, "key": "iam-redeem-1"}),
        )
        .await;
    admin.get(&format!("/customers/{customer}/loyalty")).await;
}

/// A record's coming care occurrences: its schedule entry of each active care workflow.
async fn coming_occurrences(admin: &Caller, seed: &Seed) {
    let definition = json!({"module": "Customer", "name": "Sinh nhật",
        "trigger": {"type": "time", "date_field": "Birthday", "recurrence": "yearly",
                    "time_of_day": "08:00"},
        "actions": [{"kind": "notification", "id": "n", "name": "N", "message": "Chúc mừng",
                     "notify_owner": true}]});
    seed.active_workflow("wf-birthday", definition, "2027-01-01T00:00:00Z")
        .await;
    let customer = create(
        admin,
        "Customer",
        json!({"Name": "Chị Hoa", "Birthday": "1990-05-17"}),
    )
    .await;
    admin
        .get(&format!("/records/Customer/{customer}/schedule"))
        .await;
}

/// A quote submitted, listed, decided by the manager (through the API and through an email's
/// link) and recalled; its history read.
async fn approvals(admin: &Caller, seed: &Seed) {
    let definition = json!({"module": "Quote", "name": "Duyệt chiết khấu",
        "trigger": {"type": "approval",
            "steps": [{"name": "Quản lý", "approvers": [{"type": "user", "user": "u-manager"}]}]},
        "actions": []});
    seed.active_workflow("wf-approval", definition, "2027-01-01T00:00:00Z")
        .await;
    let customer = create(admin, "Customer", json!({"Name": "Công ty Bình Minh"})).await;
    let manager = admin.as_user("u-manager");
    let mut requests = Vec::new();
    for code in ["BG1", "BG2", "BG3"] {
        let quote = create(admin, "Quote", json!({"Code": code, "Customer": customer})).await;
        let submitted = admin
            .post(
                StatusCode::CREATED,
                &format!("/records/Quote/{quote}/approvals"),
                json!({"comment": "Xin duyệt"}),
            )
            .await;
        let request = submitted.body["id"].as_str().expect("an id").to_owned();
        requests.push((quote, request));
    }
    manager.get("/me/approvals").await;
    let (quote, request) = &requests[0];
    let path = format!("/records/Quote/{quote}/approvals/{request}");
    manager
        .post(
            StatusCode::OK,
            &format!("{path}/approve"),
            json!({"comment": "Đồng ý"}),
        )
        .await;
    admin.get(&path).await;
    admin
        .get(&format!("/records/Quote/{quote}/approvals"))
        .await;
    let (quote, request) = &requests[1];
    admin
        .post(
            StatusCode::OK,
            &format!("/records/Quote/{quote}/approvals/{request}/recall"),
            json!({}),
        )
        .await;
    // An email's link: read and decided without a login.
    let (quote, request) = &requests[2];
    use crm_model::approval::store::ApprovalStore;
    let (quote_id, request_id) = (
        crm_model::ids::RecordId::new(quote.as_str()).unwrap(),
        crm_model::ids::RecordId::new(request.as_str()).unwrap(),
    );
    let stored = seed
        .stores
        .approvals
        .get(&seed.tenant, &quote_id, &request_id)
        .await
        .unwrap()
        .unwrap()
        .value;
    let link = crm_model::approval::links::DecisionLink {
        tenant: seed.tenant.clone(),
        record: quote_id,
        request: request_id,
        round: 1,
        approver: crm_model::ids::UserId::new("u-manager").unwrap(),
        expires: chrono::Utc::now() + chrono::Duration::days(1),
    };
    let path = format!("/approval-links/{}", link.token(&stored.link_key));
    admin.get(&path).await;
    admin
        .post(
            StatusCode::OK,
            &path,
            json!({"verdict": "reject", "comment": "Không"}),
        )
        .await;
}

/// New leads given by allocation rules: one counting open leads (a team, a cap), one taking
/// turns; then an import.
async fn allocated_leads(admin: &Caller, seed: &Seed) {
    seed.setting(
        "ar-referrals",
        json!({"kind": "allocation_rule", "name": "Giới thiệu", "module": "Lead",
            "team": "Miền Bắc", "strategy": {"type": "fewest_open"}, "max_open": 50,
            "on_create": true, "condition": {"type": "formula", "formula": "1",
                "clauses": [{"field": "Source", "op": "equals", "value": "Referral"}]}}),
    )
    .await;
    seed.setting(
        "ar-turns",
        json!({"kind": "allocation_rule", "name": "Lần lượt", "module": "Lead",
            "users": ["u-owner", "u-manager"], "on_create": true, "priority": 1}),
    )
    .await;
    create(
        admin,
        "Lead",
        json!({"Name": "Anh Tú", "Source": "Referral"}),
    )
    .await;
    create(admin, "Lead", json!({"Name": "Chị Mai"})).await;
    let rows = json!({"records": [{"fields": {"Name": "Ông Bảy"}}, {"fields": {"Name": ""}}]});
    admin.post(StatusCode::OK, "/imports/Lead", rows).await;
    // A website's submission to a form whose key was issued.
    let secret = "s".repeat(64);
    seed.setting(
        "wf-contact",
        json!({"kind": "web_form", "name": "Liên hệ", "module": "Lead", "fields": ["Name"],
            "owner": "u-owner",
            "key_sha256": crm_model::settings::web_form::hex_sha256(&secret)}),
    )
    .await;
    let key = format!("{}.wf-contact.{secret}", seed.tenant);
    admin
        .post(
            StatusCode::CREATED,
            &format!("/intake/{key}"),
            json!({"Name": "Cô Hạnh"}),
        )
        .await;
}

/// A task a workflow made for a lead, with its printed file: the lead's open activities, and a
/// link to the file.
async fn attachments_and_activities(admin: &Caller, seed: &Seed) {
    use crm_model::ports::{Attachment, AttachmentStore};
    seed.record(
        "l-iam",
        Module::Lead,
        json!({"Name": "Chị Lan", "Owner": "u-owner"}),
    )
    .await;
    let task = seed
        .record(
            "t-iam",
            Module::Task,
            json!({"Title": "Gọi", "Status": "Open", "Owner": "u-owner", "RelatedModule": "Lead",
                   "RelatedRecord": "l-iam", "Attachments": ["Phiếu.pdf"]}),
        )
        .await;
    let sdk = support::sdk().await;
    support::attachments(&sdk)
        .put(
            &seed.tenant,
            &task,
            &Attachment {
                file_name: "Phiếu.pdf".into(),
                content_type: "application/pdf".into(),
                data: b"%PDF-1.7".to_vec(),
            },
        )
        .await
        .unwrap();
    admin.get("/records/Lead/l-iam/activities?open=true").await;
    admin
        .get("/records/Task/t-iam/attachments/Phi%E1%BA%BFu.pdf")
        .await;
}
