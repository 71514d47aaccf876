//! Hand-overs: round robin stays fair under concurrency; open activities move with the customer.

use super::*;

#[tokio::test]
async fn round_robin_hand_overs_stay_fair_under_concurrency_and_move_open_tasks() {
    let w = World::new().await;
    w.setting(
        "rr",
        json!({"kind": "allocation_rule", "name": "Vòng tròn", "module": "Customer", "users": ["u-owner", "u-manager"]}),
    )
    .await;
    let mut customers = Vec::new();
    for i in 0..4 {
        customers.push(
            w.customer(
                &format!("c{i}"),
                json!({"Name": format!("Khách {i}"), "Owner": "u-former"}),
            )
            .await,
        );
    }
    // An open task of the first customer, owned by its current owner.
    w.record(
        "t0",
        Module::Task,
        json!({"Title": "Gọi lại", "Status": "Open", "Owner": "u-former", "Assignee": "u-former", "Customer": "c0"}),
    )
    .await;
    let workflow = w.workflow("wf-rr", json!({
        "module": "Customer", "name": "Phân bổ",
        "trigger": {"type": "record_event", "on": "created"},
        "actions": [{"kind": "handover", "id": "give", "name": "Bàn giao", "to": {"type": "allocation_rule", "rule": "rr"},
                     "move_open_activities": ["task"]}]
    })).await;
    let jobs: Vec<ActionJob> = customers
        .iter()
        .map(|c| ActionJob {
            depth: 0,
            cause: "Eevt".into(),
            ..w.job(&workflow, c, "give")
        })
        .collect();
    // Every job delivered twice, all at once.
    let outcomes = join_all(jobs.iter().flat_map(|job| [w.execute(job), w.execute(job)])).await;
    // A delivery that lost a race is a duplicate or is retried by the queue; retry those now.
    let mut succeeded = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(JobOutcome::Succeeded(_))))
        .count();
    for job in &jobs {
        if matches!(w.execute(job).await.unwrap(), JobOutcome::Succeeded(_)) {
            succeeded += 1;
        }
    }
    assert_eq!(succeeded, 4, "each hand-over once: {outcomes:?}");
    let mut owners = Vec::new();
    for c in &customers {
        let record = w.stored(c).await;
        owners.push(record.value.fields["Owner"].as_str().unwrap().to_owned());
        assert_eq!(record.revision, 2, "one hand-over per customer");
    }
    let c0_owner = owners[0].clone();
    owners.sort();
    assert_eq!(owners, ["u-manager", "u-manager", "u-owner", "u-owner"]);
    assert_eq!(w.stores.runs.counter(&w.tenant, "rr").await.unwrap(), 4);
    let moved = w.stored(&RecordId::new("t0").unwrap()).await;
    assert_eq!(
        (moved.revision, &moved.value.fields["Owner"]),
        (2, &json!(c0_owner)),
        "the open task follows its customer"
    );
    assert_eq!(moved.value.fields["Assignee"], json!(c0_owner));
    for user in ["u-owner", "u-manager"] {
        assert_eq!(
            w.inbox(user).await.len(),
            2,
            "{user} told of each hand-over once"
        );
    }
}

#[tokio::test]
async fn a_hand_over_moves_only_the_old_owners_open_activities_and_tells_the_new_owner() {
    let w = World::new().await;
    let customer = w
        .customer("c1", json!({"Name": "Trần An", "Owner": "u-owner"}))
        .await;
    w.customer("c2", json!({"Name": "Lê Bình", "Owner": "u-owner"}))
        .await;
    let open = json!({"Title": "Gọi", "Status": "Open", "Owner": "u-owner", "Assignee": "u-owner", "Customer": "c1"});
    w.record("t-open", Module::Task, open.clone()).await;
    let mut done = open.clone();
    done["Status"] = json!("Done");
    w.record("t-done", Module::Task, done).await;
    let mut others = open.clone();
    others["Owner"] = json!("u-third");
    w.record("t-others", Module::Task, others).await;
    let mut other_customer = open.clone();
    other_customer["Customer"] = json!("c2");
    w.record("t-c2", Module::Task, other_customer).await;
    w.record(
        "card-open",
        Module::CareCard,
        json!({"Title": "Chăm sóc", "Status": "Open", "Owner": "u-owner", "Customer": "c1"}),
    )
    .await;
    let workflow = w
        .workflow(
            "wf-give",
            json!({
                "module": "Customer", "name": "Bàn giao",
                "trigger": {"type": "record_event", "on": "created"},
                "actions": [{"kind": "handover", "id": "give", "name": "Bàn giao", "to": {"type": "user", "user_id": "u-manager"},
                             "move_open_activities": ["task", "care_card"]}]
            }),
        )
        .await;
    let outcome = w
        .deliver_twice(Delivery::AtOnce, &w.job(&workflow, &customer, "give"))
        .await;
    let JobOutcome::Succeeded(mut moved) = outcome else {
        panic!("{outcome:?}")
    };
    moved.sort();
    assert_eq!(moved, ["c1", "card-open", "t-open"]);
    let w = &w;
    let owner_of = |id: &'static str| async move {
        let stored = w.stored(&RecordId::new(id).unwrap()).await;
        (
            stored.revision,
            stored.value.fields["Owner"].as_str().unwrap().to_owned(),
        )
    };
    assert_eq!(owner_of("c1").await, (2, "u-manager".into()));
    assert_eq!(owner_of("t-open").await, (2, "u-manager".into()));
    assert_eq!(owner_of("card-open").await, (2, "u-manager".into()));
    assert_eq!(owner_of("t-done").await, (1, "u-owner".into()));
    assert_eq!(owner_of("t-others").await, (1, "u-third".into()));
    assert_eq!(owner_of("t-c2").await, (1, "u-owner".into()));
    let task = w.stored(&RecordId::new("t-open").unwrap()).await;
    assert_eq!(task.value.fields["Assignee"], "u-manager");
    let card = w.stored(&RecordId::new("card-open").unwrap()).await;
    assert!(!card.value.fields.contains_key("Assignee"));
    assert_eq!(w.inbox("u-manager").await, ["Bạn được bàn giao: Trần An"]);
    assert!(w.inbox("u-owner").await.is_empty());
}
