//! Effects inside DynamoDB (tasks, notifications, field updates, care cards): each once, committed with its run, under redelivery, outage and conflict.

use super::*;

async fn every_action_happens_once(delivery: Delivery) {
    let w = World::new().await;
    let customer = w
        .customer(
            "c1",
            json!({"Name": "Nguyễn Văn <An>", "Phone": PHONE, "Email": "an@example.vn", "Birthday": "1990-05-17", "Owner": "u-owner"}),
        )
        .await;
    let workflow = w.workflow("wf-all", birthday_workflow()).await;

    for action in ["sms", "email", "task", "tell", "mark"] {
        let outcome = w
            .deliver_twice(delivery, &w.job(&workflow, &customer, action))
            .await;
        assert!(
            matches!(outcome, JobOutcome::Succeeded(_)),
            "{action}: {outcome:?}"
        );
    }

    let sms = w.sms.delivered();
    assert_eq!(sms.len(), 1, "{sms:?}");
    assert_eq!(sms[0].to, E164);
    assert_eq!(sms[0].text, "Chúc mừng sinh nhật Nguyễn Văn <An>!");
    assert_eq!(
        sms[0].gateway,
        SmsGateway::Sns {
            sender_id: "CRMDEMO".into()
        }
    );
    let sms_run = w
        .run(&w.job(&workflow, &customer, "sms").idempotency_key())
        .await;
    assert_eq!(sms_run.output, [sms[0].message_id.clone()]);

    let mails = w.email.delivered();
    assert_eq!(mails.len(), 2, "one message per recipient: {mails:?}");
    let mut addressed: Vec<&str> = mails.iter().map(|m| m.email.to.as_str()).collect();
    addressed.sort();
    assert_eq!(addressed, ["an@example.vn", "u-manager@example.vn"]);
    let mail = &mails[0].email;
    assert_eq!(mail.subject, "Chúc mừng sinh nhật Nguyễn Văn <An>");
    assert!(
        mail.html.contains("<b>Nguyễn Văn &lt;An&gt;</b>"),
        "HTML-escaped merge: {}",
        mail.html
    );
    assert_eq!(mail.from, "\"Chăm sóc khách hàng\" <noreply@example.com>");
    assert!(mail.attachments.is_empty());

    let task_run = w
        .run(&w.job(&workflow, &customer, "task").idempotency_key())
        .await;
    assert_eq!(task_run.status, RunStatus::Succeeded);
    let task = w
        .stored(&RecordId::new(task_run.output[0].clone()).unwrap())
        .await;
    assert_eq!(task.revision, 1);
    assert_eq!(task.value.module, Module::Task);
    assert_eq!(task.value.fields["Title"], "Gọi chúc mừng Nguyễn Văn <An>");
    assert_eq!(task.value.fields["Description"], format!("SĐT {PHONE}"));
    assert_eq!(task.value.fields["Assignee"], "u-owner");
    assert_eq!(task.value.fields["Customer"], "c1");
    assert_eq!(task.value.fields["Status"], "Open");
    assert_eq!(task.value.fields["DueAt"], "2027-05-17T10:00:00+00:00");

    let updated = w.stored(&customer).await;
    assert_eq!(updated.revision, 2, "one update, not two");
    assert_eq!(
        updated.value.fields["Description"],
        "Đã chúc mừng Nguyễn Văn <An>"
    );
    assert_eq!(updated.value.fields["Rank"], "Silver");

    // The notification action and the task's assignment, each once per user.
    for user in ["u-owner", "u-manager"] {
        assert_eq!(
            w.inbox(user).await,
            [
                "Nhiệm vụ mới: Gọi chúc mừng Nguyễn Văn <An>",
                "Sinh nhật Nguyễn Văn <An>"
            ],
            "{user}"
        );
    }

    let history = w
        .stores
        .runs
        .history(&w.tenant, &workflow, &PageRequest::first(50))
        .await
        .unwrap();
    assert_eq!(history.items.len(), 5);
    assert!(
        history
            .items
            .iter()
            .all(|r| r.status == RunStatus::Succeeded && r.attempts == 1),
        "{:?}",
        history.items
    );
    let on_record = w
        .stores
        .runs
        .record_history(&w.tenant, &customer, &PageRequest::first(50))
        .await
        .unwrap();
    assert_eq!(
        on_record.items.len(),
        5,
        "the record's own history holds the same runs"
    );
}

