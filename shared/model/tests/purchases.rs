//! A customer's purchase facts over the in-memory stores: the last purchase date, loyalty points
//! and rank stay exact through every order created, edited, cancelled, moved or deleted (and catch
//! up after a write that could not refresh them), and the purchase statistics of a period.

mod support;

use crm_model::schema::Module;
use serde_json::{Value, json};
use support::crm::{Crm, fields, rid};
use support::flaky::{FlakyRecords, Outage};

/// Last purchase date, loyalty points and rank of a customer.
async fn facts(crm: &Crm, customer: &str) -> (Value, Value, Value) {
    let field = |name| crm.field(customer, name);
    (
        field("LastPurchaseDate").await,
        field("LoyaltyPoints").await,
        field("Rank").await,
    )
}

fn confirmed(date: &str, amount: i64) -> Value {
    json!({"OrderDate": date, "Amount": amount, "Status": "Confirmed"})
}

#[tokio::test]
async fn last_purchase_points_and_rank_follow_orders_created_edited_cancelled_and_deleted() {
    let crm = Crm::new().await;
    crm.loyalty().await;
    crm.create(Module::Customer, "c1", json!({"Name": "Võ Thị Lan"}))
        .await;
    for (id, date, amount) in [
        ("o1", "2026-03-01", 1_500_000),
        ("o2", "2026-05-20", 2_000_000),
        ("o3", "2026-04-10", 700_000),
    ] {
        crm.order("c1", id, confirmed(date, amount)).await;
    }
    assert_eq!(
        facts(&crm, "c1").await,
        (json!("2026-05-20"), json!(42), json!("Silver"))
    );
    crm.patch(Module::Order, "o2", json!({"OrderDate": "2026-02-01"}))
        .await;
    assert_eq!(facts(&crm, "c1").await.0, json!("2026-04-10"));
    crm.patch(Module::Order, "o1", json!({"Status": "Cancelled"}))
        .await;
    assert_eq!(
        facts(&crm, "c1").await,
        (json!("2026-04-10"), json!(27), json!("Silver"))
    );
    let cases = crm.records();
    cases
        .delete(&crm.sales(), Module::Order, &rid("o3"), None)
        .await
        .unwrap();
    assert_eq!(facts(&crm, "c1").await.0, json!("2026-02-01"));
    cases
        .delete(&crm.sales(), Module::Order, &rid("o2"), None)
        .await
        .unwrap();
    assert_eq!(
        facts(&crm, "c1").await,
        (Value::Null, json!(0), Value::Null),
        "no purchase left"
    );
    crm.order("c1", "o4", confirmed("2026-06-01", 5_000_000))
        .await;
    assert_eq!(
        facts(&crm, "c1").await,
        (json!("2026-06-01"), json!(50), json!("Gold"))
    );
}

#[tokio::test]
async fn an_order_moved_to_another_customer_refreshes_both_customers() {
    let crm = Crm::new().await;
    crm.loyalty().await;
    crm.create(Module::Customer, "c1", json!({"Name": "Lan"}))
        .await;
    crm.create(Module::Customer, "c2", json!({"Name": "Minh"}))
        .await;
    crm.order("c1", "o1", confirmed("2026-03-01", 3_000_000))
        .await;
    assert_eq!(facts(&crm, "c1").await.1, json!(30));
    crm.patch(Module::Order, "o1", json!({"Customer": "c2"}))
        .await;
    assert_eq!(
        facts(&crm, "c1").await,
        (Value::Null, json!(0), Value::Null)
    );
    assert_eq!(
        facts(&crm, "c2").await,
        (json!("2026-03-01"), json!(30), json!("Silver"))
    );
}

#[tokio::test]
async fn an_order_is_saved_even_when_its_customers_facts_cannot_be_and_the_next_write_catches_up() {
    let crm = Crm::new().await;
    crm.create(Module::Customer, "c1", json!({"Name": "Lan"}))
        .await;
    // The order is written; the table goes down before the customer's facts are.
    let flaky = FlakyRecords::new(&crm.w.stores.records, Some(1), Outage::Refused);
    let saved = crm
        .records_over(&flaky)
        .create_from_customer(
            &crm.sales(),
            &rid("c1"),
            Module::Order,
            rid("o1"),
            &fields(confirmed("2026-03-01", 100)),
        )
        .await;
    assert!(saved.is_ok(), "{saved:?}");
    assert!(crm.stored("o1").await.is_some());
    assert_eq!(crm.field("c1", "LastPurchaseDate").await, Value::Null);
    crm.order("c1", "o2", confirmed("2026-02-01", 100)).await;
    assert_eq!(
        crm.field("c1", "LastPurchaseDate").await,
        json!("2026-03-01")
    );
}

#[tokio::test]
async fn purchase_statistics_cover_the_period_product_by_product() {
    let crm = Crm::new().await;
    crm.tea_customer().await;
    let stats = |from: Option<&str>, to: Option<&str>| {
        let cases = crm.records();
        let (actor, from, to) = (
            crm.sales(),
            from.map(|d| d.parse().unwrap()),
            to.map(|d| d.parse().unwrap()),
        );
        async move {
            cases
                .purchase_stats(&actor, &rid("c1"), from, to)
                .await
                .unwrap()
        }
    };
    let year = stats(Some("2026-01-01"), Some("2026-12-31")).await;
    assert_eq!((year.orders, year.revenue), (2, 1_350_000));
    let first = &year.products[0];
    assert_eq!(
        (
            first.product.as_str(),
            first.quantity,
            first.revenue,
            first.average_unit_price
        ),
        ("Trà Shan tuyết", 3.0, 900_000, 300_000)
    );
    assert_eq!(year.first_purchase, "2026-01-05".parse().ok());
    let ever = stats(None, None).await;
    assert_eq!(
        (
            ever.orders,
            ever.products[0].product.as_str(),
            ever.products[0].quantity
        ),
        (3, "Trà sen", 13.0)
    );
    assert_eq!(ever.last_purchase, "2026-02-07".parse().ok());
}
