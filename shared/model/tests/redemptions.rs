//! Redeeming loyalty points over the in-memory stores: against one of the customer's orders,
//! never more than the balance, once per key (a replay answers the same redemption, also after
//! a lost answer), the balance kept right when orders change afterwards and through a merge.
//! Two redemptions racing on one revision are the store contract's
//! (`a_redemption_is_written_with_its_customer_once`).

mod support;

use crm_model::record::service::{RecordError, RedeemRequest};
use crm_model::schema::Module;
use serde_json::{Value, json};
use support::crm::{Crm, rid};

fn ask(order: &str, points: i64, key: &str) -> RedeemRequest {
    RedeemRequest {
        order: rid(order),
        points,
        key: key.into(),
    }
}

/// Lan (`c1`) with her tea orders, under a programme of one point per 100,000 đ.
async fn lan() -> (Crm, i64) {
    let crm = Crm::new().await;
    crm.loyalty().await;
    crm.tea_customer().await;
    let earned = crm.field("c1", "LoyaltyPoints").await.as_i64().unwrap();
    assert!(earned > 20, "the orders earn points: {earned}");
    (crm, earned)
}

#[tokio::test]
async fn points_are_redeemed_against_an_order_once_per_key_and_never_below_zero() {
    let (crm, earned) = lan().await;
    let records = crm.records();
    let done = records
        .redeem(&crm.sales(), &rid("c1"), &ask("o1", 10, "k-1"))
        .await
        .unwrap();
    assert!(!done.replayed);
    assert_eq!(done.redemption.balance_after, earned - 10);
    assert_eq!(crm.field("c1", "LoyaltyPoints").await, json!(earned - 10));
    assert_eq!(crm.field("c1", "RedeemedPoints").await, json!(10));

    // The same request again (a double click, a retry): the same redemption, nothing spent.
    let again = records
        .redeem(&crm.sales(), &rid("c1"), &ask("o1", 10, "k-1"))
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(again.redemption, done.redemption);
    assert_eq!(crm.field("c1", "LoyaltyPoints").await, json!(earned - 10));
    // The same key for something else is a mistake, said as such.
    let reused = records
        .redeem(&crm.sales(), &rid("c1"), &ask("o1", 5, "k-1"))
        .await;
    assert!(
        matches!(reused, Err(RecordError::Conflict(ref m)) if m.contains("k-1")),
        "{reused:?}"
    );
    // More than the balance is refused with the balance in words.
    let greedy = records
        .redeem(&crm.sales(), &rid("c1"), &ask("o2", earned, "k-2"))
        .await;
    let Err(RecordError::Conflict(message)) = greedy else {
        panic!("expected a refusal, got {greedy:?}");
    };
    assert!(message.contains(&(earned - 10).to_string()), "{message}");

    let balance = records.loyalty(&crm.sales(), &rid("c1")).await.unwrap();
    assert_eq!((balance.points, balance.redeemed), (earned - 10, 10));
    assert_eq!(balance.redemptions, vec![done.redemption]);
}

