//! Data access levels end to end over the emulator: a salesperson reaches their own records (or
//! their team's, when the tenant says so), on every route that names a record, in listings,
//! duplicates and related lists; what their role may not do is refused with 403.

mod common;

use axum::http::{Method, StatusCode};
use common::{App, Tenant, call, records_api};
use crm_model::ids::UserId;
use crm_model::ports::{SettingsStore, UserDirectory};
use crm_model::user::access::AccessLevel;
use crm_model::user::{Role, User};
use serde_json::{Value, json};
use std::collections::HashMap;

const SECRET: &str = "Bí mật của đội A";

/// Two teams: u-sales and u-sales-a2 in A, u-sales-b in B.
async fn teams(app: &App) -> Tenant {
    let tenant = Tenant::new(app).await;
    for (id, team) in [("u-sales", "A"), ("u-sales-a2", "A"), ("u-sales-b", "B")] {
        let user = User {
            id: UserId::new(id).unwrap(),
            name: format!("Nhân viên {id}"),
            email: format!("{id}@example.vn"),
            phone: None,
            team: Some(team.into()),
            role: Role::Salesperson,
            manager: None,
            active: true,
        };
        app.stores.users.put(&tenant.id, &user).await.unwrap();
    }
    tenant
}

fn as_user(tenant: &Tenant, user: &str) -> HashMap<String, String> {
    tenant.claims(user, "[sales]")
}

