//! Approval requests: a submission locks its record in the same write, every transition is
//! conditional on the request's revision (and on the record's, when it writes the record), a
//! refused write changes nothing, approvers' pending lists follow the undecided approvers, and a
//! record's requests read newest first.

use super::{Tenants, all_pages, at, user};
use crate::approval::Decide;
use crate::approval::request::{ApprovalRequest, Decision, RequestStatus};
use crate::approval::store::ApprovalStore;
use crate::ids::{RecordId, TenantId, WorkflowId};
use crate::record::store::RecordStore;
use crate::record::stored::StoredRecord;
use crate::schema::Module;
use crate::store::{PageRequest, StoreError};

fn rid(id: &str) -> RecordId {
    RecordId::new(id).expect("a valid id")
}

async fn quote(records: &dyn RecordStore, tenant: &TenantId, id: &str) -> StoredRecord {
    let record = StoredRecord {
        id: rid(id),
        module: Module::Quote,
        fields: serde_json::json!({"Code": id, "Owner": "u1"})
            .as_object()
            .cloned()
            .unwrap_or_default(),
    };
    records
        .create(tenant, &record)
        .await
        .expect("creating the record");
    record
}

/// A request of `record` (submitted `minute` minutes into the calendar) at its first step,
/// waiting on `approvers`.
fn request(
    tenant: &TenantId,
    record: &str,
    id: &str,
    minute: i64,
    approvers: &[&str],
) -> ApprovalRequest {
    let mut request = ApprovalRequest {
        id: rid(id),
        tenant: tenant.clone(),
        record: rid(record),
        module: Module::Quote,
        workflow: WorkflowId::new("discount").expect("a valid id"),
        version: 1,
        name: "Duyệt chiết khấu".into(),
        submitter: user("u1"),
        submitted_at: at(minute),
        status: RequestStatus::Pending,
        current: None,
        history: Vec::new(),
        link_key: "key".into(),
    };
    let approvers = approvers.iter().map(|a| user(a)).collect();
    request.enter_step(0, "Trưởng nhóm", Decide::All, approvers, None, at(minute));
    request
}

fn locked(record: &StoredRecord, request: &ApprovalRequest) -> StoredRecord {
    let mut locked = record.clone();
    locked.fields.insert(
        crate::approval::APPROVAL_FIELD.into(),
        serde_json::json!({"request": request.id}),
    );
    locked
}

async fn pending(store: &dyn ApprovalStore, tenant: &TenantId, approver: &str) -> Vec<RecordId> {
    let approver = user(approver);
    let approver = &approver;
    all_pages("pending", 2, |page| async move {
        store.pending_for(tenant, approver, &page).await
    })
    .await
    .into_iter()
    .map(|line| line.request)
    .collect()
}