#[tokio::test]
async fn a_second_redemption_sees_the_balance_the_first_left() {
    let (crm, earned) = lan().await;
    let records = crm.records();
    let half = earned / 2 + 1;
    let (sales, c1) = (crm.sales(), rid("c1"));
    let (first, second) = (ask("o1", half, "k-a"), ask("o2", half, "k-b"));
    let (a, b) = tokio::join!(
        records.redeem(&sales, &c1, &first),
        records.redeem(&sales, &c1, &second),
    );
    assert_eq!(
        [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(),
        1,
        "{a:?} {b:?}"
    );
    assert_eq!(crm.field("c1", "LoyaltyPoints").await, json!(earned - half));
}

#[tokio::test]
async fn the_balance_follows_orders_changed_after_a_redemption() {
    let (crm, earned) = lan().await;
    crm.records()
        .redeem(&crm.sales(), &rid("c1"), &ask("o1", 10, "k-1"))
        .await
        .unwrap();
    // An order more: earned grows, the redeemed points stay spent.
    crm.order(
        "c1",
        "o4",
        json!({"OrderDate": "2026-04-01", "Amount": 1_000_000}),
    )
    .await;
    assert_eq!(
        crm.field("c1", "LoyaltyPoints").await,
        json!(earned + 10 - 10)
    );
    // Orders cancelled until less is earned than was spent: nothing to spend, not a debt.
    for order in ["o1", "o2", "o3", "o4"] {
        crm.patch(Module::Order, order, json!({"Status": "Cancelled"}))
            .await;
    }
    assert_eq!(crm.field("c1", "LoyaltyPoints").await, json!(0));
    assert_eq!(crm.field("c1", "RedeemedPoints").await, json!(10));
}

#[tokio::test]
async fn a_redemption_needs_the_customers_own_live_order_a_programme_and_a_sound_request() {
    let (crm, _) = lan().await;
    let records = crm.records();
    for (request, at) in [
        (ask("o9", 1, "k-1"), "/order"),
        (ask("no-such", 1, "k-1"), "/order"),
        (ask("o1", 0, "k-1"), "/points"),
        (ask("o1", 1, "khoá có dấu"), "/key"),
    ] {
        let refused = records.redeem(&crm.sales(), &rid("c1"), &request).await;
        assert!(
            matches!(refused, Err(RecordError::Invalid(ref p)) if p.has(at)),
            "{at}: {refused:?}"
        );
    }
    crm.patch(Module::Order, "o1", json!({"Status": "Cancelled"}))
        .await;
    let cancelled = records
        .redeem(&crm.sales(), &rid("c1"), &ask("o1", 1, "k-1"))
        .await;
    assert!(
        matches!(cancelled, Err(RecordError::Invalid(_))),
        "{cancelled:?}"
    );
    crm.tenant_settings(|s| s.loyalty = None).await;
    let none = records
        .redeem(&crm.sales(), &rid("c1"), &ask("o2", 1, "k-1"))
        .await;
    assert!(matches!(none, Err(RecordError::Conflict(_))), "{none:?}");
    assert_eq!(crm.field("c1", "RedeemedPoints").await, Value::Null);
}

#[tokio::test]
async fn a_redemption_whose_answer_was_lost_is_found_again_not_spent_twice() {
    let (crm, earned) = lan().await;
    let records = crm.records();
    crm.w.stores.lose_next_write_replies(1);
    let lost = records
        .redeem(&crm.sales(), &rid("c1"), &ask("o1", 10, "k-lost"))
        .await;
    assert!(matches!(lost, Err(RecordError::Store(_))), "{lost:?}");
    let retried = records
        .redeem(&crm.sales(), &rid("c1"), &ask("o1", 10, "k-lost"))
        .await
        .unwrap();
    assert!(retried.replayed, "the first attempt was written");
    assert_eq!(crm.field("c1", "LoyaltyPoints").await, json!(earned - 10));
}

#[tokio::test]
async fn points_a_merged_duplicate_spent_stay_spent_once() {
    let (crm, earned) = lan().await;
    crm.create(Module::Customer, "c-dup", json!({"Name": "Lan (trùng)"}))
        .await;
    crm.order(
        "c-dup",
        "o-dup",
        json!({"OrderDate": "2026-05-01", "Amount": 1_000_000}),
    )
    .await;
    let records = crm.records();
    records
        .redeem(&crm.sales(), &rid("c-dup"), &ask("o-dup", 8, "k-dup"))
        .await
        .unwrap();
    for _ in 0..2 {
        // The second merge finds it done: nothing carried twice.
        records
            .merge(&crm.sales(), &rid("c1"), &rid("c-dup"), &[])
            .await
            .unwrap();
    }
    assert_eq!(crm.field("c1", "RedeemedPoints").await, json!(8));
    assert_eq!(
        crm.field("c1", "LoyaltyPoints").await,
        json!(earned + 10 - 8)
    );
    let ledger = records
        .loyalty(&crm.sales(), &rid("c1"))
        .await
        .unwrap()
        .redemptions;
    assert_eq!(ledger.len(), 1);
    assert_eq!(
        (ledger[0].id.as_str(), ledger[0].points),
        ("merged-c-dup", 8)
    );
}