#[tokio::test]
async fn every_action_happens_once_when_each_job_is_delivered_twice_in_turn() {
    every_action_happens_once(Delivery::InTurn).await;
}

#[tokio::test]
async fn every_action_happens_once_when_each_job_is_delivered_twice_at_once() {
    every_action_happens_once(Delivery::AtOnce).await;
}

#[tokio::test]
async fn a_retried_effect_runs_again_once_under_the_same_key() {
    let w = World::new().await;
    let customer = w.customer("c1", json!({"Name": "Dũng"})).await;
    let workflow = w.workflow("wf-retry", birthday_workflow()).await;
    let job = w.job(&workflow, &customer, "task");
    assert_eq!(
        w.execute(&job).await.unwrap(),
        JobOutcome::Failed("the task has no one to assign it to".into())
    );
    let stored = w.stored(&customer).await;
    let mut fields = stored.value.fields.clone();
    fields.insert("Owner".into(), json!("u-owner"));
    w.stores
        .records
        .replace(
            &w.tenant,
            &StoredRecord {
                fields,
                ..stored.value
            },
            stored.revision,
        )
        .await
        .unwrap();
    let failed = w.run(&job.idempotency_key()).await;
    w.stores
        .runs
        .request_retry(&failed, at(NOW))
        .await
        .unwrap()
        .unwrap();
    let outcome = w.deliver_twice(Delivery::AtOnce, &job).await;
    assert!(matches!(outcome, JobOutcome::Succeeded(_)), "{outcome:?}");
    let run = w.run(&job.idempotency_key()).await;
    assert_eq!((run.status, run.attempts), (RunStatus::Succeeded, 2));
    assert_eq!(
        w.inbox("u-owner").await,
        ["Nhiệm vụ mới: Gọi chúc mừng Dũng"]
    );
}

#[tokio::test]
async fn a_store_outage_at_an_effects_commit_applies_nothing_and_the_redelivery_applies_it_once() {
    let w = World::new().await;
    let customer = w
        .customer("c1", json!({"Name": "Lan", "Owner": "u-owner"}))
        .await;
    let workflow = w.workflow("wf-commit", birthday_workflow()).await;
    let job = w.job(&workflow, &customer, "mark");
    w.stores.runs.fail_next_writes(1);
    assert!(matches!(
        w.execute(&job).await,
        Err(ExecuteError::Store(StoreError::Unavailable(_)))
    ));
    assert_eq!(w.stored(&customer).await.revision, 1, "nothing applied");
    assert!(
        w.stores
            .runs
            .get(&w.tenant, &job.idempotency_key())
            .await
            .unwrap()
            .is_none(),
        "nothing recorded"
    );
    let outcome = w.deliver_twice(Delivery::InTurn, &job).await;
    assert_eq!(outcome, JobOutcome::Succeeded(vec!["c1".into()]));
    let updated = w.stored(&customer).await;
    assert_eq!(updated.revision, 2);
    assert_eq!(updated.value.fields["Description"], "Đã chúc mừng Lan");
}

#[tokio::test]
async fn a_lost_answer_from_an_effects_commit_still_counts_and_the_redelivery_changes_nothing() {
    let w = World::new().await;
    let customer = w
        .customer("c1", json!({"Name": "Lan", "Owner": "u-owner"}))
        .await;
    let workflow = w.workflow("wf-commit", birthday_workflow()).await;
    for action in ["task", "mark"] {
        let job = w.job(&workflow, &customer, action);
        w.stores.runs.lose_next_write_replies(1);
        assert!(matches!(w.execute(&job).await, Err(ExecuteError::Store(_))));
        assert_eq!(
            w.execute(&job).await.unwrap(),
            JobOutcome::Duplicate,
            "{action}"
        );
        assert_eq!(
            w.run(&job.idempotency_key()).await.status,
            RunStatus::Succeeded
        );
    }
    assert_eq!(w.stored(&customer).await.revision, 2, "updated once");
    let tasks = w
        .stores
        .records
        .related(&w.tenant, &customer, 100)
        .await
        .unwrap();
    assert_eq!(tasks.len(), 1, "one task");
    assert_eq!(
        w.inbox("u-owner").await,
        ["Nhiệm vụ mới: Gọi chúc mừng Lan"]
    );
}

