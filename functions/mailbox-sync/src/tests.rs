//! The handler over the in-memory stores and mailbox servers: every tenant's mailboxes are
//! synced, one mailbox's failure is its own, and a run near its deadline leaves the rest to the
//! next, which starts further along.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crm_model::action::SettingKind;
use crm_model::ids::{SettingId, TenantId, UserId};
use crm_model::mailbox::ports::{FetchedMail, MailCredential, SyncStatusStore};
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

use super::{Deps, handle, rotation};

struct World {
    deps: Deps,
    status: MemorySyncStatus,
}

/// Two tenants with a mailbox each (the second one's password refused) and a customer each
/// who wrote once.
async fn world() -> World {
    let stores = MemoryStores::new();
    let secrets = MemorySecretVault::new();
    let status = MemorySyncStatus::new();
    let server = FakeMailServer::accepting(MailCredential::Password("right".into()));
    for (tenant, password) in [("acme", "right"), ("globex", "wrong")] {
        let tenant = TenantId::new(tenant).unwrap();
        let user = User {
            id: UserId::new("u-sales").unwrap(),
            name: "Sáng".into(),
            email: "sales@example.vn".into(),
            phone: None,
            team: None,
            role: Role::Salesperson,
            manager: None,
            active: true,
        };
        stores.users.put(&tenant, &user).await.unwrap();
        let customer = StoredRecord {
            id: crm_model::ids::RecordId::new("c1").unwrap(),
            module: Module::Customer,
            fields: json!({"Name": "Lan", "Email": "lan@example.vn"})
                .as_object()
                .unwrap()
                .clone(),
        };
        stores.records.create(&tenant, &customer).await.unwrap();
        let id = SettingId::new("mail").unwrap();
        let setting = serde_json::from_value(json!({"kind": "mailbox", "name": "Hộp thư",
            "user": "u-sales", "host": "imap.example.vn", "username": "sales@example.vn",
            "auth": "password"}))
        .unwrap();
        stores
            .settings
            .create(&tenant, &id, &setting)
            .await
            .unwrap();
        let name = SecretName::for_setting(&tenant, SettingKind::Mailbox, &id);
        let secret = SecretValue::new(json!({"password": password}).to_string());
        secrets.put(&name, &secret).await.unwrap();
    }
    server.deliver(
        "INBOX",
        FetchedMail {
            message_id: Some("m1@example.vn".into()),
            from: vec!["lan@example.vn".into()],
            to: vec!["sales@example.vn".into()],
            subject: "Hỏi giá".into(),
            ..FetchedMail::default()
        },
    );
    let deps = Deps {
        settings: Arc::new(stores.settings.clone()),
        records: Arc::new(stores.records.clone()),
        users: Arc::new(stores.users.clone()),
        secrets: Arc::new(secrets),
        status: Arc::new(status.clone()),
        reader: Arc::new(server),
        tokens: Arc::new(crm_model::testing::memory::FixedTokens::new()),
        clock: Arc::new(FixedClock("2026-11-30T08:00:00Z".parse().unwrap())),
        concurrency: 8,
        per_mailbox: Duration::from_secs(120),
    };
    World { deps, status }
}

fn mail_id() -> SettingId {
    SettingId::new("mail").unwrap()
}

#[tokio::test]
async fn every_tenants_mailbox_is_synced_and_a_refused_one_fails_alone() {
    let w = world().await;
    let summary = handle(&w.deps, SystemTime::now() + Duration::from_secs(280))
        .await
        .unwrap();
    assert_eq!(
        (
            summary.mailboxes,
            summary.failed,
            summary.stored,
            summary.left
        ),
        (2, 1, 1, 0)
    );
    let acme = w
        .status
        .get(&TenantId::new("acme").unwrap(), &mail_id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((acme.stored, acme.last_error), (1, None));
    let globex = w
        .status
        .get(&TenantId::new("globex").unwrap(), &mail_id())
        .await
        .unwrap()
        .unwrap();
    assert!(globex.last_error.unwrap().contains("refused the login"));
}

#[tokio::test]
async fn a_run_without_the_time_for_a_whole_mailbox_starts_none() {
    let w = world().await;
    let summary = handle(&w.deps, SystemTime::now() + Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!((summary.mailboxes, summary.left), (0, 2));
    assert!(
        w.status
            .get(&TenantId::new("acme").unwrap(), &mail_id())
            .await
            .unwrap()
            .is_none()
    );
}

#[test]
fn each_run_starts_one_further_along_the_list() {
    let at = |secs: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
    assert_eq!(rotation(3, at(0)), 0);
    assert_eq!(rotation(3, at(300)), 1);
    assert_eq!(rotation(3, at(600 + 299)), 2);
    assert_eq!(rotation(3, at(900)), 0);
    assert_eq!(rotation(0, at(900)), 0);
}

/// A server that never answers.
struct Silent;

#[async_trait::async_trait]
impl crm_model::mailbox::ports::MailReader for Silent {
    async fn open(
        &self,
        _: &crm_model::mailbox::Mailbox,
        _: &MailCredential,
    ) -> Result<Box<dyn crm_model::mailbox::ports::MailSession>, crm_model::mailbox::ports::MailError>
    {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        Err(crm_model::mailbox::ports::MailError::Unreachable(
            "never".into(),
        ))
    }
}

#[tokio::test]
async fn a_mailbox_out_of_time_says_so_in_its_status() {
    let mut w = world().await;
    w.deps.reader = Arc::new(Silent);
    w.deps.per_mailbox = Duration::from_millis(50);
    let summary = handle(&w.deps, SystemTime::now() + Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!((summary.mailboxes, summary.failed), (2, 2));
    let acme = w
        .status
        .get(&TenantId::new("acme").unwrap(), &mail_id())
        .await
        .unwrap()
        .unwrap();
    assert!(acme.last_error.unwrap().contains("goes on at the next run"));
    assert!(acme.last_run_at.is_some());
}
