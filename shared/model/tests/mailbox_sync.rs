//! The mailbox sync over the in-memory stores and a mailbox server in memory: what concerns a
//! customer or one of its contacts is kept on that customer, once, whatever the runs, the
//! renumbering of a folder or a crash between a batch and its checkpoint.

mod support;

use chrono::{TimeZone, Utc};
use crm_model::action::SettingKind;
use crm_model::ids::SettingId;
use crm_model::mailbox::ports::{FetchedMail, MailCredential, SyncStatusStore};
use crm_model::mailbox::sync::{MAX_PER_FOLDER_RUN, MailboxSync, SyncError, SyncReport};
use crm_model::ports::{RecordStore, SecretVault, SettingsStore};
use crm_model::record::service::MessageFilter;
use crm_model::schema::Module;
use crm_model::settings::secrets::{SecretName, SecretValue};
use crm_model::store::PageRequest;
use crm_model::testing::memory::{FakeMailServer, FixedTokens, MemorySyncStatus};
use serde_json::json;
use support::crm::{Crm, rid};

const PASSWORD: &str = "app-password-1";

struct Desk {
    crm: Crm,
    server: FakeMailServer,
    status: MemorySyncStatus,
    tokens: FixedTokens,
    mailbox: SettingId,
}

impl Desk {
    fn sync(&self) -> MailboxSync<'_> {
        MailboxSync {
            settings: &self.crm.w.stores.settings,
            records: &self.crm.w.stores.records,
            users: &self.crm.w.stores.users,
            secrets: &self.crm.w.secrets,
            status: &self.status,
            reader: &self.server,
            tokens: &self.tokens,
            clock: &self.crm.clock,
        }
    }

    async fn run(&self) -> Result<SyncReport, SyncError> {
        self.sync().sync(&self.crm.w.tenant, &self.mailbox).await
    }

    /// One page of the customer's messages, as the salesperson reads them.
    async fn page(
        &self,
        customer: &str,
        filter: &MessageFilter,
        limit: u32,
        after: Option<&crm_model::record::service::ActivityCursor>,
    ) -> crm_model::record::service::MessagePage {
        self.crm
            .records()
            .messages(&self.crm.sales(), &rid(customer), filter, limit, after)
            .await
            .unwrap()
    }

    /// Connects another mailbox (`setting` without its kind) with `secret` as its credentials.
    async fn connect(
        &self,
        id: &str,
        setting: serde_json::Value,
        secret: serde_json::Value,
    ) -> SettingId {
        let id = SettingId::new(id).unwrap();
        let mut setting = setting;
        setting["kind"] = json!("mailbox");
        let setting = serde_json::from_value(setting).unwrap();
        let tenant = &self.crm.w.tenant;
        self.crm
            .w
            .stores
            .settings
            .create(tenant, &id, &setting)
            .await
            .unwrap();
        let name = SecretName::for_setting(tenant, SettingKind::Mailbox, &id);
        self.crm
            .w
            .secrets
            .put(&name, &SecretValue::new(secret.to_string()))
            .await
            .unwrap();
        id
    }

    /// The customer's messages, oldest first, as (direction, subject, contact): every page.
    async fn history(&self, customer: &str) -> Vec<(String, String, String)> {
        let mut found = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .crm
                .records()
                .messages(
                    &self.crm.sales(),
                    &rid(customer),
                    &MessageFilter::default(),
                    100,
                    after.as_ref(),
                )
                .await
                .unwrap();
            found.extend(page.items);
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        found.reverse();
        found
            .into_iter()
            .map(|m| {
                let v = &m.value;
                (
                    v.text("Direction").into(),
                    v.text("Subject").into(),
                    v.text("Contact").into(),
                )
            })
            .collect()
    }
}

