//! The `due` index of the schedule table in memory, and the scan window.
//!
//! As in the adapter, the index is sparse and sharded: it holds armed entries (those with a next
//! occurrence), every outbox and every maintenance request, each in shard
//! [`due_shard`](crate::schedule::due_shard) of (tenant, workflow, record) (record `M` for a
//! maintenance request), under `due_at`:
//!
//! | item | due_at |
//! |------|--------|
//! | entry | `<fire instant>#E#<tenant>/<workflow>/<record>` |
//! | maintenance | `<request instant>#M#<tenant>/<workflow>` |
//! | outbox | `<retry instant>#O#<tenant>/<workflow>/<record>` |
//!
//! with instants at whole seconds. `due(shard, now, page)` is the adapter's Query `due_shard =
//! S<nn> AND due_at <= <now>#~`: what is due by `now` at whole seconds, ordered by `due_at` as a
//! string (oldest first; at one instant entries, then maintenance, then outboxes; ties by the
//! table key), in pages of up to 1,000 (the adapter's own clamp), with `items_read` the Query's
//! Count (no filter, so every item of the page).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::ops::Bound;

use super::paging::{Position, Query, SortKey};
use super::schedule::{MemoryScheduleStore, instant, whole_seconds};
use super::tables::ScheduleTables;
use crate::ids::RecordId;
use crate::schedule::due_shard;
use crate::schedule::ports::{
    DueIndex, DueItem, DuePage, MalformedItem, ScheduleEntry, at_time_of_year, calendar_bounds,
    time_of_year,
};
use crate::store::{PageRequest, StoreError};
use crate::trigger::{Occurrence, OccurrenceKey};
use chrono::Datelike;

/// The adapter's page clamp for the due index.
const MAX_DUE_PAGE: u32 = 1000;

/// The items of `shard` a page can hold after `start`: the first `limit` entries of the ordered
/// index (no later entry can make the page), every outbox, maintenance request and planted item
/// of the shard (few, so read whole), with their positions.
fn candidates(
    s: &ScheduleTables,
    shard: u32,
    start: Option<&Position>,
    limit: usize,
) -> Vec<(Position, DueItem)> {
    let shards = s.shards();
    let lower = match start {
        Some(p) if p.len() == 3 => {
            Bound::Excluded((shard, p[0].clone(), p[1].clone(), p[2].clone()))
        }
        _ => Bound::Included((shard, String::new(), String::new(), String::new())),
    };
    let upper = Bound::Excluded((shard + 1, String::new(), String::new(), String::new()));
    let mut items: Vec<(Position, DueItem)> = s
        .armed
        .range((lower, upper))
        .take(limit)
        .filter_map(|((_, due_at, pk, sk), (tenant, workflow, record))| {
            let entry = s
                .tenants
                .get(tenant)?
                .entries
                .get(&(workflow.clone(), record.clone()))?;
            Some((
                vec![due_at.clone(), pk.clone(), sk.clone()],
                DueItem::Entry(entry.clone()),
            ))
        })
        .collect();
    for (tenant, t) in &s.tenants {
        for ((workflow, record, cause), stored) in &t.outboxes {
            if due_shard(tenant, workflow, record, shards) != shard {
                continue;
            }
            let mut outbox = stored.outbox.clone();
            // The due index gives back the retry instant of `due_at`, at whole seconds.
            let retry = stored
                .due_at
                .split('#')
                .next()
                .and_then(|at| at.parse().ok());
            outbox.retry_after = retry.unwrap_or_else(|| whole_seconds(outbox.retry_after));
            let position = vec![
                stored.due_at.clone(),
                format!("T#{tenant}#W#{workflow}"),
                format!("O#{record}#{cause}"),
            ];
            items.push((position, DueItem::Outbox(outbox)));
        }
        let maintenance_record = RecordId::new("M");
        for (workflow, stored) in &t.maintenance {
            let in_shard = maintenance_record
                .as_ref()
                .is_ok_and(|m| due_shard(tenant, workflow, m, shards) == shard);
            if !in_shard {
                continue;
            }
            let position = vec![
                stored.due_at.clone(),
                format!("T#{tenant}#W#{workflow}"),
                "M".to_owned(),
            ];
            items.push((position, DueItem::Maintenance(stored.request.clone())));
        }
    }
    for ((pk, sk), (item_shard, due_at, reason)) in &s.malformed {
        if *item_shard == shard {
            let item = MalformedItem {
                pk: pk.clone(),
                sk: sk.clone(),
                reason: reason.clone(),
            };
            items.push((
                vec![due_at.clone(), pk.clone(), sk.clone()],
                DueItem::Malformed(item),
            ));
        }
    }
    items
}

