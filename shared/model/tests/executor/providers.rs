//! Zalo ZNS parameters, task sync to external apps, print attachments.

use super::*;
use crm_model::action::SettingKind;
use crm_model::ids::SettingId;

async fn zns_world() -> World {
    let w = World::new().await;
    w.setting(
        "oa",
        json!({"kind": "zns_provider", "name": "OA", "oa_id": "1234", "base_url": "https://business.openapi.zalo.me"}),
    )
    .await;
    w.credentials(
        SettingKind::ZnsProvider,
        "oa",
        json!({"access_token": "zalo-token-acme"}),
    )
    .await;
    w.setting(
        "zns-hpbd",
        json!({"kind": "zns_template", "name": "HPBD", "zalo_template_id": "231677", "parameters": ["customer_name", "birthday"]}),
    )
    .await;
    w
}

fn zns_workflow() -> serde_json::Value {
    json!({
        "module": "Customer", "name": "ZNS",
        "trigger": {"type": "time", "date_field": "Birthday", "recurrence": "yearly", "time_of_day": "08:00:00"},
        "actions": [{"kind": "zns", "id": "zns", "name": "ZNS", "provider": "oa", "recipient_field": {"field": "Phone"},
                     "template": "zns-hpbd", "parameters": {"customer_name": "#Name", "birthday": "#Birthday"}}]
    })
}

#[tokio::test]
async fn a_zns_action_sends_its_template_parameters_from_the_record() {
    let w = zns_world().await;
    let customer = w
        .customer(
            "c1",
            json!({"Name": "Trần Thu Hà", "Phone": PHONE, "Birthday": "1992-03-08", "Owner": "u-owner"}),
        )
        .await;
    let workflow = w.workflow("wf-zns", zns_workflow()).await;
    let job = w.job(&workflow, &customer, "zns");
    let outcome = w.deliver_twice(Delivery::AtOnce, &job).await;
    let sent = w.zns.delivered();
    assert_eq!(sent.len(), 1, "sent once");
    assert_eq!(
        outcome,
        JobOutcome::Succeeded(vec![sent[0].message_id.clone()])
    );
    assert_eq!(
        sent[0].phone, "84912345678",
        "Zalo takes 84… without the plus"
    );
    assert_eq!(sent[0].template_id, "231677");
    assert_eq!(sent[0].provider.oa_id, "1234");
    assert_eq!(sent[0].access_token, "zalo-token-acme");
    assert_eq!(
        serde_json::to_value(&sent[0].data).unwrap(),
        json!({"customer_name": "Trần Thu Hà", "birthday": "08/03/1992"})
    );
    // The job's key is Zalo's tracking id when it fits in 48 characters.
    let key = job.idempotency_key();
    assert!(key.len() <= 48, "{key}");
    assert_eq!(sent[0].tracking_id, key);
}

#[tokio::test]
async fn a_zns_tracking_id_is_a_digest_of_a_key_too_long_for_zalo() {
    let w = zns_world().await;
    let customer = w
        .customer(
            "c1",
            json!({"Name": "Trần Thu Hà", "Phone": PHONE, "Birthday": "1992-03-08", "Owner": "u-owner"}),
        )
        .await;
    let workflow = w
        .workflow("wf-zns-cham-soc-khach-hang-dip-sinh-nhat", zns_workflow())
        .await;
    let job = w.job(&workflow, &customer, "zns");
    assert!(matches!(
        w.deliver_twice(Delivery::InTurn, &job).await,
        JobOutcome::Succeeded(_)
    ));
    let sent = w.zns.delivered();
    assert_eq!(sent.len(), 1);
    assert!(job.idempotency_key().len() > 48);
    let tracking = &sent[0].tracking_id;
    assert!(
        tracking.starts_with("zns-") && tracking.len() == 20,
        "{tracking}"
    );
}

async fn synced_task_world() -> (World, ActionJob) {
    let w = World::new().await;
    w.setting(
        "jira",
        json!({"kind": "task_connection", "name": "Jira", "url": "https://tasks.example.vn/tasks"}),
    )
    .await;
    w.credentials(
        SettingKind::TaskConnection,
        "jira",
        json!({"signing_key": "hmac-key-acme"}),
    )
    .await;
    let customer = w
        .customer("c1", json!({"Name": "An", "Owner": "u-owner"}))
        .await;
    let mut definition = birthday_workflow();
    definition["actions"][2]["external_sync"] =
        json!({"connection": "jira", "project": "CSKH", "task_group": "Sinh nhật"});
    let workflow = w.workflow("wf-sync", definition).await;
    let job = w.job(&workflow, &customer, "task");
    (w, job)
}

