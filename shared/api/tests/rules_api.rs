//! Scoring and allocation rules through both APIs over DynamoDB (local emulator): a formula
//! condition read back as written and its mistakes named by pointer; a scoring rule saved,
//! activated and dry-run; allocation rules taking new leads, a bulk import with a result per
//! record that a resend recognises, and the allocation dry run.

mod common;

use axum::http::{Method, StatusCode};
use common::{App, Tenant, call, records_api, workflow_api};
use crm_model::schema::Module;
use serde_json::{Value, json};
use std::collections::HashMap;

async fn send(
    app: &App,
    method: Method,
    path: &str,
    claims: &HashMap<String, String>,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> common::Answer {
    call(&app.router, method, path, Some(claims), body, headers).await
}

async fn with_score_field(app: &App, tenant: &Tenant) {
    crm_model::testing::add_number_fields(
        &app.stores.settings,
        &tenant.id,
        Module::Lead,
        &["Score"],
    )
    .await;
}

fn scoring_rule(formula: &str) -> Value {
    json!({"id": "wf-score", "module": "Lead", "name": "Điểm khách tiềm năng",
        "trigger": {"type": "score", "score_field": "Score", "min": 0, "max": 100, "criteria": [
            {"name": "Hà Nội hoặc giới thiệu", "points": 40, "condition": {"type": "formula",
                "formula": formula, "clauses": [
                    {"field": "Province", "op": "equals", "value": "Hà Nội"},
                    {"field": "Source", "op": "equals", "value": "Referral"},
                    {"field": "Email", "op": "is_not_empty"}]}},
            {"name": "Có điện thoại", "points": 10, "condition": {"type": "formula", "formula": "1",
                "clauses": [{"field": "Phone", "op": "is_not_empty"}]}}]}})
}

#[tokio::test]
async fn a_scoring_rule_with_a_formula_is_checked_saved_as_written_activated_and_dry_run() {
    let app = workflow_api().await;
    let tenant = Tenant::new(&app).await;
    let admin = tenant.admin();
    with_score_field(&app, &tenant).await;

    let unbalanced = send(
        &app,
        Method::POST,
        "/workflows",
        &admin,
        Some(scoring_rule("(1 OR 2 AND 3")),
        &[],
    )
    .await;
    assert_eq!(
        unbalanced.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        unbalanced.body
    );
    assert!(
        unbalanced.field_error("/trigger/criteria/0/condition/formula"),
        "{}",
        unbalanced.body
    );
    let unknown = send(
        &app,
        Method::POST,
        "/workflows",
        &admin,
        Some(scoring_rule("(1 OR 2) AND 4")),
        &[],
    )
    .await;
    assert!(
        unknown.body.to_string().contains("there is no clause 4"),
        "{}",
        unknown.body
    );

    let formula = "(1 OR 2) AND 3";
    let created = send(
        &app,
        Method::POST,
        "/workflows",
        &admin,
        Some(scoring_rule(formula)),
        &[],
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["kind"], json!("scoring"));
    let read = send(&app, Method::GET, "/workflows/wf-score", &admin, None, &[]).await;
    assert_eq!(
        read.body["definition"]["trigger"]["criteria"][0]["condition"]["formula"],
        json!(formula),
        "read back as written"
    );
    let activated = send(
        &app,
        Method::POST,
        "/workflows/wf-score/activate",
        &admin,
        None,
        &[("if-match", &read.etag())],
    )
    .await;
    assert_eq!(activated.status, StatusCode::OK, "{}", activated.body);

    for (id, fields) in [
        (
            "l-hot",
            json!({"Name": "An", "Province": "Hà Nội", "Email": "an@example.vn", "Phone": "0912345678"}),
        ),
        ("l-cold", json!({"Name": "Bình", "Province": "Huế"})),
    ] {
        let record = crm_model::ports::StoredRecord {
            id: crm_model::ids::RecordId::new(id).unwrap(),
            module: Module::Lead,
            fields: fields.as_object().unwrap().clone(),
        };
        crm_model::ports::RecordStore::create(&app.stores.records, &tenant.id, &record)
            .await
            .unwrap();
    }
    let preview = send(
        &app,
        Method::GET,
        "/workflows/wf-score/score-preview?buckets=2",
        &admin,
        None,
        &[],
    )
    .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    assert_eq!(preview.body["scored"], json!(2));
    assert_eq!(
        (
            preview.body["lowest"].clone(),
            preview.body["highest"].clone()
        ),
        (json!(0), json!(50))
    );
    assert_eq!(preview.body["would_change"], json!(2), "nothing scored yet");
    assert_eq!(
        preview.body["criteria"],
        json!([{"name": "Hà Nội hoặc giới thiệu", "records": 1}, {"name": "Có điện thoại", "records": 1}])
    );
    let not_scoring = send(
        &app,
        Method::GET,
        "/workflows/nope/score-preview",
        &admin,
        None,
        &[],
    )
    .await;
    assert_eq!(not_scoring.status, StatusCode::NOT_FOUND);
    let sales = send(
        &app,
        Method::GET,
        "/workflows/wf-score/score-preview",
        &tenant.salesperson(),
        None,
        &[],
    )
    .await;
    assert_eq!(sales.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn allocation_rules_take_new_leads_and_imports_and_the_dry_run_writes_nothing() {
    let settings_api = workflow_api().await;
    let tenant = Tenant::new(&settings_api).await;
    let admin = tenant.admin();
    let bad = send(
        &settings_api,
        Method::POST,
        "/settings/allocation-rules",
        &admin,
        Some(
            json!({"id": "ar-bad", "name": "Sai", "module": "Lead", "on_create": true,
            "users": ["u-sales"], "max_open": 0,
            "strategy": {"type": "weighted", "weights": [{"user": "u-ghost", "weight": 500}]}}),
        ),
        &[],
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    for path in [
        "/max_open",
        "/strategy/weights/0/weight",
        "/strategy/weights/0/user",
    ] {
        assert!(bad.field_error(path), "{path}: {}", bad.body);
    }
    let rule = json!({"id": "ar-leads", "name": "Lần lượt", "module": "Lead", "on_create": true,
        "users": ["u-sales", "u-manager"]});
    let created = send(
        &settings_api,
        Method::POST,
        "/settings/allocation-rules",
        &admin,
        Some(rule),
        &[],
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);

    let records = records_api().await;
    let mut owners = Vec::new();
    for name in ["An", "Bình", "Chi"] {
        let answer = send(
            &records,
            Method::POST,
            "/records/Lead",
            &admin,
            Some(json!({"Name": name})),
            &[],
        )
        .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        owners.push(answer.body["fields"]["Owner"].as_str().unwrap().to_owned());
    }
    assert_eq!(owners, ["u-sales", "u-manager", "u-sales"]);

    let rows = json!({"records": [{"fields": {"Name": "Dũng"}}, {"fields": {"Name": ""}},
        {"id": "l-given", "fields": {"Name": "Giang", "Owner": "u-admin"}}]});
    let key = [("idempotency-key", "leads-2027-03")];
    let imported = send(
        &records,
        Method::POST,
        "/imports/Lead",
        &admin,
        Some(rows.clone()),
        &key,
    )
    .await;
    assert_eq!(imported.status, StatusCode::OK, "{}", imported.body);
    assert_eq!(
        (
            imported.body["created"].clone(),
            imported.body["invalid"].clone()
        ),
        (json!(2), json!(1)),
        "{}",
        imported.body
    );
    let results = &imported.body["results"];
    assert_eq!(
        results[0]["owner"],
        json!("u-manager"),
        "the rule's next turn"
    );
    assert_eq!(results[0]["rule"], json!("ar-leads"));
    assert_eq!(results[1]["problems"][0]["path"], json!("/fields/Name"));
    assert_eq!(
        results[2]["owner"],
        json!("u-admin"),
        "an owner given is kept"
    );
    let again = send(
        &records,
        Method::POST,
        "/imports/Lead",
        &admin,
        Some(rows),
        &key,
    )
    .await;
    assert_eq!(
        (again.body["created"].clone(), again.body["exists"].clone()),
        (json!(0), json!(2)),
        "{}",
        again.body
    );
    assert_eq!(again.body["results"][0]["id"], results[0]["id"]);
    let empty = send(
        &records,
        Method::POST,
        "/imports/Lead",
        &admin,
        Some(json!({"records": []})),
        &[],
    )
    .await;
    assert!(empty.field_error("/records"), "{}", empty.body);

    let dry = send(
        &settings_api,
        Method::GET,
        "/modules/Lead/allocation-preview?records=2",
        &admin,
        None,
        &[],
    )
    .await;
    assert_eq!(dry.status, StatusCode::OK, "{}", dry.body);
    let would: Vec<&str> = dry.body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["owner"].as_str().unwrap())
        .collect();
    assert_eq!(
        would,
        ["u-sales", "u-manager"],
        "turns go on from the counter"
    );
    let next = send(
        &records,
        Method::POST,
        "/records/Lead",
        &admin,
        Some(json!({"Name": "Hà"})),
        &[],
    )
    .await;
    assert_eq!(
        next.body["fields"]["Owner"],
        json!("u-sales"),
        "the dry run took no turn"
    );
}

#[tokio::test]
async fn a_web_form_takes_submissions_only_with_its_current_key_and_only_its_fields() {
    let settings_api = workflow_api().await;
    let tenant = Tenant::new(&settings_api).await;
    let admin = tenant.admin();
    let form = json!({"id": "contact", "name": "Liên hệ", "module": "Lead",
        "fields": ["Name", "Phone", "Email", "Province"], "fixed": {"Source": "WebForm"},
        "owner": "u-manager", "key_sha256": "0".repeat(64)});
    let created = send(
        &settings_api,
        Method::POST,
        "/settings/web-forms",
        &admin,
        Some(form),
        &[],
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert!(
        created.body.get("key_sha256").is_none(),
        "a key is only ever issued: {}",
        created.body
    );
    let by_sales = send(
        &settings_api,
        Method::POST,
        "/settings/web-forms/contact/key",
        &tenant.salesperson(),
        None,
        &[],
    )
    .await;
    assert_eq!(by_sales.status, StatusCode::FORBIDDEN);
    let issued = send(
        &settings_api,
        Method::POST,
        "/settings/web-forms/contact/key",
        &admin,
        None,
        &[],
    )
    .await;
    assert_eq!(issued.status, StatusCode::OK, "{}", issued.body);
    let key = issued.body["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with(&format!("{}.contact.", tenant.id)));

    let records = records_api().await;
    // No login: a visitor's browser sends no token.
    let submit = |key: String, body: Value, idempotency: Option<&'static str>| {
        let records = &records;
        async move {
            let headers: Vec<(&str, &str)> = idempotency
                .map(|k| ("idempotency-key", k))
                .into_iter()
                .collect();
            let path = format!("/intake/{key}");
            call(
                &records.router,
                Method::POST,
                &path,
                None,
                Some(body),
                &headers,
            )
            .await
        }
    };
    let lead = json!({"Name": "Chị Hoa", "Phone": "0912345678", "Province": "Hà Nội"});
    let first = submit(key.clone(), lead.clone(), Some("submit-1")).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let id = first.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        first.body.as_object().unwrap().len(),
        1,
        "only the id goes back"
    );
    let fields = common::fields(&records, &tenant, "Lead", &id).await;
    assert_eq!(fields["Source"], json!("WebForm"));
    assert_eq!(
        fields["Owner"],
        json!("u-manager"),
        "the form's owner: no rule takes it"
    );
    let again = submit(key.clone(), lead.clone(), Some("submit-1")).await;
    assert_eq!(
        (again.status, again.body["id"].clone()),
        (StatusCode::OK, json!(id))
    );

    let extra = submit(key.clone(), json!({"Name": "X", "Owner": "u-admin"}), None).await;
    assert_eq!(
        extra.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        extra.body
    );
    assert!(extra.field_error("/fields/Owner"), "{}", extra.body);
    let invalid = submit(key.clone(), json!({"Name": ""}), None).await;
    assert!(invalid.field_error("/fields/Name"), "{}", invalid.body);

    let forged = key.replace(".contact.", ".contact.x");
    let other_tenant = key.replacen(tenant.id.as_str(), "t-someone-else", 1);
    for wrong in [forged, other_tenant, "nonsense".to_owned()] {
        let refused = submit(wrong, lead.clone(), None).await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND, "{}", refused.body);
    }
    // A new key stops the old one.
    send(
        &settings_api,
        Method::POST,
        "/settings/web-forms/contact/key",
        &admin,
        None,
        &[],
    )
    .await;
    let stale = submit(key, lead, None).await;
    assert_eq!(stale.status, StatusCode::NOT_FOUND);
}
