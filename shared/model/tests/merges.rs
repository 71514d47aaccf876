//! Duplicate customers and their merge over the in-memory stores: duplicates share a phone, email
//! or tax code in any spelling; a merge moves the duplicate's records, fills the survivor's empty
//! fields, recomputes its purchases and deletes the duplicate; and a merge interrupted at any of
//! its writes finishes when asked again and loses nothing.

mod support;

use crm_model::ports::{MergeMarker, MergeState, RecordStore, RunLedger};
use crm_model::record::identity::{self, IdentityKind};
use crm_model::record::service::{Activity, Duplicate, RecordError};
use crm_model::run::{RunRecord, RunStatus};
use crm_model::schedule::ActionJob;
use crm_model::schema::Module;
use serde_json::json;
use support::at;
use support::crm::{Crm, rid};
use support::flaky::{FlakyRecords, Outage};

fn found(duplicates: &[Duplicate]) -> Vec<(&str, Vec<IdentityKind>)> {
    duplicates
        .iter()
        .map(|d| (d.record.value.id.as_str(), d.shared.clone()))
        .collect()
}

#[tokio::test]
async fn duplicates_share_a_phone_email_or_tax_code_in_any_spelling() {
    let crm = Crm::new().await;
    for (id, fields) in [
        (
            "c-keep",
            json!({"Name": "Bùi Thu Trang", "Phone": "0912 345 678"}),
        ),
        (
            "c-dup",
            json!({"Name": "Trang Bùi", "Phone": "+84912345678", "Email": "Trang.Bui@Example.vn"}),
        ),
        (
            "c-other",
            json!({"Name": "Người khác", "Email": "trang.bui@example.vn"}),
        ),
        (
            "c-alone",
            json!({"Name": "Không trùng", "Phone": "0987000111"}),
        ),
        (
            "c-tax",
            json!({"Name": "Công ty A", "TaxCode": "0101 243 150"}),
        ),
        (
            "c-tax2",
            json!({"Name": "Công ty A (HN)", "TaxCode": "0101.243.150"}),
        ),
    ] {
        crm.create(Module::Customer, id, fields).await;
    }
    crm.create(
        Module::Contact,
        "k1",
        json!({"Name": "Trang", "Phone": "0912345678"}),
    )
    .await;
    let (cases, t) = (crm.records(), &crm.sales());
    let of = |id: &'static str| {
        let cases = &cases;
        async move { cases.duplicates_of(t, &rid(id)).await.unwrap() }
    };
    use IdentityKind::*;
    assert_eq!(
        found(&of("c-keep").await),
        [("c-dup", vec![Phone])],
        "contacts are no duplicates"
    );
    assert_eq!(
        found(&of("c-dup").await),
        [("c-keep", vec![Phone]), ("c-other", vec![Email])]
    );
    assert_eq!(found(&of("c-tax").await), [("c-tax2", vec![TaxCode])]);
    assert!(of("c-alone").await.is_empty());
    let by_email = identity::key(Email, "TRANG.BUI@example.VN").unwrap();
    let checked = cases
        .duplicates_of_keys(t, &[by_email], None)
        .await
        .unwrap();
    assert_eq!(
        found(&checked),
        [("c-dup", vec![Email]), ("c-other", vec![Email])]
    );

    // A changed phone no longer finds the customer under the old one.
    crm.patch(Module::Customer, "c-dup", json!({"Phone": "0900000000"}))
        .await;
    assert!(of("c-keep").await.is_empty());
    let not_customer = cases.duplicates_of(t, &rid("k1")).await;
    assert!(
        matches!(not_customer, Err(RecordError::NotFound("Customer"))),
        "{not_customer:?}"
    );
}