/// Lan (`c1`, lan@example.vn) with her contact Tuấn (`k1`, tuan@example.vn), Minh (`c2`), and
/// the salesperson's mailbox (sales@example.vn, alias sang@congty.vn) connected with a password.
async fn desk() -> Desk {
    let crm = Crm::new().await;
    crm.create(
        Module::Customer,
        "c1",
        json!({"Name": "Lan", "Email": "Lan@Example.vn"}),
    )
    .await;
    crm.create(
        Module::Contact,
        "k1",
        json!({"Name": "Anh Tuấn", "Customer": "c1", "Email": "tuan@example.vn"}),
    )
    .await;
    crm.create(
        Module::Customer,
        "c2",
        json!({"Name": "Minh", "Email": "minh@example.vn"}),
    )
    .await;
    let mailbox = SettingId::new("sang-mail").unwrap();
    let setting = serde_json::from_value(json!({"kind": "mailbox", "name": "Hộp thư của Sáng",
        "user": "u-sales", "host": "imap.example.vn", "username": "sales@example.vn",
        "auth": "password", "aliases": ["sang@congty.vn"]}))
    .unwrap();
    let settings = &crm.w.stores.settings;
    settings
        .create(&crm.w.tenant, &mailbox, &setting)
        .await
        .unwrap();
    let name = SecretName::for_setting(&crm.w.tenant, SettingKind::Mailbox, &mailbox);
    let secret = SecretValue::new(json!({"password": PASSWORD}).to_string());
    crm.w.secrets.put(&name, &secret).await.unwrap();
    Desk {
        crm,
        server: FakeMailServer::accepting(MailCredential::Password(PASSWORD.into())),
        status: MemorySyncStatus::new(),
        tokens: FixedTokens::new(),
        mailbox,
    }
}

fn mail(id: &str, from: &str, to: &[&str], subject: &str) -> FetchedMail {
    FetchedMail {
        message_id: Some(format!("{id}@mail.example.vn")),
        date: Some(Utc.with_ymd_and_hms(2026, 5, 20, 3, 0, 0).unwrap()),
        from: vec![from.into()],
        to: to.iter().map(|a| a.to_string()).collect(),
        subject: subject.into(),
        excerpt: "Chào anh, gửi anh báo giá.".into(),
        attachments: vec!["bao-gia.pdf".into()],
        ..FetchedMail::default()
    }
}

#[tokio::test]
async fn mail_to_and_from_a_customer_or_its_contact_is_kept_on_the_customer_with_the_contact() {
    let d = desk().await;
    d.server.deliver(
        "INBOX",
        mail("m1", "LAN@example.vn", &["sales@example.vn"], "Hỏi giá"),
    );
    d.server.deliver(
        "INBOX",
        mail("m2", "tuan@example.vn", &["sang@congty.vn"], "Hợp đồng"),
    );
    d.server.deliver(
        "INBOX",
        mail("m3", "news@shop.vn", &["sales@example.vn"], "Khuyến mãi"),
    );
    d.server.deliver(
        "Sent",
        mail(
            "m4",
            "sales@example.vn",
            &["minh@example.vn", "lan@example.vn"],
            "Báo giá",
        ),
    );
    let report = d.run().await.unwrap();
    assert_eq!(
        report,
        SyncReport {
            read: 4,
            stored: 4,
            already: 0,
            unmatched: 1,
            refused: 0
        }
    );
    assert_eq!(
        d.history("c1").await,
        [
            ("Incoming".into(), "Hỏi giá".into(), String::new()),
            ("Incoming".into(), "Hợp đồng".into(), "k1".into()),
            ("Outgoing".into(), "Báo giá".into(), String::new()),
        ]
    );
    assert_eq!(
        d.history("c2").await,
        [("Outgoing".into(), "Báo giá".into(), String::new())]
    );
    let kept = d
        .page("c2", &MessageFilter::default(), 50, None)
        .await
        .items;
    let message = &kept[0].value;
    assert_eq!(message.text("Status"), "Sent");
    assert_eq!(message.text("Owner"), "u-sales");
    assert_eq!(message.text("Attachments"), "bao-gia.pdf");
    assert_eq!(message.text("SentAt"), "2026-05-20T03:00:00.000Z");
    assert_eq!(message.text("MessageId"), "m4@mail.example.vn");
    // The history's filters: by direction and by contact.
    let only_k1 = MessageFilter {
        contact: Some(rid("k1")),
        ..MessageFilter::default()
    };
    let found = d.page("c1", &only_k1, 50, None).await.items;
    assert_eq!(found.len(), 1);
    let incoming = MessageFilter {
        direction: Some("Incoming".into()),
        ..MessageFilter::default()
    };
    let found = d.page("c1", &incoming, 50, None).await.items;
    assert_eq!(found.len(), 2);
}

