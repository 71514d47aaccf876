//! The approval part of the demo, through the deployed functions: the catalogue's two approval
//! samples created and activated, a quote with a 25% discount submitted and approved by the
//! sales manager, an order of 30 million submitted and its revenue recorded by accounting; the
//! records' stream (locks, requests) handed to `record-events`, whose jobs the demo's executor
//! run carries out with the others. A second run finds both decided and changes nothing.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::api::Api;
use crate::lambda::Lambda;
use crate::stream;

/// The demo's quote and order, found by their codes on a later run.
const QUOTE_CODE: &str = "BG-DEMO-001";
const ORDER_CODE: &str = "DH-DEMO-001";

/// The approval workflows the demo creates from the catalogue, whose runs the report lists.
pub const WORKFLOWS: [&str; 2] = ["wf-quote-discount", "wf-sales-recording"];

/// What the approval part did, for the report.
pub struct Approved {
    pub quote: String,
    pub order: String,
    pub created: usize,
}

/// The same API as another user of the demo tenant.
fn as_user<'a>(api: &Api<'a>, user: &str, groups: &str) -> Api<'a> {
    let mut claims = api.claims.clone();
    claims.insert("sub".into(), Value::String(user.into()));
    claims.insert("cognito:groups".into(), Value::String(groups.into()));
    claims.remove("email");
    claims.remove("name");
    Api {
        function: api.function,
        claims,
    }
}

