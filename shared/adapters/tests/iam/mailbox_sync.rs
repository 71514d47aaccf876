//! mailbox-sync through `mailbox_sync::handle`: a mailbox on a real IMAP server (dovecot, TLS)
//! read into a customer's history, its status written; a second mailbox whose password the
//! server refuses, its error kept.

use crm_adapters::imap::ImapReader;
use crm_adapters::secrets::SecretsManagerVault;
use crm_model::action::SettingKind;
use crm_model::ids::SettingId;
use crm_model::ports::SecretVault;
use crm_model::schema::Module;
use crm_model::settings::outbound::OutboundPolicy;
use crm_model::settings::secrets::{SecretName, SecretValue};
use serde_json::json;
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::pki_types::pem::PemObject;

use super::dovecot::Dovecot;
use super::harness::Audited;
use super::seed::Seed;
use super::support;

pub async fn exercise(audited: &mut Audited) {
    let seed = Seed::new().await;
    let mut server = Dovecot::start(&[("owner", "app-pass-1")]);
    let lan = format!("lan.{}@example.vn", seed.tag);
    seed.record(
        "c-lan",
        Module::Customer,
        json!({"Name": "Lan", "Email": lan, "Owner": "u-owner"}),
    )
    .await;
    let raw = format!(
        "Message-ID: <iam-{}@example.vn>\nFrom: {lan}\nTo: owner@example.vn\nSubject: Hỏi giá\n\nChào anh.\n",
        seed.tag
    );
    server.deliver("owner", "INBOX", &raw);
    let vault = SecretsManagerVault::from_sdk(&support::sdk().await);
    for (id, password) in [("mail-ok", "app-pass-1"), ("mail-refused", "wrong")] {
        seed.setting(
            id,
            json!({"kind": "mailbox", "name": id, "user": "u-owner", "host": "localhost",
                   "port": server.port, "username": "owner", "auth": "password"}),
        )
        .await;
        let name = SecretName::for_setting(
            &seed.tenant,
            SettingKind::Mailbox,
            &SettingId::new(id).unwrap(),
        );
        let secret = SecretValue::new(json!({"password": password}).to_string());
        vault.put(&name, &secret).await.unwrap();
    }
    let stores = audited.stores(&seed.schedule_table);
    let ca = CertificateDer::from_pem_file(&server.ca).unwrap();
    let deps = mailbox_sync::Deps::aws(
        stores,
        SecretsManagerVault::new(audited.secretsmanager()),
        ImapReader::new(OutboundPolicy::LOCAL, vec![ca]),
    );
    let deadline = std::time::SystemTime::now() + std::time::Duration::from_secs(600);
    let summary = mailbox_sync::handle(&deps, deadline).await.unwrap();
    assert!(summary.stored >= 1 && summary.failed >= 1, "{summary:?}");
    let status = deps.status.as_ref();
    let ok = status
        .get(&seed.tenant, &SettingId::new("mail-ok").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((ok.stored, ok.last_error), (1, None));
    let refused = status
        .get(&seed.tenant, &SettingId::new("mail-refused").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(refused.last_error.unwrap().contains("refused the login"));
}
