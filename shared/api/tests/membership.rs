//! Membership on every request, end to end over the emulator: the token names a tenant and a
//! subject, and only an active stored user of that tenant gets in, with the stored role. Every
//! changing route of both APIs is tried as a deactivated administrator, a stranger and a
//! salesperson whose token claims more than their stored role.

mod common;

use axum::http::{Method, StatusCode};
use common::{App, Tenant, call, records_api, workflow_api};
use crm_model::ids::UserId;
use crm_model::ports::UserDirectory;
use crm_model::user::Role;
use serde_json::{Value, json};
use std::collections::HashMap;

/// Every route that changes something, with placeholders filled and a well-formed body.
fn changing_routes(routes: &[crm_api::routes::Route]) -> Vec<(Method, String, Option<Value>)> {
    routes
        .iter()
        .filter(|(method, _)| *method != Method::GET)
        // A web form's submissions, an approver's email link and a switchboard's call events
        // take no login: the form's key, the signed link and the signed body are their
        // membership.
        .filter(|(_, template)| *template != "/intake/{key}")
        .filter(|(_, template)| *template != "/approval-links/{token}")
        .filter(|(_, template)| *template != "/voip/{endpoint}/events")
        .map(|(method, template)| {
            let path = template
                .replace("{module}", "Customer")
                .replace("{kind}", "sms-templates")
                .replace("{version}", "1")
                .replace("{key}", "k")
                .replace("{request}", "r")
                .replace("{action}", "approve")
                .replace("{id}", "x");
            let body = (*method != Method::DELETE).then(|| json!({}));
            (method.clone(), path, body)
        })
        .collect()
}

async fn answers(
    app: &App,
    claims: &HashMap<String, String>,
    routes: &[(Method, String, Option<Value>)],
) -> Vec<(String, StatusCode, Value)> {
    let mut out = Vec::new();
    for (method, path, body) in routes {
        let answer = call(
            &app.router,
            method.clone(),
            path,
            Some(claims),
            body.clone(),
            &[("if-match", "\"1\"")],
        )
        .await;
        out.push((format!("{method} {path}"), answer.status, answer.body));
    }
    out
}

async fn deactivate(app: &App, tenant: &Tenant, user: &str) {
    let id = UserId::new(user).unwrap();
    let mut stored = app
        .stores
        .users
        .get(&tenant.id, &id)
        .await
        .unwrap()
        .unwrap();
    stored.active = false;
    app.stores.users.put(&tenant.id, &stored).await.unwrap();
}

