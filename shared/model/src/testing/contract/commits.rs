//! The run ledger's commits: a succeeded run and its effects (records, notifications, counters)
//! written all or nothing, once. Every check takes the record store and the inbox the effects
//! land in.

use serde_json::{Value, json};

use super::runs::{run, stored};
use super::{Tenants, at, user};
use crate::ids::{RecordId, TenantId};
use crate::record::identity::{IdentityKind, key};
use crate::record::store::RecordStore;
use crate::record::stored::StoredRecord;
use crate::run::ledger::RunLedger;
use crate::run::{Effect, RunRecord, RunStatus};
use crate::schema::Module;
use crate::store::ClaimOutcome::{Claimed, LostRace};
use crate::store::{PageRequest, StoreError};
use crate::user::Notification;
use crate::user::notifications::NotificationInbox;

fn rid(id: &str) -> RecordId {
    RecordId::new(id).expect("a valid record id")
}

fn stored_record(id: &str, module: Module, fields: Value) -> StoredRecord {
    let fields = fields.as_object().cloned().expect("fields are an object");
    StoredRecord {
        id: rid(id),
        module,
        fields,
    }
}

fn task(id: &str, status: &str) -> StoredRecord {
    let fields =
        json!({"Name": "Gọi khách", "Status": status, "UpdatedAt": "2026-03-01T08:00:00Z"});
    stored_record(id, Module::Task, fields)
}

fn note(id: &str) -> Effect {
    Effect::Notify(Notification {
        id: id.into(),
        user: user("u-runs"),
        message: "Việc mới".into(),
        record: None,
        at: at(0),
        read: false,
    })
}

fn advance(counter: &str, expected: u64) -> Effect {
    Effect::Advance {
        counter: counter.into(),
        expected,
    }
}

fn succeeded(t: &Tenants, name: &str) -> RunRecord {
    run(&t.tenant, name, RunStatus::Succeeded, 0)
}

/// The ids of the notifications delivered to the user the effects notify.
async fn delivered(inbox: &dyn NotificationInbox, t: &Tenants) -> Vec<String> {
    let page = PageRequest::first(100);
    let listed = inbox.list(&t.tenant, &user("u-runs"), false, &page).await;
    let items = listed.expect("list notifications").items;
    items.into_iter().map(|n| n.id).collect()
}

async fn counter(ledger: &dyn RunLedger, tenant: &TenantId, name: &str) -> u64 {
    ledger.counter(tenant, name).await.expect("read a counter")
}

async fn read(records: &dyn RecordStore, t: &Tenants, id: &str) -> Option<(StoredRecord, u64)> {
    let got = records
        .get(&t.tenant, &rid(id))
        .await
        .expect("get a record");
    got.map(|r| (r.value, r.revision))
}

pub async fn a_commit_writes_the_run_and_its_effects_together(
    ledger: &dyn RunLedger,
    records: &dyn RecordStore,
    inbox: &dyn NotificationInbox,
    t: &Tenants,
) {
    let created = records.create(&t.tenant, &task("r-c-task", "open")).await;
    created.expect("create a task");
    let claimed = run(&t.tenant, "commit", RunStatus::InProgress, 0);
    ledger.claim(&claimed, None).await.expect("claim");
    let done = RunRecord {
        status: RunStatus::Succeeded,
        output: vec!["r-c-new".into()],
        ..claimed
    };
    let phone = json!({"Name": "Khách mới", "Phone": "0912000021"});
    let customer = stored_record("r-c-new", Module::Customer, phone);
    let replace = Effect::Replace {
        record: task("r-c-task", "done"),
        expected: 1,
    };
    let effects = [
        replace,
        Effect::Create(customer.clone()),
        note("n-commit"),
        advance("rr-commit", 0),
    ];
    let outcome = ledger.commit(&done, &effects).await.expect("commit");
    assert_eq!(
        outcome, Claimed,
        "the first commit wins, over a claimed run"
    );
    assert_eq!(stored(ledger, &done).await, Some(done), "the run is stored");
    let replaced = read(records, t, "r-c-task").await;
    assert_eq!(replaced, Some((task("r-c-task", "done"), 2)), "the replace");
    let created = read(records, t, "r-c-new").await;
    assert_eq!(created, Some((customer, 1)), "the create");
    let phone = key(IdentityKind::Phone, "0912000021").expect("a phone key");
    let found = records.find_by_identity(&t.tenant, &[phone]).await;
    let found = found.expect("find by identity");
    assert_eq!(
        found,
        [rid("r-c-new")],
        "a customer a commit created is findable"
    );
    let notes = delivered(inbox, t).await;
    assert_eq!(notes, ["n-commit"], "the notification is delivered");
    let turn = counter(ledger, &t.tenant, "rr-commit").await;
    assert_eq!(turn, 1, "the counter advanced");
}

pub async fn a_stale_replace_cancels_the_whole_commit(
    ledger: &dyn RunLedger,
    records: &dyn RecordStore,
    inbox: &dyn NotificationInbox,
    t: &Tenants,
) {
    let created = records.create(&t.tenant, &task("r-s-task", "open")).await;
    created.expect("create a task");
    let moved = records
        .replace(&t.tenant, &task("r-s-task", "waiting"), 1)
        .await;
    moved.expect("replace the task");
    let done = succeeded(t, "stale");
    let stale = Effect::Replace {
        record: task("r-s-task", "done"),
        expected: 1,
    };
    let create = Effect::Create(task("r-s-new", "open"));
    let effects = [create, note("n-stale"), advance("rr-stale", 0), stale];
    let result = ledger.commit(&done, &effects).await;
    refused!(
        result,
        StoreError::Conflict { .. },
        "a replace of a record that moved on"
    );
    assert_eq!(stored(ledger, &done).await, None, "the run is not written");
    let kept = read(records, t, "r-s-task").await;
    assert_eq!(
        kept,
        Some((task("r-s-task", "waiting"), 2)),
        "the record is kept"
    );
    assert_eq!(
        read(records, t, "r-s-new").await,
        None,
        "nothing is created"
    );
    assert!(delivered(inbox, t).await.is_empty(), "nothing is delivered");
    let turn = counter(ledger, &t.tenant, "rr-stale").await;
    assert_eq!(turn, 0, "the counter did not move");
}

