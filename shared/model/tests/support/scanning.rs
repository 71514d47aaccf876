//! The trigger scan and the schedule's pending maintenance, as the tests look at them.

use crm_model::ports::{DueIndex, DueItem, FixedClock, Maintenance, PageRequest};
use crm_model::schedule::scan::{ScanReport, Scanner, ShardGroup};

use super::{World, at};

/// The scan at `clock` over the world's stores, publishing to its recording bus: every shard in
/// one invocation, four calls in flight per shard.
pub fn scanner<'a>(w: &'a World, clock: &'a FixedClock) -> Scanner<'a> {
    Scanner {
        schedule: &w.stores.schedule,
        records: &w.stores.records,
        workflows: &w.stores.workflows,
        settings: &w.stores.settings,
        publisher: &w.publisher,
        runs: &w.stores.runs,
        clock,
        page_size: 100,
        maintenance_pages: 20,
        on_time_grace: chrono::Duration::minutes(15),
        concurrency: 4,
        group: ShardGroup::ALL,
    }
}

/// One scan at `now` over the world's stores, publishing to its recording bus.
pub async fn scan(w: &World, now: &str) -> ScanReport {
    let clock = FixedClock(at(now));
    scanner(w, &clock).run().await.unwrap()
}

/// Every maintenance request waiting in the due index, whenever it is due.
pub async fn maintenance(w: &World) -> Vec<Maintenance> {
    let end_of_time = at("9999-12-31T23:59:59Z");
    let mut found = Vec::new();
    for shard in 0..w.stores.schedule.shards() {
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        loop {
            let due = w
                .stores
                .schedule
                .due(shard, end_of_time, &page)
                .await
                .unwrap();
            found.extend(due.items.into_iter().filter_map(|item| match item {
                DueItem::Maintenance(request) => Some(request),
                _ => None,
            }));
            match due.next {
                Some(next) => page.cursor = Some(next),
                None => break,
            }
        }
    }
    found
}
