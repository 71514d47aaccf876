//! The customer page over the in-memory stores: records created from the customer, related lists,
//! the sales history, the activity history with the automation's runs, and the hand-over to
//! another user with the chosen open activities.

mod support;

use crm_model::action::ActivityKind;
use crm_model::ids::{ActionId, WorkflowId};
use crm_model::ports::{MergeMarker, MergeState, RecordStore, RunLedger, StoredRecord};
use crm_model::record::service::{Activity, HandOver, RecordError};
use crm_model::run::{RunRecord, RunStatus};
use crm_model::schedule::ActionJob;
use crm_model::schema::Module;
use crm_model::store::{PageRequest, Revisioned};
use serde_json::{Value, json};
use support::at;
use support::crm::{Crm, fields, rid};

#[tokio::test]
async fn orders_quotes_and_opportunities_created_from_a_customer_come_pre_filled() {
    let crm = Crm::new().await;
    crm.create(Module::Customer, "c1", json!({"Name": "Hoàng Văn Nam"}))
        .await;
    crm.create(Module::Customer, "c2", json!({"Name": "Khác"}))
        .await;
    // 01:00 on March 2 in Hà Nội is still March 1 in UTC.
    crm.clock.set("2026-03-01T18:00:00Z");
    let cases = crm.records();
    let create = |module: Module, id: &'static str, input: Value| {
        let (cases, sales) = (&cases, crm.sales());
        async move {
            cases
                .create_from_customer(&sales, &rid("c1"), module, rid(id), &fields(input))
                .await
        }
    };
    let o = create(
        Module::Order,
        "o-1234",
        json!({"Customer": "c2", "Amount": 1_000_000}),
    )
    .await
    .unwrap();
    let f = &o.value.fields;
    assert_eq!(
        (
            &f["Customer"],
            &f["Owner"],
            &f["Salesperson"],
            &f["Status"],
            &f["OrderDate"],
            &f["Amount"]
        ),
        (
            &json!("c1"),
            &json!("u-sales"),
            &json!("u-sales"),
            &json!("Draft"),
            &json!("2026-03-02"),
            &json!(1_000_000)
        )
    );
    assert!(
        f["Code"].as_str().unwrap().starts_with("DH-20260302-"),
        "{}",
        f["Code"]
    );
    let q = create(Module::Quote, "q-1", json!({})).await.unwrap();
    assert_eq!(q.value.fields["QuoteDate"], "2026-03-02");
    assert!(
        q.value.fields["Code"]
            .as_str()
            .unwrap()
            .starts_with("BG-20260302-")
    );
    let p = create(Module::Opportunity, "p-1", json!({"Amount": 5_000_000}))
        .await
        .unwrap();
    assert_eq!(p.value.fields["Stage"], "Prospecting");
    assert!(
        p.value.fields["Name"]
            .as_str()
            .unwrap()
            .starts_with("Hoàng Văn Nam - CH-20260302-")
    );
    let task = create(Module::Task, "t-1", json!({"Title": "Gọi"})).await;
    assert!(
        matches!(task, Err(RecordError::Invalid(ref p)) if p.has("/module")),
        "{task:?}"
    );
    let not_customer = crm
        .records()
        .create_from_customer(
            &crm.sales(),
            &rid("o-1234"),
            Module::Order,
            rid("o-2"),
            &Default::default(),
        )
        .await;
    assert!(
        matches!(not_customer, Err(RecordError::NotFound("Customer"))),
        "{not_customer:?}"
    );
}

fn ids(records: &[Revisioned<StoredRecord>]) -> Vec<&str> {
    records.iter().map(|r| r.value.id.as_str()).collect()
}