#[tokio::test]
async fn a_resync_a_renumbered_folder_or_a_lost_checkpoint_stores_nothing_twice() {
    let d = desk().await;
    d.server.deliver(
        "INBOX",
        mail("m1", "lan@example.vn", &["sales@example.vn"], "Một"),
    );
    assert_eq!(d.run().await.unwrap().stored, 1);
    // Nothing new: the checkpoint skips what was read.
    let again = d.run().await.unwrap();
    assert_eq!((again.read, again.stored), (0, 0));
    // The server renumbers the inbox: read again from the start, kept once.
    d.server.deliver(
        "INBOX",
        mail("m2", "lan@example.vn", &["sales@example.vn"], "Hai"),
    );
    d.server.renumber("INBOX", 7);
    let renumbered = d.run().await.unwrap();
    assert_eq!(
        (renumbered.read, renumbered.stored, renumbered.already),
        (2, 1, 1)
    );
    let status = d
        .status
        .get(&d.crm.w.tenant, &d.mailbox)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.stored, 2);
    // The checkpoint is lost (a crash before it was written): the same again.
    d.status
        .put(&d.crm.w.tenant, &d.mailbox, &Default::default())
        .await
        .unwrap();
    let lost = d.run().await.unwrap();
    assert_eq!((lost.stored, lost.already), (0, 2));
    assert_eq!(d.history("c1").await.len(), 2);
    let status = d
        .status
        .get(&d.crm.w.tenant, &d.mailbox)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.folders["INBOX"].uid_validity, 7);
    assert_eq!(status.folders["INBOX"].last_uid, 2);
    assert_eq!(status.last_error, None);
}

#[tokio::test]
async fn a_big_mailbox_catches_up_over_several_runs() {
    let d = desk().await;
    let total = MAX_PER_FOLDER_RUN + 20;
    for i in 0..total {
        d.server.deliver(
            "INBOX",
            mail(
                &format!("m{i}"),
                "lan@example.vn",
                &["sales@example.vn"],
                "Thư",
            ),
        );
    }
    let first = d.run().await.unwrap();
    assert_eq!(first.read, MAX_PER_FOLDER_RUN);
    let second = d.run().await.unwrap();
    assert_eq!((second.read, second.stored), (20, 20));
    assert_eq!(d.history("c1").await.len() as u32, total);
}

#[tokio::test]
async fn a_refused_login_or_missing_credentials_are_kept_as_the_mailboxs_last_error() {
    let d = desk().await;
    d.server.deliver(
        "INBOX",
        mail("m1", "lan@example.vn", &["sales@example.vn"], "Một"),
    );
    d.server
        .accept(MailCredential::Password("a-new-password".into()));
    let refused = d.run().await.unwrap_err();
    assert!(matches!(refused, SyncError::Mail(_)), "{refused}");
    let status = d
        .status
        .get(&d.crm.w.tenant, &d.mailbox)
        .await
        .unwrap()
        .unwrap();
    assert!(status.last_error.unwrap().contains("refused the login"));
    assert!(status.last_run_at.is_some());
    // The administrator sets the new password: the next run reads what waited.
    let name = SecretName::for_setting(&d.crm.w.tenant, SettingKind::Mailbox, &d.mailbox);
    let secret = SecretValue::new(json!({"password": "a-new-password"}).to_string());
    d.crm.w.secrets.put(&name, &secret).await.unwrap();
    assert_eq!(d.run().await.unwrap().stored, 1);
    let status = d
        .status
        .get(&d.crm.w.tenant, &d.mailbox)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.last_error, None);
    d.crm.w.secrets.delete(&name).await.unwrap();
    assert!(matches!(
        d.run().await,
        Err(SyncError::NoCredentials("password"))
    ));
}

