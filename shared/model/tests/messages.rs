//! Email and SMS from a customer's page, over the in-memory stores: composed and checked by the
//! records use case, handed to the executor by the records stream, sent once per recipient
//! whatever the deliveries, and the outcome written back on the message.

mod support;

use crm_model::ids::SettingId;
use crm_model::ports::{FixedClock, SettingsStore};
use crm_model::record::service::{Channel, MessageFilter, RecordError, SendRequest};
use crm_model::run::execute::{Executor, ExecutorCache, JobOutcome};
use crm_model::schedule::ActionJob;
use crm_model::schedule::record_events::{BatchCache, Change, RecordEvents};
use crm_model::schema::Module;
use crm_model::testing::memory::{
    MemoryAttachments, RecordingEmail, RecordingSms, RecordingTaskSync, RecordingZns, TextPrinter,
};
use serde_json::{Value, json};
use support::at;
use support::crm::{Crm, rid};

struct Outbox {
    email: RecordingEmail,
    sms: RecordingSms,
}

/// Lan (`c1`, lan@example.vn, 0912345678) with her contact Tuấn (`k1`), an email sender on the
/// company's domain and the SMS provider of the world.
async fn lan() -> (Crm, Outbox) {
    let crm = Crm::new().await;
    crm.create(
        Module::Customer,
        "c1",
        json!({"Name": "Lan", "Email": "Lan@Example.vn", "Phone": "0912345678"}),
    )
    .await;
    crm.create(
        Module::Contact,
        "k1",
        json!({"Name": "Anh Tuấn", "Customer": "c1", "Email": "tuan@example.vn", "Phone": "0987654321"}),
    )
    .await;
    crm.create(
        Module::Customer,
        "c2",
        json!({"Name": "Minh", "Email": "minh@example.vn"}),
    )
    .await;
    crm.w
        .stores
        .settings
        .create(
            &crm.w.tenant,
            &SettingId::new("mailer").unwrap(),
            &serde_json::from_value(json!({"kind": "email_sender", "name": "CSKH",
                "from_address": "cskh@congty.vn", "from_name": "Chăm sóc khách hàng"}))
            .unwrap(),
        )
        .await
        .unwrap();
    let outbox = Outbox {
        email: RecordingEmail::new(),
        sms: RecordingSms::new(),
    };
    (crm, outbox)
}

fn email(key: &str, to: &[&str]) -> SendRequest {
    SendRequest {
        key: key.into(),
        channel: Channel::Email,
        sender: SettingId::new("mailer").unwrap(),
        to: to.iter().map(|s| s.to_string()).collect(),
        cc: vec!["u-manager@example.vn".into()],
        bcc: Vec::new(),
        subject: "Chào #Name".into(),
        body: "<p>Kính gửi #Name, ưu đãi <b>tháng 12</b>.</p>".into(),
        contact: None,
        template: None,
    }
}

fn sms(key: &str, to: &str) -> SendRequest {
    SendRequest {
        key: key.into(),
        channel: Channel::Sms,
        sender: SettingId::new("sms").unwrap(),
        to: vec![to.into()],
        cc: Vec::new(),
        bcc: Vec::new(),
        subject: String::new(),
        body: "Chào #Name, cảm ơn chị đã mua hàng.".into(),
        contact: None,
        template: Some(SettingId::new("sms-birthday").unwrap()),
    }
}

/// What the records stream does with a new record: the jobs it published.
async fn stream_insert(crm: &Crm, id: &str) -> Vec<ActionJob> {
    let stored = crm.stored(id).await.unwrap();
    let clock = FixedClock(at("2026-06-01T03:00:00Z"));
    let events = RecordEvents {
        workflows: &crm.w.stores.workflows,
        records: &crm.w.stores.records,
        settings: &crm.w.stores.settings,
        schedule: &crm.w.stores.schedule,
        publisher: &crm.w.publisher,
        runs: &crm.w.stores.runs,
        clock: &clock,
    };
    let handled = events
        .handle(
            &crm.w.tenant,
            &format!("ev-{id}"),
            &Change::Inserted(stored.value),
            None,
            &mut BatchCache::default(),
        )
        .await
        .unwrap();
    let jobs = crm.w.publisher.take_jobs();
    assert_eq!(handled.messages_published as usize, jobs.len());
    jobs
}

