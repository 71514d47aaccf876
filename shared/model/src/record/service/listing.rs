//! Listing a module's records: equality filters on any field, sorted by the index (most recently
//! updated first) or by any field within a bounded window, paginated.

use serde_json::Value;
use std::cmp::Ordering;

use super::{Actor, RecordError, Records};
use crate::record::FieldValue;
use crate::record::store::RecordFilter;
use crate::record::stored::StoredRecord;
use crate::schema::{FieldKind, Module};
use crate::store::{Page, PageRequest, Revisioned, StoreError};
use crate::user::access::Permission;
use crate::validation::Problems;

/// Most owners a listing's store condition names (an `IN` of 100 values stays well within
/// DynamoDB's 4 KB expression limit).
const MAX_OWNERS_IN_STORE: usize = 100;

/// Sorting by a field other than the index's reads every matching record; beyond this many, the
/// caller is asked to narrow the filter instead of paying for a read of the whole module.
pub const MAX_SORTED: usize = 2000;

/// And it reads at most this many pages of 100 (5,000 records, matching or not), so that a narrow
/// filter over a large module also stays within an API request's time.
pub const MAX_SORT_PAGES: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortOrder {
    Asc,
    #[default]
    Desc,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    /// Field name → value as written in the query string.
    pub filters: Vec<(String, String)>,
    pub sort: Option<String>,
    pub order: SortOrder,
    pub page: PageRequest,
}

/// The stored JSON a query-string value stands for, checked against the field's kind.
fn query_value(kind: &FieldKind, raw: &str) -> Result<Value, String> {
    let candidate = match kind {
        FieldKind::Number | FieldKind::Money => match raw.parse::<i64>() {
            Ok(whole) => Value::from(whole),
            Err(_) => raw
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .ok_or("not a number")?,
        },
        FieldKind::Boolean => Value::Bool(raw.parse().map_err(|_| "true or false")?),
        _ => Value::String(raw.to_owned()),
    };
    match FieldValue::parse(kind, &candidate)? {
        Some(value) => serde_json::to_value(value).map_err(|e| e.to_string()),
        None => Err("is empty".into()),
    }
}

/// Orders two stored values: numbers by value, everything else as text; empty last.
fn compare(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .unwrap_or(0.0)
            .total_cmp(&y.as_f64().unwrap_or(0.0)),
        (Some(x), Some(y)) => x.to_string().cmp(&y.to_string()),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

impl Records<'_> {
    /// The module's records the actor reaches, filtered by field values and sorted.
    pub async fn list(
        &self,
        actor: &Actor,
        module: Module,
        query: &ListQuery,
    ) -> Result<Page<Revisioned<StoredRecord>>, RecordError> {
        actor.require(module, Permission::Read)?;
        let tenant = &actor.tenant;
        let schema = self.tenant_settings(tenant).await?.schema();
        let module_schema = schema.module(module);
        let mut problems = Problems::default();
        // The owners the caller reaches go to the store as a condition while they fit in one
        // DynamoDB expression; a larger team is filtered here instead.
        let owners = actor.owner_filter();
        let in_store = owners
            .as_ref()
            .is_none_or(|(_, values)| values.len() <= MAX_OWNERS_IN_STORE);
        let mut filter = RecordFilter {
            any_of: owners.into_iter().filter(|_| in_store).collect(),
            ..RecordFilter::default()
        };
        let reached = |items: &mut Vec<Revisioned<StoredRecord>>| {
            if !in_store {
                items.retain(|r| actor.access.reaches(&r.value));
            }
        };
        for (name, raw) in &query.filters {
            match module_schema.field(name) {
                None => problems.push(
                    format!("/query/{name}"),
                    format!("{module} has no field '{name}'"),
                ),
                Some(def) => match query_value(&def.kind, raw) {
                    Ok(value) => filter.equals.push((name.clone(), value)),
                    Err(message) => problems.push(format!("/query/{name}"), message),
                },
            }
        }
        let by_index = match query.sort.as_deref() {
            None | Some("UpdatedAt") => query.order == SortOrder::Desc,
            Some(field) => {
                if module_schema.field(field).is_none() {
                    problems.push("/query/sort", format!("{module} has no field '{field}'"));
                }
                false
            }
        };
        problems.into_result(()).map_err(RecordError::Invalid)?;
        if by_index {
            let mut found = self
                .records
                .list(tenant, module, &filter, &query.page)
                .await?;
            reached(&mut found.items);
            return Ok(found);
        }
        let field = query.sort.as_deref().unwrap_or("UpdatedAt");
        let offset = match query.page.cursor.as_deref() {
            None => 0,
            Some(c) => c
                .strip_prefix('s')
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or(RecordError::Store(StoreError::BadCursor))?,
        };
        let mut all = Vec::new();
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        for pages in 1.. {
            let mut found = self.records.list(tenant, module, &filter, &page).await?;
            reached(&mut found.items);
            all.extend(found.items);
            if all.len() > MAX_SORTED || pages >= MAX_SORT_PAGES && found.next.is_some() {
                return Err(RecordError::Invalid(Problems::single(
                    "/query/sort",
                    format!(
                        "more than {MAX_SORTED} records match, or more than {} had to be read; add a filter to sort by {field}",
                        MAX_SORT_PAGES * PageRequest::MAX_LIMIT as usize
                    ),
                )));
            }
            match found.next {
                Some(next) => page.cursor = Some(next),
                None => break,
            }
        }
        all.sort_by(|a, b| {
            let (x, y) = (a.value.fields.get(field), b.value.fields.get(field));
            match (x.is_some(), y.is_some(), query.order) {
                // Empty values last in either order.
                (true, false, _) => Ordering::Less,
                (false, true, _) => Ordering::Greater,
                (_, _, SortOrder::Asc) => compare(x, y),
                (_, _, SortOrder::Desc) => compare(x, y).reverse(),
            }
        });
        let end = offset
            .saturating_add(query.page.limit as usize)
            .min(all.len());
        let next = (end < all.len()).then(|| format!("s{end}"));
        let items = all.drain(offset.min(end)..end).collect();
        Ok(Page { items, next })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn query_values_follow_the_field_kind() {
        let money = query_value(&FieldKind::Money, "1500000").unwrap();
        assert_eq!(money.as_f64(), Some(1_500_000.0));
        assert!(query_value(&FieldKind::Date, "31/12").is_err());
        assert_eq!(query_value(&FieldKind::Text, "Hà Nội"), Ok(json!("Hà Nội")));
    }

    #[test]
    fn empty_values_sort_last_and_numbers_by_value() {
        let (nine, ten) = (json!(9), json!(10));
        assert_eq!(compare(Some(&nine), Some(&ten)), Ordering::Less);
        assert_eq!(compare(None, Some(&nine)), Ordering::Greater);
    }
}
