//! The automation settings API end to end over DynamoDB (local emulator): tenant isolation on
//! every route, admin-only changes, problem+json errors that change nothing, optimistic
//! concurrency, versions, samples, settings, and the 10-active limit under a race.

mod common;

use axum::http::{Method, StatusCode};
use common::{App, Tenant, call, call_raw, workflow_api};
use crm_api::workflow_api::ROUTES;
use serde_json::{Value, json};

async fn post(
    app: &App,
    path: &str,
    claims: &std::collections::HashMap<String, String>,
    body: Value,
) -> common::Answer {
    call(
        &app.router,
        Method::POST,
        path,
        Some(claims),
        Some(body),
        &[],
    )
    .await
}

/// The settings the birthday sample needs, created through the API.
async fn birthday_settings(app: &App, tenant: &Tenant) {
    let admin = tenant.admin();
    let provider = post(
        app,
        "/settings/sms-providers",
        &admin,
        json!({
            "id": "sms-main", "name": "eSMS", "gateway": {"type": "brandname",
            "base_url": "https://rest.esms.vn", "brandname": "CRMDEMO"}
        }),
    )
    .await;
    assert_eq!(provider.status, StatusCode::CREATED, "{}", provider.body);
    let template = post(
        app,
        "/settings/sms-templates",
        &admin,
        json!({
            "id": "sms-birthday", "name": "Chúc mừng sinh nhật", "module": "Customer",
            "body": "Chúc mừng sinh nhật #Name! Chúc quý khách một năm mới nhiều niềm vui."
        }),
    )
    .await;
    assert_eq!(template.status, StatusCode::CREATED, "{}", template.body);
}

async fn birthday_workflow(app: &App, tenant: &Tenant, id: &str) -> common::Answer {
    post(
        app,
        "/samples/birthday-sms-and-call/workflows",
        &tenant.admin(),
        json!({
            "id": id, "bindings": {"sms_provider": "sms-main", "sms_template": "sms-birthday"}
        }),
    )
    .await
}