#[tokio::test]
async fn mailboxes_are_listed_across_tenants_for_the_schedule_and_a_paused_one_is_left_alone() {
    let d = desk().await;
    let listed = d
        .crm
        .w
        .stores
        .settings
        .mailboxes(&PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].id, d.mailbox);
    let settings = &d.crm.w.stores.settings;
    let mut stored = settings
        .get(&d.crm.w.tenant, SettingKind::Mailbox, &d.mailbox)
        .await
        .unwrap()
        .unwrap();
    let crm_model::settings::Setting::Mailbox(m) = &mut stored.value else {
        panic!()
    };
    m.paused = true;
    settings
        .replace(&d.crm.w.tenant, &d.mailbox, &stored.value, stored.revision)
        .await
        .unwrap();
    d.server.deliver(
        "INBOX",
        mail("m1", "lan@example.vn", &["sales@example.vn"], "Một"),
    );
    assert_eq!(d.run().await.unwrap(), SyncReport::default());
    assert_eq!(d.server.logins(), 0);
}

#[tokio::test]
async fn a_long_history_is_read_a_page_at_a_time_and_leaves_the_related_lists_alone() {
    let d = desk().await;
    // More messages than a customer's related lists may hold (MAX_RELATED).
    let total = crm_model::record::store::MAX_RELATED as u32 + 100;
    for i in 0..total {
        let mut m = mail(
            &format!("m{i}"),
            "lan@example.vn",
            &["sales@example.vn"],
            &format!("Thư {i}"),
        );
        m.date = Some(
            Utc.timestamp_opt(1_780_000_000 + i64::from(i) * 60, 0)
                .unwrap(),
        );
        d.server.deliver("INBOX", m);
    }
    while d.run().await.unwrap().read > 0 {}
    let related = d
        .crm
        .records()
        .related(&d.crm.sales(), &rid("c1"))
        .await
        .unwrap();
    let contacts = related
        .lists
        .iter()
        .find(|(name, _)| *name == "contacts")
        .unwrap();
    assert_eq!(contacts.1.len(), 1, "the related lists read as before");
    let records = d.crm.records();
    let all = MessageFilter::default();
    let first = d.page("c1", &all, 50, None).await;
    assert_eq!(first.items.len(), 50);
    assert_eq!(
        first.items[0].value.text("Subject"),
        format!("Thư {}", total - 1),
        "newest first"
    );
    let cursor = first.next.clone().expect("more");
    let second = d.page("c1", &all, 50, Some(&cursor)).await;
    assert_eq!(
        second.items[0].value.text("Subject"),
        format!("Thư {}", total - 51)
    );
    // A filter nothing matches reads a bounded part of the history, and says where to go on.
    let nobody = MessageFilter {
        contact: Some(rid("k1")),
        ..MessageFilter::default()
    };
    let rare = d.page("c1", &nobody, 50, None).await;
    assert!(rare.items.is_empty());
    let on = rare.next.expect("the rest is still to read");
    let rest = d.page("c1", &nobody, 50, Some(&on)).await;
    assert!(
        rest.items.is_empty() && rest.next.is_some(),
        "a second bounded read"
    );
    // The timeline shows the newest of them among the customer's activities, paged the same way.
    let timeline = records
        .activities(
            &d.crm.sales(),
            Module::Customer,
            &rid("c1"),
            false,
            20,
            None,
        )
        .await
        .unwrap();
    let subjects: Vec<&str> = timeline
        .items
        .iter()
        .filter_map(|a| match a {
            crm_model::record::service::Activity::Record(r)
                if r.value.module == Module::Message =>
            {
                Some(r.value.text("Subject"))
            }
            _ => None,
        })
        .collect();
    assert_eq!(subjects.len(), 20);
    assert_eq!(subjects[0], format!("Thư {}", total - 1));
    assert!(timeline.next.is_some());
}