#[tokio::test]
async fn related_lists_and_the_sales_history_show_the_customers_records_newest_first() {
    let crm = Crm::new().await;
    crm.tea_customer().await;
    let related = crm
        .records()
        .related(&crm.sales(), &rid("c1"))
        .await
        .unwrap();
    let lists: Vec<(&str, Vec<&str>)> = related
        .lists
        .iter()
        .map(|(name, records)| (*name, ids(records)))
        .collect();
    assert_eq!(
        lists,
        [
            ("contacts", vec!["k1"]),
            ("opportunities", vec!["p1"]),
            ("quotes", vec![]),
            ("orders", vec!["o2", "o1", "o3"]),
            ("invoices", vec![]),
            ("tasks", vec!["t1"]),
            ("care_cards", vec!["cc1"]),
        ]
    );
    // The opportunity has no close date and files under its creation (June 2026).
    let sales = crm.records().sales(&crm.sales(), &rid("c1")).await.unwrap();
    assert_eq!(ids(&sales), ["p1", "o2", "o1", "o3"]);
    let not_customer = crm.records().related(&crm.sales(), &rid("o1")).await;
    assert!(
        matches!(not_customer, Err(RecordError::NotFound("Customer"))),
        "{not_customer:?}"
    );
}

fn automation(crm: &Crm, record: &str, action: &str, at_: &str) -> RunRecord {
    let job = ActionJob {
        depth: 0,
        tenant: crm.w.tenant.clone(),
        workflow: WorkflowId::new("wf-care").unwrap(),
        version: 1,
        record: rid(record),
        cause: "Y2026".into(),
        action: ActionId::new(action).unwrap(),
        due_at: at(at_),
        snapshot: None,
    };
    let mut run = RunRecord::start(&job, "sms", at(at_));
    run.status = RunStatus::Succeeded;
    run
}

#[tokio::test]
async fn activities_are_tasks_care_cards_and_the_automations_runs_including_a_merged_duplicates() {
    let crm = Crm::new().await;
    crm.tea_customer().await; // t1 created at 02:04, cc1 at 02:05 on June 1
    let runs = &crm.w.stores.runs;
    for run in [
        automation(&crm, "c1", "sms", "2026-06-01T02:04:30Z"),
        automation(&crm, "d1", "sms", "2026-06-01T02:30:00Z"),
        automation(&crm, "c2", "sms", "2026-06-01T02:40:00Z"),
    ] {
        runs.record(&run).await.unwrap();
    }
    let marker = MergeMarker {
        survivor: rid("c1"),
        duplicate: rid("d1"),
        state: MergeState::Done,
        started_at: at("2026-06-01T02:20:00Z"),
        by: crm.sales().user,
        moved: 0,
    };
    crm.w
        .stores
        .records
        .put_merge(&crm.w.tenant, &marker)
        .await
        .unwrap();
    let activities = crm
        .records()
        .activities(&crm.sales(), Module::Customer, &rid("c1"), false, 10, None)
        .await
        .unwrap()
        .items;
    let seen: Vec<String> = activities
        .iter()
        .map(|a| match a {
            Activity::Record(r) => r.value.id.to_string(),
            Activity::Run(run) => format!("run on {}", run.record),
        })
        .collect();
    assert_eq!(seen, ["run on d1", "cc1", "run on c1", "t1"]);
}