#[tokio::test]
async fn a_sample_becomes_a_stored_draft_workflow() {
    let app = workflow_api().await;
    let tenant = Tenant::new(&app).await;
    birthday_settings(&app, &tenant).await;
    let created = birthday_workflow(&app, &tenant, "wf-birthday").await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.etag(), "\"1\"");
    assert_eq!(created.headers["location"], "/workflows/wf-birthday");
    assert_eq!(created.body["status"], "draft");
    assert_eq!(created.body["kind"], "care");

    let read = call(
        &app.router,
        Method::GET,
        "/workflows/wf-birthday",
        Some(&tenant.salesperson()),
        None,
        &[],
    )
    .await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body["definition"], created.body["definition"]);
    let listed = call(
        &app.router,
        Method::GET,
        "/workflows?module=Customer&status=draft",
        Some(&tenant.admin()),
        None,
        &[],
    )
    .await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn another_tenants_ids_answer_404_on_every_route() {
    let app = workflow_api().await;
    let owner = Tenant::new(&app).await;
    let stranger = Tenant::new(&app).await;
    birthday_settings(&app, &owner).await;
    assert_eq!(
        birthday_workflow(&app, &owner, "wf-private").await.status,
        StatusCode::CREATED
    );

    let mut checked = 0;
    for (method, template) in ROUTES {
        let path = template
            .replace(
                "{id}",
                if template.starts_with("/samples") {
                    "birthday-sms-and-call"
                } else if template.starts_with("/settings") {
                    "sms-birthday"
                } else {
                    "wf-private"
                },
            )
            .replace("{kind}", "sms-templates")
            .replace("{version}", "1")
            .replace("{module}", "Customer");
        // Well-formed bodies: the id, not the body, decides the answer.
        let body = match (method.clone(), *template) {
            (Method::PUT, "/workflows/{id}") => Some(json!({
                "module": "Customer", "name": "x", "trigger": {"type": "record_event", "on": "created"},
                "actions": [{"kind": "notification", "id": "n", "name": "n", "notify_owner": true, "message": "m"}]})),
            (Method::PUT, "/settings/{kind}/{id}") => {
                Some(json!({"name": "x", "module": "Customer", "body": "hi"}))
            }
            (Method::PUT, "/tenant-settings") => Some(json!({})),
            (Method::PUT, "/settings/{kind}/{id}/credentials") => {
                Some(json!({"api_key": "k", "secret_key": "s"}))
            }
            (Method::POST, "/workflows/{id}/runs/retry") => Some(json!({"key": "x"})),
            (Method::POST, _) => Some(json!({})),
            _ => None,
        };
        let answer = call(
            &app.router,
            method.clone(),
            &path,
            Some(&stranger.admin()),
            body,
            &[("if-match", "\"1\"")],
        )
        .await;
        let names_owner_data = answer.body.to_string().contains("wf-private")
            || answer
                .body
                .to_string()
                .contains("Chúc mừng sinh nhật #Name");
        assert!(!names_owner_data, "{method} {path} leaked: {}", answer.body);
        let id_route = template.contains("{id}") && !template.starts_with("/samples");
        if id_route {
            assert_eq!(
                answer.status,
                StatusCode::NOT_FOUND,
                "{method} {path}: {}",
                answer.body
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "checked {checked} id routes");
    // And the owner still sees it, unchanged.
    let read = call(
        &app.router,
        Method::GET,
        "/workflows/wf-private",
        Some(&owner.admin()),
        None,
        &[],
    )
    .await;
    assert_eq!(
        (read.status, read.etag()),
        (StatusCode::OK, "\"1\"".to_owned())
    );
}

#[tokio::test]
async fn only_administrators_change_anything() {
    let app = workflow_api().await;
    let tenant = Tenant::new(&app).await;
    birthday_settings(&app, &tenant).await;
    assert_eq!(
        birthday_workflow(&app, &tenant, "wf-1").await.status,
        StatusCode::CREATED
    );
    let sales = tenant.salesperson();
    for (method, path) in [
        (Method::POST, "/workflows/wf-1/activate"),
        (Method::DELETE, "/workflows/wf-1"),
        (Method::POST, "/settings/email-senders"),
        (Method::PUT, "/tenant-settings"),
    ] {
        let answer = call(
            &app.router,
            method.clone(),
            path,
            Some(&sales),
            Some(json!({})),
            &[("if-match", "\"1\"")],
        )
        .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{method} {path}");
        assert!(answer.is_problem());
    }
    let anonymous = call(&app.router, Method::GET, "/workflows", None, None, &[]).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_input_gets_a_clear_4xx_and_changes_nothing() {
    let app = workflow_api().await;
    let tenant = Tenant::new(&app).await;
    let admin = tenant.admin();
    let r = &app.router;
    let malformed = call_raw(
        r,
        Method::POST,
        "/workflows",
        Some(&admin),
        Some("{\"name\": "),
        "application/json",
        &[],
    )
    .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert!(malformed.is_problem());
    let text = call_raw(
        r,
        Method::POST,
        "/workflows",
        Some(&admin),
        Some("{}"),
        "text/plain",
        &[],
    )
    .await;
    assert_eq!(text.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(300 * 1024));
    let oversize = call_raw(
        r,
        Method::POST,
        "/workflows",
        Some(&admin),
        Some(&huge),
        "application/json",
        &[],
    )
    .await;
    assert_eq!(oversize.status, StatusCode::PAYLOAD_TOO_LARGE);
    let unknown = post(
        &app,
        "/workflows",
        &admin,
        json!({
            "module": "Customer", "name": "x", "colour": "red",
            "trigger": {"type": "record_event", "on": "created"}, "actions": []
        }),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unknown.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("colour"),
        "{}",
        unknown.body
    );
    let wrong_type = post(
        &app,
        "/workflows",
        &admin,
        json!({
            "module": "Customer", "name": 5, "trigger": {"type": "time", "date_field": "Birthday",
            "recurrence": "yearly", "time_of_day": 8}, "actions": [{"kind": "notification",
            "id": "n", "name": "n", "message": "m", "users": "u-1"}]
        }),
    )
    .await;
    assert_eq!(wrong_type.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Every type error at once, each at its member (inside the tagged trigger and action too),
    // in JSON's words rather than Rust's.
    for path in ["/name", "/trigger/time_of_day", "/actions/0/users"] {
        assert!(
            wrong_type.field_error(path),
            "no error at {path}: {}",
            wrong_type.body
        );
    }
    assert!(!wrong_type.field_error("/trigger"), "{}", wrong_type.body);
    let words = wrong_type.body["errors"].to_string();
    for rust in ["struct", "u32", "enum ", "Vec<"] {
        assert!(!words.contains(rust), "{words}");
    }
    let invalid = post(&app, "/workflows", &admin, json!({
        "module": "Customer", "name": "", "trigger": {"type": "time", "date_field": "Phone", "recurrence": "yearly"},
        "actions": [{"kind": "sms", "id": "a", "name": "s", "provider": "nope", "template": "nope",
                     "recipient_fields": [{"field": "Phone"}]}]
    })).await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    for path in [
        "/name",
        "/trigger/date_field",
        "/actions/0/provider",
        "/actions/0/template",
    ] {
        assert!(
            invalid.field_error(path),
            "no error at {path}: {}",
            invalid.body
        );
    }
    let bad_limit = call(
        r,
        Method::GET,
        "/workflows?limit=0",
        Some(&admin),
        None,
        &[],
    )
    .await;
    assert_eq!(bad_limit.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bad_cursor = call(
        r,
        Method::GET,
        "/workflows?cursor=abcd",
        Some(&admin),
        None,
        &[],
    )
    .await;
    assert_eq!(bad_cursor.status, StatusCode::UNPROCESSABLE_ENTITY);
    let listed = call(r, Method::GET, "/workflows", Some(&admin), None, &[]).await;
    assert_eq!(listed.body["items"], json!([]), "nothing was stored");
    let nowhere = call(r, Method::GET, "/nowhere", Some(&admin), None, &[]).await;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
    assert!(nowhere.is_problem());
    let wrong_method = call(r, Method::PATCH, "/workflows", Some(&admin), None, &[]).await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(wrong_method.is_problem());
}

#[tokio::test]
async fn edits_need_the_current_etag_and_active_edits_make_versions() {
    let app = workflow_api().await;
    let tenant = Tenant::new(&app).await;
    let admin = tenant.admin();
    birthday_settings(&app, &tenant).await;
    let created = birthday_workflow(&app, &tenant, "wf-v").await;
    let mut definition = created.body["definition"].clone();
    definition["name"] = json!("Sinh nhật v2");

    let r = &app.router;
    let no_etag = call(
        r,
        Method::PUT,
        "/workflows/wf-v",
        Some(&admin),
        Some(definition.clone()),
        &[],
    )
    .await;
    assert_eq!(no_etag.status, StatusCode::PRECONDITION_REQUIRED);
    let stale = call(
        r,
        Method::PUT,
        "/workflows/wf-v",
        Some(&admin),
        Some(definition.clone()),
        &[("if-match", "\"9\"")],
    )
    .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);

    let active = call(
        r,
        Method::POST,
        "/workflows/wf-v/activate",
        Some(&admin),
        None,
        &[("if-match", "\"1\"")],
    )
    .await;
    assert_eq!(
        (active.status, active.body["status"].clone()),
        (StatusCode::OK, json!("active"))
    );
    let again = call(
        r,
        Method::POST,
        "/workflows/wf-v/activate",
        Some(&admin),
        None,
        &[],
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let edited = call(
        r,
        Method::PUT,
        "/workflows/wf-v",
        Some(&admin),
        Some(definition),
        &[("if-match", &active.etag())],
    )
    .await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.body);
    assert_eq!(edited.body["version"], 2);

    let versions = call(
        r,
        Method::GET,
        "/workflows/wf-v/versions",
        Some(&admin),
        None,
        &[],
    )
    .await;
    assert_eq!(versions.body["versions"], json!([1, 2]));
    let v1 = call(
        r,
        Method::GET,
        "/workflows/wf-v/versions/1",
        Some(&admin),
        None,
        &[],
    )
    .await;
    assert_eq!(
        v1.body["definition"]["name"],
        "Chúc mừng sinh nhật khách hàng"
    );
    let missing = call(
        r,
        Method::GET,
        "/workflows/wf-v/versions/7",
        Some(&admin),
        None,
        &[],
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    let busy = call(
        r,
        Method::DELETE,
        "/workflows/wf-v",
        Some(&admin),
        None,
        &[("if-match", &edited.etag())],
    )
    .await;
    assert_eq!(
        busy.status,
        StatusCode::CONFLICT,
        "an active workflow is not deleted"
    );
    let unknown_choice = call(
        r,
        Method::POST,
        "/workflows/wf-v/deactivate?queued_jobs=later",
        Some(&admin),
        None,
        &[],
    )
    .await;
    assert_eq!(unknown_choice.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        unknown_choice.body["errors"][0]["path"],
        "/query/queued_jobs"
    );
    let off = call(
        r,
        Method::POST,
        "/workflows/wf-v/deactivate?queued_jobs=finish",
        Some(&admin),
        None,
        &[],
    )
    .await;
    assert_eq!(off.body["status"], "inactive");
    assert_eq!(
        off.body["queued_jobs"], "finish",
        "the jobs already queued will still run"
    );
    let deleted = call(
        r,
        Method::DELETE,
        "/workflows/wf-v",
        Some(&admin),
        None,
        &[("if-match", &off.etag())],
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let gone = call(
        r,
        Method::GET,
        "/workflows/wf-v/versions/1",
        Some(&admin),
        None,
        &[],
    )
    .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_race_of_fifty_activations_leaves_exactly_ten_active() {
    let app = workflow_api().await;
    let tenant = Tenant::new(&app).await;
    birthday_settings(&app, &tenant).await;
    for i in 0..50 {
        let created = birthday_workflow(&app, &tenant, &format!("wf-{i:02}")).await;
        assert_eq!(created.status, StatusCode::CREATED);
    }
    let admin = tenant.admin();
    let races: Vec<_> = (0..50)
        .map(|i| {
            let router = app.router.clone();
            let admin = admin.clone();
            tokio::spawn(async move {
                call(
                    &router,
                    Method::POST,
                    &format!("/workflows/wf-{i:02}/activate"),
                    Some(&admin),
                    None,
                    &[],
                )
                .await
                .status
            })
        })
        .collect();
    let mut ok = 0;
    let mut conflicts = 0;
    for race in races {
        match race.await.unwrap() {
            StatusCode::OK => ok += 1,
            StatusCode::CONFLICT => conflicts += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((ok, conflicts), (10, 40));
    let mut active = 0;
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/workflows?status=active&limit=20&cursor={c}"),
            None => "/workflows?status=active&limit=20".to_owned(),
        };
        let page = call(&app.router, Method::GET, &path, Some(&admin), None, &[]).await;
        active += page.body["items"].as_array().unwrap().len();
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(active, 10);
}

#[tokio::test]
async fn settings_in_use_cannot_be_deleted_and_tenant_settings_are_versioned() {
    let app = workflow_api().await;
    let tenant = Tenant::new(&app).await;
    let admin = tenant.admin();
    birthday_settings(&app, &tenant).await;
    birthday_workflow(&app, &tenant, "wf-uses").await;
    let r = &app.router;
    let template = call(
        r,
        Method::GET,
        "/settings/sms-templates/sms-birthday",
        Some(&admin),
        None,
        &[],
    )
    .await;
    assert_eq!(template.body["module"], "Customer");
    let refused = call(
        r,
        Method::DELETE,
        "/settings/sms-templates/sms-birthday",
        Some(&admin),
        None,
        &[("if-match", &template.etag())],
    )
    .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.body["detail"].as_str().unwrap().contains("wf-uses"));

    let bad_template = post(
        &app,
        "/settings/sms-templates",
        &admin,
        json!({
            "name": "x", "module": "Customer", "body": "Xin chào #Nmae"
        }),
    )
    .await;
    assert_eq!(bad_template.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad_template.field_error("/body"));

    let tenant_settings = call(r, Method::GET, "/tenant-settings", Some(&admin), None, &[]).await;
    assert_eq!(
        (
            tenant_settings.body["time_zone"].clone(),
            tenant_settings.etag()
        ),
        (json!("Asia/Ho_Chi_Minh"), "\"0\"".to_owned())
    );
    assert_eq!(tenant_settings.body["message_countries"], json!(["VN"]));
    let unknown_country = call(
        r,
        Method::PUT,
        "/tenant-settings",
        Some(&admin),
        Some(json!({"message_countries": ["VN", "Viet Nam"]})),
        &[("if-match", "\"0\"")],
    )
    .await;
    assert_eq!(unknown_country.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown_country.field_error("/message_countries/1"));
    let custom = json!({"time_zone": "Asia/Bangkok", "feb29_default": "mar1", "custom_fields": [
        {"module": "Customer", "name": "ZaloId", "label_vi": "Zalo ID", "label_en": "Zalo ID", "kind": {"type": "text"}}]});
    let saved = call(
        r,
        Method::PUT,
        "/tenant-settings",
        Some(&admin),
        Some(custom.clone()),
        &[("if-match", "\"0\"")],
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let stale = call(
        r,
        Method::PUT,
        "/tenant-settings",
        Some(&admin),
        Some(custom),
        &[("if-match", "\"0\"")],
    )
    .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    let fields = call(r, Method::GET, "/modules/Customer", Some(&admin), None, &[]).await;
    assert!(
        fields.body["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "ZaloId")
    );
}

#[tokio::test]
async fn a_template_with_the_owner_merge_field_previews_the_owners_name() {
    use crm_model::ports::{RecordStore, StoredRecord};
    let app = workflow_api().await;
    let tenant = Tenant::new(&app).await;
    let admin = tenant.admin();
    birthday_settings(&app, &tenant).await;
    let template = post(
        &app,
        "/settings/sms-templates",
        &admin,
        json!({"id": "sms-owner", "name": "Phụ trách", "module": "Customer",
               "body": "#Name ơi, #{Chủ sở hữu} (#Owner.Email) chúc mừng sinh nhật!"}),
    )
    .await;
    assert_eq!(template.status, StatusCode::CREATED, "{}", template.body);
    let created = post(
        &app,
        "/samples/birthday-sms-and-call/workflows",
        &admin,
        json!({"id": "wf-owner", "bindings": {"sms_provider": "sms-main", "sms_template": "sms-owner"}}),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let today = chrono::Utc::now().date_naive();
    let born = (today + chrono::Duration::days(3)).with_year_checked(1990);
    let record = StoredRecord {
        id: crm_model::ids::RecordId::new("c-owned").unwrap(),
        module: crm_model::schema::Module::Customer,
        fields: json!({"Name": "Lan", "Birthday": born, "Phone": "0912345678", "Owner": "u-sales"})
            .as_object()
            .unwrap()
            .clone(),
    };
    app.stores
        .records
        .create(&tenant.id, &record)
        .await
        .unwrap();
    let preview = call(
        &app.router,
        Method::GET,
        "/workflows/wf-owner/preview?days=30&render=1",
        Some(&admin),
        None,
        &[],
    )
    .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    assert_eq!(
        preview.body["rendered"][0]["actions"][0]["text"],
        "Lan ơi, Người dùng u-sales (u-sales@example.vn) chúc mừng sinh nhật!"
    );
}

#[tokio::test]
async fn a_preview_lists_the_coming_occurrences_and_renders_the_first_messages() {
    use crm_model::ports::{RecordStore, StoredRecord};
    let app = workflow_api().await;
    let tenant = Tenant::new(&app).await;
    birthday_settings(&app, &tenant).await;
    assert_eq!(
        birthday_workflow(&app, &tenant, "wf-preview").await.status,
        StatusCode::CREATED
    );
    let today = chrono::Utc::now().date_naive();
    let born = |days: i64| (today + chrono::Duration::days(days)).with_year_checked(1990);
    for (id, name, phone, days) in [
        ("c1", "Lan", Some("0912345678"), 10),
        ("c2", "Minh", None, 12),
        ("c3", "Hoa", Some("0987654321"), 60),
    ] {
        let mut fields = json!({"Name": name, "Birthday": born(days)});
        if let Some(phone) = phone {
            fields["Phone"] = json!(phone);
        }
        let record = StoredRecord {
            id: crm_model::ids::RecordId::new(id).unwrap(),
            module: crm_model::schema::Module::Customer,
            fields: fields.as_object().unwrap().clone(),
        };
        app.stores
            .records
            .create(&tenant.id, &record)
            .await
            .unwrap();
    }
    let preview = call(
        &app.router,
        Method::GET,
        "/workflows/wf-preview/preview?days=30&render=5",
        Some(&tenant.admin()),
        None,
        &[],
    )
    .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    let occurrences = preview.body["occurrences"].as_array().unwrap();
    let listed: Vec<(String, bool)> = occurrences
        .iter()
        .map(|o| {
            (
                o["record"].as_str().unwrap().to_owned(),
                o["condition_met"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(listed, [("c1".to_owned(), true), ("c2".to_owned(), false)]);
    let rendered = &preview.body["rendered"][0];
    assert_eq!(rendered["record"], "c1");
    assert_eq!(
        rendered["actions"][0]["text"],
        "Chúc mừng sinh nhật Lan! Chúc quý khách một năm mới nhiều niềm vui."
    );
    assert_eq!(
        rendered["actions"][1]["subject"],
        "Gọi chúc mừng sinh nhật Lan"
    );
    let too_far = call(
        &app.router,
        Method::GET,
        "/workflows/wf-preview/preview?days=400",
        Some(&tenant.admin()),
        None,
        &[],
    )
    .await;
    assert_eq!(too_far.status, StatusCode::UNPROCESSABLE_ENTITY);
}

trait WithYear {
    fn with_year_checked(self, year: i32) -> String;
}

impl WithYear for chrono::NaiveDate {
    /// The same day and month in `year` (Feb 29 → Feb 28), as a YYYY-MM-DD string.
    fn with_year_checked(self, year: i32) -> String {
        use chrono::Datelike;
        self.with_year(year)
            .unwrap_or_else(|| chrono::NaiveDate::from_ymd_opt(year, 2, 28).unwrap())
            .to_string()
    }
}

#[tokio::test]
async fn a_failed_run_shows_in_the_history_and_can_be_retried_while_it_waits() {
    use crm_model::ports::RunLedger;
    use crm_model::run::{RunRecord, RunStatus};
    let app = workflow_api().await;
    let tenant = Tenant::new(&app).await;
    let stranger = Tenant::new(&app).await;
    birthday_settings(&app, &tenant).await;
    assert_eq!(
        birthday_workflow(&app, &tenant, "wf-runs").await.status,
        StatusCode::CREATED
    );
    let job = crm_model::schedule::ActionJob {
        depth: 0,
        tenant: tenant.id.clone(),
        workflow: crm_model::ids::WorkflowId::new("wf-runs").unwrap(),
        version: 1,
        record: crm_model::ids::RecordId::new("c1").unwrap(),
        cause: "Y2027".into(),
        action: crm_model::ids::ActionId::new("greeting-sms").unwrap(),
        due_at: chrono::Utc::now(),
        snapshot: None,
    };
    let mut run = RunRecord::start(&job, "sms", chrono::Utc::now());
    run.status = RunStatus::Failed;
    run.error = Some("no recipient has a valid phone number".into());
    run.skipped = vec![crm_model::run::SkippedRecipient {
        recipient: "0612 345 678".into(),
        reason: crm_model::run::SkipReason::InvalidNumber,
        detail: "not a valid phone number".into(),
    }];
    app.stores.runs.record(&run).await.unwrap();

    // A salesperson sees the runs on the records they reach: here, none of them.
    let theirs = call(
        &app.router,
        Method::GET,
        "/workflows/wf-runs/runs",
        Some(&tenant.salesperson()),
        None,
        &[],
    )
    .await;
    assert_eq!(theirs.status, StatusCode::OK, "{}", theirs.body);
    assert_eq!(theirs.body["items"], json!([]), "{}", theirs.body);
    let history = call(
        &app.router,
        Method::GET,
        "/workflows/wf-runs/runs",
        Some(&tenant.admin()),
        None,
        &[],
    )
    .await;
    assert_eq!(history.status, StatusCode::OK);
    assert_eq!(history.body["items"][0]["status"], "failed");
    assert_eq!(
        history.body["items"][0]["error"],
        "no recipient has a valid phone number"
    );
    assert_eq!(
        history.body["items"][0]["skipped"],
        json!([{"recipient": "0612 345 678", "reason": "invalid_number",
                "detail": "not a valid phone number"}]),
        "stored in the runs table and shown"
    );
    let key = history.body["items"][0]["key"].as_str().unwrap().to_owned();

    let foreign = call(
        &app.router,
        Method::GET,
        "/workflows/wf-runs/runs",
        Some(&stranger.admin()),
        None,
        &[],
    )
    .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    let foreign_retry = call(
        &app.router,
        Method::POST,
        "/workflows/wf-runs/runs/retry",
        Some(&stranger.admin()),
        Some(json!({"key": key})),
        &[],
    )
    .await;
    assert_eq!(foreign_retry.status, StatusCode::NOT_FOUND);
    let by_sales = call(
        &app.router,
        Method::POST,
        "/workflows/wf-runs/runs/retry",
        Some(&tenant.salesperson()),
        Some(json!({"key": key})),
        &[],
    )
    .await;
    assert_eq!(by_sales.status, StatusCode::FORBIDDEN);

    let retried = call(
        &app.router,
        Method::POST,
        "/workflows/wf-runs/runs/retry",
        Some(&tenant.admin()),
        Some(json!({"key": key})),
        &[],
    )
    .await;
    assert_eq!(retried.status, StatusCode::ACCEPTED, "{}", retried.body);
    assert_eq!(retried.body["status"], "retrying");
    let again = call(
        &app.router,
        Method::POST,
        "/workflows/wf-runs/runs/retry",
        Some(&tenant.admin()),
        Some(json!({"key": key})),
        &[],
    )
    .await;
    // A run still waiting (its job may have been dead-lettered) can be asked for again: the
    // ledger's claim lets one delivery send, whatever the number of requests.
    assert_eq!(again.status, StatusCode::ACCEPTED, "{}", again.body);
    assert_eq!(again.body["status"], "retrying");
}

#[tokio::test]
async fn an_administrator_lists_the_runs_the_queue_gave_up_on_and_a_retry_takes_one_off_the_list() {
    use crm_model::ports::RunLedger;
    use crm_model::run::{DeadLetter, RunRecord, RunStatus};
    let app = workflow_api().await;
    let tenant = Tenant::new(&app).await;
    let stranger = Tenant::new(&app).await;
    birthday_settings(&app, &tenant).await;
    birthday_workflow(&app, &tenant, "wf-dead").await;
    let now = chrono::Utc::now();
    for (record, dead) in [("c1", true), ("c2", false), ("c3", true)] {
        let job = crm_model::schedule::ActionJob {
            depth: 0,
            tenant: tenant.id.clone(),
            workflow: crm_model::ids::WorkflowId::new("wf-dead").unwrap(),
            version: 1,
            record: crm_model::ids::RecordId::new(record).unwrap(),
            cause: "Y2027".into(),
            action: crm_model::ids::ActionId::new("greeting-sms").unwrap(),
            due_at: now,
            snapshot: None,
        };
        let mut run = RunRecord::start(&job, "sms", now);
        run.status = RunStatus::Retrying;
        run.error = Some("temporarily unavailable: HTTP 503".into());
        run.dead_letter = dead.then(|| DeadLetter {
            at: now + chrono::Duration::seconds(if record == "c3" { 2 } else { 1 }),
            deliveries: 5,
        });
        app.stores.runs.record(&run).await.unwrap();
    }
    let listed = call(
        &app.router,
        Method::GET,
        "/dead-letters",
        Some(&tenant.admin()),
        None,
        &[],
    )
    .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let records: Vec<&str> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["record"].as_str().unwrap())
        .collect();
    assert_eq!(
        records,
        ["c3", "c1"],
        "latest first, only the dead-lettered"
    );
    assert_eq!(listed.body["items"][0]["dead_letter"]["deliveries"], 5);
    assert_eq!(
        listed.body["items"][0]["error"],
        "temporarily unavailable: HTTP 503"
    );
    for (who, claims) in [
        ("a salesperson", tenant.salesperson()),
        ("another tenant", stranger.admin()),
    ] {
        let other = call(
            &app.router,
            Method::GET,
            "/dead-letters",
            Some(&claims),
            None,
            &[],
        )
        .await;
        match who {
            "a salesperson" => assert_eq!(other.status, StatusCode::FORBIDDEN, "{who}"),
            _ => assert_eq!(other.body["items"], json!([]), "{who}: {}", other.body),
        }
    }
    let key = listed.body["items"][0]["key"].as_str().unwrap().to_owned();
    let retried = call(
        &app.router,
        Method::POST,
        "/workflows/wf-dead/runs/retry",
        Some(&tenant.admin()),
        Some(json!({"key": key})),
        &[],
    )
    .await;
    assert_eq!(retried.status, StatusCode::ACCEPTED, "{}", retried.body);
    assert!(
        retried.body.get("dead_letter").is_none(),
        "{}",
        retried.body
    );
    let after = call(
        &app.router,
        Method::GET,
        "/dead-letters",
        Some(&tenant.admin()),
        None,
        &[],
    )
    .await;
    let left: Vec<&str> = after.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["record"].as_str().unwrap())
        .collect();
    assert_eq!(left, ["c1"]);
}