#[tokio::test]
async fn a_record_edited_while_its_update_runs_keeps_the_edit_and_gets_the_update() {
    let w = World::new().await;
    let customer = w
        .customer("c1", json!({"Name": "Mai", "Owner": "u-owner"}))
        .await;
    let workflow = w.workflow("wf-edit", birthday_workflow()).await;
    let job = w.job(&workflow, &customer, "mark");
    let edit = async {
        // A user saves the record after the executor read it, before it commits.
        tokio::task::yield_now().await;
        let stored = w.stored(&customer).await;
        let mut fields = stored.value.fields.clone();
        fields.insert("Email".into(), json!("mai@example.vn"));
        w.stores
            .records
            .replace(
                &w.tenant,
                &StoredRecord {
                    fields,
                    ..stored.value
                },
                stored.revision,
            )
            .await
            .unwrap();
    };
    let (outcome, ()) = tokio::join!(w.execute(&job), edit);
    assert_eq!(outcome.unwrap(), JobOutcome::Succeeded(vec!["c1".into()]));
    assert_eq!(
        w.stores.runs.calls().writes,
        2,
        "the first commit met the edit; the second, recomputed, went through"
    );
    let updated = w.stored(&customer).await;
    assert_eq!(updated.revision, 3);
    assert_eq!(
        updated.value.fields["Email"], "mai@example.vn",
        "the edit stays"
    );
    assert_eq!(updated.value.fields["Rank"], "Silver");
}

#[tokio::test]
async fn care_cards_are_added_per_product_or_category_for_the_orders_salesperson_once() {
    let w = World::new().await;
    w.customer("c1", json!({"Name": "Công ty An Phát"})).await;
    let order = w
        .record(
            "o1",
            Module::Order,
            json!({
                "Code": "DH00001", "Customer": "c1", "OrderDate": "2027-05-01", "DeliveryDate": "2027-05-10",
                "Status": "Delivered", "Salesperson": "u-manager", "Owner": "u-manager",
                "Lines": [
                    {"product": "Máy lọc nước", "category": "Gia dụng", "quantity": 1, "unit_price": 4500000},
                    {"product": "Lõi lọc", "category": "Gia dụng", "quantity": 3, "unit_price": 250000},
                    {"product": "Nồi chiên", "category": "Nhà bếp", "quantity": 1}
                ]
            }),
        )
        .await;
    let workflow = w.workflow("wf-cards", json!({
        "module": "Order", "name": "Chăm sóc sau giao hàng",
        "trigger": {"type": "time", "date_field": "DeliveryDate", "recurrence": "once", "time_of_day": "09:00:00",
                    "offset": {"amount": 7, "unit": "days", "direction": "after"}},
        "actions": [
            {"kind": "care_card", "id": "per-product", "name": "Theo sản phẩm", "based_on": {"type": "products", "only": ["Máy lọc nước", "Nồi chiên"]},
             "owner": {"type": "order_salesperson"}, "notify_owner": true, "layout": "Sau bán", "care_date": {"days_after": 2},
             "fields": [{"field": "Notes", "value": {"type": "merge", "text": "Hỏi thăm đơn #Code"}}]},
            {"kind": "care_card", "id": "per-category", "name": "Theo nhóm", "based_on": {"type": "product_categories"},
             "owner": {"type": "user", "user_id": "u-owner"}, "layout": "Nhóm hàng", "care_date": {"days_after": 0}}
        ]
    })).await;
    let per_product = w
        .deliver_twice(Delivery::AtOnce, &w.job(&workflow, &order, "per-product"))
        .await;
    let JobOutcome::Succeeded(cards) = per_product else {
        panic!("{per_product:?}")
    };
    assert_eq!(cards.len(), 2);
    let mut products = Vec::new();
    for id in &cards {
        let card = w.stored(&RecordId::new(id.clone()).unwrap()).await.value;
        assert_eq!(card.module, Module::CareCard);
        assert_eq!(
            (
                card.fields["Owner"].as_str(),
                card.fields["Order"].as_str(),
                card.fields["Customer"].as_str()
            ),
            (Some("u-manager"), Some("o1"), Some("c1"))
        );
        assert_eq!(card.fields["CareDate"], "2027-05-19");
        assert_eq!(card.fields["Notes"], "Hỏi thăm đơn DH00001");
        assert_eq!(card.fields["Layout"], "Sau bán");
        assert_eq!(card.fields["Status"], "Open");
        products.push(card.fields["Product"].as_str().unwrap().to_owned());
    }
    products.sort();
    assert_eq!(products, ["Máy lọc nước", "Nồi chiên"]);
    assert_eq!(
        w.inbox("u-manager").await,
        ["2 thẻ chăm sóc mới cho đơn hàng DH00001"],
        "the salesperson is told once"
    );

    let per_category = w
        .deliver_twice(Delivery::InTurn, &w.job(&workflow, &order, "per-category"))
        .await;
    let JobOutcome::Succeeded(cards) = per_category else {
        panic!("{per_category:?}")
    };
    let mut categories = Vec::new();
    for id in &cards {
        let card = w.stored(&RecordId::new(id.clone()).unwrap()).await.value;
        assert_eq!(card.fields["Owner"], "u-owner");
        assert_eq!(card.fields["CareDate"], "2027-05-17");
        assert!(!card.fields.contains_key("Product"));
        categories.push(card.fields["ProductCategory"].as_str().unwrap().to_owned());
    }
    categories.sort();
    assert_eq!(categories, ["Gia dụng", "Nhà bếp"]);
    let all_cards = w
        .stores
        .records
        .related(&w.tenant, &RecordId::new("c1").unwrap(), 100)
        .await
        .unwrap();
    assert_eq!(
        all_cards
            .iter()
            .filter(|r| r.value.module == Module::CareCard)
            .count(),
        4,
        "no card twice"
    );
    assert!(w.inbox("u-owner").await.is_empty(), "not asked to notify");
}