#[tokio::test]
async fn a_merged_customers_history_includes_its_duplicates_messages() {
    let d = desk().await;
    d.crm
        .create(
            Module::Customer,
            "c-dup",
            json!({"Name": "Lan (cũ)", "Email": "lan.old@example.vn"}),
        )
        .await;
    d.server.deliver(
        "INBOX",
        mail("m1", "lan@example.vn", &["sales@example.vn"], "Mới"),
    );
    d.server.deliver(
        "INBOX",
        mail("m2", "lan.old@example.vn", &["sales@example.vn"], "Cũ"),
    );
    d.run().await.unwrap();
    d.crm
        .records()
        .merge(&d.crm.sales(), &rid("c1"), &rid("c-dup"), &[])
        .await
        .unwrap();
    let mut subjects: Vec<String> = d
        .history("c1")
        .await
        .into_iter()
        .map(|(_, s, _)| s)
        .collect();
    subjects.sort();
    assert_eq!(subjects, ["Cũ", "Mới"]);
}

#[tokio::test]
async fn a_filtered_page_ending_at_the_read_bound_keeps_the_message_found_there_once() {
    let d = desk().await;
    let total = 1_500u32;
    // The 1,000th newest is the only one from the contact: the last one the first page reads.
    let contacts = total - crm_model::record::service::MAX_MESSAGES_READ as u32;
    for i in 0..total {
        let from = if i == contacts {
            "tuan@example.vn"
        } else {
            "lan@example.vn"
        };
        let mut m = mail(
            &format!("m{i}"),
            from,
            &["sales@example.vn"],
            &format!("Thư {i}"),
        );
        m.date = Some(
            Utc.timestamp_opt(1_780_000_000 + i64::from(i) * 60, 0)
                .unwrap(),
        );
        d.server.deliver("INBOX", m);
    }
    while d.run().await.unwrap().read > 0 {}
    let of_k1 = MessageFilter {
        contact: Some(rid("k1")),
        ..MessageFilter::default()
    };
    let first = d.page("c1", &of_k1, 10, None).await;
    let subjects: Vec<&str> = first
        .items
        .iter()
        .map(|m| m.value.text("Subject"))
        .collect();
    assert_eq!(subjects, [format!("Thư {contacts}")]);
    let next = first.next.expect("the rest is still to read");
    let rest = d.page("c1", &of_k1, 10, Some(&next)).await;
    assert!(rest.items.is_empty(), "not twice: {:?}", rest.items.len());
    assert_eq!(rest.next, None, "the end of the history");
}

#[tokio::test]
async fn the_sent_folder_is_outgoing_a_future_date_is_placed_when_read_and_a_colleagues_copy_shows_once()
 {
    let d = desk().await;
    // Sent from the company's shared address, kept in the user's sent folder.
    d.server.deliver(
        "Sent",
        mail("m1", "info@congty.vn", &["lan@example.vn"], "Báo giá"),
    );
    let mut future = mail(
        "m2",
        "lan@example.vn",
        &["sales@example.vn"],
        "Từ tương lai",
    );
    future.date = Some(Utc.with_ymd_and_hms(2099, 1, 1, 0, 0, 0).unwrap());
    d.server.deliver("INBOX", future);
    d.run().await.unwrap();
    let kept = d
        .page("c1", &MessageFilter::default(), 10, None)
        .await
        .items;
    let sent = kept
        .iter()
        .find(|m| m.value.text("Subject") == "Báo giá")
        .unwrap();
    assert_eq!(
        (sent.value.text("Direction"), sent.value.text("Status")),
        ("Outgoing", "Sent")
    );
    let later = kept
        .iter()
        .find(|m| m.value.text("Subject") == "Từ tương lai")
        .unwrap();
    assert_eq!(later.value.text("SentAt"), later.value.text("CreatedAt"));

    // A colleague's mailbox holds the same email (they were in copy): shown once.
    let colleague = d
        .connect(
            "quyen-mail",
            json!({"name": "Hộp thư của Quyên", "user": "u-manager", "host": "imap.example.vn",
                   "username": "u-manager@example.vn", "auth": "password"}),
            json!({"password": PASSWORD}),
        )
        .await;
    d.sync().sync(&d.crm.w.tenant, &colleague).await.unwrap();
    let subjects: Vec<String> = d
        .history("c1")
        .await
        .into_iter()
        .map(|(_, s, _)| s)
        .collect();
    assert_eq!(
        subjects.iter().filter(|s| *s == "Báo giá").count(),
        1,
        "{subjects:?}"
    );
}

