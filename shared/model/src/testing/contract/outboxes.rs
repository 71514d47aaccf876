//! The schedule's outboxes (due at their retry instant, taken over once, cleared), event claims
//! of work workflows, and maintenance requests with their checkpoints. Every check takes a store
//! of its own: the due index is global.

use super::schedule::{LATER, claimed_with_outbox, due_all, entry, get, nothing_due, outbox};
use super::schedule::{rid, wf};
use super::{Tenants, at};
use crate::schedule::due_shard;
use crate::schedule::ports::{DueItem, Maintenance, MaintenanceKind, Outbox, ScheduleStore};
use crate::store::ClaimOutcome::{Claimed, LostRace};

pub async fn a_claimed_outbox_is_due_once_its_retry_after_passed(
    store: &dyn ScheduleStore,
    t: &Tenants,
) {
    let e = entry(&t.tenant, "wf-outbox", "r-1", Some(0));
    let out = claimed_with_outbox(store, &e).await;
    nothing_due(store, at(4), "nothing is due before the retry instant").await;
    let shard = due_shard(&e.tenant, &e.workflow, &e.record, store.shards());
    let due = due_all(store, at(5), 100).await;
    assert_eq!(
        due,
        vec![(shard, DueItem::Outbox(out))],
        "the outbox, in its entry's shard"
    );
}

pub async fn an_outbox_is_taken_over_once(store: &dyn ScheduleStore, t: &Tenants) {
    let out = claimed_with_outbox(store, &entry(&t.tenant, "wf-take", "r-1", Some(0))).await;
    let outcome = store
        .take_outbox(&out, at(10))
        .await
        .expect("take the outbox");
    assert_eq!(outcome, Claimed, "the first takeover wins");
    let outcome = store
        .take_outbox(&out, at(11))
        .await
        .expect("take the outbox again");
    assert_eq!(outcome, LostRace, "the outbox seen was taken already");
    nothing_due(
        store,
        at(9),
        "a taken outbox is leased until its new instant",
    )
    .await;
    let taken = Outbox {
        retry_after: at(10),
        ..out
    };
    let due: Vec<DueItem> = due_all(store, at(10), 100)
        .await
        .into_iter()
        .map(|(_, i)| i)
        .collect();
    assert_eq!(
        due,
        vec![DueItem::Outbox(taken.clone())],
        "due again when the lease ends"
    );
    let outcome = store
        .take_outbox(&taken, at(20))
        .await
        .expect("take it after the lease");
    assert_eq!(outcome, Claimed, "a later scan takes it over again");
}

pub async fn a_cleared_outbox_is_gone(store: &dyn ScheduleStore, t: &Tenants) {
    let e = entry(&t.tenant, "wf-clear", "r-1", Some(0));
    let out = claimed_with_outbox(store, &e).await;
    let claimed = get(store, &e).await;
    store.clear_outbox(&out).await.expect("clear the outbox");
    nothing_due(store, at(LATER), "a cleared outbox is never due").await;
    let outcome = store
        .take_outbox(&out, at(10))
        .await
        .expect("take a cleared outbox");
    assert_eq!(outcome, LostRace, "a cleared outbox cannot be taken");
    nothing_due(store, at(LATER), "nor brought back by a takeover").await;
    store
        .clear_outbox(&out)
        .await
        .expect("clearing twice is fine");
    assert_eq!(get(store, &e).await, claimed, "the entry is untouched");
}

