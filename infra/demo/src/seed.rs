//! Demo data: customers with Vietnamese names, birthdays, phones and emails, and their orders.
//! Deterministic, so a second run finds everything already there.

use chrono::{Duration, NaiveDate};
use serde_json::{Value, json};
use std::io::Write;

use crm_model::ids::{RecordId, TenantId};
use crm_model::ports::{RecordStore, StoreError, StoredRecord};
use crm_model::schema::Module;

const SURNAMES: [&str; 12] = [
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ",
];
const MIDDLE: [&str; 8] = ["Văn", "Thị", "Hữu", "Minh", "Ngọc", "Thanh", "Đức", "Thu"];
const GIVEN: [&str; 16] = [
    "An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hải", "Hương", "Khoa", "Lan", "Linh", "Mai",
    "Nam", "Phương", "Quân", "Trang",
];
const OWNERS: [&str; 2] = ["u-lan", "u-minh"];
/// The demo customers' email domain, by which their mail is told apart in the emulator.
pub const EMAIL_DOMAIN: &str = "khachhang.demo.example.vn";
/// How the demo's birthday SMS ends (its template), by which its SMS are told apart.
const SMS_ENDING: &str = "một tuổi mới nhiều sức khỏe và niềm vui.";

/// Whether an SMS text is one of the demo's birthday greetings.
pub fn is_demo_sms(text: &str) -> bool {
    text.ends_with(SMS_ENDING)
}
const PRODUCTS: [(&str, &str); 4] = [
    ("Máy lọc nước", "Gia dụng"),
    ("Lõi lọc thay thế", "Gia dụng"),
    ("Nồi chiên không dầu", "Nhà bếp"),
    ("Bình giữ nhiệt", "Nhà bếp"),
];
const PROVINCES: [&str; 4] = ["Hà Nội", "TP Hồ Chí Minh", "Đà Nẵng", "Cần Thơ"];

/// The day the demo's scans run on (in Asia/Ho_Chi_Minh).
pub fn demo_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2027, 5, 17).unwrap_or_default()
}

fn customer(i: usize) -> StoredRecord {
    let name = format!(
        "{} {} {}",
        SURNAMES[i % 12],
        MIDDLE[(i / 12) % 8],
        GIVEN[(i * 7) % 16]
    );
    // One customer in fifty has a birthday on the demo day; the rest spread over the year.
    let birthday = if i % 50 == 0 {
        NaiveDate::from_ymd_opt(1970 + (i % 35) as i32, 5, 17)
    } else {
        NaiveDate::from_ymd_opt(1970 + (i % 35) as i32, 1, 1)
            .map(|d| d + Duration::days((i * 37 % 365) as i64))
    };
    // One in forty last bought 90 days before the demo day.
    let last_purchase = if i % 40 == 1 {
        demo_day() - Duration::days(90)
    } else {
        demo_day() - Duration::days(10 + (i % 60) as i64)
    };
    let mut fields = json!({
        "Name": name,
        "Code": format!("KH{i:05}"),
        "CustomerType": "Individual",
        "Phone": format!("09{:08}", 12_345_678 + i),
        "Email": format!("khachhang{i}@{EMAIL_DOMAIN}"),
        "Birthday": birthday.map(|d| d.to_string()),
        "LastPurchaseDate": last_purchase.to_string(),
        "Province": PROVINCES[i % 4],
        "Owner": OWNERS[i % 2],
        "CreatedAt": "2027-01-02T03:00:00Z",
        "UpdatedAt": "2027-01-02T03:00:00Z",
    });
    if i % 9 == 0 {
        // Some customers left no phone: the birthday SMS workflow's condition skips them.
        fields["Phone"] = Value::Null;
    }
    record(format!("cus-{i:05}"), Module::Customer, fields)
}

fn order(i: usize) -> StoredRecord {
    // Orders delivered a week before the demo day get a follow-up care card on it.
    let delivered = demo_day() - Duration::days(if i % 5 == 0 { 7 } else { 20 + (i % 30) as i64 });
    record(
        format!("ord-{i:05}"),
        Module::Order,
        json!({
            "Code": format!("DH{i:05}"),
            "Customer": format!("cus-{:05}", i * 3),
            "OrderDate": (delivered - Duration::days(3)).to_string(),
            "DeliveryDate": delivered.to_string(),
            "Amount": 450_000 + (i as i64 % 20) * 125_000,
            "Lines": [
                {"product": PRODUCTS[i % 4].0, "category": PRODUCTS[i % 4].1, "quantity": 1 + i % 3, "unit_price": 450_000},
                {"product": PRODUCTS[(i + 1) % 4].0, "category": PRODUCTS[(i + 1) % 4].1, "quantity": 1}
            ],
            "Status": "Delivered",
            "Salesperson": OWNERS[i % 2],
            "Owner": OWNERS[i % 2],
            "UpdatedAt": "2027-01-02T03:00:00Z",
        }),
    )
}

fn record(id: String, module: Module, fields: Value) -> StoredRecord {
    let fields = fields
        .as_object()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, v)| !v.is_null())
        .collect();
    StoredRecord {
        id: RecordId::new(id).expect("demo ids are valid tokens"),
        module,
        fields,
    }
}

fn progress(label: &str, done: usize, total: usize) {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        // Not a terminal (a log, CI): a line now and then instead of a redrawn bar.
        if done % 500 == 0 || done == total {
            eprintln!("{label}: {done}/{total}");
        }
        return;
    }
    let width = 30;
    let filled = done * width / total.max(1);
    eprint!(
        "\r{label:<10} [{}{}] {done}/{total}",
        "#".repeat(filled),
        " ".repeat(width - filled)
    );
    if done == total {
        eprintln!();
    }
    let _ = std::io::stderr().flush();
}

/// Creates what is missing; returns how many records were created.
pub async fn seed(
    records: &dyn RecordStore,
    tenant: &TenantId,
    customers: usize,
    orders: usize,
) -> Result<usize, StoreError> {
    let mut created = 0;
    for (label, total, make) in [
        (
            "customers",
            customers,
            customer as fn(usize) -> StoredRecord,
        ),
        ("orders", orders, order),
    ] {
        for i in 0..total {
            match records.create(tenant, &make(i)).await {
                Ok(_) => created += 1,
                Err(StoreError::AlreadyExists) => {}
                Err(other) => return Err(other),
            }
            if (i + 1) % 50 == 0 || i + 1 == total {
                progress(label, i + 1, total);
            }
        }
    }
    Ok(created)
}
