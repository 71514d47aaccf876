//! The mailbox sync against a real IMAP server (dovecot, over TLS) and the emulator, through the
//! function's own wiring: mail to and from a customer or its contact lands on the customer's
//! history in DynamoDB, a resync stores nothing twice (nor does a lost checkpoint), XOAUTH2
//! logs in with a token, and a refused login is kept as the mailbox's last error. The rules
//! (renumbered folders, catching up, matching) are tested in memory in
//! `shared/model/tests/mailbox_sync.rs`.

#[path = "support/dovecot.rs"]
mod dovecot;
mod support;

use crm_adapters::dynamo::Stores;
use crm_adapters::imap::ImapReader;
use crm_adapters::secrets::SecretsManagerVault;
use crm_model::action::SettingKind;
use crm_model::ids::{RecordId, SettingId, TenantId, UserId};
use crm_model::mailbox::ports::SyncStatus;
use crm_model::ports::{FixedClock, RecordStore, SettingsStore, StoredRecord, UserDirectory};
use crm_model::record::service::{Actor, MessageFilter, Records};
use crm_model::schema::Module;
use crm_model::settings::outbound::OutboundPolicy;
use crm_model::settings::secrets::{SecretName, SecretValue};
use crm_model::user::{Role, User};
use dovecot::Dovecot;
use serde_json::{Value, json};
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::pki_types::pem::PemObject;

fn record(module: Module, id: &str, fields: Value) -> StoredRecord {
    StoredRecord {
        id: RecordId::new(id).unwrap(),
        module,
        fields: fields.as_object().unwrap().clone(),
    }
}

fn mail(id: &str, from: &str, to: &str, subject: &str) -> String {
    format!(
        "Message-ID: <{id}@mail.example.vn>\nDate: Wed, 20 May 2026 10:00:00 +0700\nFrom: {from}\n\
         To: {to}\nSubject: {subject}\nMIME-Version: 1.0\n\
         Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\nContent-Type: text/plain; charset=utf-8\n\n\
         Chào anh, gửi anh báo giá tháng 6.\n--b\nContent-Type: application/pdf\n\
         Content-Disposition: attachment; filename=\"bao-gia.pdf\"\nContent-Transfer-Encoding: base64\n\n\
         JVBERi0xLjQK\n--b--\n"
    )
}

struct Desk {
    deps: mailbox_sync::Deps,
    tenant: TenantId,
    stores: Stores,
}

impl Desk {
    async fn mailbox(
        &self,
        id: &str,
        user: &str,
        username: &str,
        auth: &str,
        port: u16,
        secret: Value,
    ) {
        // The OAuth2 mailbox keeps its sent mail in a folder of a Vietnamese name.
        let sent = if auth == "oauth2" {
            "Thư đã gửi"
        } else {
            "Sent"
        };
        let setting = serde_json::from_value(json!({"kind": "mailbox", "name": id, "user": user,
            "host": "localhost", "port": port, "username": username, "auth": auth, "sent": sent}))
        .unwrap();
        let id = SettingId::new(id).unwrap();
        self.stores
            .settings
            .create(&self.tenant, &id, &setting)
            .await
            .unwrap();
        let name = SecretName::for_setting(&self.tenant, SettingKind::Mailbox, &id);
        self.deps
            .secrets
            .put(&name, &SecretValue::new(secret.to_string()))
            .await
            .unwrap();
    }

    async fn sync(&self, id: &str) -> Result<crm_model::mailbox::sync::SyncReport, String> {
        let id = SettingId::new(id).unwrap();
        self.deps
            .use_case()
            .sync(&self.tenant, &id)
            .await
            .map_err(|e| e.to_string())
    }

    async fn status(&self, id: &str) -> SyncStatus {
        let id = SettingId::new(id).unwrap();
        self.deps
            .status
            .get(&self.tenant, &id)
            .await
            .unwrap()
            .unwrap()
    }

    /// The customer's history as the salesperson reads it: (direction, subject, contact).
    async fn history(
        &self,
        customer: &str,
        filter: MessageFilter,
    ) -> Vec<(String, String, String)> {
        let clock = FixedClock(chrono::Utc::now());
        let records = Records {
            records: &self.stores.records,
            users: &self.stores.users,
            settings: &self.stores.settings,
            runs: &self.stores.runs,
            inbox: &self.stores.inbox,
            clock: &clock,
        };
        let actor = Actor {
            tenant: self.tenant.clone(),
            user: UserId::new("u-sales").unwrap(),
            role: Role::Salesperson,
            access: crm_model::user::access::Access::everything(),
        };
        let mut found: Vec<_> = records
            .messages(
                &actor,
                &RecordId::new(customer).unwrap(),
                &filter,
                100,
                None,
            )
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|m| {
                let v = m.value;
                (
                    v.text("Direction").to_owned(),
                    v.text("Subject").to_owned(),
                    v.text("Contact").to_owned(),
                )
            })
            .collect();
        found.sort();
        found
    }
}

