//! Records: field values typed by the module schema.

pub mod attachments;
pub mod identity;
pub mod limits;
pub mod loyalty;
pub mod origin;
pub mod service;
pub mod store;
pub mod stored;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

use crate::ids::{RecordId, UserId};
use crate::schema::{FieldDef, FieldKind, ModuleSchema};
use crate::validation::{Problems, pointer_segment};

/// Most users or files one field lists.
pub const MAX_LISTED: usize = 20;

/// A typed field value. Serialises to plain JSON: dates as `YYYY-MM-DD`, date-times as RFC 3339.
/// It is read back only through the schema ([`parse_fields`]), since plain JSON alone cannot tell
/// a date from a text that looks like one.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum FieldValue {
    Bool(bool),
    Integer(i64),
    Number(f64),
    Date(NaiveDate),
    DateTime(DateTime<Utc>),
    Text(String),
    List(Vec<String>),
    Lines(Vec<LineItem>),
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineItem {
    pub product: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    pub quantity: f64,
    /// Whole units of the tenant's currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<i64>,
}

impl FieldValue {
    pub fn as_text(&self) -> Option<&str> {
        match self {
            FieldValue::Text(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_number(&self) -> Option<f64> {
        match *self {
            FieldValue::Integer(i) => Some(i as f64),
            FieldValue::Number(n) => Some(n),
            _ => None,
        }
    }

    pub fn as_date(&self) -> Option<NaiveDate> {
        match *self {
            FieldValue::Date(d) => Some(d),
            _ => None,
        }
    }

    pub fn as_datetime(&self) -> Option<DateTime<Utc>> {
        match *self {
            FieldValue::DateTime(d) => Some(d),
            _ => None,
        }
    }

    pub fn as_lines(&self) -> Option<&[LineItem]> {
        match self {
            FieldValue::Lines(lines) => Some(lines),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[String]> {
        match self {
            FieldValue::List(items) => Some(items),
            _ => None,
        }
    }

    /// Parses a JSON value as a value of `kind`; `Ok(None)` for null.
    pub fn parse(kind: &FieldKind, value: &Value) -> Result<Option<FieldValue>, String> {
        // Kept as stored JSON and shown on the record; nothing compares it.
        if value.is_null() || kind.is_system_json() {
            return Ok(None);
        }
        let wrong = || format!("expected a {} value", kind.name());
        let parsed = match kind {
            FieldKind::Text => FieldValue::Text(value.as_str().ok_or_else(wrong)?.to_owned()),
            FieldKind::Number => {
                let n = value.as_f64().filter(|n| n.is_finite()).ok_or_else(wrong)?;
                FieldValue::Number(n)
            }
            FieldKind::Money => FieldValue::Integer(value.as_i64().ok_or_else(|| {
                "expected a whole amount of money (no fractional units)".to_owned()
            })?),
            FieldKind::Date => {
                let s = value.as_str().ok_or_else(wrong)?;
                FieldValue::Date(parse_date(s)?)
            }
            FieldKind::DateTime => {
                let s = value.as_str().ok_or_else(wrong)?;
                let dt = DateTime::parse_from_rfc3339(s)
                    .map_err(|_| "expected an RFC 3339 date-time with offset".to_owned())?;
                FieldValue::DateTime(dt.with_timezone(&Utc))
            }
            FieldKind::PickList { options } => {
                let s = value.as_str().ok_or_else(wrong)?;
                if !options.iter().any(|o| o.value == s) {
                    return Err(format!("'{s}' is not one of the field's options"));
                }
                FieldValue::Text(s.to_owned())
            }
            FieldKind::MultiPickList { options } => {
                let items = value.as_array().ok_or_else(wrong)?;
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    let s = item.as_str().ok_or_else(wrong)?;
                    if !options.iter().any(|o| o.value == s) {
                        return Err(format!("'{s}' is not one of the field's options"));
                    }
                    out.push(s.to_owned());
                }
                FieldValue::List(out)
            }
            FieldKind::User => {
                let s = value.as_str().ok_or_else(wrong)?;
                UserId::new(s).map_err(|e| format!("user id {e}"))?;
                FieldValue::Text(s.to_owned())
            }
            FieldKind::Users => {
                let items = value.as_array().ok_or_else(wrong)?;
                if items.len() > MAX_LISTED {
                    return Err(format!("at most {MAX_LISTED} users"));
                }
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    let s = item.as_str().ok_or_else(wrong)?;
                    UserId::new(s).map_err(|e| format!("user id {e}"))?;
                    if !out.iter().any(|o: &String| o == s) {
                        out.push(s.to_owned());
                    }
                }
                FieldValue::List(out)
            }
            FieldKind::ScoreBreakdown | FieldKind::Approval => return Ok(None),
            FieldKind::Files => {
                let items = value.as_array().ok_or_else(wrong)?;
                if items.len() > MAX_LISTED {
                    return Err(format!("at most {MAX_LISTED} files"));
                }
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    let s = item.as_str().ok_or_else(wrong)?;
                    if s.is_empty()
                        || s.len() > 255
                        || s.contains(['/', '\\'])
                        || s.chars().any(char::is_control)
                    {
                        return Err(format!("'{s}' is not a file name"));
                    }
                    out.push(s.to_owned());
                }
                FieldValue::List(out)
            }
            FieldKind::Reference { module } => {
                let s = value.as_str().ok_or_else(wrong)?;
                RecordId::new(s).map_err(|e| format!("{module} id {e}"))?;
                FieldValue::Text(s.to_owned())
            }
            FieldKind::Phone => {
                let s = value.as_str().ok_or_else(wrong)?;
                if crate::phone::normalize_vn(s).is_none() {
                    return Err("not a phone number".to_owned());
                }
                FieldValue::Text(s.to_owned())
            }
            FieldKind::Email => {
                let s = value.as_str().ok_or_else(wrong)?;
                if !is_plausible_email(s) {
                    return Err("not an email address".to_owned());
                }
                FieldValue::Text(s.to_owned())
            }
            FieldKind::Boolean => FieldValue::Bool(value.as_bool().ok_or_else(wrong)?),
            FieldKind::LineItems => {
                let lines: Vec<LineItem> = serde_json::from_value(value.clone()).map_err(|e| {
                    format!("expected lines of {{product, category, quantity, unit_price}}: {e}")
                })?;
                if let Some(bad) = lines.iter().position(|l| {
                    l.product.trim().is_empty() || !l.quantity.is_finite() || l.quantity <= 0.0
                }) {
                    return Err(format!(
                        "line {bad} needs a product and a positive quantity"
                    ));
                }
                FieldValue::Lines(lines)
            }
            FieldKind::TimeZone => {
                let s = value.as_str().ok_or_else(wrong)?;
                s.parse::<Tz>()
                    .map_err(|_| format!("'{s}' is not an IANA time zone"))?;
                FieldValue::Text(s.to_owned())
            }
        };
        Ok(Some(parsed))
    }
}

/// A shape check, not a deliverability check: one '@', a dot in the domain, no spaces.
/// Whether records of `module` keep their customer from being deleted (seed 003 §2.6): orders,
/// quotes and opportunities.
pub fn blocks_customer_delete(module: crate::schema::Module) -> bool {
    use crate::schema::Module;
    matches!(module, Module::Order | Module::Quote | Module::Opportunity)
}

/// The customer a record of such a module depends on, if it names one.
pub fn depended_customer(
    module: crate::schema::Module,
    fields: &serde_json::Map<String, serde_json::Value>,
) -> Option<&str> {
    if !blocks_customer_delete(module) {
        return None;
    }
    fields.get("Customer").and_then(serde_json::Value::as_str)
}

pub fn is_plausible_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.contains(char::is_whitespace)
        && !domain.contains('@')
        && s.len() <= 254
}

/// The field values of one record, keyed by field code name. Absent means empty.
pub type Fields = BTreeMap<String, FieldValue>;

/// A record of a module, as conditions, triggers and templates see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    pub id: RecordId,
    pub module: crate::schema::Module,
    pub fields: Fields,
}