#[tokio::test]
async fn another_server_or_login_reads_the_folders_anew_and_a_gone_customers_contact_keeps_nothing()
{
    let d = desk().await;
    d.server.deliver(
        "INBOX",
        mail("m1", "lan@example.vn", &["sales@example.vn"], "Một"),
    );
    d.run().await.unwrap();
    let settings = &d.crm.w.stores.settings;
    let mut stored = settings
        .get(&d.crm.w.tenant, SettingKind::Mailbox, &d.mailbox)
        .await
        .unwrap()
        .unwrap();
    let crm_model::settings::Setting::Mailbox(m) = &mut stored.value else {
        panic!()
    };
    m.username = "sang@congty.vn".into();
    settings
        .replace(&d.crm.w.tenant, &d.mailbox, &stored.value, stored.revision)
        .await
        .unwrap();
    let anew = d.run().await.unwrap();
    assert_eq!(
        (anew.read, anew.stored, anew.already),
        (1, 0, 1),
        "read again, kept once"
    );

    // Tuấn's customer is deleted; his mail is kept on no one.
    let lan = d.crm.stored("c1").await.unwrap();
    let records = &d.crm.w.stores.records;
    records
        .delete(&d.crm.w.tenant, &rid("c1"), lan.revision)
        .await
        .unwrap();
    d.server.deliver(
        "INBOX",
        mail("m2", "tuan@example.vn", &["sales@example.vn"], "Hai"),
    );
    let report = d.run().await.unwrap();
    assert_eq!((report.read, report.stored, report.unmatched), (1, 0, 1));
}

#[tokio::test]
async fn an_oauth2_mailbox_trades_its_refresh_token_for_a_fresh_access_token_each_run() {
    let d = desk().await;
    let gmail = d
        .connect(
            "gmail",
            json!({"name": "Gmail", "user": "u-sales", "host": "imap.gmail.com",
                   "username": "sales@example.vn", "auth": "oauth2",
                   "token_url": "https://oauth2.googleapis.com/token"}),
            json!({"refresh_token": "refresh-1", "client_id": "crm", "client_secret": "s"}),
        )
        .await;
    let name = SecretName::for_setting(&d.crm.w.tenant, SettingKind::Mailbox, &gmail);
    d.tokens.grant("refresh-1", "access-1");
    d.server
        .accept(MailCredential::AccessToken("access-1".into()));
    d.server.deliver(
        "INBOX",
        mail("m1", "lan@example.vn", &["sales@example.vn"], "Một"),
    );
    let sync = d.sync();
    let run = || sync.sync(&d.crm.w.tenant, &gmail);
    assert_eq!(run().await.unwrap().stored, 1);
    // The next hour's token: asked for again at the next run.
    d.tokens.grant("refresh-1", "access-2");
    d.server
        .accept(MailCredential::AccessToken("access-2".into()));
    d.server.deliver(
        "INBOX",
        mail("m2", "lan@example.vn", &["sales@example.vn"], "Hai"),
    );
    assert_eq!(run().await.unwrap().stored, 1);
    assert_eq!(d.tokens.exchanges(), 2);
    // An endpoint that rotates its refresh tokens: the next one is kept for the next run.
    d.tokens
        .grant_rotating("refresh-1", "access-2", "refresh-2");
    d.tokens.grant("refresh-2", "access-2");
    run().await.unwrap();
    let kept = d.crm.w.secrets.value(&name).unwrap();
    assert!(kept.contains("refresh-2"), "the rotated token is kept");
    run().await.unwrap();
    assert_eq!(d.tokens.exchanges(), 4);
    // Consent withdrawn: the refusal is the mailbox's last error.
    d.tokens.grant("refresh-1", "");
    let withdrawn = SecretValue::new(
        json!({"refresh_token": "revoked", "client_id": "crm", "client_secret": "s"}).to_string(),
    );
    d.crm.w.secrets.put(&name, &withdrawn).await.unwrap();
    assert!(matches!(run().await, Err(SyncError::Mail(_))));
    let status = d
        .status
        .get(&d.crm.w.tenant, &gmail)
        .await
        .unwrap()
        .unwrap();
    assert!(status.last_error.unwrap().contains("invalid_grant"));
}