#[tokio::test]
async fn a_synced_task_is_posted_once_with_its_idempotency_key() {
    let (w, job) = synced_task_world().await;
    let outcome = w.deliver_twice(Delivery::InTurn, &job).await;
    let JobOutcome::Succeeded(created) = outcome else {
        panic!("{outcome:?}")
    };
    let posts = w.task_sync.delivered();
    assert_eq!(posts.len(), 1, "posted once");
    let post = &posts[0];
    assert_eq!(
        post.idempotency_key,
        format!("{}/sync", job.idempotency_key())
    );
    assert_eq!(post.connection.name, "Jira");
    assert_eq!(
        post.signing_key, "hmac-key-acme",
        "signed with the tenant's key"
    );
    assert_eq!(
        post.task,
        json!({
            "task_id": created[0], "title": "Gọi chúc mừng An", "description": "SĐT ",
            "due_at": "2027-05-17T10:00:00+00:00", "task_type": "Call", "priority": "High",
            "assignee": "u-owner", "record": "c1", "project": "CSKH", "task_group": "Sinh nhật"
        })
    );
    let sync_run = w.run(&format!("{}/sync", job.idempotency_key())).await;
    assert_eq!(
        (sync_run.status, sync_run.output.clone()),
        (RunStatus::Succeeded, vec![post.task_id.clone()])
    );
}

/// At once, either delivery may claim the sync: when the duplicate delivery claims it first, the
/// delivery that created the task finds the sync leased and is told busy, so that the queue
/// brings it back until the sync is done. Whichever way they interleave, the task is created
/// once and posted once.
#[tokio::test]
async fn two_deliveries_of_a_synced_task_at_once_create_it_and_post_it_once() {
    let (w, job) = synced_task_world().await;
    let (a, b) = tokio::join!(w.execute(&job), w.execute(&job));
    let outcomes = [a, b];
    assert!(
        outcomes.iter().all(|o| matches!(
            o,
            Ok(JobOutcome::Succeeded(_) | JobOutcome::Duplicate) | Err(ExecuteError::Busy)
        )),
        "{outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .filter(|o| matches!(o, Ok(JobOutcome::Succeeded(_))))
            .count()
            <= 1,
        "{outcomes:?}"
    );
    assert_eq!(w.execute(&job).await.unwrap(), JobOutcome::Duplicate);
    let task_run = w.run(&job.idempotency_key()).await;
    assert_eq!(
        (task_run.status, task_run.attempts),
        (RunStatus::Succeeded, 1)
    );
    let customer = RecordId::new("c1").unwrap();
    assert_eq!(
        w.stores
            .records
            .related(&w.tenant, &customer, 100)
            .await
            .unwrap()
            .len(),
        1,
        "one task"
    );
    let posts = w.task_sync.delivered();
    assert_eq!(posts.len(), 1, "posted once");
    assert_eq!(posts[0].task["task_id"], json!(task_run.output[0]));
    let sync = w.run(&format!("{}/sync", job.idempotency_key())).await;
    assert_eq!((sync.status, sync.attempts), (RunStatus::Succeeded, 1));
}

#[tokio::test]
async fn a_task_sync_the_app_could_not_take_is_posted_once_by_the_redelivery() {
    let (w, job) = synced_task_world().await;
    w.task_sync
        .fail_next(1, SendError::Transient("HTTP 502 Bad Gateway".into()));
    assert!(matches!(
        w.execute(&job).await,
        Err(ExecuteError::Provider(_))
    ));
    assert_eq!(
        w.run(&job.idempotency_key()).await.status,
        RunStatus::Succeeded,
        "the task itself is created"
    );
    let sync_key = format!("{}/sync", job.idempotency_key());
    assert_eq!(w.run(&sync_key).await.status, RunStatus::Retrying);
    assert!(w.task_sync.delivered().is_empty());
    // The redelivery finds the task done and finishes the sync.
    assert_eq!(w.execute(&job).await.unwrap(), JobOutcome::Duplicate);
    assert_eq!(w.execute(&job).await.unwrap(), JobOutcome::Duplicate);
    assert_eq!(w.task_sync.delivered().len(), 1);
    let sync = w.run(&sync_key).await;
    assert_eq!((sync.status, sync.attempts), (RunStatus::Succeeded, 2));
    assert_eq!(
        w.inbox("u-owner").await,
        ["Nhiệm vụ mới: Gọi chúc mừng An"],
        "the task's notification once"
    );
}

