//! Checks across stores (the run ledger's atomic commit into records, inbox and counters, its
//! claim conditions, fault injection on the shared state) and of the record store's identity
//! items and filtered listings.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::*;
use crate::ids::{ActionId, RecordId, TenantId, UserId, WorkflowId};
use crate::record::store::{RecordFilter, RecordStore};
use crate::record::stored::StoredRecord;
use crate::run::ledger::RunLedger;
use crate::run::{Effect, RunRecord, RunStatus};
use crate::schema::Module;
use crate::store::{ClaimOutcome, PageRequest, StoreError};
use crate::user::Notification;
use crate::user::notifications::NotificationInbox;

fn at(minute: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + minute * 60, 0).unwrap()
}

fn tenant() -> TenantId {
    TenantId::new("t1").unwrap()
}

fn run(key: &str, status: RunStatus) -> RunRecord {
    RunRecord {
        key: key.to_owned(),
        tenant: tenant(),
        workflow: WorkflowId::new("w1").unwrap(),
        version: 1,
        record: RecordId::new("c1").unwrap(),
        action: ActionId::new("a1").unwrap(),
        kind: "task".to_owned(),
        cause: "Y2026".to_owned(),
        status,
        attempts: 1,
        started_at: at(0),
        updated_at: at(0),
        lease_until: None,
        output: Vec::new(),
        error: None,
        skipped: Vec::new(),
        recipients: Vec::new(),
        depth: 0,
        dead_letter: None,
    }
}

fn customer(id: &str, phone: &str) -> StoredRecord {
    StoredRecord {
        id: RecordId::new(id).unwrap(),
        module: Module::Customer,
        fields: json!({"Phone": phone}).as_object().cloned().unwrap(),
    }
}

fn notification(id: &str) -> Notification {
    Notification {
        id: id.to_owned(),
        user: UserId::new("u1").unwrap(),
        message: "Việc mới".to_owned(),
        record: None,
        at: at(1),
        read: false,
    }
}