/// What an executor needs besides the stores and the outbox, for one delivery.
#[derive(Default)]
struct Sandbox {
    cache: ExecutorCache,
    zns: RecordingZns,
    task_sync: RecordingTaskSync,
    printer: TextPrinter,
    attachments: MemoryAttachments,
}

fn executor<'a>(
    crm: &'a Crm,
    outbox: &'a Outbox,
    sandbox: &'a Sandbox,
    clock: &'a FixedClock,
) -> Executor<'a> {
    Executor {
        workflows: &crm.w.stores.workflows,
        records: &crm.w.stores.records,
        settings: &crm.w.stores.settings,
        users: &crm.w.stores.users,
        ledger: &crm.w.stores.runs,
        sms: &outbox.sms,
        zns: &sandbox.zns,
        email: &outbox.email,
        printer: &sandbox.printer,
        attachments: &sandbox.attachments,
        task_sync: &sandbox.task_sync,
        secrets: &crm.w.secrets,
        clock,
        cache: &sandbox.cache,
        approvals: &crm.w.stores.approvals,
        links_base: "https://crm.example.vn",
        deadline: None,
    }
}

const SENT_AT: &str = "2026-06-01T03:00:05Z";

async fn execute(crm: &Crm, outbox: &Outbox, job: &ActionJob) -> JobOutcome {
    let clock = FixedClock(at(SENT_AT));
    let sandbox = Sandbox::default();
    executor(crm, outbox, &sandbox, &clock)
        .execute(job)
        .await
        .unwrap()
}

fn field(record: &crm_model::ports::StoredRecord, name: &str) -> Value {
    record.fields.get(name).cloned().unwrap_or(Value::Null)
}

#[tokio::test]
async fn an_email_from_the_customer_page_is_queued_once_per_key_and_sent_once_per_recipient() {
    let (crm, outbox) = lan().await;
    let request = email("k-1", &["lan@example.vn", "tuan@example.vn"]);
    let queued = crm
        .records()
        .send_message(&crm.sales(), &rid("c1"), &request)
        .await
        .unwrap();
    assert!(!queued.replayed);
    let message = queued.message.value.clone();
    assert_eq!(message.module, Module::Message);
    assert_eq!(field(&message, "Status"), json!("Queued"));
    assert_eq!(field(&message, "Customer"), json!("c1"));
    assert_eq!(
        field(&message, "Contact"),
        json!("k1"),
        "found by its address"
    );
    assert_eq!(field(&message, "Subject"), json!("Chào Lan"));
    assert_eq!(field(&message, "Owner"), json!("u-sales"));
    // Sent as the user: from the sender's verified address under their name, replies to them.
    assert_eq!(
        field(&message, "From"),
        json!("\"Nguyễn Văn Sáng (Chăm sóc khách hàng)\" <cskh@congty.vn>")
    );
    assert!(field(&message, "ReplyTo").is_string());

    // A double click: the same message, nothing new.
    let again = crm
        .records()
        .send_message(&crm.sales(), &rid("c1"), &request)
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(again.message.value.id, message.id);
    // The same key for another message is refused, and says so.
    let mut other = request.clone();
    other.subject = "Khác".into();
    let reused = crm
        .records()
        .send_message(&crm.sales(), &rid("c1"), &other)
        .await;
    assert!(
        matches!(reused, Err(RecordError::Conflict(ref m)) if m.contains("k-1")),
        "{reused:?}"
    );

    // The stream hands it to the executor (a redelivered stream record publishes it again).
    let jobs = stream_insert(&crm, message.id.as_str()).await;
    assert_eq!(jobs.len(), 1);
    let again = stream_insert(&crm, message.id.as_str()).await;
    assert_eq!(again, jobs);
    assert!(matches!(
        execute(&crm, &outbox, &jobs[0]).await,
        JobOutcome::Succeeded(_)
    ));
    assert_eq!(
        execute(&crm, &outbox, &again[0]).await,
        JobOutcome::Duplicate
    );
    let sent = outbox.email.delivered();
    let to: Vec<&str> = sent.iter().map(|m| m.email.to.as_str()).collect();
    assert_eq!(to, ["lan@example.vn", "tuan@example.vn"], "each once");
    assert_eq!(sent[0].email.subject, "Chào Lan");
    assert!(sent[0].email.html.contains("<b>tháng 12</b>"));
    // The copy goes once, with the first recipient's message.
    assert_eq!(sent[0].email.cc, ["u-manager@example.vn"]);
    assert!(sent[1].email.cc.is_empty());
    assert_eq!(
        sent[0].email.reply_to.as_deref(),
        field(&message, "ReplyTo").as_str()
    );
    let stored = crm.stored(message.id.as_str()).await.unwrap().value;
    assert_eq!(field(&stored, "Status"), json!("Sent"));
    assert!(field(&stored, "SentAt").is_string());
    assert_eq!(
        field(&stored, "ProviderIds")
            .as_str()
            .unwrap()
            .split(", ")
            .count(),
        2
    );

    // On the customer's timeline and in its history, filtered by contact.
    let timeline = crm
        .records()
        .activities(&crm.sales(), Module::Customer, &rid("c1"), false, 20, None)
        .await
        .unwrap();
    assert!(timeline.items.iter().any(|a| matches!(a,
        crm_model::record::service::Activity::Record(r) if r.value.id == message.id)));
    let of_tuan = crm
        .records()
        .messages(
            &crm.sales(),
            &rid("c1"),
            &MessageFilter {
                contact: Some(rid("k1")),
                ..MessageFilter::default()
            },
            50,
            None,
        )
        .await
        .unwrap()
        .items;
    assert_eq!(of_tuan.len(), 1);
    let incoming = crm
        .records()
        .messages(
            &crm.sales(),
            &rid("c1"),
            &MessageFilter {
                direction: Some("Incoming".into()),
                ..MessageFilter::default()
            },
            50,
            None,
        )
        .await
        .unwrap()
        .items;
    assert!(incoming.is_empty());
}