#[tokio::test]
async fn a_task_sync_cut_off_after_the_app_took_it_is_posted_again_after_its_lease_under_the_same_idempotency_key()
 {
    let (w, job) = synced_task_world().await;
    let sync_key = format!("{}/sync", job.idempotency_key());
    w.store_fails_after_next_accept(StoreFault::Down);
    assert!(matches!(w.execute(&job).await, Err(ExecuteError::Store(_))));
    assert_eq!(w.run(&sync_key).await.status, RunStatus::InProgress);
    assert!(matches!(
        w.execute_at(&job, "2027-05-17T01:01:00Z").await,
        Err(ExecuteError::Busy)
    ));
    assert_eq!(w.task_sync.delivered().len(), 1);
    assert_eq!(
        w.execute_at(&job, "2027-05-17T01:05:00Z").await.unwrap(),
        JobOutcome::Duplicate
    );
    assert_eq!(
        w.execute_at(&job, "2027-05-17T01:10:00Z").await.unwrap(),
        JobOutcome::Duplicate
    );
    let posts = w.task_sync.delivered();
    assert_eq!(posts.len(), 2, "posted again once, for the app to drop");
    assert!(posts.iter().all(|p| p.idempotency_key == sync_key));
    assert_eq!(posts[0].task, posts[1].task);
    let sync = w.run(&sync_key).await;
    assert_eq!((sync.status, sync.attempts), (RunStatus::Succeeded, 2));
}

fn print_workflow() -> serde_json::Value {
    json!({
        "module": "Customer", "name": "Tri ân",
        "trigger": {"type": "record_event", "on": "created"},
        "actions": [
            {"kind": "email", "id": "pdf", "name": "Phiếu PDF", "sender": "mailer",
             "recipient_fields": [{"field": "Email"}], "template": "email-birthday",
             "attachment": {"print_template": "print-voucher", "format": "pdf"}},
            {"kind": "email", "id": "html", "name": "Phiếu gốc", "sender": "mailer",
             "recipient_fields": [{"field": "Email"}], "template": "email-birthday",
             "attachment": {"print_template": "print-voucher", "format": "original"}}
        ]
    })
}

#[tokio::test]
async fn an_email_carries_the_print_template_as_an_attachment_with_its_vietnamese_text() {
    let w = World::new().await;
    let customer = w
        .customer(
            "c-pdf",
            json!({"Name": "Nguyễn Thị Hằng", "Email": "hang@example.vn", "Owner": "u-owner"}),
        )
        .await;
    let workflow = w.workflow("wf-pdf", print_workflow()).await;
    for action in ["pdf", "html"] {
        let outcome = w
            .deliver_twice(Delivery::AtOnce, &w.job(&workflow, &customer, action))
            .await;
        assert!(
            matches!(outcome, JobOutcome::Succeeded(_)),
            "{action}: {outcome:?}"
        );
    }
    assert_eq!(
        w.printer.printed(),
        [(
            "Phiếu ưu đãi Nguyễn Thị Hằng".to_owned(),
            vec![
                "Kính gửi Nguyễn Thị Hằng,".to_owned(),
                "Cảm ơn quý khách đã đồng hành. Phiếu này giảm 20% cho đơn hàng kế tiếp."
                    .to_owned(),
                "<Không áp dụng cùng khuyến mãi khác>".to_owned(),
            ]
        )],
        "printed once, paragraph by paragraph"
    );

    let mails = w.email.delivered();
    assert_eq!(
        mails.len(),
        2,
        "one message per action, whatever was redelivered"
    );
    for mail in &mails {
        let mail = &mail.email;
        assert_eq!(mail.to, "hang@example.vn");
        assert_eq!(mail.subject, "Chúc mừng sinh nhật Nguyễn Thị Hằng");
        assert!(
            mail.html.contains("<b>Nguyễn Thị Hằng</b>"),
            "{}",
            mail.html
        );
        assert_eq!(mail.attachments.len(), 1);
    }
    let pdf = &mails[0].email.attachments[0];
    assert_eq!(pdf.file_name, "Phiếu ưu đãi Nguyễn Thị Hằng.pdf");
    assert_eq!(pdf.content_type, "application/pdf");
    let text = String::from_utf8(pdf.data.clone()).unwrap();
    assert!(text.starts_with("%PDF-"), "{text}");
    assert!(text.contains("Kính gửi Nguyễn Thị Hằng,"), "{text}");
    assert!(text.contains("giảm 20% cho đơn hàng kế tiếp."), "{text}");
    assert!(
        text.contains("<Không áp dụng cùng khuyến mãi khác>"),
        "{text}"
    );

    let html = &mails[1].email.attachments[0];
    assert_eq!(html.file_name, "Phiếu ưu đãi Nguyễn Thị Hằng.html");
    assert_eq!(html.content_type, "text/html; charset=utf-8");
    let document = String::from_utf8(html.data.clone()).unwrap();
    assert!(
        document.contains("<p>Kính gửi Nguyễn Thị Hằng,</p>"),
        "{document}"
    );
    assert!(
        document.contains("<p>&lt;Không áp dụng cùng khuyến mãi khác&gt;</p>"),
        "escaped: {document}"
    );
    assert!(
        document.contains("<title>Phiếu ưu đãi Nguyễn Thị Hằng</title>"),
        "{document}"
    );
}

