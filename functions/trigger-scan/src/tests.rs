//! The handler's clock: a scan "at 8:00" is for local runs only; deployed, the clock is now.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::{Deps, HandlerError, handle};
use crm_model::ports::FixedClock;
use crm_model::testing::memory::{MemoryStores, RecordingPublisher};

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("test instant")
}

fn deps(allow_clock_override: bool) -> Deps {
    let stores = MemoryStores::new();
    Deps {
        schedule: Arc::new(stores.schedule.clone()),
        records: Arc::new(stores.records.clone()),
        workflows: Arc::new(stores.workflows.clone()),
        settings: Arc::new(stores.settings.clone()),
        publisher: Arc::new(RecordingPublisher::new()),
        runs: Arc::new(stores.runs.clone()),
        clock: Arc::new(FixedClock(at("2027-05-17T00:00:00Z"))),
        allow_clock_override,
        concurrency: 4,
        shard_groups: 4,
    }
}

#[tokio::test]
async fn a_scheduled_event_scans_at_the_clocks_now() {
    let report = handle(&deps(false), &json!({"detail": {}})).await.unwrap();
    assert_eq!(report.window_end, Some(at("2027-05-17T00:00:00Z")));
}

#[tokio::test]
async fn a_chosen_instant_is_refused_unless_the_deployment_allows_it() {
    let event = json!({"detail": {"scan_at": "2027-05-17T01:00:00Z"}});
    let refused = handle(&deps(false), &event).await;
    assert!(
        matches!(refused, Err(HandlerError::ClockOverrideRefused)),
        "{refused:?}"
    );
    let report = handle(&deps(true), &event).await.unwrap();
    assert_eq!(report.window_end, Some(at("2027-05-17T01:00:00Z")));
    let garbled = json!({"detail": {"scan_at": "tomorrow at eight"}});
    assert!(matches!(
        handle(&deps(true), &garbled).await,
        Err(HandlerError::BadInstant(_))
    ));
}

#[tokio::test]
async fn each_invocation_scans_the_shard_group_its_event_names() {
    let report = handle(&deps(false), &json!({"detail": {"shard_group": 2}}))
        .await
        .unwrap();
    assert_eq!(report.shards, [2, 6, 10, 14]);
    let all = handle(&deps(false), &json!({"detail": {}})).await.unwrap();
    assert_eq!(all.shards, [0, 4, 8, 12], "no group named: the first");
    for bad in [json!(4), json!(-1), json!("two")] {
        let refused = handle(&deps(false), &json!({"detail": {"shard_group": bad}})).await;
        assert!(
            matches!(refused, Err(HandlerError::BadShardGroup { groups: 4 })),
            "{refused:?}"
        );
    }
}