/// Trang (`c-keep`) and her duplicate (`c-dup`, owned by the manager, with a province, two orders,
/// a task and an automation run), and another customer sharing the duplicate's email.
async fn two_trangs(crm: &Crm) {
    crm.loyalty().await;
    crm.create(
        Module::Customer,
        "c-keep",
        json!({"Name": "Bùi Thu Trang", "Phone": "0912 345 678"}),
    )
    .await;
    crm.create(
        Module::Customer,
        "c-dup",
        json!({"Name": "Trang Bùi", "Phone": "+84912345678", "Email": "trang@example.vn", "Province": "Hải Phòng", "Owner": "u-manager"}),
    )
    .await;
    crm.create(
        Module::Customer,
        "c-other",
        json!({"Name": "Người khác", "Email": "trang@example.vn"}),
    )
    .await;
    crm.order(
        "c-dup",
        "o1",
        json!({"OrderDate": "2026-06-01", "Amount": 1_000_000}),
    )
    .await;
    crm.order(
        "c-dup",
        "o2",
        json!({"OrderDate": "2026-07-01", "Amount": 1_500_000}),
    )
    .await;
    crm.create(
        Module::Task,
        "t1",
        json!({"Title": "Gửi báo giá", "Customer": "c-dup"}),
    )
    .await;
    let job = ActionJob {
        depth: 0,
        tenant: crm.w.tenant.clone(),
        workflow: crm_model::ids::WorkflowId::new("wf-welcome").unwrap(),
        version: 1,
        record: rid("c-dup"),
        cause: "Eevt-1".into(),
        action: crm_model::ids::ActionId::new("welcome").unwrap(),
        due_at: at("2026-06-01T02:00:00Z"),
        snapshot: None,
    };
    let mut run = RunRecord::start(&job, "email", at("2026-06-01T02:00:01Z"));
    run.status = RunStatus::Succeeded;
    crm.w.stores.runs.record(&run).await.unwrap();
}

/// What every merge of the two Trangs must end with, however it got there.
async fn merged(crm: &Crm) {
    assert!(crm.stored("c-dup").await.is_none(), "the duplicate is gone");
    let survivor = crm.stored("c-keep").await.unwrap().value.fields;
    assert_eq!(
        (&survivor["Name"], &survivor["Owner"]),
        (&json!("Bùi Thu Trang"), &json!("u-sales")),
        "its own values"
    );
    assert_eq!(
        (&survivor["Province"], &survivor["Email"]),
        (&json!("Hải Phòng"), &json!("trang@example.vn")),
        "and the duplicate's where it had none"
    );
    assert_eq!(
        (&survivor["LastPurchaseDate"], &survivor["LoyaltyPoints"]),
        (&json!("2026-07-01"), &json!(25)),
        "recomputed"
    );
    for id in ["o1", "o2", "t1"] {
        assert_eq!(crm.field(id, "Customer").await, "c-keep", "{id} moved");
    }
    let (cases, t) = (crm.records(), &crm.sales());
    let markers = crm
        .w
        .stores
        .records
        .merges(&t.tenant, &rid("c-keep"))
        .await
        .unwrap();
    assert_eq!(
        markers
            .iter()
            .map(|m| (m.duplicate.as_str(), m.state))
            .collect::<Vec<_>>(),
        [("c-dup", MergeState::Done)]
    );
    let again = cases
        .merge(&crm.sales(), &rid("c-keep"), &rid("c-dup"), &[])
        .await
        .unwrap();
    assert!(!again.merged_now);
    assert_eq!(
        found(&cases.duplicates_of(t, &rid("c-keep")).await.unwrap()),
        [("c-other", vec![IdentityKind::Email])]
    );
    let activities = cases
        .activities(t, Module::Customer, &rid("c-keep"), false, 10, None)
        .await
        .unwrap()
        .items;
    assert!(
        activities
            .iter()
            .any(|a| matches!(a, Activity::Run(run) if run.record.as_str() == "c-dup")),
        "the duplicate's automation history stays with the survivor"
    );
}

#[tokio::test]
async fn a_merge_moves_everything_to_the_survivor_and_asking_again_changes_nothing() {
    let crm = Crm::new().await;
    two_trangs(&crm).await;
    let outcome = crm
        .records()
        .merge(&crm.sales(), &rid("c-keep"), &rid("c-dup"), &[])
        .await
        .unwrap();
    assert_eq!((outcome.moved, outcome.merged_now), (3, true));
    assert_eq!(outcome.survivor, crm.stored("c-keep").await.unwrap());
    merged(&crm).await;
    let related = crm
        .records()
        .related(&crm.sales(), &rid("c-keep"))
        .await
        .unwrap();
    let counts: Vec<(&str, usize)> = related.lists.iter().map(|(n, r)| (*n, r.len())).collect();
    assert!(
        counts.contains(&("orders", 2)) && counts.contains(&("tasks", 1)),
        "{counts:?}"
    );
}

