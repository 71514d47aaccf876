//! The action library through the settings API over DynamoDB (local emulator): an action saved
//! once per module, attached to workflows by id, checked like an inline one; an edit reaches a
//! workflow only when an administrator applies it (a new version of an active workflow, the
//! runs of the old one still naming it), and a library action in use cannot be deleted.

mod common;

use axum::http::{Method, StatusCode};
use common::{App, Tenant, call, workflow_api};
use serde_json::{Value, json};

async fn send(
    app: &App,
    method: Method,
    path: &str,
    claims: &std::collections::HashMap<String, String>,
    body: Option<Value>,
    if_match: Option<&str>,
) -> common::Answer {
    let headers: Vec<(&str, &str)> = if_match.map(|e| ("if-match", e)).into_iter().collect();
    call(&app.router, method, path, Some(claims), body, &headers).await
}

fn greeting(message: &str) -> Value {
    json!({"name": "Chào khách mới", "module": "Customer",
           "action": {"kind": "notification", "id": "any", "name": "Báo chủ sở hữu",
                      "notify_owner": true, "message": message}})
}

fn attaching(name: &str) -> Value {
    json!({"module": "Customer", "name": name,
           "trigger": {"type": "record_event", "on": "created"},
           "actions": [], "attached": [{"id": "greet", "action": "lib-greet"}]})
}

#[tokio::test]
async fn a_library_action_is_attached_checked_applied_on_confirmation_and_kept_while_in_use() {
    let app = workflow_api().await;
    let tenant = Tenant::new(&app).await;
    let admin = tenant.admin();

    let mut invalid = greeting("Chào #Nmae");
    invalid["id"] = json!("lib-bad");
    let refused = send(
        &app,
        Method::POST,
        "/settings/actions",
        &admin,
        Some(invalid),
        None,
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(refused.field_error("/action/message"), "{}", refused.body);

    let mut library = greeting("Chào #Name");
    library["id"] = json!("lib-greet");
    let created = send(
        &app,
        Method::POST,
        "/settings/actions",
        &admin,
        Some(library),
        None,
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);

    for id in ["wf-lib-a", "wf-lib-b"] {
        let mut body = attaching(id);
        body["id"] = json!(id);
        let made = send(&app, Method::POST, "/workflows", &admin, Some(body), None).await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
        assert_eq!(
            made.body["definition"]["actions"][0]["id"], "greet",
            "{}",
            made.body
        );
        assert_eq!(
            made.body["definition"]["actions"][0]["message"],
            "Chào #Name"
        );
        assert_eq!(
            made.body["definition"]["attached"],
            json!([{"id": "greet", "action": "lib-greet"}])
        );
    }
    let on = send(
        &app,
        Method::POST,
        "/workflows/wf-lib-a/activate",
        &admin,
        None,
        None,
    )
    .await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);
    assert_eq!(on.body["version"], 1);

    // The edit is saved in the library; no workflow changes until it is applied.
    let edited = send(
        &app,
        Method::PUT,
        "/settings/actions/lib-greet",
        &admin,
        Some(greeting("Xin chào #Name")),
        Some(&created.etag()),
    )
    .await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.body);
    let before = send(&app, Method::GET, "/workflows/wf-lib-a", &admin, None, None).await;
    assert_eq!(
        before.body["definition"]["actions"][0]["message"],
        "Chào #Name"
    );
    // Saving a workflow for another reason publishes no unreviewed edit of its library actions.
    let draft = send(&app, Method::GET, "/workflows/wf-lib-b", &admin, None, None).await;
    let mut renamed = draft.body["definition"].clone();
    renamed["name"] = json!("Chào khách (đổi tên)");
    let saved = send(
        &app,
        Method::PUT,
        "/workflows/wf-lib-b",
        &admin,
        Some(renamed),
        Some(&draft.etag()),
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(
        saved.body["definition"]["actions"][0]["message"],
        "Chào #Name"
    );

    let uses = send(
        &app,
        Method::GET,
        "/settings/actions/lib-greet/workflows",
        &admin,
        None,
        None,
    )
    .await;
    assert_eq!(uses.status, StatusCode::OK, "{}", uses.body);
    assert_eq!(uses.body["would_change"], 2, "{}", uses.body);

    let forbidden = send(
        &app,
        Method::POST,
        "/settings/actions/lib-greet/apply",
        &tenant.salesperson(),
        None,
        None,
    )
    .await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    let applied = send(
        &app,
        Method::POST,
        "/settings/actions/lib-greet/apply",
        &admin,
        None,
        None,
    )
    .await;
    assert_eq!(applied.status, StatusCode::OK, "{}", applied.body);
    let mut results: Vec<(String, Value)> = applied.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["workflow"].as_str().unwrap().to_owned(),
                a["to_version"].clone(),
            )
        })
        .collect();
    results.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        results,
        [
            ("wf-lib-a".to_owned(), json!(2)),
            ("wf-lib-b".to_owned(), json!(1))
        ],
        "the active workflow gets a new version, the draft is edited in place"
    );
    let after = send(&app, Method::GET, "/workflows/wf-lib-a", &admin, None, None).await;
    assert_eq!(
        after.body["definition"]["actions"][0]["message"],
        "Xin chào #Name"
    );
    assert_eq!(after.body["status"], "active");
    let old = send(
        &app,
        Method::GET,
        "/workflows/wf-lib-a/versions/1",
        &admin,
        None,
        None,
    )
    .await;
    assert_eq!(old.status, StatusCode::OK, "{}", old.body);
    assert!(
        old.body.to_string().contains("Chào #Name"),
        "version 1 keeps its copy: {}",
        old.body
    );
    let again = send(
        &app,
        Method::GET,
        "/settings/actions/lib-greet/workflows",
        &admin,
        None,
        None,
    )
    .await;
    assert_eq!(again.body["would_change"], 0, "{}", again.body);

    let current = send(
        &app,
        Method::GET,
        "/settings/actions/lib-greet",
        &admin,
        None,
        None,
    )
    .await;
    let in_use = send(
        &app,
        Method::DELETE,
        "/settings/actions/lib-greet",
        &admin,
        None,
        Some(&current.etag()),
    )
    .await;
    assert_eq!(in_use.status, StatusCode::CONFLICT, "{}", in_use.body);
    assert!(
        in_use.body.to_string().contains("wf-lib-a"),
        "{}",
        in_use.body
    );
}

