//! Purchases of a customer: the last purchase date (seed 003 §4.3), loyalty points and rank
//! (§3.1, §3.2) and the quick purchase statistics (§4.2), all computed from the customer's
//! orders so that they stay exact whatever order is created, edited or deleted.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

use crate::record::LineItem;
use crate::record::stored::StoredRecord;
use crate::validation::Problems;

/// The tenant's points rule: one point per `amount_per_point` of non-cancelled order totals, and
/// the rank reached at each threshold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoyaltyRule {
    pub amount_per_point: i64,
    /// Ranks by ascending `min_points`; a customer takes the highest one reached.
    #[serde(default)]
    pub tiers: Vec<Tier>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// A value of the customer's Rank field.
    pub rank: String,
    pub min_points: i64,
}

impl LoyaltyRule {
    pub fn validate(&self, rank_options: &[&str]) -> Problems {
        let mut problems = Problems::default();
        if self.amount_per_point <= 0 {
            problems.push("/amount_per_point", "must be a positive amount");
        }
        let mut previous = None;
        for (i, tier) in self.tiers.iter().enumerate() {
            if !rank_options.contains(&tier.rank.as_str()) {
                problems.push(
                    format!("/tiers/{i}/rank"),
                    format!("not a rank; one of {}", rank_options.join(", ")),
                );
            }
            if tier.min_points < 0 || previous.is_some_and(|p| tier.min_points <= p) {
                problems.push(
                    format!("/tiers/{i}/min_points"),
                    "must be at least 0 and above the previous tier's",
                );
            }
            previous = Some(tier.min_points);
        }
        problems
    }

    pub fn points(&self, revenue: i64) -> i64 {
        if self.amount_per_point <= 0 {
            return 0;
        }
        revenue.max(0) / self.amount_per_point
    }

    pub fn rank(&self, points: i64) -> Option<&str> {
        self.tiers
            .iter()
            .rev()
            .find(|t| points >= t.min_points)
            .map(|t| t.rank.as_str())
    }
}

/// One order as purchases see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Purchase {
    pub date: NaiveDate,
    pub amount: i64,
    pub lines: Vec<LineItem>,
}

impl Purchase {
    /// The purchase an order record stands for; cancelled and undated orders are none.
    pub fn of_order(order: &StoredRecord) -> Option<Self> {
        let f = &order.fields;
        if f.get("Status").and_then(Value::as_str) == Some("Cancelled") {
            return None;
        }
        let date = f.get("OrderDate")?.as_str()?.parse().ok()?;
        let lines: Vec<LineItem> = f
            .get("Lines")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default();
        let from_lines: f64 = lines
            .iter()
            .map(|l| l.quantity * l.unit_price.unwrap_or(0) as f64)
            .sum();
        let amount = f
            .get("Amount")
            .and_then(Value::as_f64)
            .unwrap_or(from_lines)
            .round() as i64;
        Some(Self {
            date,
            amount,
            lines,
        })
    }
}

/// What a customer's orders say about them, as stored on the customer.
#[derive(Debug, Clone, PartialEq)]
pub struct PurchaseFacts {
    pub last_purchase: Option<NaiveDate>,
    pub revenue: i64,
    pub points: Option<i64>,
    pub rank: Option<String>,
}

impl PurchaseFacts {
    pub fn of(purchases: &[Purchase], rule: Option<&LoyaltyRule>) -> Self {
        let revenue = purchases.iter().map(|p| p.amount).sum();
        let points = rule.map(|r| r.points(revenue));
        Self {
            last_purchase: purchases.iter().map(|p| p.date).max(),
            revenue,
            points,
            rank: rule
                .zip(points)
                .and_then(|(r, p)| r.rank(p).map(str::to_owned)),
        }
    }

    /// Writes the facts into a customer's fields; true when something changed.
    pub fn apply(&self, fields: &mut serde_json::Map<String, Value>) -> bool {
        // What the customer can still spend: earned less redeemed, never below zero (a refund
        // after a redemption leaves nothing to spend, not a debt).
        let redeemed = redeemed_points(fields);
        let mut changed = false;
        let mut set = |name: &str, value: Option<Value>| {
            let current = fields.get(name);
            if current != value.as_ref() {
                changed = true;
                match value {
                    Some(v) => fields.insert(name.to_owned(), v),
                    None => fields.remove(name),
                };
            }
        };
        set(
            "LastPurchaseDate",
            self.last_purchase.map(|d| Value::String(d.to_string())),
        );
        if let Some(points) = self.points {
            set(
                "LoyaltyPoints",
                Some(Value::from((points - redeemed).max(0))),
            );
            // Below the first tier, no rank: a rank once reached is not kept after a refund.
            set("Rank", self.rank.clone().map(Value::String));
        }
        changed
    }
}