pub async fn a_submission_locks_its_record_and_reads_back_for_its_tenant_only(
    store: &dyn ApprovalStore,
    records: &dyn RecordStore,
    t: &Tenants,
) {
    let record = quote(records, &t.tenant, "q1").await;
    let request = request(&t.tenant, "q1", "r1", 0, &["a1"]);
    let saved = store
        .submit(&request, &locked(&record, &request), 1)
        .await
        .expect("submitting");
    assert_eq!(saved.revision, 1);
    let read = store.get(&t.tenant, &rid("q1"), &rid("r1")).await.unwrap();
    assert_eq!(read.map(|r| r.value), Some(request.clone()));
    let record = records.get(&t.tenant, &rid("q1")).await.unwrap().unwrap();
    assert_eq!(record.revision, 2, "the lock is a write of the record");
    assert!(record.value.fields.contains_key("Approval"));
    assert!(
        store
            .get(&t.other, &rid("q1"), &rid("r1"))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(pending(store, &t.tenant, "a1").await, [rid("r1")]);
    assert!(pending(store, &t.other, "a1").await.is_empty());
}

pub async fn a_submission_over_a_moved_record_or_a_taken_id_saves_nothing(
    store: &dyn ApprovalStore,
    records: &dyn RecordStore,
    t: &Tenants,
) {
    let record = quote(records, &t.tenant, "q1").await;
    let first = request(&t.tenant, "q1", "r1", 0, &["a1"]);
    refused!(
        store.submit(&first, &locked(&record, &first), 7).await,
        StoreError::Conflict { .. },
        "a record no longer at the revision read"
    );
    assert!(
        store
            .get(&t.tenant, &rid("q1"), &rid("r1"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(pending(store, &t.tenant, "a1").await.is_empty());
    let record_now = records.get(&t.tenant, &rid("q1")).await.unwrap().unwrap();
    assert_eq!(record_now.revision, 1, "the record untouched");
    store
        .submit(&first, &locked(&record, &first), 1)
        .await
        .expect("submitting");
    let again = request(&t.tenant, "q1", "r1", 1, &["a2"]);
    refused!(
        store.submit(&again, &locked(&record, &again), 2).await,
        StoreError::AlreadyExists,
        "the same request id again"
    );
    assert!(pending(store, &t.tenant, "a2").await.is_empty());
}

pub async fn a_transition_needs_the_requests_revision_and_a_refused_one_writes_nothing(
    store: &dyn ApprovalStore,
    records: &dyn RecordStore,
    t: &Tenants,
) {
    let record = quote(records, &t.tenant, "q1").await;
    let submitted = request(&t.tenant, "q1", "r1", 0, &["a1", "a2"]);
    let before = store
        .submit(&submitted, &locked(&record, &submitted), 1)
        .await
        .expect("submitting");
    // a1 approves: off their list, a2 still on theirs.
    let mut approved = before.value.clone();
    approved
        .decide(&user("a1"), Decision::Approve, false, None, at(1))
        .expect("deciding");
    let after = store.save(&before, &approved, None).await.expect("saving");
    assert_eq!(after.revision, 2);
    assert!(pending(store, &t.tenant, "a1").await.is_empty());
    assert_eq!(pending(store, &t.tenant, "a2").await, [rid("r1")]);
    // A decision from the first read is refused, whatever it decided.
    let mut stale = before.value.clone();
    stale
        .decide(&user("a2"), Decision::Reject, false, None, at(2))
        .expect("deciding");
    let locked_now = records.get(&t.tenant, &rid("q1")).await.unwrap().unwrap();
    let mut freed = locked_now.value.clone();
    freed.fields.remove("Approval");
    refused!(
        store
            .save(&before, &stale, Some((&freed, locked_now.revision)))
            .await,
        StoreError::Conflict { .. },
        "a save from a stale read"
    );
    let read = store
        .get(&t.tenant, &rid("q1"), &rid("r1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (read.revision, read.value.status),
        (2, RequestStatus::Pending)
    );
    let record_now = records.get(&t.tenant, &rid("q1")).await.unwrap().unwrap();
    assert!(
        record_now.value.fields.contains_key("Approval"),
        "still locked"
    );
    assert_eq!(pending(store, &t.tenant, "a2").await, [rid("r1")]);
}

pub async fn an_outcome_that_frees_a_moved_record_is_refused_whole(
    store: &dyn ApprovalStore,
    records: &dyn RecordStore,
    t: &Tenants,
) {
    let record = quote(records, &t.tenant, "q1").await;
    let submitted = request(&t.tenant, "q1", "r1", 0, &["a1"]);
    let before = store
        .submit(&submitted, &locked(&record, &submitted), 1)
        .await
        .expect("submitting");
    let mut rejected = before.value.clone();
    rejected
        .decide(&user("a1"), Decision::Reject, false, None, at(1))
        .expect("deciding");
    let mut freed = locked(&record, &submitted);
    freed.fields.remove("Approval");
    refused!(
        store.save(&before, &rejected, Some((&freed, 1))).await,
        StoreError::Conflict { .. },
        "the record moved since it was read"
    );
    let read = store
        .get(&t.tenant, &rid("q1"), &rid("r1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.revision, 1, "the request untouched");
    assert_eq!(pending(store, &t.tenant, "a1").await, [rid("r1")]);
    store
        .save(&before, &rejected, Some((&freed, 2)))
        .await
        .expect("saving at the record's revision");
    let record_now = records.get(&t.tenant, &rid("q1")).await.unwrap().unwrap();
    assert_eq!(record_now.revision, 3);
    assert!(!record_now.value.fields.contains_key("Approval"), "freed");
    assert!(pending(store, &t.tenant, "a1").await.is_empty());
}

pub async fn a_records_requests_read_newest_first_page_by_page(
    store: &dyn ApprovalStore,
    records: &dyn RecordStore,
    t: &Tenants,
) {
    let mut record = quote(records, &t.tenant, "q1").await;
    quote(records, &t.tenant, "q2").await;
    let mut revision = 1;
    // Time-ordered ids, as the API makes them.
    for (minute, id) in ["r-01", "r-02", "r-03"].iter().enumerate() {
        let submitted = request(&t.tenant, "q1", id, minute as i64, &["a1"]);
        let before = store
            .submit(&submitted, &locked(&record, &submitted), revision)
            .await
            .expect("submitting");
        let mut recalled = before.value.clone();
        recalled
            .recall(&user("u1"), None, at(minute as i64))
            .expect("recalling");
        record.fields.remove("Approval");
        store
            .save(&before, &recalled, Some((&record, revision + 1)))
            .await
            .expect("recalling");
        revision += 2;
    }
    let other = request(&t.tenant, "q2", "r-04", 9, &["a1"]);
    let q2 = records.get(&t.tenant, &rid("q2")).await.unwrap().unwrap();
    store
        .submit(&other, &locked(&q2.value, &other), 1)
        .await
        .expect("submitting");
    let q1 = &rid("q1");
    let ids: Vec<String> = all_pages("requests", 2, |page| async move {
        store.of_record(&t.tenant, q1, &page).await
    })
    .await
    .into_iter()
    .map(|r| r.id.to_string())
    .collect();
    assert_eq!(ids, ["r-03", "r-02", "r-01"]);
    let others = store
        .of_record(&t.other, &rid("q1"), &PageRequest::first(10))
        .await
        .unwrap();
    assert!(others.items.is_empty());
}