impl Record {
    pub fn get(&self, field: &str) -> Option<&FieldValue> {
        self.fields.get(field)
    }

    /// The record's own time zone, when it has a valid one in its `TimeZone` field.
    pub fn time_zone(&self) -> Option<Tz> {
        self.get("TimeZone")?.as_text()?.parse().ok()
    }
}

/// How strictly [`parse_fields`] treats its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseMode {
    /// A new record from a user: every required field must be present.
    Create,
    /// Some fields of an existing record from a user.
    Update,
    /// A stored record read back: system fields allowed, fields no longer in the schema (a
    /// deleted custom field) ignored.
    Stored,
}

/// Parses a JSON object of field → value against a module's schema. Unknown fields, wrong types,
/// read-only fields and (on create) missing required fields are problems, all reported at once,
/// under `base` (e.g. `/fields`).
pub fn parse_fields(
    schema: &ModuleSchema,
    input: &Map<String, Value>,
    base: &str,
    mode: ParseMode,
) -> Result<Fields, Problems> {
    let mut problems = Problems::default();
    let mut fields = Fields::new();
    for (name, value) in input {
        let path = format!("{base}/{}", pointer_segment(name));
        let Some(def) = schema.field(name) else {
            if mode != ParseMode::Stored {
                problems.push(path, format!("{} has no field '{name}'", schema.module()));
            }
            continue;
        };
        if def.read_only && mode != ParseMode::Stored {
            problems.push(path, "is set by the system and cannot be written");
            continue;
        }
        match FieldValue::parse(&def.kind, value) {
            Ok(Some(v)) => {
                let too_big = (mode != ParseMode::Stored)
                    .then(|| limits::value_problem(&v))
                    .flatten();
                if mode != ParseMode::Stored && is_blank_required(def, &v) {
                    problems.push(path, "is required");
                } else if let Some(problem) = too_big {
                    problems.push(path, problem);
                } else {
                    fields.insert(name.clone(), v);
                }
            }
            Ok(None) if def.required => problems.push(path, "is required"),
            Ok(None) => {}
            Err(message) => problems.push(path, message),
        }
    }
    if mode == ParseMode::Create {
        for def in schema.fields().iter().filter(|f| f.required) {
            if !input.contains_key(&def.name) {
                problems.push(format!("{base}/{}", def.name), "is required");
            }
        }
    }
    problems.into_result(fields)
}

