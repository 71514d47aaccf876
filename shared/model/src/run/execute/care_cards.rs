//! Care cards of an order: per order, per product or per product category of its lines.

use chrono::Duration;
use serde_json::{Map, Value};

use super::{Context, derived_id};
use crate::action::AssignedValue;
use crate::ids::UserId;
use crate::record::FieldValue;
use crate::record::stored::StoredRecord;
use crate::run::Effect;
use crate::schema::Module;
use crate::template::Escape;
use crate::user::Notification;

/// The care cards of an order: one for the order, or one per (chosen) product or product
/// category of its lines; each owned by a chosen user or the order's salesperson.
pub(super) fn care_cards(
    key: &str,
    c: &Context,
    a: &crate::action::CareCardAction,
) -> Result<(Vec<Effect>, Vec<String>), String> {
    use crate::action::{CardOwner, CareCardBasis};
    if c.definition.module != Module::Order {
        return Err("care cards are created for orders only".into());
    }
    let owner = match &a.owner {
        CardOwner::User { user_id } => user_id.clone(),
        CardOwner::OrderSalesperson {} => match c
            .record
            .get("Salesperson")
            .and_then(FieldValue::as_text)
            .and_then(|u| UserId::new(u).ok())
        {
            Some(user) => user,
            None => return Err("the order has no salesperson to own its care cards".into()),
        },
    };
    let lines = c
        .record
        .get("Lines")
        .and_then(FieldValue::as_lines)
        .unwrap_or_default();
    let chosen = |only: &[String], value: &str| only.is_empty() || only.iter().any(|o| o == value);
    // (product, category) per card.
    let mut subjects: Vec<(Option<String>, Option<String>)> = Vec::new();
    match &a.based_on {
        CareCardBasis::Order {} => subjects.push((None, None)),
        CareCardBasis::Products { only } => {
            for line in lines.iter().filter(|l| chosen(only, &l.product)) {
                if !subjects
                    .iter()
                    .any(|(p, _)| p.as_deref() == Some(line.product.as_str()))
                {
                    subjects.push((Some(line.product.clone()), line.category.clone()));
                }
            }
        }
        CareCardBasis::ProductCategories { only } => {
            for category in lines
                .iter()
                .filter_map(|l| l.category.as_ref())
                .filter(|c| chosen(only, c))
            {
                if !subjects.iter().any(|(_, c)| c.as_ref() == Some(category)) {
                    subjects.push((None, Some(category.clone())));
                }
            }
        }
    }
    if subjects.is_empty() {
        return Err("the order has no line of the chosen products or categories".into());
    }
    let code = c
        .record
        .get("Code")
        .and_then(FieldValue::as_text)
        .unwrap_or_default()
        .to_owned();
    let customer = c
        .record
        .get("Customer")
        .and_then(FieldValue::as_text)
        .map(str::to_owned);
    let care_date = care_date(c, &a.care_date)?;
    let card_module = c.schema.module(Module::CareCard);
    let mut effects = Vec::new();
    let mut ids = Vec::new();
    for (i, (product, category)) in subjects.into_iter().enumerate() {
        let id = derived_id("card", key, i);
        let subject = product
            .clone()
            .or(category.clone())
            .map(|s| format!(" – {s}"))
            .unwrap_or_default();
        let mut fields = Map::new();
        fields.insert(
            "Title".into(),
            Value::String(format!("Chăm sóc đơn hàng {code}{subject}")),
        );
        fields.insert("Order".into(), Value::String(c.record.id.to_string()));
        if let Some(customer) = &customer {
            fields.insert("Customer".into(), Value::String(customer.clone()));
        }
        if let Some(product) = product {
            fields.insert("Product".into(), Value::String(product));
        }
        if let Some(category) = category {
            fields.insert("ProductCategory".into(), Value::String(category));
        }
        fields.insert("CareDate".into(), Value::String(care_date.to_string()));
        fields.insert("Layout".into(), Value::String(a.layout.clone()));
        fields.insert("Status".into(), Value::String("Open".into()));
        fields.insert("Owner".into(), Value::String(owner.to_string()));
        for assignment in &a.fields {
            let Some(def) = card_module.field(&assignment.field) else {
                continue;
            };
            match &assignment.value {
                AssignedValue::Literal { value } => {
                    fields.insert(def.name.clone(), value.clone());
                }
                AssignedValue::Merge { text } => {
                    fields.insert(
                        def.name.clone(),
                        Value::String(c.render(text, Escape::Plain)),
                    );
                }
                AssignedValue::Today { offset_days } => {
                    let day = c.now.with_timezone(&c.tz).date_naive()
                        + Duration::days(i64::from(*offset_days));
                    fields.insert(def.name.clone(), Value::String(day.to_string()));
                }
                AssignedValue::Clear {} => {
                    fields.remove(&def.name);
                }
            }
        }
        fields.insert("CreatedAt".into(), Value::String(c.now.to_rfc3339()));
        fields.insert("UpdatedAt".into(), Value::String(c.now.to_rfc3339()));
        ids.push(id.to_string());
        effects.push(Effect::Create(StoredRecord {
            id,
            module: Module::CareCard,
            fields,
        }));
    }
    if a.notify_owner {
        effects.push(Effect::Notify(Notification {
            id: derived_id("ntf", key, 0).to_string(),
            user: owner,
            message: format!("{} thẻ chăm sóc mới cho đơn hàng {code}", ids.len()),
            record: Some(c.record.id.clone()),
            at: c.now,
            read: false,
        }));
    }
    Ok((effects, ids))
}

/// The card's care date: the base day (a date field of the order, in the firing time zone for a
/// date-time, or the day the action runs) plus the days, negative for days before it.
fn care_date(c: &Context, spec: &crate::action::CareDateSpec) -> Result<chrono::NaiveDate, String> {
    let days = Duration::days(i64::from(spec.days_after));
    let Some(field) = &spec.from_field else {
        let base = match spec.time_of_day {
            Some(time) => c.due(0, Some(time)),
            None => c.now,
        };
        return Ok((base + days).with_timezone(&c.tz).date_naive());
    };
    let label = c
        .schema
        .module(Module::Order)
        .field(field)
        .map_or(field.as_str(), |d| d.label_vi.as_str());
    let base = match c.record.get(field) {
        Some(FieldValue::Date(day)) => *day,
        Some(FieldValue::DateTime(at)) => at.with_timezone(&c.tz).date_naive(),
        _ => {
            return Err(format!(
                "the order has no {label} to count the care date from"
            ));
        }
    };
    base.checked_add_signed(days)
        .ok_or_else(|| format!("the care date counted from {label} is out of range"))
}