#[tokio::test]
async fn the_user_picks_field_by_field_which_value_survives() {
    let crm = Crm::new().await;
    two_trangs(&crm).await;
    crm.patch(Module::Customer, "c-keep", json!({"Province": "Hà Nội"}))
        .await;
    crm.patch(
        Module::Customer,
        "c-keep",
        json!({"Address": "12 Hàng Bạc"}),
    )
    .await;
    let cases = crm.records();
    let refused = cases
        .merge(
            &crm.sales(),
            &rid("c-keep"),
            &rid("c-dup"),
            &[
                "Nickname".into(),
                "LoyaltyPoints".into(),
                "Owner".into(),
                "Name".into(),
                "Name".into(),
            ],
        )
        .await;
    let Err(RecordError::Invalid(problems)) = refused else {
        panic!("expected problems, got {refused:?}");
    };
    for at in ["/take/0", "/take/1", "/take/2", "/take/4"] {
        assert!(problems.has(at), "{at}: {problems}");
    }
    assert!(!problems.has("/take/3"), "{problems}");
    assert!(
        crm.stored("c-dup").await.is_some(),
        "nothing merged on a refusal"
    );
    assert_eq!(
        crm.field("c-keep", "Name").await,
        json!("Bùi Thu Trang"),
        "the survivor untouched"
    );

    // The duplicate's name and province win, and its empty address empties the survivor's.
    cases
        .merge(
            &crm.sales(),
            &rid("c-keep"),
            &rid("c-dup"),
            &["Name".into(), "Province".into(), "Address".into()],
        )
        .await
        .unwrap();
    let survivor = crm.stored("c-keep").await.unwrap().value.fields;
    assert_eq!(survivor["Name"], json!("Trang Bùi"));
    assert_eq!(survivor["Province"], json!("Hải Phòng"));
    assert!(survivor.get("Address").is_none(), "{survivor:?}");
    assert_eq!(
        survivor["Email"],
        json!("trang@example.vn"),
        "blanks still filled"
    );
    assert_eq!(survivor["Owner"], json!("u-sales"), "the owner stays");
}