#[tokio::test]
async fn a_field_update_is_marked_as_the_workflows_write_one_deeper_than_its_job_and_a_persons_edit_clears_it()
 {
    use crm_model::record::origin::AutomationWrite;
    let w = World::new().await;
    let customer = w
        .customer("c1", json!({"Name": "Lan", "Owner": "u-owner"}))
        .await;
    let workflow = w.workflow("wf-mark", birthday_workflow()).await;
    let job = ActionJob {
        depth: 1,
        ..w.job(&workflow, &customer, "mark")
    };
    assert!(matches!(
        w.execute(&job).await.unwrap(),
        JobOutcome::Succeeded(_)
    ));
    assert_eq!(
        w.stores.records.origin(&w.tenant, &customer),
        Some(AutomationWrite {
            workflow: workflow.clone(),
            depth: 2
        })
    );
    let written = w.stored(&customer).await;
    w.stores
        .records
        .replace(&w.tenant, &written.value, written.revision)
        .await
        .unwrap();
    assert_eq!(
        w.stores.records.origin(&w.tenant, &customer),
        None,
        "a person's write"
    );
}

#[tokio::test]
async fn a_task_whose_merged_texts_make_it_bigger_than_a_record_may_be_fails_for_good_and_creates_nothing()
 {
    let w = World::new().await;
    let long = "ệ".repeat(9_000);
    let customer = w
        .customer(
            "c1",
            json!({"Name": long, "Description": long, "Owner": "u-owner"}),
        )
        .await;
    let workflow = w
        .workflow(
            "wf-big-task",
            json!({
                "module": "Customer", "name": "Việc",
                "trigger": {"type": "record_event", "on": "created"},
                "actions": [{"kind": "task", "id": "task", "name": "Gọi", "title": "#Name",
                             "description": "#Description", "due": {"days_after": 0},
                             "task_type": "Call", "priority": "High", "assignee": {"type": "record_owner"}}]
            }),
        )
        .await;
    let job = w.job(&workflow, &customer, "task");
    let outcome = w.execute(&job).await.unwrap();
    assert!(
        matches!(&outcome, JobOutcome::Failed(reason) if reason.contains("at most 40 KiB")),
        "{outcome:?}"
    );
    let run = w.run(&job.idempotency_key()).await;
    assert!(run.output.is_empty(), "no task created: {run:?}");
}