pub async fn an_event_is_claimed_once(store: &dyn ScheduleStore, t: &Tenants) {
    let e = entry(&t.tenant, "wf-event", "r-1", None);
    let last_run = || store.last_run(&e.tenant, &e.workflow, &e.record);
    assert_eq!(last_run().await.expect("last_run"), None, "never ran");
    let first = outbox(&e, "ev-1", 5);
    let outcome = store
        .claim_event(&first, "ev-1", at(0))
        .await
        .expect("claim an event");
    assert_eq!(outcome, Claimed, "the first delivery of an event wins");
    assert_eq!(
        last_run().await.expect("last_run"),
        Some(at(0)),
        "the run time is kept"
    );
    let redelivered = outbox(&e, "ev-1", 8);
    let outcome = store
        .claim_event(&redelivered, "ev-1", at(3))
        .await
        .expect("claim again");
    assert_eq!(outcome, LostRace, "a redelivered event loses");
    assert_eq!(
        last_run().await.expect("last_run"),
        Some(at(0)),
        "the lost claim keeps the time"
    );
    let due: Vec<DueItem> = due_all(store, at(8), 100)
        .await
        .into_iter()
        .map(|(_, i)| i)
        .collect();
    assert_eq!(
        due,
        vec![DueItem::Outbox(first)],
        "only the winner's outbox is stored"
    );
    let second = outbox(&e, "ev-2", 15);
    let outcome = store
        .claim_event(&second, "ev-2", at(10))
        .await
        .expect("claim an event");
    assert_eq!(outcome, Claimed, "another event is claimed");
    assert_eq!(
        last_run().await.expect("last_run"),
        Some(at(10)),
        "the latest run time"
    );
    let other_record = store.last_run(&e.tenant, &e.workflow, &rid("r-2")).await;
    assert_eq!(
        other_record.expect("last_run"),
        None,
        "run times are per record"
    );
    let stranger = store.last_run(&t.other, &e.workflow, &e.record).await;
    assert_eq!(stranger.expect("last_run"), None, "and per tenant");
}

fn maintenance_due(due: Vec<(u32, DueItem)>) -> Vec<Maintenance> {
    due.into_iter()
        .map(|(_, item)| match item {
            DueItem::Maintenance(m) => m,
            other => panic!("only maintenance was requested, found {other:?}"),
        })
        .collect()
}

pub async fn maintenance_stays_due_until_its_checkpoint_removes_it(
    store: &dyn ScheduleStore,
    t: &Tenants,
) {
    let request = Maintenance {
        tenant: t.tenant.clone(),
        workflow: wf("wf-maint"),
        version: 1,
        kind: MaintenanceKind::Backfill,
        cursor: None,
    };
    store
        .request_maintenance(&request, at(0))
        .await
        .expect("request maintenance");
    nothing_due(store, at(-1), "not due before it was requested").await;
    let due = maintenance_due(due_all(store, at(0), 100).await);
    assert_eq!(
        due,
        vec![request.clone()],
        "due from the instant it was requested"
    );
    store
        .checkpoint_maintenance(&request, Some("c-1".into()))
        .await
        .expect("checkpoint");
    let resumed = Maintenance {
        cursor: Some("c-1".into()),
        ..request.clone()
    };
    assert_eq!(
        maintenance_due(due_all(store, at(0), 100).await),
        vec![resumed],
        "with its cursor"
    );
    let newer = Maintenance {
        version: 2,
        ..request.clone()
    };
    store
        .request_maintenance(&newer, at(1))
        .await
        .expect("request again");
    let due = maintenance_due(due_all(store, at(1), 100).await);
    assert_eq!(
        due,
        vec![newer.clone()],
        "a new request replaces the earlier one"
    );
    store
        .checkpoint_maintenance(&request, Some("old".into()))
        .await
        .expect("checkpoint");
    store
        .checkpoint_maintenance(&request, None)
        .await
        .expect("checkpoint");
    let cleanup = Maintenance {
        kind: MaintenanceKind::Cleanup,
        ..newer.clone()
    };
    store
        .checkpoint_maintenance(&cleanup, None)
        .await
        .expect("checkpoint");
    let due = maintenance_due(due_all(store, at(1), 100).await);
    assert_eq!(
        due,
        vec![newer.clone()],
        "checkpoints of other requests leave it alone"
    );
    store
        .checkpoint_maintenance(&newer, None)
        .await
        .expect("finish");
    nothing_due(store, at(LATER), "a finished request is gone").await;
}
