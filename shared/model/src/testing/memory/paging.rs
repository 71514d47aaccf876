//! Listings the way a DynamoDB Query pages them, and their opaque cursors.
//!
//! Each listing is described by the Query the adapter sends: a partition (the key attribute and
//! its value, e.g. `gsi1pk=T#acme#WF`), an optional condition on the sort key, a direction and the
//! largest page it allows. Items are placed by the same sort key strings the adapter writes (byte
//! order, as DynamoDB compares strings), so the order is DynamoDB's, ties included.
//!
//! Paging mirrors the Query's `Limit`: a page evaluates at most `limit` items, *then* a filter
//! keeps some of them (so a page may be short and still have a `next`), and `next` is present
//! whenever the page evaluated `limit` items, even if nothing follows (DynamoDB returns a
//! LastEvaluatedKey whenever it stops at the limit, which can lead to a last, empty page).
//!
//! A cursor is hex-encoded JSON of the partition and the last evaluated position, like the
//! adapter's `paging.rs`; on the way back in it must name the same partition (another tenant's,
//! or another listing's, is `BadCursor`), and its position must satisfy the sort key condition
//! (DynamoDB refuses a start key outside the query's boundaries).

use serde::{Deserialize, Serialize};

use crate::store::{PageRequest, StoreError};

/// Where an item sits in its listing: the sort key first, then tie-breakers (the table's keys,
/// as DynamoDB orders index items with equal sort keys).
pub(super) type Position = Vec<String>;

/// The sort key condition of a Query.
#[derive(Debug, Clone)]
pub(super) enum SortKey {
    Any,
    /// `begins_with(sk, :prefix)`.
    Prefix(String),
    /// `sk <= :bound`.
    AtMost(String),
    /// `sk BETWEEN :low AND :high`.
    Between(String, String),
}

impl SortKey {
    fn admits(&self, key: &str) -> bool {
        match self {
            SortKey::Any => true,
            SortKey::Prefix(prefix) => key.starts_with(prefix.as_str()),
            SortKey::AtMost(bound) => key <= bound.as_str(),
            SortKey::Between(low, high) => low.as_str() <= key && key <= high.as_str(),
        }
    }
}

/// One listing's Query.
#[derive(Debug, Clone)]
pub(super) struct Query {
    partition: String,
    sort: SortKey,
    descending: bool,
    max_limit: u32,
}

/// A page as DynamoDB answers it: the items the filter kept, how many items were evaluated
/// (ScannedCount) and the cursor of the next page.
#[derive(Debug)]
pub(super) struct QueryPage<T> {
    pub(super) items: Vec<T>,
    pub(super) evaluated: usize,
    pub(super) next: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Cursor {
    p: String,
    k: Vec<String>,
}

impl Query {
    /// A Query of partition `attr = value`, ascending, with the adapters' page limit.
    pub(super) fn new(attr: &str, value: impl std::fmt::Display) -> Self {
        Self {
            partition: format!("{attr}={value}"),
            sort: SortKey::Any,
            descending: false,
            max_limit: PageRequest::MAX_LIMIT,
        }
    }

    pub(super) fn sort(mut self, sort: SortKey) -> Self {
        self.sort = sort;
        self
    }

    /// `ScanIndexForward = false`.
    pub(super) fn descending(mut self) -> Self {
        self.descending = true;
        self
    }

    pub(super) fn max_limit(mut self, max: u32) -> Self {
        self.max_limit = max;
        self
    }

    /// One page of `items` (every item of the partition, in any order), keeping those `keep`
    /// accepts after the limit is applied.
    pub(super) fn page<T>(
        &self,
        items: impl IntoIterator<Item = (Position, T)>,
        page: &PageRequest,
        keep: impl Fn(&T) -> bool,
    ) -> Result<QueryPage<T>, StoreError> {
        let start = match &page.cursor {
            Some(cursor) => Some(self.decode(cursor)?),
            None => None,
        };
        let mut items: Vec<(Position, T)> = items
            .into_iter()
            .filter(|(position, _)| position.first().is_some_and(|k| self.sort.admits(k)))
            .collect();
        items.sort_by(|a, b| a.0.cmp(&b.0));
        if self.descending {
            items.reverse();
        }
        let limit = page.limit.clamp(1, self.max_limit) as usize;
        let mut kept = Vec::new();
        let mut evaluated = 0;
        let mut next = None;
        for (position, item) in items {
            if let Some(start) = &start {
                let after = if self.descending {
                    position < *start
                } else {
                    position > *start
                };
                if !after {
                    continue;
                }
            }
            evaluated += 1;
            if keep(&item) {
                kept.push(item);
            }
            if evaluated == limit {
                next = Some(self.encode(position));
                break;
            }
        }
        Ok(QueryPage {
            items: kept,
            evaluated,
            next,
        })
    }