#[tokio::test]
async fn an_sms_goes_through_the_tenants_provider_and_a_refusal_is_written_on_the_message() {
    let (crm, outbox) = lan().await;
    let queued = crm
        .records()
        .send_message(&crm.sales(), &rid("c1"), &sms("s-1", "+84 912 345 678"))
        .await
        .unwrap();
    let message = queued.message.value;
    assert_eq!(
        field(&message, "Body"),
        json!("Chào Lan, cảm ơn chị đã mua hàng.")
    );
    assert_eq!(field(&message, "Segments"), json!(1));
    let jobs = stream_insert(&crm, message.id.as_str()).await;
    assert!(matches!(
        execute(&crm, &outbox, &jobs[0]).await,
        JobOutcome::Succeeded(_)
    ));
    let sent = outbox.sms.delivered();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, "+84912345678");
    assert_eq!(sent[0].text, "Chào Lan, cảm ơn chị đã mua hàng.");

    // A number the gateway refuses: failed, with the gateway's reason, never sent again.
    outbox.sms.fail_next(
        1,
        crm_model::ports::SendError::Permanent("blocked number".into()),
    );
    let refused = crm
        .records()
        .send_message(&crm.sales(), &rid("c1"), &sms("s-2", "0912345678"))
        .await
        .unwrap()
        .message
        .value;
    let jobs = stream_insert(&crm, refused.id.as_str()).await;
    assert!(matches!(
        execute(&crm, &outbox, &jobs[0]).await,
        JobOutcome::Failed(_)
    ));
    let stored = crm.stored(refused.id.as_str()).await.unwrap().value;
    assert_eq!(field(&stored, "Status"), json!("Failed"));
    assert!(
        field(&stored, "Error")
            .as_str()
            .unwrap()
            .contains("blocked number")
    );
    assert_eq!(
        execute(&crm, &outbox, &jobs[0]).await,
        JobOutcome::Duplicate
    );
    assert_eq!(outbox.sms.delivered().len(), 1);

    // A gateway that stays down: the message waits, says why, and reads failed once the queue
    // gives up on it.
    let waiting = crm
        .records()
        .send_message(&crm.sales(), &rid("c1"), &sms("s-3", "0912345678"))
        .await
        .unwrap()
        .message
        .value;
    let jobs = stream_insert(&crm, waiting.id.as_str()).await;
    let clock = FixedClock(at(SENT_AT));
    let sandbox = Sandbox::default();
    let executor = executor(&crm, &outbox, &sandbox, &clock);
    for _ in 0..3 {
        outbox.sms.fail_next(
            1,
            crm_model::ports::SendError::Transient("gateway down".into()),
        );
        assert!(executor.execute(&jobs[0]).await.is_err());
        let stored = crm.stored(waiting.id.as_str()).await.unwrap().value;
        assert_eq!(field(&stored, "Status"), json!("Queued"));
        assert!(
            field(&stored, "Error")
                .as_str()
                .unwrap()
                .contains("gateway down")
        );
    }
    executor
        .dead_letter(&jobs[0], "gateway down", 3)
        .await
        .unwrap();
    let stored = crm.stored(waiting.id.as_str()).await.unwrap().value;
    assert_eq!(field(&stored, "Status"), json!("Failed"));
    assert_eq!(outbox.sms.delivered().len(), 1);
}