#[tokio::test]
async fn hand_over_moves_the_customer_with_the_chosen_open_activities_and_notifies_once() {
    let crm = Crm::new().await;
    let mut former = support::crm::user("u-former", "Cũ", crm_model::user::Role::Salesperson, None);
    former.active = false;
    crm_model::ports::UserDirectory::put(&crm.w.stores.users, &crm.w.tenant, &former)
        .await
        .unwrap();
    crm.create(Module::Customer, "c1", json!({"Name": "Lý Gia Hân"}))
        .await;
    crm.create(
        Module::Task,
        "t-open",
        json!({"Title": "Gọi lại", "Customer": "c1", "Status": "Open", "Assignee": "u-sales"}),
    )
    .await;
    crm.create(
        Module::Task,
        "t-done",
        json!({"Title": "Đã gọi", "Customer": "c1", "Status": "Done"}),
    )
    .await;
    crm.create(Module::Task, "t-theirs", json!({"Title": "Của quản lý", "Customer": "c1", "Status": "Open", "Owner": "u-manager", "Assignee": "u-admin"})).await;
    crm.create(
        Module::CareCard,
        "cc1",
        json!({"Title": "Chăm sóc sau mua", "Customer": "c1", "Status": "Open"}),
    )
    .await;
    let cases = crm.records();
    let hand_over = |to: &str| HandOver {
        to: crm_model::ids::UserId::new(to).unwrap(),
        activities: vec![ActivityKind::Task],
    };
    for nobody in ["u-nobody", "u-former"] {
        let refused = cases
            .hand_over(&crm.sales(), &rid("c1"), &hand_over(nobody))
            .await;
        assert!(
            matches!(refused, Err(RecordError::Invalid(ref p)) if p.has("/to")),
            "{refused:?}"
        );
    }
    assert_eq!(crm.field("c1", "Owner").await, "u-sales");

    crm.clock.set("2026-06-02T03:00:00Z");
    let (customer, moved) = cases
        .hand_over(&crm.sales(), &rid("c1"), &hand_over("u-manager"))
        .await
        .unwrap();
    assert_eq!(customer.value.fields["Owner"], "u-manager");
    assert_eq!(moved, [rid("t-open")]);
    assert_eq!(
        (
            crm.field("t-open", "Owner").await,
            crm.field("t-open", "Assignee").await
        ),
        (json!("u-manager"), json!("u-manager"))
    );
    assert_eq!(
        crm.field("t-done", "Owner").await,
        "u-sales",
        "done work stays"
    );
    assert_eq!(
        crm.field("cc1", "Owner").await,
        "u-sales",
        "care cards were not chosen"
    );
    assert_eq!(
        crm.field("t-theirs", "Assignee").await,
        "u-admin",
        "not the previous owner's"
    );

    let inbox = |user: &str| {
        let people = crm.people();
        let (tenant, user) = (
            crm.w.tenant.clone(),
            crm_model::ids::UserId::new(user).unwrap(),
        );
        async move {
            people
                .notifications(&tenant, &user, false, &PageRequest::first(10))
                .await
                .unwrap()
                .items
        }
    };
    let told = inbox("u-manager").await;
    assert_eq!(told.len(), 1);
    assert_eq!(
        (
            told[0].message.as_str(),
            told[0].record.as_ref(),
            told[0].at
        ),
        (
            "Bạn được bàn giao khách hàng Lý Gia Hân (1 hoạt động)",
            Some(&rid("c1")),
            at("2026-06-02T03:00:00Z")
        )
    );
    // Asked again (a retry after a lost answer): the customer is not written again, no second note,
    // and the new owner's own open tasks stay assigned as they are.
    let (again, moved_again) = cases
        .hand_over(&crm.sales(), &rid("c1"), &hand_over("u-manager"))
        .await
        .unwrap();
    assert_eq!(again.revision, customer.revision);
    assert!(moved_again.is_empty(), "{moved_again:?}");
    assert_eq!(crm.field("t-theirs", "Assignee").await, "u-admin");
    assert_eq!(inbox("u-manager").await.len(), 1);
    assert!(inbox("u-sales").await.is_empty());
}

#[tokio::test]
async fn a_customer_with_more_related_records_than_a_request_reads_is_refused_not_read_without_bound()
 {
    use crm_model::record::store::MAX_RELATED;
    use crm_model::store::StoreError;
    let crm = Crm::new().await;
    crm.create(Module::Customer, "c-big", json!({"Name": "Công ty lớn"}))
        .await;
    for n in 0..=MAX_RELATED {
        let task = StoredRecord {
            id: rid(&format!("t-{n}")),
            module: Module::Task,
            fields: fields(json!({"Title": "Gọi", "Customer": "c-big", "Owner": "u-sales"})),
        };
        crm.w
            .stores
            .records
            .create(&crm.w.tenant, &task)
            .await
            .unwrap();
    }
    let page = crm.records().related(&crm.sales(), &rid("c-big")).await;
    assert!(
        matches!(
            page,
            Err(RecordError::Store(StoreError::TooMany { limit })) if limit == MAX_RELATED
        ),
        "{page:?}"
    );
    let activities = crm
        .records()
        .activities(
            &crm.sales(),
            Module::Customer,
            &rid("c-big"),
            false,
            10,
            None,
        )
        .await;
    assert!(
        matches!(
            activities,
            Err(RecordError::Store(StoreError::TooMany { .. }))
        ),
        "{activities:?}"
    );
    // Deleting it is refused for what it holds, as with a few orders.
    let admin = crm.actor("u-admin");
    let deleted = crm
        .records()
        .delete(&admin, Module::Customer, &rid("c-big"), None)
        .await;
    assert!(
        matches!(&deleted, Err(RecordError::InUse(why)) if why[0].contains("more than 2000")),
        "{deleted:?}"
    );
}