async fn find_or_create(
    records: &Api<'_>,
    module: &str,
    code: &str,
    fields: Value,
) -> Result<(String, bool), String> {
    // The filter applies after each page is read: follow the pages to the listing's end.
    let mut cursor: Option<String> = None;
    loop {
        let after = cursor.map(|c| format!("&cursor={c}")).unwrap_or_default();
        let path = format!("/records/{module}?Code={code}&limit=100{after}");
        let (_, found) = records.call("GET", &path, None).await?;
        if let Some(id) = found["items"][0]["id"].as_str() {
            return Ok((id.to_owned(), false));
        }
        match found["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    match records
        .call("POST", &format!("/records/{module}"), Some(fields))
        .await?
    {
        (StatusCode::CREATED, body) => {
            Ok((body["id"].as_str().unwrap_or_default().to_owned(), true))
        }
        (status, body) => Err(format!("creating {module} {code}: {status} {body}")),
    }
}

/// Submits `record` unless it has a request already; its latest request's id.
async fn submitted(
    records: &Api<'_>,
    module: &str,
    record: &str,
) -> Result<(String, bool), String> {
    let path = format!("/records/{module}/{record}/approvals");
    let (_, history) = records.call("GET", &path, None).await?;
    if let Some(id) = history["items"][0]["id"].as_str() {
        return Ok((id.to_owned(), false));
    }
    match records
        .call("POST", &path, Some(json!({"comment": "Nhờ anh/chị duyệt"})))
        .await?
    {
        (StatusCode::CREATED, body) => {
            Ok((body["id"].as_str().unwrap_or_default().to_owned(), true))
        }
        (status, body) => Err(format!("submitting {module} {record}: {status} {body}")),
    }
}

/// Decides the request as `user` while it waits on them.
async fn decide(
    api: &Api<'_>,
    target: (&str, &str, &str),
    verdict: &str,
    body: Value,
) -> Result<bool, String> {
    let (module, record, request) = target;
    let path = format!("/records/{module}/{record}/approvals/{request}");
    let (_, current) = api.call("GET", &path, None).await?;
    if current["status"] != "pending" {
        return Ok(false);
    }
    match api
        .call("POST", &format!("{path}/{verdict}"), Some(body))
        .await?
    {
        (StatusCode::OK, _) => Ok(true),
        (status, body) => Err(format!("{verdict} {module} {record}: {status} {body}")),
    }
}

pub async fn run(
    records: &Api<'_>,
    settings: &Api<'_>,
    record_events: &Lambda,
    sdk: &aws_config::SdkConfig,
    table: &str,
    customer: &str,
) -> Result<Approved, String> {
    let mut created = 0;
    // The salesperson reports to the sales manager; accounting records revenue.
    let lan = json!({"id": "u-lan", "name": "Nguyễn Thị Lan", "email": "u-lan@demo.example.vn",
                     "team": "Kinh doanh", "role": "salesperson", "manager": "u-minh"});
    records.call("PUT", "/users/u-lan", Some(lan)).await?;
    let accountant = json!({"id": "u-ketoan", "name": "Phạm Kế Toán", "email": "u-ketoan@demo.example.vn",
                            "team": "Kế toán", "role": "salesperson"});
    created += usize::from(records.ensure("/users", accountant, "u-ketoan").await?);
    let [quote_discount, sales_recording] = WORKFLOWS;
    for (sample, id, bindings) in [
        (
            "quote-discount-approval",
            quote_discount,
            json!({"sales_manager": "u-minh", "sender": "mailer"}),
        ),
        (
            "order-sales-recording",
            sales_recording,
            json!({"accountant": "u-ketoan"}),
        ),
    ] {
        let body = json!({"id": id, "bindings": bindings});
        created += usize::from(
            settings
                .ensure(&format!("/samples/{sample}/workflows"), body, id)
                .await?,
        );
        match settings
            .call("POST", &format!("/workflows/{id}/activate"), None)
            .await?
        {
            (StatusCode::OK, _) => created += 1,
            (StatusCode::CONFLICT, _) => {}
            (status, body) => return Err(format!("activating {id}: {status} {body}")),
        }
    }

    // Lan's quote and order, submitted by her.
    let lan = as_user(records, "u-lan", "[sales]");
    let quote_fields = json!({"Code": QUOTE_CODE, "Customer": customer, "Amount": 120000000,
                              "Discount": 25, "Owner": "u-lan"});
    let (quote, new_quote) = find_or_create(records, "Quote", QUOTE_CODE, quote_fields).await?;
    let order_fields = json!({"Code": ORDER_CODE, "Customer": customer, "OrderDate": "2027-05-16",
                              "Amount": 30000000, "Owner": "u-lan", "Salesperson": "u-lan"});
    let (order, new_order) = find_or_create(records, "Order", ORDER_CODE, order_fields).await?;
    created += usize::from(new_quote) + usize::from(new_order);
    let (quote_request, q) = submitted(&lan, "Quote", &quote).await?;
    let (order_request, o) = submitted(&lan, "Order", &order).await?;
    created += usize::from(q) + usize::from(o);

    // The sales manager approves the discount; accounting records the order's revenue.
    let minh = as_user(records, "u-minh", "[sales]");
    let approved = decide(
        &minh,
        ("Quote", &quote, &quote_request),
        "approve",
        json!({"comment": "Đồng ý chiết khấu cho khách hàng thân thiết"}),
    )
    .await?;
    let accounting = as_user(records, "u-ketoan", "[sales]");
    let recorded = decide(
        &accounting,
        ("Order", &order, &order_request),
        "record",
        json!({"comment": "Đã đối soát thanh toán"}),
    )
    .await?;
    created += usize::from(approved) + usize::from(recorded);

    // The stream of both records (their locks and requests) to record-events, as the event
    // source would hand it over; the same records again on a later run set off nothing new.
    let mut changes =
        stream::changes_of(sdk, table, &format!("T#{}#R#{quote}", crate::TENANT)).await?;
    changes
        .extend(stream::changes_of(sdk, table, &format!("T#{}#R#{order}", crate::TENANT)).await?);
    let answer = record_events.invoke(&json!({"Records": changes})).await?;
    let when = if created > 0 {
        "submitted and decided through records-api this run"
    } else {
        "already decided in an earlier run"
    };
    println!(
        "Approvals: quote {QUOTE_CODE} and order {ORDER_CODE} {when}; {} stream records to record-events (again), failures {}",
        changes.len(),
        answer["batchItemFailures"]
    );
    Ok(Approved {
        quote,
        order,
        created,
    })
}

/// The requests' histories and what their outcomes did, read back once the executor ran.
pub async fn report(records: &Api<'_>, done: &Approved) -> Result<(), String> {
    for (module, record) in [("Quote", &done.quote), ("Order", &done.order)] {
        let (_, history) = records
            .call(
                "GET",
                &format!("/records/{module}/{record}/approvals"),
                None,
            )
            .await?;
        let request = &history["items"][0];
        println!(
            "  {module} {record}: '{}' {}",
            request["name"].as_str().unwrap_or("?"),
            request["status"].as_str().unwrap_or("?")
        );
        for line in request["history"].as_array().cloned().unwrap_or_default() {
            println!(
                "    {:<12} {:<26} {:<10} {}",
                line["event"].as_str().unwrap_or("?"),
                line["step"].as_str().unwrap_or(""),
                line["by"].as_str().unwrap_or(""),
                line["comment"].as_str().unwrap_or("")
            );
        }
    }
    let (_, order) = records
        .call("GET", &format!("/records/Order/{}", done.order), None)
        .await?;
    let fields = &order["fields"];
    println!(
        "  Order revenue recorded: {} by {} at {}",
        fields["RecordedRevenue"],
        fields["RecordedBy"].as_str().unwrap_or("?"),
        fields["RecordedAt"].as_str().unwrap_or("?")
    );
    let lan = as_user(records, "u-lan", "[sales]");
    let (_, inbox) = lan.call("GET", "/me/notifications?limit=100", None).await?;
    let told: Vec<String> = inbox["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|n| n["message"].as_str().map(str::to_owned))
        .filter(|m| m.contains(QUOTE_CODE) || m.contains(ORDER_CODE) || m.contains("phê duyệt"))
        .collect();
    println!("  Lan's notifications about them: {}", told.len());
    for message in told.iter().take(4) {
        println!("    {message}");
    }
    Ok(())
}