pub async fn a_moved_counter_cancels_the_whole_commit(
    ledger: &dyn RunLedger,
    records: &dyn RecordStore,
    inbox: &dyn NotificationInbox,
    t: &Tenants,
) {
    let first = succeeded(t, "turn-1");
    let outcome = ledger.commit(&first, &[advance("rr-moved", 0)]).await;
    assert_eq!(outcome.expect("commit"), Claimed, "the first turn");
    let second = succeeded(t, "turn-2");
    let create = Effect::Create(task("r-mv-new", "open"));
    let effects = [create, note("n-moved"), advance("rr-moved", 0)];
    let result = ledger.commit(&second, &effects).await;
    refused!(
        result,
        StoreError::Conflict { .. },
        "advancing from a value gone"
    );
    assert_eq!(
        stored(ledger, &second).await,
        None,
        "the run is not written"
    );
    assert_eq!(
        read(records, t, "r-mv-new").await,
        None,
        "nothing is created"
    );
    assert!(delivered(inbox, t).await.is_empty(), "nothing is delivered");
    let turn = counter(ledger, &t.tenant, "rr-moved").await;
    assert_eq!(turn, 1, "the counter stays");
    let created = records.create(&t.tenant, &task("r-mv-old", "open")).await;
    created.expect("create a task");
    let third = succeeded(t, "turn-3");
    let again = [Effect::Create(task("r-mv-old", "done"))];
    let result = ledger.commit(&third, &again).await;
    refused!(
        result,
        StoreError::Conflict { .. },
        "creating a record that exists"
    );
    assert_eq!(stored(ledger, &third).await, None, "the run is not written");
    let kept = read(records, t, "r-mv-old").await;
    assert_eq!(
        kept,
        Some((task("r-mv-old", "open"), 1)),
        "the record is kept"
    );
}

pub async fn a_second_commit_loses_the_race_and_writes_nothing(
    ledger: &dyn RunLedger,
    records: &dyn RecordStore,
    inbox: &dyn NotificationInbox,
    t: &Tenants,
) {
    let done = succeeded(t, "twice");
    let first = [note("n-first"), advance("rr-twice", 0)];
    let outcome = ledger.commit(&done, &first).await.expect("commit");
    assert_eq!(outcome, Claimed, "the first commit");
    let again = RunRecord {
        output: vec!["again".into()],
        ..done.clone()
    };
    let create = Effect::Create(task("r-tw-new", "open"));
    let second = [create, note("n-second"), advance("rr-twice", 1)];
    let outcome = ledger.commit(&again, &second).await.expect("commit again");
    assert_eq!(outcome, LostRace, "a redelivery's commit loses");
    assert_eq!(
        stored(ledger, &done).await,
        Some(done),
        "the first run stays"
    );
    assert_eq!(
        read(records, t, "r-tw-new").await,
        None,
        "nothing is created"
    );
    assert_eq!(delivered(inbox, t).await, ["n-first"], "nor delivered");
    let turn = counter(ledger, &t.tenant, "rr-twice").await;
    assert_eq!(turn, 1, "nor advanced");
}

pub async fn counters_advance_one_step_at_a_time(
    ledger: &dyn RunLedger,
    _: &dyn RecordStore,
    _: &dyn NotificationInbox,
    t: &Tenants,
) {
    let turn = counter(ledger, &t.tenant, "rr-steps").await;
    assert_eq!(turn, 0, "a counter never advanced is 0");
    for step in 0..3u64 {
        let done = succeeded(t, &format!("step-{step}"));
        let outcome = ledger.commit(&done, &[advance("rr-steps", step)]).await;
        assert_eq!(outcome.expect("commit"), Claimed, "advancing from {step}");
        let turn = counter(ledger, &t.tenant, "rr-steps").await;
        assert_eq!(turn, step + 1, "advanced from {step}");
    }
    let turn = counter(ledger, &t.tenant, "rr-other").await;
    assert_eq!(turn, 0, "counters are apart by name");
    let turn = counter(ledger, &t.other, "rr-steps").await;
    assert_eq!(turn, 0, "and by tenant");
}

pub async fn a_turn_taken_alone_and_a_commits_turn_share_the_counter(
    ledger: &dyn RunLedger,
    _records: &dyn RecordStore,
    _inbox: &dyn NotificationInbox,
    t: &Tenants,
) {
    let taken = ledger.advance(&t.tenant, "rr-alone", 0).await;
    assert_eq!(taken.expect("advance"), Claimed, "the first turn");
    let again = ledger.advance(&t.tenant, "rr-alone", 0).await;
    assert_eq!(again.expect("advance"), LostRace, "turn 0 was taken");
    let committed = ledger
        .commit(&succeeded(t, "rr-alone-run"), &[advance("rr-alone", 1)])
        .await;
    assert_eq!(committed.expect("commit"), Claimed, "a commit takes turn 1");
    let stale = ledger.advance(&t.tenant, "rr-alone", 1).await;
    assert_eq!(stale.expect("advance"), LostRace, "turn 1 was the commit's");
    assert_eq!(counter(ledger, &t.tenant, "rr-alone").await, 2);
    assert_eq!(
        counter(ledger, &t.other, "rr-alone").await,
        0,
        "another tenant's counter of the same name"
    );
}
