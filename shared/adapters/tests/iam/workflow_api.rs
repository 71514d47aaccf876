//! workflow-api through `workflow_api::state` and `app`: every route, as an administrator
//! would use them: samples, settings and provider credentials, workflows from a sample and from
//! a definition through their whole life (edit, activate, versions, preview, deactivate,
//! delete), run history and a retry, tenant settings and modules.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use crm_model::ports::{RunLedger, StoredRecord};
use crm_model::run::{RunRecord, RunStatus};
use crm_model::schedule::ActionJob;
use crm_model::schema::Module;
use crm_model::settings::outbound::OutboundPolicy;
use serde_json::json;

use super::harness::Audited;
use super::http::Caller;
use super::seed::Seed;

const CLOSED_PORT: &str = "http://127.0.0.1:9";

async fn settings_and_credentials(api: &Caller) {
    api.post(
        StatusCode::CREATED,
        "/settings/sms-providers",
        json!({"id": "sms-main", "name": "eSMS", "gateway": {"type": "brandname", "base_url": CLOSED_PORT, "brandname": "CRMDEMO"}}),
    )
    .await;
    let template = api
        .post(
            StatusCode::CREATED,
            "/settings/sms-templates",
            json!({"id": "sms-birthday", "name": "HPBD", "module": "Customer", "body": "Chúc mừng sinh nhật #Name!"}),
        )
        .await;
    api.post(
        StatusCode::CREATED,
        "/settings/task-connections",
        json!({"id": "jira", "name": "Jira", "url": format!("{CLOSED_PORT}/tasks")}),
    )
    .await;
    api.get("/settings/sms-templates").await;
    api.get("/settings/sms-templates/sms-birthday").await;
    let mut edited = template.body.clone();
    edited["name"] = json!("Sinh nhật");
    for key in ["id", "kind", "revision"] {
        if let Some(fields) = edited.as_object_mut() {
            fields.remove(key);
        }
    }
    api.ok(
        StatusCode::OK,
        Method::PUT,
        "/settings/sms-templates/sms-birthday",
        Some(edited),
        Some(&template.etag),
    )
    .await;

    // Credentials are written (created, then rotated), described and removed; never read.
    let path = "/settings/sms-providers/sms-main/credentials";
    let keys = json!({"api_key": "key-1", "secret_key": "secret-1"});
    api.ok(StatusCode::OK, Method::PUT, path, Some(keys), None)
        .await;
    let rotated = json!({"api_key": "key-2", "secret_key": "secret-2"});
    api.ok(StatusCode::OK, Method::PUT, path, Some(rotated), None)
        .await;
    api.get(path).await;
    // A user's mailbox: its password, and where its sync stands (the records table).
    api.ok(
        StatusCode::CREATED,
        Method::POST,
        "/settings/mailboxes",
        Some(
            json!({"id": "owner-mail", "name": "Hộp thư", "user": "u-owner",
                    "host": "imap.example.vn", "username": "owner", "auth": "password"}),
        ),
        None,
    )
    .await;
    api.ok(
        StatusCode::OK,
        Method::PUT,
        "/settings/mailboxes/owner-mail/credentials",
        Some(json!({"password": "app-pass"})),
        None,
    )
    .await;
    api.get("/settings/mailboxes/owner-mail/sync").await;
    let jira = "/settings/task-connections/jira/credentials";
    api.ok(
        StatusCode::OK,
        Method::PUT,
        jira,
        Some(json!({"signing_key": "hmac-1"})),
        None,
    )
    .await;
    api.ok(StatusCode::NO_CONTENT, Method::DELETE, jira, None, None)
        .await;
    // A provider deleted with its credentials.
    let connection = api.get("/settings/task-connections/jira").await;
    api.ok(
        StatusCode::OK,
        Method::PUT,
        jira,
        Some(json!({"signing_key": "hmac-2"})),
        None,
    )
    .await;
    api.ok(
        StatusCode::NO_CONTENT,
        Method::DELETE,
        "/settings/task-connections/jira",
        None,
        Some(&connection.etag),
    )
    .await;
}

async fn workflow_life(api: &Caller) {
    api.get("/samples").await;
    api.get("/samples/birthday-sms-and-call").await;
    let created = api.post(StatusCode::CREATED, "/samples/birthday-sms-and-call/workflows",
        json!({"id": "wf-birthday", "bindings": {"sms_provider": "sms-main", "sms_template": "sms-birthday"}})).await;
    api.get("/workflows?module=Customer&status=draft").await;
    let read = api.get("/workflows/wf-birthday").await;
    let mut definition = read.body["definition"].clone();
    definition["name"] = json!("Sinh nhật v2");
    let edited = api
        .ok(
            StatusCode::OK,
            Method::PUT,
            "/workflows/wf-birthday",
            Some(definition.clone()),
            Some(&created.etag),
        )
        .await;
    let active = api
        .ok(
            StatusCode::OK,
            Method::POST,
            "/workflows/wf-birthday/activate",
            None,
            Some(&edited.etag),
        )
        .await;
    definition["name"] = json!("Sinh nhật v3");
    api.ok(
        StatusCode::OK,
        Method::PUT,
        "/workflows/wf-birthday",
        Some(definition),
        Some(&active.etag),
    )
    .await;
    api.get("/workflows/wf-birthday/versions").await;
    api.get("/workflows/wf-birthday/versions/1").await;
    api.get("/workflows/wf-birthday/preview?days=30&render=5")
        .await;
    let off = api
        .ok(
            StatusCode::OK,
            Method::POST,
            "/workflows/wf-birthday/deactivate",
            None,
            None,
        )
        .await;
    api.ok(
        StatusCode::NO_CONTENT,
        Method::DELETE,
        "/workflows/wf-birthday",
        None,
        Some(&off.etag),
    )
    .await;

    let work = json!({"id": "wf-welcome", "module": "Customer", "name": "Chào mừng",
        "trigger": {"type": "record_event", "on": "created"},
        "actions": [{"kind": "notification", "id": "tell", "name": "Báo", "notify_owner": true, "message": "#Name"}]});
    api.post(StatusCode::CREATED, "/workflows", work).await;
    api.ok(
        StatusCode::OK,
        Method::POST,
        "/workflows/wf-welcome/activate",
        None,
        None,
    )
    .await;
    api.get("/workflows").await;
}