#[tokio::test]
async fn merge_fields_show_the_owners_name_and_the_customers_name_never_ids() {
    let w = World::new().await;
    let customer = w
        .customer(
            "c-names",
            json!({"Name": "Công ty An Phát", "Email": "an@example.vn", "Owner": "u-owner"}),
        )
        .await;
    let order = w
        .record(
            "o-names",
            Module::Order,
            json!({"Code": "DH-001", "Customer": "c-names", "Amount": 15000000, "Owner": "u-manager"}),
        )
        .await;
    w.setting(
        "order-mail",
        json!({"kind": "email_template", "name": "Đơn", "module": "Order",
        "subject": "Đơn #Code của #Customer",
        "html_body": "<p>Người bán #{Chủ sở hữu} (#Owner.Phone), khách #{Khách hàng.Tên khách hàng}, phụ trách #{Khách hàng.Chủ sở hữu}: #Amount</p>"}),
    )
    .await;
    let workflow = w
        .workflow(
            "wf-names",
            json!({
                "module": "Order", "name": "Đơn mới",
                "trigger": {"type": "record_event", "on": "created"},
                "actions": [
                    {"kind": "email", "id": "mail", "name": "Thư", "sender": "mailer",
                     "extra_addresses": ["ketoan@example.vn"], "template": "order-mail"},
                    {"kind": "task", "id": "task", "name": "Gọi", "title": "Gọi #Customer về #Code (#{Chủ sở hữu})",
                     "due": {"days_after": 1}, "task_type": "Call", "priority": "High",
                     "assignee": {"type": "record_owner"}}
                ]
            }),
        )
        .await;
    for action in ["mail", "task"] {
        let outcome = w.execute(&w.job(&workflow, &order, action)).await.unwrap();
        assert!(matches!(outcome, JobOutcome::Succeeded(_)), "{outcome:?}");
    }
    let mails = w.email.delivered();
    assert_eq!(mails[0].email.subject, "Đơn DH-001 của Công ty An Phát");
    assert_eq!(
        mails[0].email.html,
        "<p>Người bán Người dùng u-manager (0982000002), khách Công ty An Phát, phụ trách Người dùng u-owner: 15.000.000 ₫</p>"
    );
    let run = w
        .run(&w.job(&workflow, &order, "task").idempotency_key())
        .await;
    let task = w
        .stored(&RecordId::new(run.output[0].clone()).unwrap())
        .await;
    assert_eq!(
        task.value.fields["Title"],
        "Gọi Công ty An Phát về DH-001 (Người dùng u-manager)"
    );
    let _ = customer;
}

#[tokio::test]
async fn a_care_date_counts_from_a_date_field_of_the_order_before_or_after() {
    let w = World::new().await;
    w.customer("c1", json!({"Name": "Công ty An Phát"})).await;
    let order = w
        .record(
            "o-dated",
            Module::Order,
            json!({
                "Code": "DH00002", "Customer": "c1", "OrderDate": "2027-05-01", "DeliveryDate": "2027-05-10",
                "Salesperson": "u-manager", "Owner": "u-manager",
                "Lines": [{"product": "Máy lọc nước", "category": "Gia dụng", "quantity": 1}]
            }),
        )
        .await;
    let undelivered = w
        .record(
            "o-undelivered",
            Module::Order,
            json!({
                "Code": "DH00003", "Customer": "c1", "OrderDate": "2027-05-01",
                "Salesperson": "u-manager", "Owner": "u-manager",
                "Lines": [{"product": "Máy lọc nước", "category": "Gia dụng", "quantity": 1}]
            }),
        )
        .await;
    let card = |id: &str, care_date: serde_json::Value| {
        json!({"kind": "care_card", "id": id, "name": id, "based_on": {"type": "product_categories"},
               "owner": {"type": "order_salesperson"}, "layout": "Sau bán", "care_date": care_date})
    };
    let workflow = w
        .workflow(
            "wf-dated-cards",
            json!({
                "module": "Order", "name": "Chăm sóc theo ngày giao",
                "trigger": {"type": "record_event", "on": "created"},
                "actions": [
                    card("after-delivery", json!({"from_field": "DeliveryDate", "days_after": 30})),
                    card("before-delivery", json!({"from_field": "DeliveryDate", "days_after": -2})),
                    card("after-order", json!({"from_field": "OrderDate", "days_after": 7}))
                ]
            }),
        )
        .await;
    for (action, expected) in [
        ("after-delivery", "2027-06-09"),
        ("before-delivery", "2027-05-08"),
        ("after-order", "2027-05-08"),
    ] {
        let outcome = w.execute(&w.job(&workflow, &order, action)).await.unwrap();
        let JobOutcome::Succeeded(cards) = outcome else {
            panic!("{action}: {outcome:?}")
        };
        let card = w.stored(&RecordId::new(cards[0].clone()).unwrap()).await;
        assert_eq!(card.value.fields["CareDate"], expected, "{action}");
    }
    let outcome = w
        .execute(&w.job(&workflow, &undelivered, "after-delivery"))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        JobOutcome::Failed("the order has no Ngày giao hàng to count the care date from".into())
    );
}

