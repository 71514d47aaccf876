//! The settings store: settings keyed by (kind, id) with revisions, listing per kind, the infos
//! validation reads, and the tenant's own settings.

use std::collections::HashMap;

use super::{Tenants, all_pages, second_page};
use crate::action::SettingKind;
use crate::ids::SettingId;
use crate::schema::Module;
use crate::settings::store::SettingsStore;
use crate::settings::{Setting, SmsGateway, SmsProvider, TenantSettings};
use crate::store::{PageRequest, Revisioned, StoreError};
use crate::template::SmsTemplate;

fn id(value: &str) -> SettingId {
    SettingId::new(value).expect("a valid setting id")
}

fn template(body: &str) -> Setting {
    Setting::SmsTemplate(SmsTemplate {
        name: "Sinh nhật".into(),
        module: Module::Customer,
        body: body.into(),
    })
}

fn provider(sender: &str) -> Setting {
    Setting::SmsProvider(SmsProvider {
        name: "SNS".into(),
        gateway: SmsGateway::Sns {
            sender_id: sender.into(),
        },
    })
}

async fn create(
    store: &dyn SettingsStore,
    t: &Tenants,
    setting_id: &str,
    setting: &Setting,
) -> Revisioned<Setting> {
    store
        .create(&t.tenant, &id(setting_id), setting)
        .await
        .unwrap_or_else(|e| panic!("creating setting {setting_id} failed: {e:?}"))
}

async fn read(
    store: &dyn SettingsStore,
    t: &Tenants,
    kind: SettingKind,
    setting_id: &str,
) -> Option<Revisioned<Setting>> {
    store
        .get(&t.tenant, kind, &id(setting_id))
        .await
        .expect("get a setting")
}

pub async fn a_created_setting_reads_back_for_its_tenant_and_kind_only(
    store: &dyn SettingsStore,
    t: &Tenants,
) {
    let setting = template("Chúc mừng sinh nhật #Name");
    let created = create(store, t, "s-read", &setting).await;
    assert_eq!(
        (&created.value, created.revision),
        (&setting, 1),
        "created at revision 1"
    );
    let got = read(store, t, SettingKind::SmsTemplate, "s-read").await;
    assert_eq!(got, Some(created), "the setting reads back");
    let other_kind = read(store, t, SettingKind::SmsProvider, "s-read").await;
    assert_eq!(other_kind, None, "the kind is part of a setting's key");
    let stranger = store
        .get(&t.other, SettingKind::SmsTemplate, &id("s-read"))
        .await;
    assert_eq!(
        stranger.expect("get"),
        None,
        "another tenant must not see the setting"
    );
    // The same id under another kind is another setting.
    create(store, t, "s-read", &provider("CRM")).await;
    let got = read(store, t, SettingKind::SmsTemplate, "s-read").await;
    assert_eq!(
        got.map(|s| s.value),
        Some(setting),
        "the template is untouched"
    );
}

pub async fn creating_an_existing_setting_is_refused(store: &dyn SettingsStore, t: &Tenants) {
    let first = template("Một");
    create(store, t, "s-twice", &first).await;
    let result = store
        .create(&t.tenant, &id("s-twice"), &template("Hai"))
        .await;
    refused!(result, StoreError::AlreadyExists, "creating a taken id");
    let got = read(store, t, SettingKind::SmsTemplate, "s-twice").await;
    assert_eq!(
        got.map(|s| (s.value, s.revision)),
        Some((first, 1)),
        "the first is untouched"
    );
}

pub async fn replacing_needs_the_current_revision(store: &dyn SettingsStore, t: &Tenants) {
    create(store, t, "s-replace", &template("Một")).await;
    let second = template("Hai");
    let replaced = store.replace(&t.tenant, &id("s-replace"), &second, 1).await;
    let replaced = replaced.expect("replacing at the current revision");
    assert_eq!((&replaced.value, replaced.revision), (&second, 2));
    let result = store
        .replace(&t.tenant, &id("s-replace"), &template("Ba"), 1)
        .await;
    refused!(
        result,
        StoreError::Conflict { expected: 1 },
        "replacing at a stale revision"
    );
    let got = read(store, t, SettingKind::SmsTemplate, "s-replace").await;
    assert_eq!(got, Some(replaced), "the refused replace changed nothing");
    let result = store
        .replace(&t.tenant, &id("s-ghost"), &template("Ma"), 1)
        .await;
    refused!(result, StoreError::NotFound, "replacing a missing setting");
    let ghost = read(store, t, SettingKind::SmsTemplate, "s-ghost").await;
    assert_eq!(ghost, None, "a refused replace creates nothing");
    let result = store
        .replace(&t.other, &id("s-replace"), &template("Lạ"), 2)
        .await;
    refused!(
        result,
        StoreError::NotFound,
        "another tenant's setting is missing here"
    );
}

