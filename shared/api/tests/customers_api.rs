//! The customer page through the records API against the emulator: purchase facts exact through
//! order writes, related lists, histories and statistics, duplicates and merge (also after an
//! interruption), hand-over with notifications.

mod common;

use axum::http::{Method, StatusCode};
use common::{App, Tenant, call, create, fields, records_api, send};
use crm_model::ids::{RecordId, UserId};
use crm_model::ports::{MergeMarker, MergeState, RecordStore, SettingsStore};
use crm_model::record::loyalty::{LoyaltyRule, Tier};
use serde_json::{Value, json};
use std::collections::HashMap;

async fn loyalty(app: &App, tenant: &Tenant) {
    let mut settings = app
        .stores
        .settings
        .tenant_settings(&tenant.id)
        .await
        .unwrap();
    settings.value.loyalty = Some(LoyaltyRule {
        amount_per_point: 100_000,
        tiers: vec![
            Tier {
                rank: "Silver".into(),
                min_points: 20,
            },
            Tier {
                rank: "Gold".into(),
                min_points: 50,
            },
        ],
    });
    app.stores
        .settings
        .put_tenant_settings(&tenant.id, &settings.value, settings.revision)
        .await
        .unwrap();
}

#[tokio::test]
async fn last_purchase_date_points_and_rank_follow_orders_created_edited_and_deleted() {
    let app = records_api().await;
    let tenant = Tenant::new(&app).await;
    loyalty(&app, &tenant).await;
    let customer = create(&app, &tenant, "Customer", json!({"Name": "Võ Thị Lan"})).await;
    let facts = |app: &App| {
        let app_router = app.router.clone();
        let claims = tenant.admin();
        let customer = customer.clone();
        async move {
            let a = call(
                &app_router,
                Method::GET,
                &format!("/records/Customer/{customer}"),
                Some(&claims),
                None,
                &[],
            )
            .await;
            let f = &a.body["fields"];
            (
                f["LastPurchaseDate"].clone(),
                f["LoyaltyPoints"].clone(),
                f["Rank"].clone(),
            )
        }
    };
    let order = |date: &str, amount: i64| json!({"OrderDate": date, "Amount": amount, "Status": "Confirmed"});
    let mut ids = Vec::new();
    for (date, amount) in [
        ("2026-03-01", 1_500_000),
        ("2026-05-20", 2_000_000),
        ("2026-04-10", 700_000),
    ] {
        let a = send(
            &app,
            &tenant.admin(),
            Method::POST,
            &format!("/customers/{customer}/orders"),
            Some(order(date, amount)),
        )
        .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        assert_eq!(a.body["fields"]["Customer"], json!(customer), "pre-filled");
        ids.push(a.body["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        facts(&app).await,
        (json!("2026-05-20"), json!(42), json!("Silver"))
    );

    // The most recent order moves earlier: the date follows.
    let moved = send(
        &app,
        &tenant.admin(),
        Method::PATCH,
        &format!("/records/Order/{}", ids[1]),
        Some(json!({"OrderDate": "2026-02-01"})),
    )
    .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    assert_eq!(facts(&app).await.0, json!("2026-04-10"));
    // A cancelled order no longer counts.
    send(
        &app,
        &tenant.admin(),
        Method::PATCH,
        &format!("/records/Order/{}", ids[0]),
        Some(json!({"Status": "Cancelled"})),
    )
    .await;
    assert_eq!(
        facts(&app).await,
        (json!("2026-04-10"), json!(27), json!("Silver"))
    );
    // Deleting the most recent order falls back to the one before it.
    let gone = send(
        &app,
        &tenant.admin(),
        Method::DELETE,
        &format!("/records/Order/{}", ids[2]),
        None,
    )
    .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    assert_eq!(facts(&app).await.0, json!("2026-02-01"));
    send(
        &app,
        &tenant.admin(),
        Method::DELETE,
        &format!("/records/Order/{}", ids[1]),
        None,
    )
    .await;
    let (last, points, _) = facts(&app).await;
    assert_eq!((last, points), (Value::Null, json!(0)), "no purchase left");

    let forged = send(
        &app,
        &tenant.admin(),
        Method::PATCH,
        &format!("/records/Customer/{customer}"),
        Some(json!({"LastPurchaseDate": "2030-01-01"})),
    )
    .await;
    assert!(
        forged.field_error("/fields/LastPurchaseDate"),
        "the system keeps it"
    );
}

#[tokio::test]
async fn related_lists_histories_and_purchase_statistics_of_a_customer() {
    let app = records_api().await;
    let tenant = Tenant::new(&app).await;
    let customer = create(&app, &tenant, "Customer", json!({"Name": "Hoàng Văn Nam"})).await;
    create(
        &app,
        &tenant,
        "Contact",
        json!({"Name": "Anh Tuấn", "Customer": customer}),
    )
    .await;
    create(
        &app,
        &tenant,
        "Task",
        json!({"Title": "Gọi chúc mừng", "Customer": customer, "Status": "Open"}),
    )
    .await;
    let lines = |p: &str, q: f64, price: i64| json!({"product": p, "category": "Trà", "quantity": q, "unit_price": price});
    for (date, l) in [
        ("2026-01-05", vec![lines("Trà Shan tuyết", 2.0, 300_000)]),
        (
            "2026-02-07",
            vec![
                lines("Trà Shan tuyết", 1.0, 300_000),
                lines("Trà sen", 3.0, 150_000),
            ],
        ),
        ("2025-11-30", vec![lines("Trà sen", 10.0, 150_000)]),
    ] {
        let a = send(
            &app,
            &tenant.admin(),
            Method::POST,
            &format!("/customers/{customer}/orders"),
            Some(json!({"OrderDate": date, "Lines": l})),
        )
        .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    }
    send(
        &app,
        &tenant.admin(),
        Method::POST,
        &format!("/customers/{customer}/opportunities"),
        Some(json!({"Amount": 5000000})),
    )
    .await;

    let related = send(
        &app,
        &tenant.admin(),
        Method::GET,
        &format!("/customers/{customer}/related"),
        None,
    )
    .await;
    let count = |k: &str| related.body[k].as_array().map_or(0, Vec::len);
    assert_eq!(
        (
            count("contacts"),
            count("orders"),
            count("opportunities"),
            count("tasks"),
            count("quotes")
        ),
        (1, 3, 1, 1, 0),
        "{}",
        related.body
    );
    let sales = send(
        &app,
        &tenant.admin(),
        Method::GET,
        &format!("/customers/{customer}/sales"),
        None,
    )
    .await;
    assert_eq!(sales.body["items"].as_array().unwrap().len(), 4);
    let activities = send(
        &app,
        &tenant.admin(),
        Method::GET,
        &format!("/customers/{customer}/activities"),
        None,
    )
    .await;
    assert_eq!(
        activities.body["items"][0]["type"], "record",
        "{}",
        activities.body
    );
    assert_eq!(
        activities.body["items"][0]["fields"]["Title"],
        "Gọi chúc mừng"
    );

    let stats = send(
        &app,
        &tenant.admin(),
        Method::GET,
        &format!("/customers/{customer}/purchase-stats?from=2026-01-01&to=2026-12-31"),
        None,
    )
    .await;
    assert_eq!(stats.status, StatusCode::OK, "{}", stats.body);
    assert_eq!(
        (stats.body["orders"].clone(), stats.body["revenue"].clone()),
        (json!(2), json!(1_350_000))
    );
    assert_eq!(stats.body["products"][0]["product"], "Trà Shan tuyết");
    assert_eq!(stats.body["products"][0]["quantity"], 3.0);
    let backwards = send(
        &app,
        &tenant.admin(),
        Method::GET,
        &format!("/customers/{customer}/purchase-stats?from=2026-02-01&to=2026-01-01"),
        None,
    )
    .await;
    assert!(backwards.field_error("/query/to"));
}

#[tokio::test]
async fn loyalty_points_are_redeemed_once_per_key_never_below_zero_and_kept_in_a_ledger() {
    let app = records_api().await;
    let tenant = Tenant::new(&app).await;
    loyalty(&app, &tenant).await;
    let customer = create(&app, &tenant, "Customer", json!({"Name": "Lan"})).await;
    let order = send(
        &app,
        &tenant.salesperson(),
        Method::POST,
        &format!("/customers/{customer}/orders"),
        Some(json!({"OrderDate": "2026-03-01", "Amount": 2_500_000})),
    )
    .await;
    let order = order.body["id"].as_str().unwrap().to_owned();
    let path = format!("/customers/{customer}/loyalty/redemptions");
    let ask = json!({"order": order, "points": 10, "key": "redeem-1"});
    let made = send(
        &app,
        &tenant.salesperson(),
        Method::POST,
        &path,
        Some(ask.clone()),
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    assert_eq!(made.body["redemption"]["balance_after"], json!(15));
    let again = send(&app, &tenant.salesperson(), Method::POST, &path, Some(ask)).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.body["redemption"], made.body["redemption"]);
    let greedy = send(
        &app,
        &tenant.salesperson(),
        Method::POST,
        &path,
        Some(json!({"order": order, "points": 16, "key": "redeem-2"})),
    )
    .await;
    assert_eq!(greedy.status, StatusCode::CONFLICT, "{}", greedy.body);
    let bad = send(
        &app,
        &tenant.salesperson(),
        Method::POST,
        &path,
        Some(json!({"order": order, "points": 0, "key": "có dấu"})),
    )
    .await;
    assert!(
        bad.field_error("/points") && bad.field_error("/key"),
        "{}",
        bad.body
    );
    let balance = send(
        &app,
        &tenant.salesperson(),
        Method::GET,
        &format!("/customers/{customer}/loyalty"),
        None,
    )
    .await;
    assert_eq!(balance.status, StatusCode::OK, "{}", balance.body);
    assert_eq!(
        (
            balance.body["points"].clone(),
            balance.body["redeemed"].clone()
        ),
        (json!(15), json!(10))
    );
    assert_eq!(balance.body["redemptions"].as_array().unwrap().len(), 1);
    let stranger = Tenant::new(&app).await;
    let elsewhere = send(
        &app,
        &stranger.admin(),
        Method::GET,
        &format!("/customers/{customer}/loyalty"),
        None,
    )
    .await;
    assert_eq!(elsewhere.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn calls_meetings_and_notes_join_the_customers_timeline_page_by_page() {
    let app = records_api().await;
    let tenant = Tenant::new(&app).await;
    let customer = create(&app, &tenant, "Customer", json!({"Name": "Lan"})).await;
    let call = create(
        &app,
        &tenant,
        "Call",
        json!({"Subject": "Tư vấn", "Customer": customer, "Direction": "Outbound", "Status": "Ended",
            "StartedAt": "2026-05-20T09:00:00+07:00", "DurationSeconds": 180}),
    )
    .await;
    let meeting = create(
        &app,
        &tenant,
        "Meeting",
        json!({"Subject": "Thử trà", "Customer": customer, "StartsAt": "2099-06-10T10:00:00+07:00",
            "Status": "Planned"}),
    )
    .await;
    let note = create(
        &app,
        &tenant,
        "Note",
        json!({"Title": "Sở thích", "Content": "Thích trà sen", "Customer": customer}),
    )
    .await;
    let path = format!("/customers/{customer}/activities?limit=2");
    let first = send(&app, &tenant.salesperson(), Method::GET, &path, None).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let ids = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap_or("run").to_owned())
            .collect()
    };
    // The planned meeting first (its start is ahead), the note (made now), then the May call.
    assert_eq!(ids(&first.body), [meeting.clone(), note.clone()]);
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let second = send(
        &app,
        &tenant.salesperson(),
        Method::GET,
        &format!("{path}&cursor={}", urlencoding(&cursor)),
        None,
    )
    .await;
    assert_eq!(ids(&second.body), [call]);
    assert_eq!(second.body["next_cursor"], Value::Null);
    let open = send(
        &app,
        &tenant.salesperson(),
        Method::GET,
        &format!("/customers/{customer}/activities?open=true"),
        None,
    )
    .await;
    assert_eq!(ids(&open.body), [meeting]);
    let refused = send(
        &app,
        &tenant.salesperson(),
        Method::GET,
        &format!("{path}&cursor=garbage"),
        None,
    )
    .await;
    assert!(refused.field_error("/query/cursor"), "{}", refused.body);
    let missing = send(
        &app,
        &tenant.salesperson(),
        Method::POST,
        "/records/Meeting",
        Some(json!({"Subject": "Không giờ", "Customer": customer})),
    )
    .await;
    assert!(missing.field_error("/fields/StartsAt"), "{}", missing.body);
}

fn urlencoding(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn duplicates_share_a_normalised_phone_email_or_tax_code_and_merge_moves_everything() {
    let app = records_api().await;
    let tenant = Tenant::new(&app).await;
    let keep = create(
        &app,
        &tenant,
        "Customer",
        json!({"Name": "Bùi Thu Trang", "Phone": "0912 345 678"}),
    )
    .await;
    let dup = create(&app, &tenant, "Customer", json!({"Name": "Trang Bùi", "Phone": "+84912345678", "Email": "Trang.Bui@Example.vn", "Province": "Hải Phòng"})).await;
    let other = create(
        &app,
        &tenant,
        "Customer",
        json!({"Name": "Người khác", "Email": "trang.bui@example.vn"}),
    )
    .await;
    create(
        &app,
        &tenant,
        "Customer",
        json!({"Name": "Không trùng", "Phone": "0987000111"}),
    )
    .await;

    let found = send(
        &app,
        &tenant.admin(),
        Method::GET,
        &format!("/customers/{keep}/duplicates"),
        None,
    )
    .await;
    let ids: Vec<&str> = found.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [dup.as_str()], "{}", found.body);
    assert_eq!(found.body["items"][0]["shared"], json!(["phone"]));
    let by_email = send(
        &app,
        &tenant.admin(),
        Method::GET,
        "/customers/duplicates?email=TRANG.BUI@example.VN",
        None,
    )
    .await;
    assert_eq!(
        by_email.body["items"].as_array().unwrap().len(),
        2,
        "{}",
        by_email.body
    );
    let unusable = send(
        &app,
        &tenant.admin(),
        Method::GET,
        "/customers/duplicates?phone=abc",
        None,
    )
    .await;
    assert!(unusable.field_error("/query/phone"));

    for date in ["2026-06-01", "2026-07-01"] {
        send(
            &app,
            &tenant.admin(),
            Method::POST,
            &format!("/customers/{dup}/orders"),
            Some(json!({"OrderDate": date})),
        )
        .await;
    }
    create(
        &app,
        &tenant,
        "Task",
        json!({"Title": "Gửi báo giá", "Customer": dup}),
    )
    .await;

    let duplicate_phone = fields(&app, &tenant, "Customer", &dup).await["Phone"].clone();
    // A choice the system keeps is refused, and nothing is merged.
    let refused = send(
        &app,
        &tenant.admin(),
        Method::POST,
        &format!("/customers/{keep}/merge"),
        Some(json!({"duplicate": dup, "take": ["Phone", "LoyaltyPoints"]})),
    )
    .await;
    assert!(refused.field_error("/take/1"), "{}", refused.body);
    assert!(!refused.field_error("/take/0"), "{}", refused.body);
    let merged = send(
        &app,
        &tenant.admin(),
        Method::POST,
        &format!("/customers/{keep}/merge"),
        Some(json!({"duplicate": dup, "take": ["Phone"]})),
    )
    .await;
    assert_eq!(merged.status, StatusCode::OK, "{}", merged.body);
    assert_eq!(
        (
            merged.body["moved"].clone(),
            merged.body["merged_now"].clone()
        ),
        (json!(3), json!(true))
    );
    let survivor = &merged.body["survivor"]["fields"];
    assert_eq!(
        survivor["Name"], "Bùi Thu Trang",
        "the survivor keeps its own values"
    );
    assert_eq!(
        survivor["Phone"], duplicate_phone,
        "but the phone the user chose from the duplicate"
    );
    assert_eq!(
        survivor["Province"], "Hải Phòng",
        "and takes the duplicate's where it had none"
    );
    assert_eq!(survivor["LastPurchaseDate"], "2026-07-01");
    assert_eq!(
        send(
            &app,
            &tenant.admin(),
            Method::GET,
            &format!("/records/Customer/{dup}"),
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let related = send(
        &app,
        &tenant.admin(),
        Method::GET,
        &format!("/customers/{keep}/related"),
        None,
    )
    .await;
    assert_eq!(
        (
            related.body["orders"].as_array().unwrap().len(),
            related.body["tasks"].as_array().unwrap().len()
        ),
        (2, 1)
    );
    let again = send(
        &app,
        &tenant.admin(),
        Method::POST,
        &format!("/customers/{keep}/merge"),
        Some(json!({"duplicate": dup})),
    )
    .await;
    assert_eq!(again.body["merged_now"], json!(false), "{}", again.body);
    // The merged duplicate is no longer found; the other customer sharing the email still is.
    let now = send(
        &app,
        &tenant.admin(),
        Method::GET,
        &format!("/customers/{keep}/duplicates"),
        None,
    )
    .await;
    let ids: Vec<&str> = now.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [other.as_str()]);
    let itself = send(
        &app,
        &tenant.admin(),
        Method::POST,
        &format!("/customers/{keep}/merge"),
        Some(json!({"duplicate": keep})),
    )
    .await;
    assert!(itself.field_error("/duplicate"));
}

#[tokio::test]
async fn an_interrupted_merge_finishes_when_asked_again_and_loses_nothing() {
    let app = records_api().await;
    let tenant = Tenant::new(&app).await;
    let keep = create(
        &app,
        &tenant,
        "Customer",
        json!({"Name": "Đặng Hải", "Phone": "0903111222"}),
    )
    .await;
    let dup = create(
        &app,
        &tenant,
        "Customer",
        json!({"Name": "Hải Đặng", "Phone": "0903111222"}),
    )
    .await;
    let mut orders = Vec::new();
    for date in ["2026-01-01", "2026-02-01", "2026-03-01"] {
        let a = send(
            &app,
            &tenant.admin(),
            Method::POST,
            &format!("/customers/{dup}/orders"),
            Some(json!({"OrderDate": date})),
        )
        .await;
        orders.push(a.body["id"].as_str().unwrap().to_owned());
    }
    // The state a merge leaves when it stops after moving one order: marker written, one order
    // moved, the duplicate still there.
    let marker = MergeMarker {
        survivor: RecordId::new(keep.as_str()).unwrap(),
        duplicate: RecordId::new(dup.as_str()).unwrap(),
        state: MergeState::Started,
        started_at: chrono::Utc::now(),
        by: UserId::new("u-sales").unwrap(),
        moved: 0,
    };
    app.stores
        .records
        .put_merge(&tenant.id, &marker)
        .await
        .unwrap();
    let moved = send(
        &app,
        &tenant.admin(),
        Method::PATCH,
        &format!("/records/Order/{}", orders[0]),
        Some(json!({"Customer": keep})),
    )
    .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);

    let finished = send(
        &app,
        &tenant.admin(),
        Method::POST,
        &format!("/customers/{keep}/merge"),
        Some(json!({"duplicate": dup})),
    )
    .await;
    assert_eq!(finished.status, StatusCode::OK, "{}", finished.body);
    assert_eq!(
        finished.body["survivor"]["fields"]["LastPurchaseDate"],
        "2026-03-01"
    );
    let related = send(
        &app,
        &tenant.admin(),
        Method::GET,
        &format!("/customers/{keep}/related"),
        None,
    )
    .await;
    assert_eq!(
        related.body["orders"].as_array().unwrap().len(),
        3,
        "no order lost"
    );
    let markers = app
        .stores
        .records
        .merges(&tenant.id, &marker.survivor)
        .await
        .unwrap();
    assert_eq!(markers.len(), 1);
    assert_eq!(markers[0].state, MergeState::Done);

    // Stopped after deleting the duplicate but before closing the marker: asking again closes it.
    let third = create(
        &app,
        &tenant,
        "Customer",
        json!({"Name": "Hải", "Phone": "0903111222"}),
    )
    .await;
    let mut late = marker.clone();
    late.duplicate = RecordId::new(third.as_str()).unwrap();
    app.stores
        .records
        .put_merge(&tenant.id, &late)
        .await
        .unwrap();
    let gone = send(
        &app,
        &tenant.admin(),
        Method::DELETE,
        &format!("/records/Customer/{third}"),
        None,
    )
    .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    let closed = send(
        &app,
        &tenant.admin(),
        Method::POST,
        &format!("/customers/{keep}/merge"),
        Some(json!({"duplicate": third})),
    )
    .await;
    assert_eq!(
        (closed.status, closed.body["merged_now"].clone()),
        (StatusCode::OK, json!(true)),
        "{}",
        closed.body
    );
    let never = send(
        &app,
        &tenant.admin(),
        Method::POST,
        &format!("/customers/{keep}/merge"),
        Some(json!({"duplicate": "no-such"})),
    )
    .await;
    assert_eq!(never.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn hand_over_moves_the_customer_with_the_chosen_open_activities_and_notifies() {
    let app = records_api().await;
    let tenant = Tenant::new(&app).await;
    let customer = create(&app, &tenant, "Customer", json!({"Name": "Lý Gia Hân"})).await;
    let open = create(
        &app,
        &tenant,
        "Task",
        json!({"Title": "Gọi lại", "Customer": customer, "Status": "Open", "Assignee": "u-sales"}),
    )
    .await;
    let done = create(
        &app,
        &tenant,
        "Task",
        json!({"Title": "Đã gọi", "Customer": customer, "Status": "Done"}),
    )
    .await;
    let card = create(
        &app,
        &tenant,
        "CareCard",
        json!({"Title": "Chăm sóc sau mua", "Customer": customer, "Status": "Open"}),
    )
    .await;

    let inactive = send(
        &app,
        &tenant.admin(),
        Method::POST,
        &format!("/customers/{customer}/hand-over"),
        Some(json!({"to": "u-nobody", "activities": ["task"]})),
    )
    .await;
    assert!(inactive.field_error("/to"), "{}", inactive.body);
    let handed = send(
        &app,
        &tenant.admin(),
        Method::POST,
        &format!("/customers/{customer}/hand-over"),
        Some(json!({"to": "u-manager", "activities": ["task"]})),
    )
    .await;
    assert_eq!(handed.status, StatusCode::OK, "{}", handed.body);
    assert_eq!(handed.body["customer"]["fields"]["Owner"], "u-manager");
    assert_eq!(handed.body["moved_activities"], json!([open]));
    assert_eq!(
        fields(&app, &tenant, "Task", &open).await["Assignee"],
        "u-manager"
    );
    assert_eq!(
        fields(&app, &tenant, "Task", &done).await["Owner"],
        "u-sales",
        "done work stays"
    );
    assert_eq!(
        fields(&app, &tenant, "CareCard", &card).await["Owner"],
        "u-sales",
        "not chosen"
    );

    let manager: HashMap<String, String> = [
        ("custom:tenant_id".to_owned(), tenant.id.to_string()),
        ("sub".to_owned(), "u-manager".to_owned()),
        ("cognito:groups".to_owned(), "[admin]".to_owned()),
    ]
    .into();
    let inbox = send(
        &app,
        &manager,
        Method::GET,
        "/me/notifications?unread=true",
        None,
    )
    .await;
    let items = inbox.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", inbox.body);
    assert!(items[0]["message"].as_str().unwrap().contains("Lý Gia Hân"));
    let key = items[0]["key"].as_str().unwrap();
    let not_theirs = send(
        &app,
        &tenant.admin(),
        Method::POST,
        &format!("/me/notifications/{key}/read"),
        None,
    )
    .await;
    assert_eq!(not_theirs.status, StatusCode::NOT_FOUND);
    let read = send(
        &app,
        &manager,
        Method::POST,
        &format!("/me/notifications/{key}/read"),
        None,
    )
    .await;
    assert_eq!(
        (read.status, read.body["read"].clone()),
        (StatusCode::OK, json!(true)),
        "{}",
        read.body
    );
    let unread = send(
        &app,
        &manager,
        Method::GET,
        "/me/notifications?unread=true",
        None,
    )
    .await;
    assert_eq!(unread.body["items"], json!([]));
}