async fn runs_and_retry(api: &Caller, seed: &Seed) {
    let job = ActionJob {
        depth: 0,
        tenant: seed.tenant.clone(),
        workflow: crm_model::ids::WorkflowId::new("wf-welcome").unwrap(),
        version: 1,
        record: crm_model::ids::RecordId::new("c1").unwrap(),
        cause: "Eevt".into(),
        action: crm_model::ids::ActionId::new("tell").unwrap(),
        due_at: chrono::Utc::now(),
        snapshot: None,
    };
    let mut run = RunRecord::start(&job, "notification", chrono::Utc::now());
    run.status = RunStatus::Failed;
    run.error = Some("the record has no owner to notify".into());
    seed.stores.runs.record(&run).await.unwrap();
    let history = api.get("/workflows/wf-welcome/runs").await;
    let key = history.body["items"][0]["key"].clone();
    api.get("/records/c1/runs").await;
    api.post(
        StatusCode::ACCEPTED,
        "/workflows/wf-welcome/runs/retry",
        json!({"key": key}),
    )
    .await;
}

pub async fn exercise(audited: &mut Audited) {
    let seed = Seed::new().await;
    // Records the preview reads.
    let born = (chrono::Utc::now().date_naive() + chrono::Duration::days(10)).format("1990-%m-%d");
    let record = StoredRecord {
        id: crm_model::ids::RecordId::new("c1").unwrap(),
        module: Module::Customer,
        fields: json!({"Name": "Lan", "Phone": seed.phone(), "Birthday": born.to_string()})
            .as_object()
            .expect("fields")
            .clone(),
    };
    crm_model::ports::RecordStore::create(&seed.stores.records, &seed.tenant, &record)
        .await
        .unwrap();

    let stores = audited.stores(&seed.schedule_table);
    let publisher = Arc::new(audited.publisher());
    let state = workflow_api::state(
        stores,
        publisher,
        audited.secretsmanager(),
        OutboundPolicy::LOCAL,
    );
    let api = Caller::new(workflow_api::app(state), &seed.tenant, "u-admin", "[admin]");

    settings_and_credentials(&api).await;
    workflow_life(&api).await;
    runs_and_retry(&api, &seed).await;

    let tenant = api.get("/tenant-settings").await;
    let settings = json!({"time_zone": "Asia/Bangkok", "feb29_default": "mar1"});
    api.ok(
        StatusCode::OK,
        Method::PUT,
        "/tenant-settings",
        Some(settings),
        Some(&tenant.etag),
    )
    .await;
    api.get("/modules").await;
    api.get("/modules/Customer").await;
    allocation_and_scoring(&api, &seed).await;
}

/// The dry runs: an allocation rule that counts open records, and a scoring rule.
async fn allocation_and_scoring(api: &Caller, seed: &Seed) {
    seed.setting(
        "ar-load",
        json!({"kind": "allocation_rule", "name": "Ít việc nhất", "module": "Customer",
            "team": "Miền Bắc", "strategy": {"type": "fewest_open"}, "max_open": 50,
            "on_create": true}),
    )
    .await;
    seed.setting(
        "ar-rr",
        json!({"kind": "allocation_rule", "name": "Lần lượt", "module": "Customer",
            "users": ["u-owner", "u-manager"], "on_create": true, "priority": 1}),
    )
    .await;
    api.get("/modules/Customer/allocation-preview?records=5")
        .await;
    // A template's live preview reads the record and its owner.
    seed.record(
        "c-preview",
        Module::Customer,
        json!({"Name": "Nguyễn Văn An", "Owner": "u-owner"}),
    )
    .await;
    api.post(
        StatusCode::OK,
        "/modules/Customer/merge-preview",
        json!({"record": "c-preview", "texts": [{"text": "Chào #Name, #Owner.Email"}]}),
    )
    .await;
    api.post(
        StatusCode::CREATED,
        "/settings/web-forms",
        json!({"id": "wf-contact", "name": "Liên hệ", "module": "Lead", "fields": ["Name"],
            "owner": "u-owner"}),
    )
    .await;
    api.post(
        StatusCode::OK,
        "/settings/web-forms/wf-contact/key",
        json!(null),
    )
    .await;
    let scoring = seed.scoring_rule("2027-01-01T00:00:00Z").await;
    api.get(&format!("/workflows/{scoring}/score-preview?buckets=5"))
        .await;
}