#[tokio::test]
async fn a_message_goes_only_to_the_customers_addresses_and_bad_input_writes_nothing() {
    let (crm, _) = lan().await;
    let records = crm.records();
    let refused = |result: Result<_, RecordError>| match result {
        Err(RecordError::Invalid(problems)) => {
            let mut pointers: Vec<String> = problems.iter().map(|p| p.path.clone()).collect();
            pointers.sort();
            pointers
        }
        other => panic!("{other:?}"),
    };
    // Another customer's address, an address that is none, a merge field the module lacks.
    let mut bad = email("k-2", &["minh@example.vn", "nope"]);
    bad.body = "#NoSuchField".into();
    bad.cc = vec!["x".into()];
    bad.bcc = vec!["stranger@elsewhere.vn".into(), "a,b@example.vn".into()];
    assert_eq!(
        refused(records.send_message(&crm.sales(), &rid("c1"), &bad).await),
        ["/bcc/0", "/bcc/1", "/body", "/cc/0", "/to/0", "/to/1"]
    );
    let mut bad = sms("k-3", "0912345678");
    bad.sender = SettingId::new("mailer").unwrap();
    bad.body = "x".repeat(400);
    assert_eq!(
        refused(records.send_message(&crm.sales(), &rid("c1"), &bad).await),
        ["/body", "/sender"]
    );
    let mut bad = email("no spaces allowed", &["lan@example.vn"]);
    bad.subject = String::new();
    assert_eq!(
        refused(records.send_message(&crm.sales(), &rid("c1"), &bad).await),
        ["/key", "/subject"]
    );
    let mut bad = email("k-4", &["lan@example.vn"]);
    bad.contact = Some(rid("c2"));
    assert_eq!(
        refused(records.send_message(&crm.sales(), &rid("c1"), &bad).await),
        ["/contact"]
    );
    let written = records
        .messages(
            &crm.sales(),
            &rid("c1"),
            &MessageFilter::default(),
            50,
            None,
        )
        .await
        .unwrap()
        .items;
    assert!(written.is_empty(), "{written:?}");

    // Messages are what was sent: never created or edited through the record routes.
    let created = records
        .create(
            &crm.sales(),
            Module::Message,
            rid("m-x"),
            &support::crm::fields(json!({})),
        )
        .await;
    assert!(
        matches!(created, Err(RecordError::Forbidden(_))),
        "{created:?}"
    );
}

#[tokio::test]
async fn a_key_names_one_message_whatever_the_customer_and_a_sent_message_stays_as_sent() {
    let (crm, outbox) = lan().await;
    let records = crm.records();
    let request = email("k-5", &["lan@example.vn"]);
    let queued = records
        .send_message(&crm.sales(), &rid("c1"), &request)
        .await
        .unwrap();
    // The same key and texts for another customer is another message: refused, not replayed.
    let mut elsewhere = request.clone();
    elsewhere.to = vec!["minh@example.vn".into()];
    let other = records
        .send_message(&crm.sales(), &rid("c2"), &elsewhere)
        .await;
    assert!(matches!(other, Err(RecordError::Conflict(_))), "{other:?}");
    let jobs = stream_insert(&crm, queued.message.value.id.as_str()).await;
    execute(&crm, &outbox, &jobs[0]).await;
    // A message is kept as sent: never deleted or edited through the record routes.
    let id = &queued.message.value.id;
    let deleted = records
        .delete(&crm.sales(), Module::Message, id, None)
        .await;
    assert!(
        matches!(deleted, Err(RecordError::Forbidden(_))),
        "{deleted:?}"
    );
    let patched = records
        .patch(
            &crm.sales(),
            Module::Message,
            id,
            &support::crm::fields(json!({"Subject": "x"})),
            None,
        )
        .await;
    assert!(patched.is_err(), "{patched:?}");
    let stored = crm.stored(id.as_str()).await.unwrap().value;
    assert_eq!(field(&stored, "Status"), json!("Sent"));
    assert_eq!(field(&stored, "Subject"), json!("Chào Lan"));
}