#[tokio::test]
async fn a_real_mailbox_fills_the_customers_history_once_whatever_the_resyncs() {
    let mut server = Dovecot::start(&[("sales", "app-pass-1"), ("oauth", "token-abc")]);
    let clients = support::clients().await;
    let sdk = support::sdk().await;
    let stores = Stores::new(&clients.dynamodb, &support::tables());
    let ca = CertificateDer::from_pem_file(&server.ca).unwrap();
    let deps = mailbox_sync::Deps::aws(
        Stores::new(&clients.dynamodb, &support::tables()),
        SecretsManagerVault::from_sdk(&sdk),
        ImapReader::new(OutboundPolicy::LOCAL, vec![ca]),
    );
    let desk = Desk {
        deps,
        tenant: support::fresh_tenant(),
        stores,
    };
    let tenant = &desk.tenant;
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let (lan, tuan, minh) = (
        format!("lan.{tag}@example.vn"),
        format!("tuan.{tag}@example.vn"),
        format!("minh.{tag}@example.vn"),
    );
    for (id, email) in [
        ("u-sales", "sales@example.vn"),
        ("u-oauth", "oauth@example.vn"),
    ] {
        let user = User {
            id: UserId::new(id).unwrap(),
            name: id.into(),
            email: email.into(),
            phone: None,
            team: None,
            role: Role::Salesperson,
            manager: None,
            active: true,
        };
        desk.stores.users.put(tenant, &user).await.unwrap();
    }
    let records = &desk.stores.records;
    for r in [
        record(
            Module::Customer,
            "c1",
            json!({"Name": "Lan", "Email": lan.to_uppercase(), "Owner": "u-sales"}),
        ),
        record(
            Module::Contact,
            "k1",
            json!({"Name": "Tuấn", "Customer": "c1", "Email": tuan, "Owner": "u-sales"}),
        ),
        record(
            Module::Customer,
            "c2",
            json!({"Name": "Minh", "Email": minh, "Owner": "u-sales"}),
        ),
    ] {
        records.create(tenant, &r).await.unwrap();
    }
    server.deliver(
        "sales",
        "INBOX",
        &mail(
            "m1",
            &format!("\"Lan\" <{lan}>"),
            "sales@example.vn",
            "Hỏi giá",
        ),
    );
    server.deliver(
        "sales",
        "INBOX",
        &mail("m2", &tuan, "Sales <sales@example.vn>", "Hợp đồng"),
    );
    server.deliver(
        "sales",
        "INBOX",
        &mail("m3", "news@shop.vn", "sales@example.vn", "Khuyến mãi"),
    );
    server.deliver(
        "sales",
        "Sent",
        &mail(
            "m4",
            "sales@example.vn",
            &format!("{minh}, {lan}"),
            "Báo giá",
        ),
    );
    desk.mailbox(
        "sales-mail",
        "u-sales",
        "sales",
        "password",
        server.port,
        json!({"password": "app-pass-1"}),
    )
    .await;

    let first = desk.sync("sales-mail").await.unwrap();
    assert_eq!(
        (first.read, first.stored, first.unmatched),
        (4, 4, 1),
        "{first:?}"
    );
    let all = MessageFilter::default();
    assert_eq!(
        desk.history("c1", all.clone()).await,
        [
            ("Incoming".into(), "Hỏi giá".into(), String::new()),
            ("Incoming".into(), "Hợp đồng".into(), "k1".into()),
            ("Outgoing".into(), "Báo giá".into(), String::new()),
        ]
    );
    assert_eq!(
        desk.history("c2", all.clone()).await,
        [("Outgoing".into(), "Báo giá".into(), String::new())]
    );
    // The history's filters: by contact, by direction.
    let of_k1 = MessageFilter {
        contact: Some(RecordId::new("k1").unwrap()),
        ..all.clone()
    };
    assert_eq!(desk.history("c1", of_k1).await.len(), 1);
    let outgoing = MessageFilter {
        direction: Some("Outgoing".into()),
        ..all.clone()
    };
    assert_eq!(desk.history("c1", outgoing).await.len(), 1);
    let stored = records
        .list(
            tenant,
            Module::Message,
            &Default::default(),
            &crm_model::store::PageRequest::first(50),
        )
        .await
        .unwrap();
    let hop_dong = stored
        .items
        .iter()
        .map(|r| &r.value)
        .find(|m| m.text("Subject") == "Hợp đồng")
        .unwrap();
    assert_eq!(hop_dong.text("Attachments"), "bao-gia.pdf");
    assert_eq!(hop_dong.text("Body"), "Chào anh, gửi anh báo giá tháng 6.");
    assert_eq!(hop_dong.text("SentAt"), "2026-05-20T03:00:00.000Z");
    assert_eq!(hop_dong.text("Status"), "Received");
    assert_eq!(hop_dong.text("Owner"), "u-sales");

    // Nothing new: nothing read. A new message: only it.
    let again = desk.sync("sales-mail").await.unwrap();
    assert_eq!((again.read, again.stored), (0, 0));
    server.deliver(
        "sales",
        "INBOX",
        &mail("m5", &lan, "sales@example.vn", "Cảm ơn"),
    );
    let next = desk.sync("sales-mail").await.unwrap();
    assert_eq!((next.read, next.stored), (1, 1));
    // The checkpoint lost: everything read again, nothing stored twice.
    let id = SettingId::new("sales-mail").unwrap();
    desk.deps
        .status
        .put(tenant, &id, &SyncStatus::default())
        .await
        .unwrap();
    let lost = desk.sync("sales-mail").await.unwrap();
    assert_eq!(
        (lost.read, lost.stored, lost.already),
        (5, 0, 5),
        "{lost:?}"
    );
    assert_eq!(desk.history("c1", all.clone()).await.len(), 4);
    let status = desk.status("sales-mail").await;
    assert_eq!(status.folders["INBOX"].last_uid, 4);
    assert_eq!(status.folders["Sent"].last_uid, 1);
    assert_eq!(status.last_error, None);

    // XOAUTH2 with an access token; a refused token is the mailbox's last error.
    server.deliver(
        "oauth",
        "INBOX",
        &mail("o1", &minh, "oauth@example.vn", "Qua Gmail"),
    );
    server.deliver(
        "oauth",
        "Thư đã gửi",
        &mail("o2", "oauth@example.vn", &minh, "Trả lời"),
    );
    desk.mailbox(
        "oauth-mail",
        "u-oauth",
        "oauth",
        "oauth2",
        server.port,
        json!({"access_token": "token-abc"}),
    )
    .await;
    assert_eq!(desk.sync("oauth-mail").await.unwrap().stored, 2);
    let name = SecretName::for_setting(
        tenant,
        SettingKind::Mailbox,
        &SettingId::new("oauth-mail").unwrap(),
    );
    let expired = SecretValue::new(json!({"access_token": "expired"}).to_string());
    desk.deps.secrets.put(&name, &expired).await.unwrap();
    let refused = desk.sync("oauth-mail").await.unwrap_err();
    assert!(refused.contains("refused the login"), "{refused}");
    let status = desk.status("oauth-mail").await;
    assert!(status.last_error.unwrap().contains("refused the login"));
    assert_eq!(status.stored, 2);

    // A refresh token traded at a token endpoint (a stub on loopback) for the token dovecot
    // takes; the endpoint's refusal of another is the mailbox's last error.
    let endpoint = support::serve(axum::Router::new().route(
        "/token",
        axum::routing::post(|body: String| async move {
            let form: std::collections::HashMap<String, String> =
                serde_urlencoded::from_str(&body).unwrap();
            let granted = form.get("grant_type").map(String::as_str) == Some("refresh_token")
                && form.get("refresh_token").map(String::as_str) == Some("refresh-1")
                && form.get("client_id").map(String::as_str) == Some("crm-client");
            if granted {
                (
                    axum::http::StatusCode::OK,
                    r#"{"access_token":"token-abc","expires_in":3599}"#,
                )
            } else {
                (
                    axum::http::StatusCode::BAD_REQUEST,
                    r#"{"error":"invalid_grant"}"#,
                )
            }
        }),
    ))
    .await;
    server.deliver(
        "oauth",
        "INBOX",
        &mail("o3", &lan, "oauth@example.vn", "Qua refresh token"),
    );
    let refresh = SettingId::new("oauth-refresh").unwrap();
    let setting = serde_json::from_value(
        json!({"kind": "mailbox", "name": "refresh", "user": "u-oauth",
        "host": "localhost", "port": server.port, "username": "oauth", "auth": "oauth2",
        "token_url": format!("{endpoint}/token")}),
    )
    .unwrap();
    desk.stores
        .settings
        .create(tenant, &refresh, &setting)
        .await
        .unwrap();
    let name = SecretName::for_setting(tenant, SettingKind::Mailbox, &refresh);
    let keys =
        json!({"refresh_token": "refresh-1", "client_id": "crm-client", "client_secret": "shh"});
    desk.deps
        .secrets
        .put(&name, &SecretValue::new(keys.to_string()))
        .await
        .unwrap();
    let traded = desk.sync("oauth-refresh").await.unwrap();
    // Its inbox: the message kept through the other mailbox of the same user once, the new one.
    assert_eq!(
        (traded.read, traded.stored, traded.already),
        (2, 1, 1),
        "{traded:?}"
    );
    let revoked =
        json!({"refresh_token": "revoked", "client_id": "crm-client", "client_secret": "shh"});
    desk.deps
        .secrets
        .put(&name, &SecretValue::new(revoked.to_string()))
        .await
        .unwrap();
    let refused = desk.sync("oauth-refresh").await.unwrap_err();
    assert!(
        refused.contains("invalid_grant") && !refused.contains("shh"),
        "{refused}"
    );

    // The scheduled run lists both mailboxes (among other tenants') and tries each.
    let deadline = std::time::SystemTime::now() + std::time::Duration::from_secs(600);
    let summary = mailbox_sync::handle(&desk.deps, deadline).await.unwrap();
    assert!(summary.mailboxes >= 2 && summary.failed >= 1, "{summary:?}");
    assert!(desk.status("sales-mail").await.last_run_at > status.last_run_at);
}
