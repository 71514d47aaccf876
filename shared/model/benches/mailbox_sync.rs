//! Mailbox sync figures over the in-memory stores (which count every port call as the DynamoDB
//! adapters make them) and an in-memory IMAP server: what one message costs (record reads and
//! writes: the identity lookup of its addresses, the candidates' read, one conditional put per
//! customer it concerns), how many fetches and status writes a run makes, and what a resync
//! after a lost checkpoint costs (it writes nothing new). Prints `key=value` lines; `projected_*`
//! prices the counted calls at the given latencies, one mailbox at a time.
//!
//!     cargo bench -p crm-model --bench mailbox_sync
//!     BENCH_MESSAGES=5000 BENCH_READ_MS=5 BENCH_WRITE_MS=8 BENCH_FETCH_MS=300 cargo bench -p crm-model --bench mailbox_sync

use std::time::Instant;

use chrono::{TimeZone, Utc};
use crm_model::action::SettingKind;
use crm_model::ids::{RecordId, SettingId, TenantId, UserId};
use crm_model::mailbox::ports::{FetchedMail, MailCredential};
use crm_model::mailbox::sync::{MailboxSync, SyncReport};
use crm_model::ports::{
    FixedClock, RecordStore, SecretVault, SettingsStore, StoredRecord, UserDirectory,
};
use crm_model::schema::Module;
use crm_model::settings::secrets::{SecretName, SecretValue};
use crm_model::testing::memory::{
    FakeMailServer, MemorySecretVault, MemoryStores, MemorySyncStatus,
};
use crm_model::user::{Role, User};
use serde_json::json;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn record(id: String, module: Module, fields: serde_json::Value) -> StoredRecord {
    StoredRecord {
        id: RecordId::new(id).expect("an id"),
        module,
        fields: fields.as_object().expect("fields").clone(),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let messages = env_number("BENCH_MESSAGES", 2_000);
    let customers = env_number("BENCH_CUSTOMERS", 500);
    let read_ms = env_number("BENCH_READ_MS", 5) as f64;
    let write_ms = env_number("BENCH_WRITE_MS", 8) as f64;
    let fetch_ms = env_number("BENCH_FETCH_MS", 300) as f64;
    let stores = MemoryStores::new();
    let tenant = TenantId::new("bench").expect("a tenant");
    let user = User {
        id: UserId::new("u-sales").expect("an id"),
        name: "Sáng".into(),
        email: "sales@example.vn".into(),
        phone: None,
        team: None,
        role: Role::Salesperson,
        manager: None,
        active: true,
    };
    stores.users.put(&tenant, &user).await.expect("user");
    for i in 0..customers {
        let c = record(
            format!("c{i}"),
            Module::Customer,
            json!({"Name": format!("Khách {i}"), "Email": format!("khach{i}@example.vn")}),
        );
        stores.records.create(&tenant, &c).await.expect("customer");
        let k = record(
            format!("k{i}"),
            Module::Contact,
            json!({"Name": format!("Liên hệ {i}"), "Customer": format!("c{i}"), "Email": format!("lienhe{i}@example.vn")}),
        );
        stores.records.create(&tenant, &k).await.expect("contact");
    }
    let mailbox = SettingId::new("sales-mail").expect("an id");
    let setting = serde_json::from_value(
        json!({"kind": "mailbox", "name": "Hộp thư", "user": "u-sales",
        "host": "imap.example.vn", "username": "sales@example.vn", "auth": "password"}),
    )
    .expect("a mailbox");
    stores
        .settings
        .create(&tenant, &mailbox, &setting)
        .await
        .expect("setting");
    let secrets = MemorySecretVault::new();
    let name = SecretName::for_setting(&tenant, SettingKind::Mailbox, &mailbox);
    secrets
        .put(
            &name,
            &SecretValue::new(json!({"password": "p"}).to_string()),
        )
        .await
        .expect("secret");
    let server = FakeMailServer::accepting(MailCredential::Password("p".into()));
    // A customer's mail, a contact's, and one in five from strangers (newsletters).
    for i in 0..messages {
        let from = match i % 5 {
            0 => "news@shop.vn".to_owned(),
            1 | 2 => format!("khach{}@example.vn", i % customers),
            _ => format!("lienhe{}@example.vn", i % customers),
        };
        let (folder, from, to) = match i % 4 {
            3 => ("Sent", "sales@example.vn".to_owned(), vec![from]),
            _ => ("INBOX", from, vec!["sales@example.vn".to_owned()]),
        };
        server.deliver(
            folder,
            FetchedMail {
                message_id: Some(format!("m{i}@example.vn")),
                date: Some(Utc.timestamp_opt(1_780_000_000 + i as i64 * 60, 0).unwrap()),
                from: vec![from],
                to,
                subject: format!("Thư {i}"),
                excerpt: "Chào anh, gửi anh báo giá.".into(),
                ..FetchedMail::default()
            },
        );
    }
    let status = MemorySyncStatus::new();
    let clock = FixedClock(Utc::now());
    let sync = MailboxSync {
        settings: &stores.settings,
        records: &stores.records,
        users: &stores.users,
        secrets: &secrets,
        status: &status,
        reader: &server,
        tokens: &crm_model::testing::memory::FixedTokens::new(),
        clock: &clock,
    };
    let run_all = || async {
        let before = stores.records.calls();
        let fetches = server.fetches();
        let started = Instant::now();
        let mut total = SyncReport::default();
        let mut runs = 0;
        loop {
            let report = sync.sync(&tenant, &mailbox).await.expect("a run");
            runs += 1;
            if report.read == 0 {
                break;
            }
            total.read += report.read;
            total.stored += report.stored;
            total.already += report.already;
            total.unmatched += report.unmatched;
        }
        let after = stores.records.calls();
        (
            total,
            runs,
            after.reads - before.reads,
            after.writes - before.writes,
            server.fetches() - fetches,
            started.elapsed(),
        )
    };
    let (first, runs, reads, writes, fetches, elapsed) = run_all().await;
    let per = |n: u64| n as f64 / first.read.max(1) as f64;
    println!("messages={messages}");
    println!("customers={customers}");
    println!("runs={runs}");
    println!("read={}", first.read);
    println!("stored={}", first.stored);
    println!("unmatched={}", first.unmatched);
    println!("record_reads={reads}");
    println!("record_writes={writes}");
    println!("per_message_record_reads={:.2}", per(reads));
    println!("per_message_record_writes={:.2}", per(writes));
    println!("imap_fetches={fetches}");
    println!("elapsed_ms={}", elapsed.as_millis());
    println!(
        "messages_per_second={:.0}",
        first.read as f64 / elapsed.as_secs_f64()
    );
    // One run of one mailbox at most reads 500 messages a folder; priced one call at a time.
    let projected = reads as f64 * read_ms + writes as f64 * write_ms + fetches as f64 * fetch_ms;
    println!("assumed_read_ms={read_ms}");
    println!("assumed_write_ms={write_ms}");
    println!("assumed_fetch_ms={fetch_ms}");
    println!("projected_seconds_for_all={:.1}", projected / 1000.0);
    println!(
        "projected_seconds_per_500_messages={:.1}",
        projected / 1000.0 / first.read.max(1) as f64 * 500.0
    );

    // The checkpoint lost: everything read again, nothing written twice.
    use crm_model::mailbox::ports::SyncStatusStore;
    status
        .put(&tenant, &mailbox, &Default::default())
        .await
        .expect("reset");
    let (again, _, reads, writes, _, _) = run_all().await;
    println!("resync_read={}", again.read);
    println!("resync_stored={}", again.stored);
    println!("resync_already={}", again.already);
    println!("resync_record_reads={reads}");
    println!("resync_record_writes_attempted={writes}");
}