#[tokio::test]
async fn a_customer_is_not_merged_into_itself_nor_with_one_that_does_not_exist() {
    let crm = Crm::new().await;
    two_trangs(&crm).await;
    let cases = crm.records();
    let itself = cases
        .merge(&crm.sales(), &rid("c-keep"), &rid("c-keep"), &[])
        .await;
    assert!(
        matches!(itself, Err(RecordError::Invalid(ref p)) if p.has("/duplicate")),
        "{itself:?}"
    );
    for (survivor, duplicate) in [
        ("c-keep", "no-such"),
        ("no-such", "c-dup"),
        ("c-keep", "o1"),
    ] {
        let refused = cases
            .merge(&crm.sales(), &rid(survivor), &rid(duplicate), &[])
            .await;
        assert!(
            matches!(refused, Err(RecordError::NotFound("Customer"))),
            "{refused:?}"
        );
    }
    assert!(crm.stored("c-dup").await.is_some() && crm.stored("o1").await.is_some());
    assert!(
        crm.w
            .stores
            .records
            .merges(&crm.w.tenant, &rid("c-keep"))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_merge_waits_while_the_opposite_merge_is_under_way() {
    let crm = Crm::new().await;
    two_trangs(&crm).await;
    let opposite = MergeMarker {
        survivor: rid("c-dup"),
        duplicate: rid("c-keep"),
        state: MergeState::Started,
        started_at: at("2026-06-01T03:00:00Z"),
        by: crm.actor("u-manager").user,
        moved: 0,
    };
    crm.w
        .stores
        .records
        .put_merge(&crm.w.tenant, &opposite)
        .await
        .unwrap();
    let refused = crm
        .records()
        .merge(&crm.sales(), &rid("c-keep"), &rid("c-dup"), &[])
        .await;
    assert!(
        matches!(refused, Err(RecordError::Conflict(_))),
        "{refused:?}"
    );
    assert!(crm.stored("c-keep").await.is_some() && crm.stored("c-dup").await.is_some());
    assert_eq!(crm.field("o1", "Customer").await, "c-dup");
}

#[tokio::test]
async fn a_merge_interrupted_at_any_write_finishes_when_asked_again_and_loses_nothing() {
    let healthy = Crm::new().await;
    two_trangs(&healthy).await;
    let counting = FlakyRecords::new(&healthy.w.stores.records, None, Outage::Refused);
    healthy
        .records_over(&counting)
        .merge(&healthy.sales(), &rid("c-keep"), &rid("c-dup"), &[])
        .await
        .unwrap();
    let writes = counting.writes();
    assert!(
        writes >= 6,
        "marker, fill, three moves, delete, facts, marker: {writes}"
    );

    // Refused: the write after `allowed` ones is not made. Reply lost: the `allowed`-th is made
    // but its answer lost, the last one included.
    let cases = (0..writes)
        .map(|allowed| (Outage::Refused, allowed))
        .chain((1..=writes).map(|allowed| (Outage::ReplyLost, allowed)));
    for (outage, allowed) in cases {
        let crm = Crm::new().await;
        two_trangs(&crm).await;
        let flaky = FlakyRecords::new(&crm.w.stores.records, Some(allowed), outage);
        let interrupted = crm
            .records_over(&flaky)
            .merge(&crm.sales(), &rid("c-keep"), &rid("c-dup"), &[])
            .await;
        assert!(
            matches!(interrupted, Err(RecordError::Store(_))),
            "{outage:?} after {allowed}: {interrupted:?}"
        );
        let finished = crm
            .records()
            .merge(&crm.sales(), &rid("c-keep"), &rid("c-dup"), &[])
            .await;
        let finished = finished.unwrap_or_else(|e| panic!("{outage:?} after {allowed}: {e:?}"));
        let last_reply_lost = outage == Outage::ReplyLost && allowed == writes;
        assert_eq!(
            finished.merged_now, !last_reply_lost,
            "{outage:?} after {allowed}"
        );
        merged(&crm).await;
    }
}

#[tokio::test]
async fn a_tenant_chooses_what_makes_duplicates_names_without_accents_included() {
    let crm = Crm::new().await;
    crm.create(
        Module::Customer,
        "c1",
        json!({"Name": "Nguyễn Thị Hằng", "Phone": "0912345678"}),
    )
    .await;
    crm.create(
        Module::Customer,
        "c2",
        json!({"Name": "nguyen thi hang", "Phone": "0987654321"}),
    )
    .await;
    crm.create(
        Module::Customer,
        "c3",
        json!({"Name": "Lê Văn Bình", "Phone": "0912 345 678"}),
    )
    .await;
    let ids = |found: Vec<crm_model::record::service::Duplicate>| -> Vec<String> {
        found
            .iter()
            .map(|d| d.record.value.id.to_string())
            .collect()
    };
    let records = crm.records();
    // The default rule: the phone makes c3 a duplicate of c1, the name does not count.
    assert_eq!(
        ids(records
            .duplicates_of(&crm.sales(), &rid("c1"))
            .await
            .unwrap()),
        ["c3"]
    );
    crm.tenant_settings(|s| s.duplicate_keys = vec![IdentityKind::NameUnaccented])
        .await;
    assert_eq!(
        ids(records
            .duplicates_of(&crm.sales(), &rid("c1"))
            .await
            .unwrap()),
        ["c2"],
        "the name whatever its accents, and no longer the phone"
    );
    crm.tenant_settings(|s| s.duplicate_keys = vec![IdentityKind::Name])
        .await;
    assert!(
        records
            .duplicates_of(&crm.sales(), &rid("c1"))
            .await
            .unwrap()
            .is_empty(),
        "the name as written: Hằng is not Hang"
    );
    let mut bad = crm_model::settings::TenantSettings {
        duplicate_keys: vec![IdentityKind::Phone, IdentityKind::Phone],
        ..Default::default()
    };
    assert!(bad.validate().iter().any(|p| p.path == "/duplicate_keys/1"));
    bad.duplicate_keys.clear();
    assert!(bad.validate().iter().any(|p| p.path == "/duplicate_keys"));
}