#[tokio::test]
async fn a_task_keeps_its_printed_attachment_its_related_users_and_the_record_it_was_made_for() {
    let w = World::new().await;
    w.customer(
        "c-task",
        json!({"Name": "Công ty An Phát", "Owner": "u-owner"}),
    )
    .await;
    let order = w
        .record(
            "o-task",
            Module::Order,
            json!({"Code": "DH-7", "Customer": "c-task", "OrderDate": "2027-05-01", "Owner": "u-owner"}),
        )
        .await;
    let lead = w
        .record(
            "l-task",
            Module::Lead,
            json!({"Name": "Chị Lan", "Owner": "u-owner"}),
        )
        .await;
    w.setting(
        "print-order",
        json!({"kind": "print_template", "name": "Phiếu giao", "module": "Order",
               "file_name": "Phiếu giao #Code", "body": "Đơn #Code của #Customer"}),
    )
    .await;
    let task = |print: Option<&str>| {
        let mut task = json!({"kind": "task", "id": "task", "name": "Giao", "title": "Giao đơn",
            "due": {"days_after": 1}, "task_type": "Call", "priority": "High",
            "assignee": {"type": "record_owner"}, "related_users": ["u-manager", "u-manager"]});
        if let Some(print) = print {
            task["attachment"] = json!({"print_template": print, "format": "pdf"});
        }
        task
    };
    let on_order = w
        .workflow(
            "wf-task-order",
            json!({"module": "Order", "name": "Giao hàng", "trigger": {"type": "record_event", "on": "created"},
                   "actions": [task(Some("print-order"))]}),
        )
        .await;
    let on_lead = w
        .workflow(
            "wf-task-lead",
            json!({"module": "Lead", "name": "Tiềm năng", "trigger": {"type": "record_event", "on": "created"},
                   "actions": [task(None)]}),
        )
        .await;

    let outcome = w
        .deliver_twice(Delivery::InTurn, &w.job(&on_order, &order, "task"))
        .await;
    let JobOutcome::Succeeded(ids) = outcome else {
        panic!("{outcome:?}")
    };
    let task_id = RecordId::new(ids[0].clone()).unwrap();
    let stored = w.stored(&task_id).await.value;
    assert_eq!(stored.fields["Attachments"], json!(["Phiếu giao DH-7.pdf"]));
    assert_eq!(stored.fields["RelatedUsers"], json!(["u-manager"]));
    assert_eq!(stored.fields["RelatedModule"], "Order");
    assert_eq!(stored.fields["RelatedRecord"], "o-task");
    assert_eq!(stored.fields["Customer"], "c-task");
    let file = w
        .attachments
        .file(&w.tenant, &task_id, "Phiếu giao DH-7.pdf")
        .expect("the printed file is kept with the task");
    assert_eq!(file.content_type, "application/pdf");
    assert!(
        String::from_utf8_lossy(&file.data).contains("Đơn DH-7 của Công ty An Phát"),
        "printed with names, not ids"
    );
    assert_eq!(
        w.attachments.count(),
        1,
        "a redelivery stores the same file"
    );

    let outcome = w.execute(&w.job(&on_lead, &lead, "task")).await.unwrap();
    let JobOutcome::Succeeded(ids) = outcome else {
        panic!("{outcome:?}")
    };
    let lead_task = w
        .stored(&RecordId::new(ids[0].clone()).unwrap())
        .await
        .value;
    assert_eq!(lead_task.fields["RelatedRecord"], "l-task");
    assert!(
        !lead_task.fields.contains_key("Customer"),
        "a lead has no customer"
    );
    let linked = w.stores.records.linked(&w.tenant, &lead, 10).await.unwrap();
    assert_eq!(linked.len(), 1, "the lead's activities list its task");
}