/// Calendar-lane entries of `shard` from `low` to `high` (`cal_at` strings), after `start`, up
/// to `limit`, as the `calendar` index projects them: what stays from one year to the next, and
/// the occurrence of `year` at their time of year.
fn calendar_candidates(
    s: &ScheduleTables,
    shard: u32,
    (low, high): (&str, &str),
    start: Option<&Position>,
    limit: usize,
    year: i32,
) -> Vec<(Position, DueItem)> {
    let lower = match start {
        Some(p) if p.len() == 3 => {
            Bound::Excluded((shard, p[0].clone(), p[1].clone(), p[2].clone()))
        }
        _ => Bound::Included((shard, low.to_owned(), String::new(), String::new())),
    };
    let upper = Bound::Excluded((shard + 1, String::new(), String::new(), String::new()));
    s.calendar
        .range((lower, upper))
        .take_while(|((_, cal_at, _, _), _)| cal_at.as_str() <= high)
        .take(limit)
        .filter_map(|((_, cal_at, pk, sk), (tenant, workflow, record))| {
            let stored = s
                .tenants
                .get(tenant)?
                .entries
                .get(&(workflow.clone(), record.clone()))?;
            let next = stored.next.as_ref()?;
            // The key's year moves with the fire instant's (offsets may cross a year end).
            let shift = match next.key {
                OccurrenceKey::Year(key_year) => key_year - next.fire_at.year(),
                _ => return None,
            };
            let Some(fire_at) = at_time_of_year(year, &time_of_year(next.fire_at)) else {
                let item = MalformedItem {
                    pk: pk.clone(),
                    sk: sk.clone(),
                    reason: format!("no instant at '{}' in {year}", time_of_year(next.fire_at)),
                };
                return Some((
                    vec![cal_at.clone(), pk.clone(), sk.clone()],
                    DueItem::Malformed(item),
                ));
            };
            let entry = ScheduleEntry {
                revision: 0,
                last_fired: None,
                next: Some(Occurrence {
                    key: OccurrenceKey::Year(year + shift),
                    fire_at,
                }),
                ..stored.clone()
            };
            Some((
                vec![cal_at.clone(), pk.clone(), sk.clone()],
                DueItem::Entry(entry),
            ))
        })
        .collect()
}

#[async_trait]
impl DueIndex for MemoryScheduleStore {
    fn shards(&self) -> u32 {
        self.world.peek(|s| s.schedule.shards())
    }

    /// Query `cal_shard = C<nn> AND cal_at BETWEEN <from + 1 s> AND <to>#~` on the `calendar`
    /// index, `from` read as the start of `to`'s year when it lies in an earlier one.
    async fn due_on_calendar(
        &self,
        shard: u32,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        page: &PageRequest,
    ) -> Result<DuePage, StoreError> {
        let Some((low, high)) = calendar_bounds(from, to) else {
            return Ok(DuePage {
                items: Vec::new(),
                items_read: 0,
                next: None,
            });
        };
        let query = Query::new("cal_shard", format!("C{shard:02}"))
            .sort(SortKey::Between(low.clone(), high.clone()))
            .max_limit(MAX_DUE_PAGE);
        let start = query.start(page)?;
        let limit = page.limit.clamp(1, MAX_DUE_PAGE) as usize;
        self.read(|s| {
            let items =
                calendar_candidates(s, shard, (&low, &high), start.as_ref(), limit, to.year());
            let found = query.page(items, page, |_| true)?;
            Ok(DuePage {
                items_read: found.evaluated as u64,
                items: found.items,
                next: found.next,
            })
        })
    }

    async fn due(
        &self,
        shard: u32,
        now: DateTime<Utc>,
        page: &PageRequest,
    ) -> Result<DuePage, StoreError> {
        let query = Query::new("due_shard", format!("S{shard:02}"))
            .sort(SortKey::AtMost(format!("{}#~", instant(now))))
            .max_limit(MAX_DUE_PAGE);
        let start = query.start(page)?;
        let limit = page.limit.clamp(1, MAX_DUE_PAGE) as usize;
        self.read(|s| {
            let items = candidates(s, shard, start.as_ref(), limit);
            let found = query.page(items, page, |_| true)?;
            Ok(DuePage {
                items_read: found.evaluated as u64,
                items: found.items,
                next: found.next,
            })
        })
    }

