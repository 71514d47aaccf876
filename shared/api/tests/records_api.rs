//! The records API against the emulator: records validated, stamped and listed; edits guarded by
//! revisions; customers with sales kept from deletion; users and teams; and another tenant's ids
//! answering 404 on every route.

mod common;

use axum::http::{Method, StatusCode};
use common::{Answer, App, Tenant, call, create, fields, records_api, send};
use crm_api::records_api::ROUTES;
use serde_json::{Value, json};

#[tokio::test]
async fn records_are_validated_stamped_and_listed_by_filter_sort_and_page() {
    let app = records_api().await;
    let tenant = Tenant::new(&app).await;
    let bad = send(
        &app,
        &tenant.salesperson(),
        Method::POST,
        "/records/Customer",
        Some(json!({"Email": "not-an-email", "Shoe": 42, "LoyaltyPoints": 5, "Owner": "u-nobody"})),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.is_problem());
    for path in [
        "/fields/Name",
        "/fields/Email",
        "/fields/Shoe",
        "/fields/LoyaltyPoints",
    ] {
        assert!(bad.field_error(path), "{path} in {}", bad.body);
    }
    let unknown_owner = send(
        &app,
        &tenant.salesperson(),
        Method::POST,
        "/records/Customer",
        Some(json!({"Name": "A", "Owner": "u-nobody"})),
    )
    .await;
    assert!(
        unknown_owner.field_error("/fields/Owner"),
        "{}",
        unknown_owner.body
    );
    let listed = send(
        &app,
        &tenant.salesperson(),
        Method::GET,
        "/records/Customer",
        None,
    )
    .await;
    assert_eq!(listed.body["items"], json!([]), "bad input changed nothing");

    for (name, province) in [
        ("Trần Văn Bình", "Hà Nội"),
        ("Lê Thị An", "Hà Nội"),
        ("Phạm Minh Châu", "Đà Nẵng"),
        ("Đỗ Quang Dũng", "Hà Nội"),
    ] {
        create(
            &app,
            &tenant,
            "Customer",
            json!({"Name": name, "Province": province}),
        )
        .await;
    }
    let first = fields(
        &app,
        &tenant,
        "Customer",
        listed_ids(&app, &tenant, "/records/Customer").await[0].as_str(),
    )
    .await;
    assert_eq!(
        first["Owner"], "u-sales",
        "the owner defaults to the creator"
    );
    assert_eq!(first["CreatedBy"], "u-sales");
    assert!(first["CreatedAt"].is_string() && first["UpdatedAt"].is_string());

    let page1 = send(
        &app,
        &tenant.salesperson(),
        Method::GET,
        "/records/Customer?Province=H%C3%A0%20N%E1%BB%99i&sort=Name&order=asc&limit=2",
        None,
    )
    .await;
    assert_eq!(page1.status, StatusCode::OK, "{}", page1.body);
    let names = |a: &Answer| -> Vec<String> {
        a.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["fields"]["Name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&page1), ["Lê Thị An", "Trần Văn Bình"]);
    let cursor = page1.body["next_cursor"].as_str().unwrap();
    let page2 = send(
        &app,
        &tenant.salesperson(),
        Method::GET,
        &format!("/records/Customer?Province=H%C3%A0%20N%E1%BB%99i&sort=Name&order=asc&limit=2&cursor={cursor}"),
        None,
    )
    .await;
    assert_eq!(names(&page2), ["Đỗ Quang Dũng"]);
    assert!(page2.body["next_cursor"].is_null());

    let bad_query = send(
        &app,
        &tenant.salesperson(),
        Method::GET,
        "/records/Customer?sort=Shoe&Birthday=31-12",
        None,
    )
    .await;
    assert!(bad_query.field_error("/query/sort") && bad_query.field_error("/query/Birthday"));
    let no_module = send(
        &app,
        &tenant.salesperson(),
        Method::GET,
        "/records/Shoe",
        None,
    )
    .await;
    assert_eq!(no_module.status, StatusCode::NOT_FOUND);
}

async fn listed_ids(app: &App, tenant: &Tenant, path: &str) -> Vec<String> {
    let answer = send(app, &tenant.salesperson(), Method::GET, path, None).await;
    answer.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_full_edit_needs_the_current_etag_and_a_quick_edit_changes_one_field() {
    let app = records_api().await;
    let tenant = Tenant::new(&app).await;
    let id = create(
        &app,
        &tenant,
        "Customer",
        json!({"Name": "Nguyễn Thị Hằng", "Phone": "0912345678"}),
    )
    .await;
    let path = format!("/records/Customer/{id}");
    let read = send(&app, &tenant.salesperson(), Method::GET, &path, None).await;
    assert_eq!(read.etag(), "\"1\"");

    let mut edited = read.body["fields"].clone();
    edited["Province"] = json!("Huế");
    let no_etag = send(
        &app,
        &tenant.salesperson(),
        Method::PUT,
        &path,
        Some(edited.clone()),
    )
    .await;
    assert_eq!(no_etag.status, StatusCode::PRECONDITION_REQUIRED);
    let put = |etag: &'static str, body: Value| {
        let router = app.router.clone();
        let claims = tenant.salesperson();
        let path = path.clone();
        async move {
            call(
                &router,
                Method::PUT,
                &path,
                Some(&claims),
                Some(body),
                &[("if-match", etag)],
            )
            .await
        }
    };
    // What was read comes back with its system fields unchanged: accepted.
    let saved = put("\"1\"", edited.clone()).await;
    assert_eq!(
        (saved.status, saved.etag()),
        (StatusCode::OK, "\"2\"".into()),
        "{}",
        saved.body
    );
    assert_eq!(saved.body["fields"]["Province"], "Huế");
    assert_eq!(
        saved.body["fields"]["CreatedAt"],
        read.body["fields"]["CreatedAt"]
    );
    let stale = put("\"1\"", edited.clone()).await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    let mut forged = edited.clone();
    forged["LoyaltyPoints"] = json!(1000);
    let forged = put("\"2\"", forged).await;
    assert!(
        forged.field_error("/fields/LoyaltyPoints"),
        "{}",
        forged.body
    );

    let two = send(
        &app,
        &tenant.salesperson(),
        Method::PATCH,
        &path,
        Some(json!({"Phone": "0987654321", "Province": "Huế"})),
    )
    .await;
    assert!(two.field_error("/fields"), "{}", two.body);
    let quick = send(
        &app,
        &tenant.salesperson(),
        Method::PATCH,
        &path,
        Some(json!({"Phone": "+84 987 654 321"})),
    )
    .await;
    assert_eq!(quick.status, StatusCode::OK, "{}", quick.body);
    assert_eq!(quick.etag(), "\"3\"");
    assert_eq!(quick.body["fields"]["Province"], "Huế", "other fields kept");
    let cleared = send(
        &app,
        &tenant.salesperson(),
        Method::PATCH,
        &path,
        Some(json!({"Province": null})),
    )
    .await;
    assert!(
        cleared.body["fields"].get("Province").is_none(),
        "{}",
        cleared.body
    );

    let copy = send(
        &app,
        &tenant.salesperson(),
        Method::POST,
        &format!("{path}/clone"),
        None,
    )
    .await;
    assert_eq!(copy.status, StatusCode::CREATED, "{}", copy.body);
    assert_ne!(copy.body["id"], json!(id));
    assert_eq!(copy.body["fields"]["Name"], "Nguyễn Thị Hằng");
    assert_eq!(copy.body["revision"], 1);
}

#[tokio::test]
async fn a_customer_with_orders_quotes_or_opportunities_cannot_be_deleted() {
    let app = records_api().await;
    let tenant = Tenant::new(&app).await;
    let customer = create(
        &app,
        &tenant,
        "Customer",
        json!({"Name": "Công ty Hoa Sen"}),
    )
    .await;
    let order = send(
        &app,
        &tenant.salesperson(),
        Method::POST,
        &format!("/customers/{customer}/orders"),
        Some(json!({"Amount": 1000000})),
    )
    .await;
    assert_eq!(order.status, StatusCode::CREATED, "{}", order.body);
    let quote = send(
        &app,
        &tenant.salesperson(),
        Method::POST,
        &format!("/customers/{customer}/quotes"),
        Some(json!({})),
    )
    .await;
    let contact = create(
        &app,
        &tenant,
        "Contact",
        json!({"Name": "Chị Mai", "Customer": customer}),
    )
    .await;

    let path = format!("/records/Customer/{customer}");
    let refused = send(&app, &tenant.admin(), Method::DELETE, &path, None).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    let detail = refused.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("1 order") && detail.contains("1 quote"),
        "{detail}"
    );
    assert_eq!(
        send(&app, &tenant.admin(), Method::GET, &path, None)
            .await
            .status,
        StatusCode::OK
    );

    for (module, id) in [("Order", &order.body["id"]), ("Quote", &quote.body["id"])] {
        let gone = send(
            &app,
            &tenant.admin(),
            Method::DELETE,
            &format!("/records/{module}/{}", id.as_str().unwrap()),
            None,
        )
        .await;
        assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.body);
    }
    // Contacts do not block (seed 003 §2.6 names orders, quotes, opportunities).
    let deleted = send(&app, &tenant.admin(), Method::DELETE, &path, None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    assert_eq!(
        send(&app, &tenant.admin(), Method::GET, &path, None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let _ = contact;
}

#[tokio::test]
async fn administrators_manage_users_and_teams_group_them() {
    let app = records_api().await;
    let tenant = Tenant::new(&app).await;
    let user = json!({"id": "u-hoa", "name": "Trịnh Hoa", "email": "hoa@example.vn", "team": "Miền Bắc", "role": "salesperson"});
    let refused = send(
        &app,
        &tenant.salesperson(),
        Method::POST,
        "/users",
        Some(user.clone()),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let created = send(
        &app,
        &tenant.admin(),
        Method::POST,
        "/users",
        Some(user.clone()),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(
        send(&app, &tenant.admin(), Method::POST, "/users", Some(user))
            .await
            .status,
        StatusCode::CONFLICT
    );
    let bad = send(
        &app,
        &tenant.admin(),
        Method::PUT,
        "/users/u-hoa",
        Some(json!({"name": "", "email": "x", "role": "salesperson"})),
    )
    .await;
    assert!(
        bad.field_error("/name") && bad.field_error("/email"),
        "{}",
        bad.body
    );
    let off = send(&app, &tenant.admin(), Method::PUT, "/users/u-hoa", Some(json!({"name": "Trịnh Hoa", "email": "hoa@example.vn", "team": "Miền Bắc", "role": "salesperson", "active": false}))).await;
    assert_eq!(
        (off.status, off.body["active"].clone()),
        (StatusCode::OK, json!(false))
    );
    let teams = send(&app, &tenant.salesperson(), Method::GET, "/teams", None).await;
    let north = teams.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["team"] == "Miền Bắc")
        .cloned()
        .unwrap();
    assert_eq!(north["members"][0]["id"], "u-hoa");
    assert_eq!(
        send(
            &app,
            &tenant.salesperson(),
            Method::GET,
            "/users/u-hoa",
            None
        )
        .await
        .body["active"],
        json!(false)
    );
}

#[tokio::test]
async fn another_tenants_ids_answer_404_on_every_route() {
    let app = records_api().await;
    let owner = Tenant::new(&app).await;
    let stranger = Tenant::new(&app).await;
    let customer = create(
        &app,
        &owner,
        "Customer",
        json!({"Name": "Bí mật", "Phone": "0911222333"}),
    )
    .await;
    let other = create(
        &app,
        &owner,
        "Customer",
        json!({"Name": "Bí mật 2", "Phone": "0911222333"}),
    )
    .await;
    let owner_user = json!({"id": "u-private", "name": "Riêng", "email": "rieng@example.vn", "role": "salesperson"});
    send(
        &app,
        &owner.admin(),
        Method::POST,
        "/users",
        Some(owner_user),
    )
    .await;
    send(
        &app,
        &owner.salesperson(),
        Method::POST,
        &format!("/customers/{customer}/hand-over"),
        Some(json!({"to": "u-sales"})),
    )
    .await;
    let inbox = send(
        &app,
        &owner.salesperson(),
        Method::GET,
        "/me/notifications",
        None,
    )
    .await;
    let key = inbox.body["items"][0]["key"]
        .as_str()
        .unwrap_or("none")
        .to_owned();

    let mut checked = 0;
    for (method, template) in ROUTES {
        let path = template
            .replace("{module}", "Customer")
            .replace("{key}", &key)
            .replace(
                "{id}",
                if template.starts_with("/users") {
                    "u-private"
                } else {
                    &customer
                },
            );
        let body = match (method.clone(), *template) {
            (Method::POST, "/customers/{id}/merge") => Some(json!({"duplicate": other})),
            (Method::POST, "/customers/{id}/hand-over") => Some(json!({"to": "u-sales"})),
            (Method::POST, "/customers/{id}/calls") => {
                Some(json!({"key": "k-1", "phone": "0912345678"}))
            }
            (Method::POST, "/customers/{id}/messages") => Some(
                json!({"key": "k-1", "channel": "sms", "sender": "sms", "to": ["0912345678"], "body": "x"}),
            ),
            (Method::POST, "/customers/{id}/loyalty/redemptions") => {
                Some(json!({"order": other, "points": 1, "key": "k-1"}))
            }
            (Method::PUT, "/users/{id}") => {
                Some(json!({"name": "x", "email": "x@example.vn", "role": "salesperson"}))
            }
            (Method::POST, template) if template.contains("/approvals") => {
                Some(json!({"comment": "x"}))
            }
            (Method::PATCH, _) => Some(json!({"Name": "x"})),
            (Method::POST | Method::PUT, _) => Some(json!({"Name": "x"})),
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
        let text = answer.body.to_string();
        assert!(!text.contains("Bí mật"), "{method} {path} leaked: {text}");
        if template.contains("{id}") || template.contains("{key}") {
            assert_eq!(
                answer.status,
                StatusCode::NOT_FOUND,
                "{method} {path}: {}",
                answer.body
            );
            checked += 1;
        }
    }
    assert!(checked >= 18, "checked {checked} id routes");
    // Listing and duplicate checks see only the stranger's own data.
    let listed = send(
        &app,
        &stranger.admin(),
        Method::GET,
        "/records/Customer",
        None,
    )
    .await;
    assert!(
        !listed.body.to_string().contains("Bí mật"),
        "{}",
        listed.body
    );
    let dups = send(
        &app,
        &stranger.admin(),
        Method::GET,
        "/customers/duplicates?phone=0911222333",
        None,
    )
    .await;
    assert_eq!(dups.body["items"], json!([]));
    // And the owner's records are unchanged.
    assert_eq!(
        fields(&app, &owner, "Customer", &customer).await["Name"],
        "Bí mật"
    );
    assert_eq!(
        fields(&app, &owner, "Customer", &other).await["Name"],
        "Bí mật 2"
    );
}

#[tokio::test]
async fn a_text_past_its_limit_or_a_record_past_its_size_answers_422_naming_the_field_and_stores_nothing()
 {
    let app = records_api().await;
    let tenant = Tenant::new(&app).await;
    let long = "ệ".repeat(10_001);
    let refused = send(
        &app,
        &tenant.salesperson(),
        Method::POST,
        "/records/Customer",
        Some(json!({"Name": "An", "Description": long})),
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(
        refused.field_error("/fields/Description"),
        "{}",
        refused.body
    );
    let full = "ệ".repeat(9_000);
    let too_big = send(
        &app,
        &tenant.salesperson(),
        Method::POST,
        "/records/Customer",
        Some(json!({"Name": "An", "Description": full, "Address": full})),
    )
    .await;
    assert_eq!(
        too_big.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        too_big.body
    );
    assert!(too_big.field_error("/fields"), "{}", too_big.body);
    let listed = send(
        &app,
        &tenant.salesperson(),
        Method::GET,
        "/records/Customer",
        None,
    )
    .await;
    assert_eq!(listed.body["items"], json!([]), "nothing stored");
}

#[tokio::test]
async fn a_record_s_coming_care_occurrences_are_read_from_the_record() {
    let app = records_api().await;
    let tenant = Tenant::new(&app).await;
    let customer = create(
        &app,
        &tenant,
        "Customer",
        json!({"Name": "Chị Lan", "Birthday": "1990-05-17"}),
    )
    .await;
    let path = format!("/records/Customer/{customer}/schedule");
    // Nothing active yet: nothing armed.
    let none = send(&app, &tenant.salesperson(), Method::GET, &path, None).await;
    assert_eq!(none.status, StatusCode::OK, "{}", none.body);
    assert_eq!(none.body, json!({"items": []}));
    // Another tenant's record is not found, nor is a module that does not exist.
    let stranger = Tenant::new(&app).await;
    let hidden = send(&app, &stranger.admin(), Method::GET, &path, None).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND, "{}", hidden.body);
    let unknown = send(
        &app,
        &tenant.admin(),
        Method::GET,
        &format!("/records/Nothing/{customer}/schedule"),
        None,
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.body);
}