#[tokio::test]
async fn a_commit_writes_everything_or_nothing_and_only_once() {
    let stores = MemoryStores::new();
    let t = tenant();
    stores
        .records
        .create(&t, &customer("c1", "0912345678"))
        .await
        .unwrap();
    let done = run("k1", RunStatus::Succeeded);
    // The replaced record is at revision 1, not 5: nothing of the commit may land.
    let stale = [
        Effect::Create(customer("c2", "0987654321")),
        Effect::Notify(notification("n1")),
        Effect::Advance {
            counter: "rr".into(),
            expected: 0,
        },
        Effect::Replace {
            record: customer("c1", "0911111111"),
            expected: 5,
        },
    ];
    let refused = stores.runs.commit(&done, &stale).await;
    assert!(matches!(refused, Err(StoreError::Conflict { expected: 0 })));
    assert!(
        stores
            .records
            .get(&t, &RecordId::new("c2").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(stores.runs.counter(&t, "rr").await.unwrap(), 0);
    assert!(stores.runs.get(&t, "k1").await.unwrap().is_none());
    let user = UserId::new("u1").unwrap();
    let inbox = stores
        .inbox
        .list(&t, &user, false, &PageRequest::first(10))
        .await;
    assert!(inbox.unwrap().items.is_empty());

    let mut fresh = stale;
    fresh[3] = Effect::Replace {
        record: customer("c1", "0911111111"),
        expected: 1,
    };
    assert_eq!(
        stores.runs.commit(&done, &fresh).await.unwrap(),
        ClaimOutcome::Claimed
    );
    assert_eq!(stores.runs.counter(&t, "rr").await.unwrap(), 1);
    let replaced = stores
        .records
        .get(&t, &RecordId::new("c1").unwrap())
        .await
        .unwrap();
    assert_eq!(replaced.unwrap().revision, 2);
    let inbox = stores
        .inbox
        .list(&t, &user, false, &PageRequest::first(10))
        .await;
    assert_eq!(inbox.unwrap().items.len(), 1);
    // Effects add the identity items of the customers they write, and remove none.
    for phone in [
        "phone:+84987654321",
        "phone:+84911111111",
        "phone:+84912345678",
    ] {
        let found = stores
            .records
            .find_by_identity(&t, &[phone.to_owned()])
            .await
            .unwrap();
        assert_eq!(found.len(), 1, "{phone}");
    }
    // A redelivery finds the run succeeded: nothing is written again.
    let again = [Effect::Notify(notification("n2"))];
    assert_eq!(
        stores.runs.commit(&done, &again).await.unwrap(),
        ClaimOutcome::LostRace
    );
    let inbox = stores
        .inbox
        .list(&t, &user, false, &PageRequest::first(10))
        .await;
    assert_eq!(inbox.unwrap().items.len(), 1);
}

#[tokio::test]
async fn a_transaction_touching_one_item_twice_is_refused() {
    let stores = MemoryStores::new();
    let twice = [
        Effect::Create(customer("c9", "0912345678")),
        Effect::Replace {
            record: customer("c9", "0912345678"),
            expected: 1,
        },
    ];
    let refused = stores
        .runs
        .commit(&run("k1", RunStatus::Succeeded), &twice)
        .await;
    assert!(matches!(refused, Err(StoreError::Unavailable(_))));
}

#[tokio::test]
async fn claims_take_over_only_the_run_seen_and_retries_only_failed_ones() {
    let ledger = MemoryStores::new().runs;
    let first = run("k1", RunStatus::InProgress);
    assert_eq!(
        ledger.claim(&first, None).await.unwrap(),
        ClaimOutcome::Claimed
    );
    assert_eq!(
        ledger.claim(&first, None).await.unwrap(),
        ClaimOutcome::LostRace
    );
    let mut second = first.clone();
    second.attempts = 2;
    let mut seen = first.clone();
    seen.attempts = 7;
    assert_eq!(
        ledger.claim(&second, Some(&seen)).await.unwrap(),
        ClaimOutcome::LostRace
    );
    assert_eq!(
        ledger.claim(&second, Some(&first)).await.unwrap(),
        ClaimOutcome::Claimed
    );
    assert_eq!(ledger.request_retry(&second, at(5)).await.unwrap(), None);
    let mut failed = second.clone();
    failed.status = RunStatus::Failed;
    assert_eq!(ledger.record(&failed).await.unwrap(), ClaimOutcome::Claimed);
    let retry = ledger.request_retry(&failed, at(5)).await.unwrap().unwrap();
    assert_eq!(
        (retry.status, retry.updated_at),
        (RunStatus::Retrying, at(5))
    );
    let mut succeeded = retry.clone();
    succeeded.status = RunStatus::Succeeded;
    assert_eq!(
        ledger.record(&succeeded).await.unwrap(),
        ClaimOutcome::Claimed
    );
    assert_eq!(
        ledger.record(&failed).await.unwrap(),
        ClaimOutcome::LostRace
    );
    let history = ledger
        .history(&tenant(), &first.workflow, &PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(history.items, vec![succeeded]);
}

#[tokio::test]
async fn injected_faults_refuse_before_writing_or_lose_the_answer_after() {
    let stores = MemoryStores::new();
    let t = tenant();
    stores.fail_next_writes(1);
    let refused = stores
        .records
        .create(&t, &customer("c1", "0912345678"))
        .await;
    assert!(matches!(refused, Err(StoreError::Unavailable(_))));
    assert!(
        stores
            .records
            .get(&t, &RecordId::new("c1").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    stores.records.lose_next_write_replies(1);
    let lost = stores
        .records
        .create(&t, &customer("c1", "0912345678"))
        .await;
    assert!(matches!(lost, Err(StoreError::Unavailable(_))));
    let retried = stores
        .records
        .create(&t, &customer("c1", "0912345678"))
        .await;
    assert!(
        matches!(retried, Err(StoreError::AlreadyExists)),
        "the lost write happened"
    );
    stores.inbox.fail_next_reads(1);
    let user = UserId::new("u1").unwrap();
    assert!(
        stores
            .inbox
            .list(&t, &user, false, &PageRequest::first(1))
            .await
            .is_err()
    );
    let records = stores.calls(StoreKind::Records);
    assert_eq!(
        (records.writes, records.reads, records.injected_failures),
        (3, 1, 2)
    );
    assert_eq!(stores.total_calls().injected_failures, 3);
}

fn stored(id: &str, module: Module, fields: serde_json::Value) -> StoredRecord {
    StoredRecord {
        id: RecordId::new(id).unwrap(),
        module,
        fields: fields.as_object().cloned().unwrap(),
    }
}

#[tokio::test]
async fn identity_items_follow_a_customers_create_replace_and_delete() {
    let store = MemoryRecordStore::new();
    let tenant = TenantId::new("t1").unwrap();
    let phone = vec!["phone:+84912345678".to_owned()];
    let email = vec!["email:a@b.vn".to_owned()];
    let c = stored(
        "c1",
        Module::Customer,
        json!({"Phone": "0912 345 678", "Email": "A@b.vn"}),
    );
    store.create(&tenant, &c).await.unwrap();
    assert_eq!(
        store.find_by_identity(&tenant, &phone).await.unwrap().len(),
        1
    );
    let changed = stored("c1", Module::Customer, json!({"Email": "a@b.vn"}));
    store.replace(&tenant, &changed, 1).await.unwrap();
    assert!(
        store
            .find_by_identity(&tenant, &phone)
            .await
            .unwrap()
            .is_empty()
    );
    let other = TenantId::new("t2").unwrap();
    assert!(
        store
            .find_by_identity(&other, &email)
            .await
            .unwrap()
            .is_empty()
    );
    store.delete(&tenant, &changed.id, 2).await.unwrap();
    assert!(
        store
            .find_by_identity(&tenant, &email)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        store.delete(&tenant, &changed.id, 2).await,
        Err(StoreError::NotFound)
    ));
}

#[tokio::test]
async fn a_filtered_listing_reads_the_limit_then_filters_newest_first() {
    let store = MemoryRecordStore::new();
    let tenant = TenantId::new("t1").unwrap();
    for (id, at, rank) in [
        ("a", "2026-01-01", json!(1)),
        ("b", "2026-01-03", json!(2)),
        ("c", "2026-01-02", json!(1.0)),
    ] {
        let r = stored(id, Module::Contact, json!({"UpdatedAt": at, "Rank": rank}));
        store.create(&tenant, &r).await.unwrap();
    }
    let filter = RecordFilter {
        equals: vec![("Rank".to_owned(), json!(1))],
        ..RecordFilter::default()
    };
    let first = store
        .list(&tenant, Module::Contact, &filter, &PageRequest::first(1))
        .await
        .unwrap();
    assert!(first.items.is_empty(), "b is newest and does not match");
    assert!(first.next.is_some());
    let mut page = PageRequest::first(5);
    page.cursor = first.next;
    let rest = store
        .list(&tenant, Module::Contact, &filter, &page)
        .await
        .unwrap();
    let ids: Vec<&str> = rest.items.iter().map(|r| r.value.id.as_str()).collect();
    assert_eq!(ids, ["c", "a"], "1.0 equals 1 as a DynamoDB number");
    assert!(matches!(
        store
            .get_many(
                &tenant,
                &[RecordId::new("a").unwrap(), RecordId::new("a").unwrap()]
            )
            .await,
        Err(StoreError::Unavailable(_))
    ));
}