#[tokio::test]
async fn attaching_what_is_not_in_the_library_or_of_another_module_is_a_field_error() {
    let app = workflow_api().await;
    let tenant = Tenant::new(&app).await;
    let admin = tenant.admin();
    let mut library = greeting("Chào #Name");
    library["id"] = json!("lib-greet");
    let created = send(
        &app,
        Method::POST,
        "/settings/actions",
        &admin,
        Some(library),
        None,
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);

    let mut missing = attaching("Thiếu");
    missing["id"] = json!("wf-missing");
    missing["attached"][0]["action"] = json!("lib-nothing");
    let refused = send(
        &app,
        Method::POST,
        "/workflows",
        &admin,
        Some(missing),
        None,
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(
        refused.field_error("/attached/0/action"),
        "{}",
        refused.body
    );

    let mut elsewhere = attaching("Đơn hàng");
    elsewhere["id"] = json!("wf-order");
    elsewhere["module"] = json!("Order");
    let refused = send(
        &app,
        Method::POST,
        "/workflows",
        &admin,
        Some(elsewhere),
        None,
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(
        refused.field_error("/attached/0/action"),
        "{}",
        refused.body
    );

    // An action the request carries under an attachment's id is taken as its copy (a workflow
    // read and posted again, as a clone): the library's content is put in its place.
    let mut clone = attaching("Bản sao");
    clone["id"] = json!("wf-clone");
    clone["actions"] = json!([{"kind": "notification", "id": "greet", "name": "Cũ", "notify_owner": true, "message": "bản cũ #Name"}]);
    let made = send(&app, Method::POST, "/workflows", &admin, Some(clone), None).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    assert_eq!(
        made.body["definition"]["actions"].as_array().unwrap().len(),
        1
    );
    assert_eq!(
        made.body["definition"]["actions"][0]["message"],
        "Chào #Name"
    );
    let gone = send(
        &app,
        Method::DELETE,
        "/workflows/wf-clone",
        &admin,
        None,
        Some(&made.etag()),
    )
    .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.body);

    let listed = send(&app, Method::GET, "/workflows", &admin, None, None).await;
    assert_eq!(listed.body["items"], json!([]), "nothing saved");
    let not_library = send(
        &app,
        Method::GET,
        "/settings/sms-templates/anything/workflows",
        &admin,
        None,
        None,
    )
    .await;
    assert_eq!(not_library.status, StatusCode::NOT_FOUND);
}