    async fn last_scan_end(&self, scope: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.read(|s| {
            s.scan_ends
                .get(scope)
                .map(|end| {
                    end.parse::<DateTime<Utc>>()
                        .map_err(|e| StoreError::Corrupt(e.to_string()))
                })
                .transpose()
        })
    }

    /// `attribute_not_exists(last_end) OR last_end < :end`; an earlier or equal end is dropped
    /// without an error.
    async fn save_scan_end(&self, scope: &str, end: DateTime<Utc>) -> Result<(), StoreError> {
        self.write(|s| {
            let end = instant(end);
            let ends = &mut s.schedule.scan_ends;
            if ends.get(scope).is_none_or(|last| *last < end) {
                ends.insert(scope.to_owned(), end);
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{TenantId, WorkflowId};
    use crate::schedule::ports::{
        DueLane, Maintenance, MaintenanceKind, MaintenanceRequests, OccurrenceClaims, Outbox,
        Outboxes, ScheduleEntries, ScheduleEntry,
    };
    use crate::store::ClaimOutcome;
    use crate::trigger::{Occurrence, OccurrenceKey};

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    /// Record ids of tenant/workflow that fall in one shard.
    fn same_shard(tenant: &TenantId, workflow: &WorkflowId, n: usize) -> (u32, Vec<RecordId>) {
        let shard = due_shard(tenant, workflow, &RecordId::new("r0").unwrap(), 16);
        let ids = (0..1000)
            .map(|i| RecordId::new(format!("r{i}")).unwrap())
            .filter(|r| due_shard(tenant, workflow, r, 16) == shard)
            .take(n)
            .collect();
        (shard, ids)
    }

    fn entry(
        tenant: &TenantId,
        workflow: &WorkflowId,
        record: &RecordId,
        fire: &str,
    ) -> ScheduleEntry {
        ScheduleEntry {
            tenant: tenant.clone(),
            workflow: workflow.clone(),
            version: 1,
            record: record.clone(),
            next: Some(Occurrence {
                key: OccurrenceKey::Year(2026),
                fire_at: at(fire),
            }),
            last_fired: None,
            revision: 0,
            failure: None,
            lane: DueLane::Instant,
        }
    }

    #[tokio::test]
    async fn due_lists_one_shard_oldest_first_up_to_now_at_whole_seconds() {
        let store = MemoryScheduleStore::new();
        let tenant = TenantId::new("t1").unwrap();
        let workflow = WorkflowId::new("w1").unwrap();
        let (shard, ids) = same_shard(&tenant, &workflow, 4);
        let fires = [
            "2026-05-17T01:00:00.500Z",
            "2026-05-17T00:00:00Z",
            "2026-05-17T01:00:01Z",
        ];
        for (record, fire) in ids.iter().zip(fires) {
            store
                .put(&entry(&tenant, &workflow, record, fire))
                .await
                .unwrap();
        }
        let mut disarmed = entry(&tenant, &workflow, &ids[3], fires[1]);
        disarmed.next = None;
        store.put(&disarmed).await.unwrap();
        let page = store
            .due(
                shard,
                at("2026-05-17T01:00:00.200Z"),
                &PageRequest::first(10),
            )
            .await
            .unwrap();
        let due: Vec<&RecordId> = page
            .items
            .iter()
            .filter_map(|item| match item {
                DueItem::Entry(e) => Some(&e.record),
                _ => None,
            })
            .collect();
        // 01:00:00.5 is due at 01:00:00.2: both are 01:00:00 at whole seconds.
        assert_eq!(due, [&ids[1], &ids[0]]);
        assert_eq!(page.items_read, 2);
        let other = store
            .due(
                (shard + 1) % 16,
                at("2030-01-01T00:00:00Z"),
                &PageRequest::first(10),
            )
            .await
            .unwrap();
        assert!(other.items.iter().all(
            |i| !matches!(i, DueItem::Entry(e) if e.tenant == tenant && ids.contains(&e.record))
        ));
    }

    #[tokio::test]
    async fn a_claim_moves_the_entry_a_stale_claim_loses_and_an_outbox_is_taken_over_once() {
        let store = MemoryScheduleStore::new();
        let tenant = TenantId::new("t1").unwrap();
        let workflow = WorkflowId::new("w1").unwrap();
        let (shard, ids) = same_shard(&tenant, &workflow, 1);
        store
            .put(&entry(&tenant, &workflow, &ids[0], "2026-05-17T01:00:00Z"))
            .await
            .unwrap();
        let stored = store
            .get(&tenant, &workflow, &ids[0])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.revision, 1);
        let outbox = Outbox {
            tenant: tenant.clone(),
            workflow: workflow.clone(),
            record: ids[0].clone(),
            cause: "Y2026".into(),
            jobs: Vec::new(),
            retry_after: at("2026-05-17T01:05:00.700Z"),
        };
        let next = Occurrence {
            key: OccurrenceKey::Year(2027),
            fire_at: at("2027-05-17T01:00:00.900Z"),
        };
        let key = OccurrenceKey::Year(2026);
        let claimed = store
            .claim(&stored, Some(&next), &key, DueLane::Instant)
            .await;
        assert_eq!(claimed.unwrap(), ClaimOutcome::Claimed);
        let again = store
            .claim(&stored, Some(&next), &key, DueLane::Instant)
            .await;
        assert_eq!(again.unwrap(), ClaimOutcome::LostRace);
        let moved = store
            .get(&tenant, &workflow, &ids[0])
            .await
            .unwrap()
            .unwrap();
        assert_eq!((moved.revision, moved.last_fired), (2, Some(key)));
        assert_eq!(moved.next.unwrap().fire_at, at("2027-05-17T01:00:00Z"));
        // A stream event's outbox, left behind by a failed publish.
        let handled = store
            .claim_event(&outbox, "ev-1", at("2026-05-17T01:00:00Z"))
            .await;
        assert_eq!(handled.unwrap(), ClaimOutcome::Claimed);
        // The outbox is due at its retry instant and can be taken over once.
        let page = store
            .due(shard, at("2026-05-17T01:05:00Z"), &PageRequest::first(10))
            .await
            .unwrap();
        let Some(DueItem::Outbox(due)) = page.items.first() else {
            panic!("the outbox should be due: {page:?}");
        };
        assert_eq!(due.retry_after, at("2026-05-17T01:05:00Z"));
        let until = at("2026-05-17T01:10:00Z");
        assert_eq!(
            store.take_outbox(due, until).await.unwrap(),
            ClaimOutcome::Claimed
        );
        assert_eq!(
            store.take_outbox(due, until).await.unwrap(),
            ClaimOutcome::LostRace
        );
        store.clear_outbox(due).await.unwrap();
        assert!(store.outboxes(&tenant).is_empty());
    }

    #[tokio::test]
    async fn maintenance_checkpoints_only_their_own_request_and_the_scan_end_never_goes_back() {
        let store = MemoryScheduleStore::new();
        let request = Maintenance {
            tenant: TenantId::new("t1").unwrap(),
            workflow: WorkflowId::new("w1").unwrap(),
            version: 2,
            kind: MaintenanceKind::Backfill,
            cursor: None,
        };
        store
            .request_maintenance(&request, at("2026-05-17T00:00:00Z"))
            .await
            .unwrap();
        let stale = Maintenance {
            version: 1,
            ..request.clone()
        };
        store.checkpoint_maintenance(&stale, None).await.unwrap();
        store
            .checkpoint_maintenance(&request, Some("c1".into()))
            .await
            .unwrap();
        let shard = due_shard(
            &request.tenant,
            &request.workflow,
            &RecordId::new("M").unwrap(),
            16,
        );
        let page = store
            .due(shard, at("2026-05-17T00:00:00Z"), &PageRequest::first(10))
            .await
            .unwrap();
        let expected = Maintenance {
            cursor: Some("c1".into()),
            ..request
        };
        assert_eq!(page.items, vec![DueItem::Maintenance(expected)]);
        store
            .save_scan_end("", at("2026-05-17T00:05:00Z"))
            .await
            .unwrap();
        store
            .save_scan_end("", at("2026-05-17T00:00:00Z"))
            .await
            .unwrap();
        assert_eq!(
            store.last_scan_end("").await.unwrap(),
            Some(at("2026-05-17T00:05:00Z"))
        );
    }
}