/// The points a customer has redeemed so far (its RedeemedPoints field; none: 0).
pub fn redeemed_points(fields: &serde_json::Map<String, Value>) -> i64 {
    fields
        .get("RedeemedPoints")
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

/// Quick statistics of what a customer bought over a period (§4.2).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PurchaseStats {
    pub orders: usize,
    pub revenue: i64,
    pub first_purchase: Option<NaiveDate>,
    pub last_purchase: Option<NaiveDate>,
    /// Per product, most bought first.
    pub products: Vec<ProductStats>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProductStats {
    pub product: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    pub quantity: f64,
    pub revenue: i64,
    /// Revenue divided by quantity, rounded.
    pub average_unit_price: i64,
}

impl PurchaseStats {
    pub fn of(purchases: &[Purchase], from: Option<NaiveDate>, to: Option<NaiveDate>) -> Self {
        let within: Vec<&Purchase> = purchases
            .iter()
            .filter(|p| from.is_none_or(|f| p.date >= f) && to.is_none_or(|t| p.date <= t))
            .collect();
        let mut products: BTreeMap<&str, ProductStats> = BTreeMap::new();
        for line in within.iter().flat_map(|p| &p.lines) {
            let entry = products
                .entry(line.product.as_str())
                .or_insert_with(|| ProductStats {
                    product: line.product.clone(),
                    category: line.category.clone(),
                    quantity: 0.0,
                    revenue: 0,
                    average_unit_price: 0,
                });
            entry.quantity += line.quantity;
            entry.revenue += (line.quantity * line.unit_price.unwrap_or(0) as f64).round() as i64;
        }
        let mut products: Vec<ProductStats> = products.into_values().collect();
        for p in &mut products {
            if p.quantity > 0.0 {
                p.average_unit_price = (p.revenue as f64 / p.quantity).round() as i64;
            }
        }
        products.sort_by(|a, b| b.quantity.total_cmp(&a.quantity));
        Self {
            orders: within.len(),
            revenue: within.iter().map(|p| p.amount).sum(),
            first_purchase: within.iter().map(|p| p.date).min(),
            last_purchase: within.iter().map(|p| p.date).max(),
            products,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::RecordId;
    use crate::schema::Module;
    use serde_json::json;

    fn order(date: &str, amount: i64, status: &str) -> StoredRecord {
        StoredRecord {
            id: RecordId::new(format!("o-{date}")).unwrap(),
            module: Module::Order,
            fields: json!({
                "OrderDate": date, "Amount": amount, "Status": status,
                "Lines": [{"product": "Kem dưỡng", "category": "Mỹ phẩm", "quantity": 2.0, "unit_price": amount / 2}]
            })
            .as_object()
            .cloned()
            .unwrap(),
        }
    }

    fn rule() -> LoyaltyRule {
        LoyaltyRule {
            amount_per_point: 100_000,
            tiers: vec![
                Tier {
                    rank: "Silver".into(),
                    min_points: 10,
                },
                Tier {
                    rank: "Gold".into(),
                    min_points: 50,
                },
            ],
        }
    }

    #[test]
    fn cancelled_orders_do_not_count_toward_last_purchase_or_points() {
        let purchases: Vec<Purchase> = [
            order("2026-03-01", 1_500_000, "Delivered"),
            order("2026-05-01", 9_000_000, "Cancelled"),
            order("2026-04-01", 500_000, "Confirmed"),
        ]
        .iter()
        .filter_map(Purchase::of_order)
        .collect();
        let facts = PurchaseFacts::of(&purchases, Some(&rule()));
        assert_eq!(facts.last_purchase, "2026-04-01".parse().ok());
        assert_eq!(facts.points, Some(20));
        assert_eq!(facts.rank.as_deref(), Some("Silver"));
    }

    #[test]
    fn facts_clear_the_last_purchase_when_no_order_is_left() {
        let mut fields = json!({"LastPurchaseDate": "2026-04-01"})
            .as_object()
            .cloned()
            .unwrap();
        assert!(PurchaseFacts::of(&[], None).apply(&mut fields));
        assert!(!fields.contains_key("LastPurchaseDate"));
        assert!(!PurchaseFacts::of(&[], None).apply(&mut fields));
    }

    #[test]
    fn stats_group_products_within_the_period() {
        let purchases: Vec<Purchase> = [
            order("2026-01-10", 200_000, "Delivered"),
            order("2026-02-10", 400_000, "Delivered"),
            order("2025-12-10", 800_000, "Delivered"),
        ]
        .iter()
        .filter_map(Purchase::of_order)
        .collect();
        let stats = PurchaseStats::of(&purchases, "2026-01-01".parse().ok(), None);
        assert_eq!((stats.orders, stats.revenue), (2, 600_000));
        assert_eq!(stats.products.len(), 1);
        assert_eq!(stats.products[0].quantity, 4.0);
        assert_eq!(stats.products[0].average_unit_price, 150_000);
    }

    #[test]
    fn tiers_must_ascend_and_name_ranks() {
        let mut bad = rule();
        bad.tiers[1].min_points = 5;
        bad.tiers[0].rank = "Platinum".into();
        let problems = bad.validate(&["Member", "Silver", "Gold", "Diamond"]);
        assert!(problems.has("/tiers/0/rank") && problems.has("/tiers/1/min_points"));
    }
}