fn is_blank_required(def: &FieldDef, value: &FieldValue) -> bool {
    matches!(value, FieldValue::Text(s) if def.required && s.trim().is_empty())
}

/// A calendar date written `YYYY-MM-DD`. A date of that form the calendar does not have says so
/// (`2023-02-30 does not exist`) rather than asking for the form it already has.
pub fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        let shaped = text.len() == 10
            && text.char_indices().all(|(i, c)| {
                if i == 4 || i == 7 {
                    c == '-'
                } else {
                    c.is_ascii_digit()
                }
            });
        if shaped {
            format!("{text} does not exist")
        } else {
            "expected a date as YYYY-MM-DD".to_owned()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Module, Schema};
    use serde_json::json;

    #[test]
    fn an_impossible_date_says_it_does_not_exist() {
        assert_eq!(
            parse_date("2023-02-30").unwrap_err(),
            "2023-02-30 does not exist"
        );
        assert_eq!(
            parse_date("30/02/2023").unwrap_err(),
            "expected a date as YYYY-MM-DD"
        );
        assert_eq!(
            parse_date("2024-02-29").unwrap(),
            NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()
        );
    }

    fn customer_input(v: Value) -> Result<Fields, Problems> {
        let schema = Schema::builtin();
        parse_fields(
            schema.module(Module::Customer),
            v.as_object().unwrap(),
            "/fields",
            ParseMode::Create,
        )
    }

    #[test]
    fn a_valid_customer_parses_to_typed_values() {
        let fields = customer_input(json!({
            "Name": "Nguyễn Văn An", "Birthday": "1990-02-28", "Phone": "0912 345 678",
            "Email": "an@example.vn", "CustomerType": "Individual", "TimeZone": "Asia/Ho_Chi_Minh"
        }))
        .unwrap();
        assert_eq!(
            fields["Birthday"],
            FieldValue::Date(NaiveDate::from_ymd_opt(1990, 2, 28).unwrap())
        );
        assert_eq!(fields["Name"].as_text(), Some("Nguyễn Văn An"));
    }

    #[test]
    fn every_problem_is_reported_with_its_field_path() {
        let problems = customer_input(json!({
            "Birthday": "28/02/1990", "Phone": "hello", "Email": "nope", "Colour": "red",
            "CustomerType": "Alien", "LoyaltyPoints": 5, "TimeZone": "Mars/Base"
        }))
        .unwrap_err();
        for path in [
            "/fields/Birthday",
            "/fields/Phone",
            "/fields/Email",
            "/fields/Colour",
            "/fields/CustomerType",
            "/fields/LoyaltyPoints",
            "/fields/TimeZone",
            "/fields/Name",
        ] {
            assert!(problems.has(path), "missing problem at {path}: {problems}");
        }
        assert_eq!(problems.len(), 8);
    }

    #[test]
    fn order_lines_need_a_product_and_a_positive_quantity() {
        let schema = Schema::builtin();
        let order = schema.module(Module::Order);
        let good = json!({"Lines": [{"product": "Máy lọc nước", "category": "Gia dụng", "quantity": 2, "unit_price": 4500000}]});
        let fields = parse_fields(order, good.as_object().unwrap(), "", ParseMode::Update).unwrap();
        assert_eq!(
            fields["Lines"].as_lines().unwrap()[0].category.as_deref(),
            Some("Gia dụng")
        );
        let bad = json!({"Lines": [{"product": "", "quantity": 0}]});
        assert!(
            parse_fields(order, bad.as_object().unwrap(), "", ParseMode::Update)
                .unwrap_err()
                .has("/Lines")
        );
        let unknown = json!({"Lines": [{"product": "x", "quantity": 1, "colour": "red"}]});
        assert!(parse_fields(order, unknown.as_object().unwrap(), "", ParseMode::Update).is_err());
    }

    #[test]
    fn money_must_be_whole_and_null_clears_optional_fields() {
        let schema = Schema::builtin();
        let order = schema.module(Module::Order);
        let bad = json!({"Amount": 10.5});
        assert!(
            parse_fields(order, bad.as_object().unwrap(), "", ParseMode::Update)
                .unwrap_err()
                .has("/Amount")
        );
        let cleared = json!({"DeliveryDate": null});
        let fields =
            parse_fields(order, cleared.as_object().unwrap(), "", ParseMode::Update).unwrap();
        assert!(fields.is_empty());
    }
}
