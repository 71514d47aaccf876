//! vi-VN formatting of field values for messages: dd/MM/yyyy dates, 1.234.567 ₫ money.

use chrono_tz::Tz;
use std::fmt::Write;

use crate::record::{FieldValue, Record};
use crate::schema::{FieldDef, FieldKind, Module};
use crate::user::User;

/// The users and records merge fields name, as far as they were looked up.
pub trait DisplayNames {
    /// A user, by id.
    fn user(&self, user_id: &str) -> Option<&User>;
    /// A referenced record, by module and id.
    fn record(&self, module: Module, record_id: &str) -> Option<&Record>;
}

/// Knows nobody: user and reference fields render as empty.
pub struct NoNames;

impl DisplayNames for NoNames {
    fn user(&self, _: &str) -> Option<&User> {
        None
    }
    fn record(&self, _: Module, _: &str) -> Option<&Record> {
        None
    }
}

/// Appends `value` of field `def` to `out`, formatted for Vietnamese readers.
pub fn write_value(
    out: &mut String,
    def: &FieldDef,
    value: &FieldValue,
    tz: Tz,
    names: &dyn DisplayNames,
) {
    match (&def.kind, value) {
        (FieldKind::Money, v) => {
            if let Some(n) = v.as_number() {
                write_grouped(out, n.round() as i64);
                out.push_str(" ₫");
            }
        }
        (FieldKind::PickList { options }, FieldValue::Text(v)) => {
            let label = options.iter().find(|o| &o.value == v).map(|o| &o.label_vi);
            out.push_str(label.unwrap_or(v));
        }
        (FieldKind::MultiPickList { options }, FieldValue::List(items)) => {
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let label = options.iter().find(|o| &o.value == v).map(|o| &o.label_vi);
                out.push_str(label.unwrap_or(v));
            }
        }
        // A person reads names: an id nobody could look up shows as nothing.
        (FieldKind::User, FieldValue::Text(id)) => {
            if let Some(user) = names.user(id) {
                out.push_str(&user.name);
            }
        }
        (FieldKind::Users, FieldValue::List(ids)) => {
            let mut first = true;
            for user in ids.iter().filter_map(|id| names.user(id)) {
                if !first {
                    out.push_str(", ");
                }
                first = false;
                out.push_str(&user.name);
            }
        }
        (FieldKind::Reference { module }, FieldValue::Text(id)) => {
            if let Some(title) = names
                .record(*module, id)
                .and_then(|r| r.get(module.title_field()))
                .and_then(FieldValue::as_text)
            {
                out.push_str(title);
            }
        }
        (_, FieldValue::Date(d)) => {
            let _ = write!(out, "{}", d.format("%d/%m/%Y"));
        }
        (_, FieldValue::DateTime(dt)) => {
            let _ = write!(out, "{}", dt.with_timezone(&tz).format("%H:%M %d/%m/%Y"));
        }
        (_, FieldValue::Bool(b)) => out.push_str(if *b { "Có" } else { "Không" }),
        (_, FieldValue::Integer(i)) => write_grouped(out, *i),
        (_, FieldValue::Number(n)) => write_decimal(out, *n),
        (_, FieldValue::Text(s)) => out.push_str(s),
        (_, FieldValue::List(items)) => out.push_str(&items.join(", ")),
        (_, FieldValue::Lines(lines)) => {
            for (i, line) in lines.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&line.product);
                out.push_str(" × ");
                write_decimal(out, line.quantity);
            }
        }
    }
}

/// 1234567 → "1.234.567".
fn write_grouped(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    let digits = n.unsigned_abs().to_string();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push('.');
        }
        out.push(c);
    }
}

/// 1234.5 → "1.234,5"; at most four decimals, trailing zeros dropped.
fn write_decimal(out: &mut String, n: f64) {
    let fixed = format!("{:.4}", n.abs());
    let (whole, frac) = fixed.split_once('.').unwrap_or((&fixed, ""));
    let frac = frac.trim_end_matches('0');
    if n < 0.0 && (whole != "0" || !frac.is_empty()) {
        out.push('-');
    }
    write_grouped(out, whole.parse::<i64>().unwrap_or(0));
    if !frac.is_empty() {
        out.push(',');
        out.push_str(frac);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Module, Schema};
    use chrono::{DateTime, NaiveDate, Utc};

    fn render(field: &str, value: FieldValue) -> String {
        let schema = Schema::builtin();
        let module = if field == "Amount" {
            Module::Order
        } else {
            Module::Customer
        };
        let def = schema.module(module).field(field).unwrap().clone();
        let mut out = String::new();
        write_value(
            &mut out,
            &def,
            &value,
            chrono_tz::Asia::Ho_Chi_Minh,
            &NoNames,
        );
        out
    }

    #[test]
    fn vietnamese_formats() {
        assert_eq!(
            render("Amount", FieldValue::Integer(1_234_567)),
            "1.234.567 ₫"
        );
        assert_eq!(render("Amount", FieldValue::Integer(-500)), "-500 ₫");
        assert_eq!(render("Amount", FieldValue::Integer(0)), "0 ₫");
        assert_eq!(
            render(
                "Birthday",
                FieldValue::Date(NaiveDate::from_ymd_opt(1990, 2, 3).unwrap())
            ),
            "03/02/1990"
        );
        let created: DateTime<Utc> = "2026-11-21T18:30:00Z".parse().unwrap();
        assert_eq!(
            render("CreatedAt", FieldValue::DateTime(created)),
            "01:30 22/11/2026"
        );
        assert_eq!(
            render("LoyaltyPoints", FieldValue::Number(1234.5)),
            "1.234,5"
        );
        assert_eq!(render("LoyaltyPoints", FieldValue::Number(-0.25)), "-0,25");
        assert_eq!(
            render("LoyaltyPoints", FieldValue::Number(1e6)),
            "1.000.000"
        );
        assert_eq!(
            render("CustomerType", FieldValue::Text("Organization".into())),
            "Tổ chức"
        );
    }
}