#[tokio::test]
async fn a_deactivated_administrator_and_a_stranger_are_refused_on_every_route() {
    for (app, routes, read) in [
        (
            workflow_api().await,
            crm_api::workflow_api::ROUTES,
            "/workflows",
        ),
        (records_api().await, crm_api::records_api::ROUTES, "/users"),
    ] {
        let tenant = Tenant::new(&app).await;
        deactivate(&app, &tenant, "u-manager").await;
        // An administrator of another tenant only.
        let other = Tenant::new(&app).await;
        common::ensure_user_in(&app, &other.id, "u-elsewhere", Role::Administrator).await;
        let mut every: Vec<_> = changing_routes(routes);
        every.push((Method::GET, read.into(), None));
        for (who, claims) in [
            ("deactivated admin", tenant.claims("u-manager", "[admin]")),
            ("unknown subject", tenant.claims("u-nobody", "[admin]")),
            (
                "member of another tenant",
                tenant.claims("u-elsewhere", "[admin]"),
            ),
        ] {
            for (route, status, body) in answers(&app, &claims, &every).await {
                assert_eq!(status, StatusCode::FORBIDDEN, "{who}: {route}: {body}");
                assert_eq!(
                    body["type"], "https://crm-automation.dev/problems/not-a-member",
                    "{who}: {route}: {body}"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_salesperson_changes_no_setting_whatever_their_token_claims() {
    let app = workflow_api().await;
    let tenant = Tenant::new(&app).await;
    let routes = changing_routes(crm_api::workflow_api::ROUTES);
    for claims in [tenant.salesperson(), tenant.claims("u-sales", "[admin]")] {
        for (route, status, body) in answers(&app, &claims, &routes).await {
            assert_eq!(status, StatusCode::FORBIDDEN, "{route}: {body}");
        }
    }
    let people = records_api().await;
    let tenant = Tenant::new(&people).await;
    for (method, path) in [(Method::POST, "/users"), (Method::PUT, "/users/u-sales")] {
        let user = json!({"id": "u-sales", "name": "Tự nâng quyền", "email": "s@example.vn", "role": "administrator"});
        let answer = call(
            &people.router,
            method.clone(),
            path,
            Some(&tenant.claims("u-sales", "[admin]")),
            Some(user),
            &[],
        )
        .await;
        assert_eq!(
            answer.status,
            StatusCode::FORBIDDEN,
            "{method} {path}: {}",
            answer.body
        );
    }
    let stored = people
        .stores
        .users
        .get(&tenant.id, &UserId::new("u-sales").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.role, Role::Salesperson);
}

#[tokio::test]
async fn a_lowered_role_counts_from_the_next_request_and_the_last_administrator_stays() {
    let app = records_api().await;
    let tenant = Tenant::new(&app).await;
    let admin = tenant.admin();
    let manager = tenant.claims("u-manager", "[admin]");
    let user = |role: &str| json!({"name": "Quản lý", "email": "m@example.vn", "role": role});
    // The manager is an administrator and acts as one, then is lowered by the admin.
    let created = call(
        &app.router,
        Method::POST,
        "/users",
        Some(&manager),
        Some(json!({"id": "u-new", "name": "Mới", "email": "n@example.vn", "role": "salesperson"})),
        &[],
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let lowered = call(
        &app.router,
        Method::PUT,
        "/users/u-manager",
        Some(&admin),
        Some(user("salesperson")),
        &[],
    )
    .await;
    assert_eq!(lowered.status, StatusCode::OK, "{}", lowered.body);
    let refused = call(
        &app.router,
        Method::POST,
        "/users",
        Some(&manager),
        Some(
            json!({"id": "u-new2", "name": "Mới", "email": "n2@example.vn", "role": "salesperson"}),
        ),
        &[],
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);

    // The admin is now the only administrator: they cannot lower or deactivate themself.
    for body in [
        json!({"name": "Quản trị", "email": "a@example.vn", "role": "salesperson"}),
        json!({"name": "Quản trị", "email": "a@example.vn", "role": "administrator", "active": false}),
    ] {
        let refused = call(
            &app.router,
            Method::PUT,
            "/users/u-admin",
            Some(&admin),
            Some(body),
            &[],
        )
        .await;
        assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    }
    let still = call(&app.router, Method::GET, "/users", Some(&admin), None, &[]).await;
    assert_eq!(still.status, StatusCode::OK);
}

#[tokio::test]
async fn a_new_tenant_is_set_up_by_its_first_administrator_only() {
    let app = records_api().await;
    let tenant =
        crm_model::ids::TenantId::new(format!("t-{}", uuid::Uuid::new_v4().simple())).unwrap();
    let claims = |user: &str, groups: &str| -> HashMap<String, String> {
        [
            ("custom:tenant_id", tenant.as_str()),
            ("sub", user),
            ("cognito:groups", groups),
            ("email", "boss@example.vn"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    };
    // A salesperson's token cannot set a tenant up.
    let refused = call(
        &app.router,
        Method::GET,
        "/users",
        Some(&claims("u-sales", "[sales]")),
        None,
        &[],
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let first = call(
        &app.router,
        Method::GET,
        "/users",
        Some(&claims("u-boss", "[admin]")),
        None,
        &[],
    )
    .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.body["items"][0]["role"], "administrator");
    // Once it has a user, another admin token is a stranger until that user adds it.
    let second = call(
        &app.router,
        Method::GET,
        "/users",
        Some(&claims("u-other", "[admin]")),
        None,
        &[],
    )
    .await;
    assert_eq!(second.status, StatusCode::FORBIDDEN, "{}", second.body);
}