pub async fn deleting_needs_the_current_revision(store: &dyn SettingsStore, t: &Tenants) {
    create(store, t, "s-delete", &template("Một")).await;
    let replaced = store
        .replace(&t.tenant, &id("s-delete"), &template("Hai"), 1)
        .await;
    let replaced = replaced.expect("replace");
    let kind = SettingKind::SmsTemplate;
    let result = store.delete(&t.tenant, kind, &id("s-delete"), 1).await;
    refused!(
        result,
        StoreError::Conflict { expected: 1 },
        "deleting at a stale revision"
    );
    let got = read(store, t, kind, "s-delete").await;
    assert_eq!(got, Some(replaced), "the refused delete changed nothing");
    let result = store.delete(&t.tenant, kind, &id("s-delete"), 2).await;
    result.expect("deleting at the current revision");
    assert_eq!(
        read(store, t, kind, "s-delete").await,
        None,
        "the setting is gone"
    );
    let result = store.delete(&t.tenant, kind, &id("s-delete"), 2).await;
    refused!(result, StoreError::NotFound, "deleting a missing setting");
}

pub async fn listing_returns_one_kind_in_id_order(store: &dyn SettingsStore, t: &Tenants) {
    for name in ["s-c", "s-a", "s-e", "s-b", "s-d"] {
        create(store, t, name, &template(name)).await;
    }
    create(store, t, "s-0", &provider("CRM")).await;
    store
        .create(&t.other, &id("s-0"), &template("x"))
        .await
        .expect("create elsewhere");
    let kind = SettingKind::SmsTemplate;
    let listed = all_pages("sms templates", 2, |page| async move {
        store.list(&t.tenant, kind, &page).await
    })
    .await;
    let ids: Vec<&str> = listed.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        ids,
        ["s-a", "s-b", "s-c", "s-d", "s-e"],
        "one kind, in id order"
    );
    for (id, setting) in &listed {
        assert_eq!(
            (&setting.value, setting.revision),
            (&template(id.as_str()), 1),
            "{id} is listed as stored"
        );
    }
    let providers = store
        .list(&t.tenant, SettingKind::SmsProvider, &PageRequest::first(10))
        .await;
    let providers = providers.expect("list providers").items;
    assert_eq!(providers.len(), 1, "one provider: {providers:?}");
    let page = second_page("sms templates", 2, |p| async move {
        store.list(&t.tenant, kind, &p).await
    })
    .await;
    let result = store.list(&t.other, kind, &page).await;
    refused!(result, StoreError::BadCursor, "another tenant's cursor");
    let result = store.list(&t.tenant, SettingKind::SmsProvider, &page).await;
    refused!(
        result,
        StoreError::BadCursor,
        "a cursor of another kind's listing"
    );
}

pub async fn infos_describe_only_the_settings_that_exist(store: &dyn SettingsStore, t: &Tenants) {
    let sms = template("Chào #Name");
    let sender = provider("CRM");
    create(store, t, "s-tpl", &sms).await;
    create(store, t, "s-prov", &sender).await;
    store
        .create(&t.other, &id("s-else"), &template("x"))
        .await
        .expect("create elsewhere");
    let refs = [
        (SettingKind::SmsTemplate, id("s-tpl")),
        (SettingKind::SmsProvider, id("s-prov")),
        (SettingKind::SmsTemplate, id("s-prov")),
        (SettingKind::SmsTemplate, id("s-missing")),
        (SettingKind::SmsTemplate, id("s-else")),
    ];
    let infos = store.infos(&t.tenant, &refs).await.expect("infos");
    let expected = HashMap::from([
        ((SettingKind::SmsTemplate, id("s-tpl")), sms.info()),
        ((SettingKind::SmsProvider, id("s-prov")), sender.info()),
    ]);
    assert_eq!(
        infos, expected,
        "only the settings of this tenant, kind and id"
    );
    let none = store.infos(&t.tenant, &[]).await.expect("infos of nothing");
    assert!(none.is_empty(), "no refs, no infos");
}

pub async fn tenant_settings_start_as_the_defaults_at_revision_zero(
    store: &dyn SettingsStore,
    t: &Tenants,
) {
    let fresh = store
        .tenant_settings(&t.tenant)
        .await
        .expect("tenant settings");
    assert_eq!(
        (fresh.value, fresh.revision),
        (TenantSettings::default(), 0)
    );
    let bangkok = TenantSettings {
        time_zone: "Asia/Bangkok".into(),
        ..TenantSettings::default()
    };
    let saved = store.put_tenant_settings(&t.tenant, &bangkok, 0).await;
    let saved = saved.expect("the first save expects revision 0");
    assert_eq!((&saved.value, saved.revision), (&bangkok, 1));
    let result = store
        .put_tenant_settings(&t.tenant, &TenantSettings::default(), 0)
        .await;
    refused!(
        result,
        StoreError::Conflict { expected: 0 },
        "a second first save"
    );
    let tokyo = TenantSettings {
        time_zone: "Asia/Tokyo".into(),
        ..bangkok.clone()
    };
    let saved = store
        .put_tenant_settings(&t.tenant, &tokyo, 1)
        .await
        .expect("save at 1");
    assert_eq!(saved.revision, 2);
    let result = store.put_tenant_settings(&t.tenant, &bangkok, 1).await;
    refused!(result, StoreError::Conflict { expected: 1 }, "a stale save");
    let read = store
        .tenant_settings(&t.tenant)
        .await
        .expect("tenant settings");
    assert_eq!(
        (read.value, read.revision),
        (tokyo, 2),
        "the last accepted save"
    );
    let other = store
        .tenant_settings(&t.other)
        .await
        .expect("tenant settings");
    assert_eq!(
        (other.value, other.revision),
        (TenantSettings::default(), 0)
    );
}