    /// The position a page starts after, from its cursor (for stores that read an ordered range
    /// from there instead of every item).
    pub(super) fn start(&self, page: &PageRequest) -> Result<Option<Position>, StoreError> {
        page.cursor.as_deref().map(|c| self.decode(c)).transpose()
    }

    fn encode(&self, position: Position) -> String {
        let cursor = Cursor {
            p: self.partition.clone(),
            k: position,
        };
        serde_json::to_vec(&cursor)
            .unwrap_or_default()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The position a cursor names, which must lie in this Query's partition and range.
    fn decode(&self, cursor: &str) -> Result<Position, StoreError> {
        if !cursor.is_ascii() || cursor.len() % 2 != 0 || cursor.len() > 4096 {
            return Err(StoreError::BadCursor);
        }
        let bytes = (0..cursor.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&cursor[i..i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .map_err(|_| StoreError::BadCursor)?;
        let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| StoreError::BadCursor)?;
        let in_range = cursor.k.first().is_some_and(|k| self.sort.admits(k));
        if cursor.p != self.partition || !in_range {
            return Err(StoreError::BadCursor);
        }
        Ok(cursor.k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(keys: &[&str]) -> Vec<(Position, String)> {
        keys.iter()
            .map(|k| (vec![(*k).to_owned()], (*k).to_owned()))
            .collect()
    }

    #[test]
    fn a_full_page_has_a_next_even_at_the_end_and_filters_apply_after_the_limit() {
        let query = Query::new("pk", "T#a").sort(SortKey::Prefix("N#".into()));
        let all = items(&["N#3", "N#1", "X#9", "N#2", "N#4"]);
        let first = query
            .page(all.clone(), &PageRequest::first(2), |k| k != "N#1")
            .unwrap();
        assert_eq!(
            first.items,
            vec!["N#2".to_owned()],
            "N#1 was read, then dropped"
        );
        assert_eq!(first.evaluated, 2);
        let mut page = PageRequest::first(2);
        page.cursor = first.next;
        let second = query.page(all.clone(), &page, |_| true).unwrap();
        assert_eq!(second.items, vec!["N#3".to_owned(), "N#4".to_owned()]);
        page.cursor = second.next.clone();
        assert!(page.cursor.is_some(), "a full page always has a next");
        let last = query.page(all, &page, |_| true).unwrap();
        assert!(last.items.is_empty() && last.next.is_none());
    }

    #[test]
    fn cursors_stay_in_their_partition_and_range() {
        let query = Query::new("pk", "T#a").descending();
        let first = query
            .page(items(&["a", "b", "c"]), &PageRequest::first(1), |_| true)
            .unwrap();
        assert_eq!(first.items, vec!["c".to_owned()]);
        let cursor = first.next.unwrap();
        let mut page = PageRequest::first(1);
        page.cursor = Some(cursor.clone());
        let other_tenant = Query::new("pk", "T#b");
        assert!(matches!(
            other_tenant.page(items(&["a"]), &page, |_| true),
            Err(StoreError::BadCursor)
        ));
        let other_range = Query::new("pk", "T#a").sort(SortKey::Prefix("x".into()));
        assert!(matches!(
            other_range.page(items(&["a"]), &page, |_| true),
            Err(StoreError::BadCursor)
        ));
        for garbage in ["zz", "abc", "00", "ünï"] {
            page.cursor = Some(garbage.to_owned());
            assert!(matches!(
                query.page(items(&["a"]), &page, |_| true),
                Err(StoreError::BadCursor)
            ));
        }
    }
}