#[tokio::test]
async fn an_attachment_the_printer_cannot_print_fails_the_email_for_good_and_sends_nothing() {
    let w = World::new().await;
    let customer = w
        .customer(
            "c-pdf",
            json!({"Name": "Nguyễn Thị Hằng", "Email": "hang@example.vn", "Owner": "u-owner"}),
        )
        .await;
    let workflow = w.workflow("wf-pdf", print_workflow()).await;
    w.printer.refuse_char('ằ');
    let job = w.job(&workflow, &customer, "pdf");
    let reason = "the font cannot print 'ằ' (U+1EB1)";
    assert_eq!(
        w.execute(&job).await.unwrap(),
        JobOutcome::Failed(reason.into())
    );
    assert_eq!(w.execute(&job).await.unwrap(), JobOutcome::Duplicate);
    assert_eq!(w.email.attempts(), 0);
    let run = w.run(&job.idempotency_key()).await;
    assert_eq!(
        (run.status, run.error.as_deref()),
        (RunStatus::Failed, Some(reason))
    );
}

#[tokio::test]
async fn a_job_sends_with_its_own_tenants_credentials_only() {
    let w = zns_world().await;
    // Another tenant's provider of the same id has credentials; this tenant's has none.
    let other = crm_model::ids::TenantId::new("globex").unwrap();
    let name = crm_model::settings::secrets::SecretName::for_setting(
        &other,
        SettingKind::ZnsProvider,
        &SettingId::new("oa").unwrap(),
    );
    use crm_model::ports::SecretVault;
    w.secrets
        .put(
            &name,
            &crm_model::settings::secrets::SecretValue::new(r#"{"access_token":"globex-token"}"#),
        )
        .await
        .unwrap();
    w.secrets
        .delete(&crm_model::settings::secrets::SecretName::for_setting(
            &w.tenant,
            SettingKind::ZnsProvider,
            &SettingId::new("oa").unwrap(),
        ))
        .await
        .unwrap();
    let customer = w
        .customer(
            "c1",
            json!({"Name": "Hà", "Phone": PHONE, "Birthday": "1992-03-08"}),
        )
        .await;
    let workflow = w.workflow("wf-zns", zns_workflow()).await;
    let job = w.job(&workflow, &customer, "zns");
    let outcome = w.execute(&job).await.unwrap();
    let JobOutcome::Failed(reason) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(w.zns.delivered().is_empty(), "nothing sent");
    assert!(reason.contains("no credentials"), "{reason}");
    assert!(
        !reason.contains("crm/"),
        "no secret name in the run: {reason}"
    );
}

#[tokio::test]
async fn a_provider_error_that_echoes_a_key_is_stored_without_it_and_cut_short() {
    let w = zns_world().await;
    let echoed = format!("bad token zalo-token-acme {}", "x".repeat(2000));
    w.zns.fail_next(1, SendError::Permanent(echoed));
    let customer = w
        .customer(
            "c1",
            json!({"Name": "Hà", "Phone": PHONE, "Birthday": "1992-03-08"}),
        )
        .await;
    let workflow = w.workflow("wf-zns", zns_workflow()).await;
    let job = w.job(&workflow, &customer, "zns");
    w.execute(&job).await.unwrap();
    let run = w.run(&job.idempotency_key()).await;
    let error = run.error.unwrap();
    assert!(!error.contains("zalo-token-acme"), "{error}");
    assert!(error.chars().count() <= 501, "{}", error.len());
}

#[tokio::test]
async fn a_vault_outage_is_retried_not_failed() {
    let w = zns_world().await;
    let customer = w
        .customer(
            "c1",
            json!({"Name": "Hà", "Phone": PHONE, "Birthday": "1992-03-08"}),
        )
        .await;
    let workflow = w.workflow("wf-zns", zns_workflow()).await;
    let job = w.job(&workflow, &customer, "zns");
    w.secrets.fail_next(1);
    assert!(w.execute(&job).await.is_err(), "handed back to the queue");
    assert!(matches!(
        w.execute(&job).await.unwrap(),
        JobOutcome::Succeeded(_)
    ));
    assert_eq!(w.zns.delivered().len(), 1);
}
