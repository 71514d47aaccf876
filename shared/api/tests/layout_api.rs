//! Each user's customer page through the records API against the emulator: the default layout,
//! saved only over the ETag read, refused field by field, and applied to the customer view.

mod common;

use axum::http::{Method, StatusCode};
use common::{Tenant, call, create, records_api};
use serde_json::json;

#[tokio::test]
async fn a_layout_is_saved_over_the_etag_read_and_shapes_the_customer_view() {
    let app = records_api().await;
    let tenant = Tenant::new(&app).await;
    let me = tenant.salesperson();
    let customer = create(
        &app,
        &tenant,
        "Customer",
        json!({"Name": "Mai", "Phone": "0912345678"}),
    )
    .await;
    create(
        &app,
        &tenant,
        "Contact",
        json!({"Name": "Tú", "Customer": customer, "Phone": "0987654321"}),
    )
    .await;
    let read = call(
        &app.router,
        Method::GET,
        "/me/customer-page",
        Some(&me),
        None,
        &[],
    )
    .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert_eq!(read.etag(), "\"0\"");
    assert_eq!(read.body["related"].as_array().unwrap().len(), 7);

    let mine = json!({"summary_fields": ["Name", "Phone"],
        "related": [{"list": "contacts", "columns": ["Name"]}]});
    let unguarded = call(
        &app.router,
        Method::PUT,
        "/me/customer-page",
        Some(&me),
        Some(mine.clone()),
        &[],
    )
    .await;
    assert_eq!(
        unguarded.status,
        StatusCode::PRECONDITION_REQUIRED,
        "{}",
        unguarded.body
    );
    let bad = call(
        &app.router,
        Method::PUT,
        "/me/customer-page",
        Some(&me),
        Some(json!({"summary_fields": ["Nope"], "related": [{"list": "orders", "columns": ["Stage"]}]})),
        &[("if-match", "\"0\"")],
    )
    .await;
    assert!(
        bad.field_error("/summary_fields/0") && bad.field_error("/related/0/columns/0"),
        "{}",
        bad.body
    );
    let saved = call(
        &app.router,
        Method::PUT,
        "/me/customer-page",
        Some(&me),
        Some(mine.clone()),
        &[("if-match", "\"0\"")],
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(saved.etag(), "\"1\"");
    let stale = call(
        &app.router,
        Method::PUT,
        "/me/customer-page",
        Some(&me),
        Some(mine),
        &[("if-match", "\"0\"")],
    )
    .await;
    assert_eq!(
        stale.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        stale.body
    );

    let view = call(
        &app.router,
        Method::GET,
        &format!("/customers/{customer}/view"),
        Some(&me),
        None,
        &[],
    )
    .await;
    assert_eq!(view.status, StatusCode::OK, "{}", view.body);
    assert_eq!(view.body["summary_fields"], json!(["Name", "Phone"]));
    assert_eq!(view.body["lists"].as_array().unwrap().len(), 1);
    assert_eq!(
        view.body["lists"][0]["items"][0]["fields"],
        json!({"Name": "Tú"})
    );
    // The administrator's page keeps the default.
    let theirs = call(
        &app.router,
        Method::GET,
        &format!("/customers/{customer}/view"),
        Some(&tenant.admin()),
        None,
        &[],
    )
    .await;
    assert_eq!(theirs.body["lists"].as_array().unwrap().len(), 7);
}