async fn send(
    app: &App,
    claims: &HashMap<String, String>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> common::Answer {
    call(&app.router, method, path, Some(claims), body, &[]).await
}

async fn created(
    app: &App,
    claims: &HashMap<String, String>,
    module: &str,
    fields: Value,
) -> String {
    let answer = send(
        app,
        claims,
        Method::POST,
        &format!("/records/{module}"),
        Some(fields),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    answer.body["id"].as_str().unwrap().to_owned()
}

async fn listed(app: &App, claims: &HashMap<String, String>, path: &str) -> Vec<String> {
    let answer = send(app, claims, Method::GET, path, None).await;
    assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.body);
    let mut ids: Vec<String> = answer.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

async fn set_level(app: &App, tenant: &Tenant, level: AccessLevel) {
    let mut settings = app
        .stores
        .settings
        .tenant_settings(&tenant.id)
        .await
        .unwrap();
    settings.value.access.salesperson.level = level;
    app.stores
        .settings
        .put_tenant_settings(&tenant.id, &settings.value, settings.revision)
        .await
        .unwrap();
}

#[tokio::test]
async fn another_salesperson_finds_none_of_your_records_on_any_route() {
    let app = records_api().await;
    let tenant = teams(&app).await;
    let (a, b) = (as_user(&tenant, "u-sales"), as_user(&tenant, "u-sales-b"));
    let mine = created(
        &app,
        &a,
        "Customer",
        json!({"Name": SECRET, "Phone": "0912000111"}),
    )
    .await;
    let theirs = created(
        &app,
        &b,
        "Customer",
        json!({"Name": "Khách của B", "Phone": "0912000111"}),
    )
    .await;

    let record_routes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/records/Customer/{mine}"), None),
        (
            Method::PUT,
            format!("/records/Customer/{mine}"),
            Some(json!({"Name": "x"})),
        ),
        (
            Method::PATCH,
            format!("/records/Customer/{mine}"),
            Some(json!({"Name": "x"})),
        ),
        (Method::DELETE, format!("/records/Customer/{mine}"), None),
        (
            Method::POST,
            format!("/records/Customer/{mine}/clone"),
            Some(json!({})),
        ),
        (Method::GET, format!("/customers/{mine}/duplicates"), None),
        (Method::GET, format!("/customers/{mine}/related"), None),
        (Method::GET, format!("/customers/{mine}/activities"), None),
        (Method::GET, format!("/customers/{mine}/sales"), None),
        (
            Method::GET,
            format!("/customers/{mine}/purchase-stats"),
            None,
        ),
        (
            Method::POST,
            format!("/customers/{mine}/orders"),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("/customers/{mine}/quotes"),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("/customers/{mine}/opportunities"),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("/customers/{mine}/hand-over"),
            Some(json!({"to": "u-sales-b"})),
        ),
        (
            Method::POST,
            format!("/customers/{theirs}/merge"),
            Some(json!({"duplicate": mine})),
        ),
    ];
    for (method, path, body) in &record_routes {
        let extra = [("if-match", "\"1\"")];
        let answer = call(
            &app.router,
            method.clone(),
            path,
            Some(&b),
            body.clone(),
            &extra,
        )
        .await;
        let expected = if path.ends_with("/merge") {
            // B may not merge at all: refused before anything is looked up.
            StatusCode::FORBIDDEN
        } else {
            StatusCode::NOT_FOUND
        };
        assert_eq!(answer.status, expected, "{method} {path}: {}", answer.body);
        assert!(
            !answer.body.to_string().contains(SECRET),
            "{method} {path} leaked"
        );
    }
    // Listings, searches and duplicates by value leave it out too.
    assert_eq!(
        listed(&app, &b, "/records/Customer").await,
        vec![theirs.clone()]
    );
    assert_eq!(
        listed(&app, &b, "/records/Customer?sort=Name").await,
        vec![theirs.clone()]
    );
    assert_eq!(
        listed(&app, &b, "/records/Customer?Phone=0912000111").await,
        vec![theirs.clone()]
    );
    let dupes = send(
        &app,
        &b,
        Method::GET,
        "/customers/duplicates?phone=0912000111",
        None,
    )
    .await;
    assert!(!dupes.body.to_string().contains(&mine), "{}", dupes.body);
    // The administrator reaches both; nothing of A's changed.
    let mut both = vec![mine.clone(), theirs.clone()];
    both.sort();
    assert_eq!(
        listed(&app, &tenant.admin(), "/records/Customer").await,
        both
    );
    let read = send(
        &app,
        &a,
        Method::GET,
        &format!("/records/Customer/{mine}"),
        None,
    )
    .await;
    assert_eq!(read.body["fields"]["Name"], SECRET);
    assert_eq!(read.body["revision"], 1);
}

#[tokio::test]
async fn at_team_level_a_teammate_reaches_your_records_and_another_team_does_not() {
    let app = records_api().await;
    let tenant = teams(&app).await;
    set_level(&app, &tenant, AccessLevel::Team).await;
    let (a, a2, b) = (
        as_user(&tenant, "u-sales"),
        as_user(&tenant, "u-sales-a2"),
        as_user(&tenant, "u-sales-b"),
    );
    let mine = created(&app, &a, "Customer", json!({"Name": SECRET})).await;
    let path = format!("/records/Customer/{mine}");
    assert_eq!(
        send(&app, &a2, Method::GET, &path, None).await.status,
        StatusCode::OK
    );
    let edit = send(
        &app,
        &a2,
        Method::PATCH,
        &path,
        Some(json!({"Province": "Hà Nội"})),
    )
    .await;
    assert_eq!(edit.status, StatusCode::OK, "{}", edit.body);
    assert_eq!(
        send(&app, &b, Method::GET, &path, None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        listed(&app, &a2, "/records/Customer").await,
        vec![mine.clone()]
    );
    assert!(listed(&app, &b, "/records/Customer").await.is_empty());
}

#[tokio::test]
async fn what_the_role_may_not_do_is_refused_and_changes_nothing() {
    let app = records_api().await;
    let tenant = teams(&app).await;
    let (a, b) = (as_user(&tenant, "u-sales"), as_user(&tenant, "u-sales-b"));
    let customer = created(&app, &a, "Customer", json!({"Name": SECRET})).await;
    let other = created(&app, &b, "Customer", json!({"Name": "Khách của B"})).await;
    // Salespeople delete no customers and merge none (by default); leads they may delete.
    let delete = send(
        &app,
        &a,
        Method::DELETE,
        &format!("/records/Customer/{customer}"),
        None,
    )
    .await;
    assert_eq!(delete.status, StatusCode::FORBIDDEN, "{}", delete.body);
    assert!(
        delete.body["detail"].as_str().unwrap().contains("delete"),
        "{}",
        delete.body
    );
    let lead = created(&app, &a, "Lead", json!({"Name": "Khách tiềm năng"})).await;
    let gone = send(
        &app,
        &a,
        Method::DELETE,
        &format!("/records/Lead/{lead}"),
        None,
    )
    .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.body);
    // An order for a customer out of reach names a customer that, for them, does not exist.
    let order = send(
        &app,
        &a,
        Method::POST,
        "/records/Order",
        Some(json!({"Code": "DH-1", "OrderDate": "2027-01-10", "Customer": other})),
    )
    .await;
    assert_eq!(
        order.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        order.body
    );
    assert!(order.field_error("/fields/Customer"), "{}", order.body);
    // Handing one's customer over to a colleague is allowed, and then it is theirs alone.
    let path = format!("/records/Customer/{customer}");
    let handed = send(
        &app,
        &a,
        Method::PATCH,
        &path,
        Some(json!({"Owner": "u-sales-b"})),
    )
    .await;
    assert_eq!(handed.status, StatusCode::OK, "{}", handed.body);
    assert_eq!(
        send(&app, &a, Method::GET, &path, None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        send(&app, &b, Method::GET, &path, None).await.status,
        StatusCode::OK
    );
    // The administrator still deletes and merges.
    let merged = send(
        &app,
        &tenant.admin(),
        Method::POST,
        &format!("/customers/{other}/merge"),
        Some(json!({"duplicate": customer})),
    )
    .await;
    assert_eq!(merged.status, StatusCode::OK, "{}", merged.body);
}

#[tokio::test]
async fn related_lists_and_purchase_statistics_count_only_what_you_reach() {
    let app = records_api().await;
    let tenant = teams(&app).await;
    let a = as_user(&tenant, "u-sales");
    let customer = created(&app, &a, "Customer", json!({"Name": "Khách chung"})).await;
    // The administrator records an order of B's under A's customer.
    let order = json!({"Code": "DH-B", "Customer": customer, "Owner": "u-sales-b", "OrderDate": "2027-01-10", "Status": "Delivered",
                       "Lines": [{"product": "Trà", "quantity": 1, "unit_price": 100000}]});
    let theirs = created(&app, &tenant.admin(), "Order", order).await;
    for path in [
        format!("/customers/{customer}/related"),
        format!("/customers/{customer}/sales"),
    ] {
        let answer = send(&app, &a, Method::GET, &path, None).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.body);
        assert!(
            !answer.body.to_string().contains(&theirs),
            "{path}: {}",
            answer.body
        );
        let admin = send(&app, &tenant.admin(), Method::GET, &path, None).await;
        assert!(
            admin.body.to_string().contains(&theirs),
            "{path}: {}",
            admin.body
        );
    }
    let stats = send(
        &app,
        &a,
        Method::GET,
        &format!("/customers/{customer}/purchase-stats"),
        None,
    )
    .await;
    assert_eq!(stats.status, StatusCode::OK, "{}", stats.body);
    let admin_stats = send(
        &app,
        &tenant.admin(),
        Method::GET,
        &format!("/customers/{customer}/purchase-stats"),
        None,
    )
    .await;
    assert_ne!(
        stats.body, admin_stats.body,
        "B's order is not counted for A"
    );
}

#[tokio::test]
async fn a_merge_needs_every_record_of_the_duplicate_within_reach() {
    let app = records_api().await;
    let tenant = teams(&app).await;
    // Team level, and salespeople may merge customers.
    let mut settings = app
        .stores
        .settings
        .tenant_settings(&tenant.id)
        .await
        .unwrap();
    settings.value.access.salesperson.level = AccessLevel::Team;
    settings
        .value
        .access
        .salesperson
        .modules
        .get_mut(&crm_model::schema::Module::Customer)
        .unwrap()
        .insert(crm_model::user::access::Permission::Merge);
    app.stores
        .settings
        .put_tenant_settings(&tenant.id, &settings.value, settings.revision)
        .await
        .unwrap();
    let (a, a2) = (as_user(&tenant, "u-sales"), as_user(&tenant, "u-sales-a2"));
    let keep = created(
        &app,
        &a,
        "Customer",
        json!({"Name": "Giữ lại", "Phone": "0912000222"}),
    )
    .await;
    let dup = created(
        &app,
        &a2,
        "Customer",
        json!({"Name": "Trùng", "Phone": "0912000222"}),
    )
    .await;
    // Team B's contact under the duplicate: merging would move a record A cannot see.
    let contact = json!({"Name": "Liên hệ của B", "Customer": dup, "Owner": "u-sales-b"});
    created(&app, &tenant.admin(), "Contact", contact).await;
    let merge = format!("/customers/{keep}/merge");
    let refused = send(
        &app,
        &a,
        Method::POST,
        &merge,
        Some(json!({"duplicate": dup})),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    let still = send(
        &app,
        &a,
        Method::GET,
        &format!("/records/Customer/{dup}"),
        None,
    )
    .await;
    assert_eq!(still.status, StatusCode::OK, "nothing was merged");
    // The administrator reaches everything and merges it.
    let merged = send(
        &app,
        &tenant.admin(),
        Method::POST,
        &merge,
        Some(json!({"duplicate": dup})),
    )
    .await;
    assert_eq!(merged.status, StatusCode::OK, "{}", merged.body);
}
