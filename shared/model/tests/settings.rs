//! The settings use cases over the in-memory stores: templates, providers and allocation rules
//! validated against the tenant's schema and users, revisions on replace and delete, a setting in
//! use by a workflow kept from deletion, and the tenant's own settings.

mod support;

use crm_model::action::SettingKind;
use crm_model::ids::{SettingId, UserId};
use crm_model::schema::Module;
use crm_model::settings::service::{SettingError, Settings};
use crm_model::settings::{AllocationRule, Setting};
use crm_model::template::SmsTemplate;
use serde_json::json;
use support::definitions::{cases, noon, wid};
use support::{World, admin, birthday_definition};

fn settings(w: &World) -> Settings<'_> {
    w.settings()
}

fn sid(id: &str) -> SettingId {
    SettingId::new(id).unwrap()
}

fn sms_template(body: &str) -> Setting {
    Setting::SmsTemplate(SmsTemplate {
        name: "Chào".into(),
        module: Module::Customer,
        body: body.into(),
    })
}

#[tokio::test]
async fn a_template_is_checked_against_the_tenants_schema_and_an_invalid_one_is_not_saved() {
    let w = World::new().await;
    let settings = settings(&w);
    let (t, id) = (&w.tenant, sid("sms-hello"));
    let typo = settings
        .create(t, &id, &sms_template("Xin chào #Nmae"))
        .await;
    let Err(SettingError::Invalid(problems)) = typo else {
        panic!("expected problems, got {typo:?}");
    };
    assert!(problems.has("/body"), "{problems}");
    let zalo = sms_template("Zalo của bạn: #ZaloId");
    let unknown = settings.create(t, &id, &zalo).await;
    assert!(
        matches!(unknown, Err(SettingError::Invalid(_))),
        "{unknown:?}"
    );
    assert!(matches!(
        settings.get(t, SettingKind::SmsTemplate, &id).await,
        Err(SettingError::NotFound)
    ));

    let mut tenant = settings.tenant_settings(t).await.unwrap();
    tenant.value.custom_fields = vec![
        serde_json::from_value(json!({
            "module": "Customer", "name": "ZaloId", "label_vi": "Zalo ID", "label_en": "Zalo ID",
            "kind": {"type": "text"}
        }))
        .unwrap(),
    ];
    settings
        .put_tenant_settings(t, &tenant.value, tenant.revision)
        .await
        .unwrap();
    let created = settings.create(t, &id, &zalo).await.unwrap();
    assert_eq!((created.revision, &created.value), (1, &zalo));
    let taken = settings.create(t, &id, &sms_template("Khác")).await;
    assert!(
        matches!(taken, Err(SettingError::AlreadyExists)),
        "{taken:?}"
    );
    let read = settings
        .get(t, SettingKind::SmsTemplate, &id)
        .await
        .unwrap();
    assert_eq!(read, created);
}

#[tokio::test]
async fn an_allocation_rule_names_each_unknown_or_repeated_user() {
    let w = World::new().await;
    let user = |id: &str| UserId::new(id).unwrap();
    let rule = |users: Vec<UserId>| {
        Setting::AllocationRule(AllocationRule::round_robin(
            "Vòng tròn",
            Module::Customer,
            users,
        ))
    };
    let bad = rule(vec![user("u-admin"), user("u-ghost"), user("u-admin")]);
    let refused = settings(&w).create(&w.tenant, &sid("rr"), &bad).await;
    let Err(SettingError::Invalid(problems)) = refused else {
        panic!("expected problems, got {refused:?}");
    };
    assert!(
        problems.has("/users/1") && problems.has("/users/2") && !problems.has("/users/0"),
        "{problems}"
    );
    let good = settings(&w)
        .create(&w.tenant, &sid("rr"), &rule(vec![user("u-admin")]))
        .await;
    assert!(good.is_ok(), "{good:?}");
}

#[tokio::test]
async fn a_setting_is_replaced_and_deleted_at_its_current_revision_only() {
    let w = World::new().await;
    let settings = settings(&w);
    let (t, id) = (&w.tenant, sid("sms-hello"));
    settings
        .create(t, &id, &sms_template("Chào #Name"))
        .await
        .unwrap();
    let v2 = settings
        .replace(t, &id, &sms_template("Xin chào #Name"), 1)
        .await
        .unwrap();
    assert_eq!(v2.revision, 2);
    let stale = settings.replace(t, &id, &sms_template("Lỗi"), 1).await;
    assert!(
        matches!(stale, Err(SettingError::Stale { expected: 1 })),
        "{stale:?}"
    );
    let invalid = settings.replace(t, &id, &sms_template(""), 2).await;
    assert!(
        matches!(invalid, Err(SettingError::Invalid(_))),
        "{invalid:?}"
    );
    let missing = settings
        .replace(t, &sid("nope"), &sms_template("Chào"), 1)
        .await;
    assert!(
        matches!(missing, Err(SettingError::NotFound)),
        "{missing:?}"
    );
    let kind = SettingKind::SmsTemplate;
    let stale_delete = settings.delete(t, kind, &id, 1).await;
    assert!(matches!(
        stale_delete,
        Err(SettingError::Stale { expected: 1 })
    ));
    let read = settings.get(t, kind, &id).await.unwrap();
    assert_eq!(read, v2, "nothing refused changed anything");
    settings.delete(t, kind, &id, 2).await.unwrap();
    assert!(matches!(
        settings.get(t, kind, &id).await,
        Err(SettingError::NotFound)
    ));
}

#[tokio::test]
async fn a_setting_named_by_any_workflow_cannot_be_deleted_and_the_error_names_the_workflow() {
    let w = World::new().await;
    let clock = noon();
    let workflows = cases(&w, &clock);
    let created = workflows
        .create(&w.tenant, &admin(), wid("wf-uses"), birthday_definition())
        .await
        .unwrap();
    let settings = settings(&w);
    for (kind, id) in [
        (SettingKind::SmsTemplate, "sms-birthday"),
        (SettingKind::SmsProvider, "sms"),
    ] {
        let refused = settings.delete(&w.tenant, kind, &sid(id), 1).await;
        match refused {
            Err(SettingError::InUse(names)) => {
                assert_eq!(names, ["workflow 'Sinh nhật' (wf-uses)"])
            }
            other => panic!("expected InUse for {id}, got {other:?}"),
        }
        assert!(settings.get(&w.tenant, kind, &sid(id)).await.is_ok());
    }
    // Once the (draft) workflow is gone, so may the template be.
    workflows
        .delete(&w.tenant, &wid("wf-uses"), Some(created.revision))
        .await
        .unwrap();
    let kind = SettingKind::SmsTemplate;
    settings
        .delete(&w.tenant, kind, &sid("sms-birthday"), 1)
        .await
        .unwrap();
    assert!(matches!(
        settings.get(&w.tenant, kind, &sid("sms-birthday")).await,
        Err(SettingError::NotFound)
    ));
}

#[tokio::test]
async fn tenant_settings_start_at_revision_zero_with_the_defaults_and_saves_need_the_current_revision()
 {
    let w = World::new().await;
    let settings = settings(&w);
    let t = &w.tenant;
    let defaults = settings.tenant_settings(t).await.unwrap();
    assert_eq!(
        (defaults.revision, defaults.value.time_zone.as_str()),
        (0, "Asia/Ho_Chi_Minh")
    );
    let mut bangkok = defaults.value.clone();
    bangkok.time_zone = "Asia/Bangkok".into();
    let saved = settings.put_tenant_settings(t, &bangkok, 0).await.unwrap();
    assert_eq!(saved.revision, 1);
    let stale = settings.put_tenant_settings(t, &bangkok, 0).await;
    assert!(
        matches!(stale, Err(SettingError::Stale { expected: 0 })),
        "{stale:?}"
    );

    let mut invalid = bangkok.clone();
    invalid.time_zone = "Saigon".into();
    invalid.loyalty = Some(
        serde_json::from_value(json!({
            "amount_per_point": 0, "tiers": [{"rank": "Platinum", "min_points": 10}]
        }))
        .unwrap(),
    );
    let refused = settings.put_tenant_settings(t, &invalid, 1).await;
    let Err(SettingError::Invalid(problems)) = refused else {
        panic!("expected problems, got {refused:?}");
    };
    for path in [
        "/time_zone",
        "/loyalty/amount_per_point",
        "/loyalty/tiers/0/rank",
    ] {
        assert!(problems.has(path), "no problem at {path}: {problems}");
    }
    let now = settings.tenant_settings(t).await.unwrap();
    assert_eq!((now.revision, now.value), (1, bangkok));
}

#[tokio::test]
async fn message_countries_are_saved_only_as_known_regions_each_listed_once() {
    let w = World::new().await;
    let settings = settings(&w);
    let t = &w.tenant;
    let defaults = settings.tenant_settings(t).await.unwrap();
    assert_eq!(defaults.value.message_countries, ["VN"], "Vietnam only");
    let mut invalid = defaults.value.clone();
    invalid.message_countries = ["VN", "Vietnam", "SG", "SG"].map(String::from).to_vec();
    let refused = settings.put_tenant_settings(t, &invalid, 0).await;
    let Err(SettingError::Invalid(problems)) = refused else {
        panic!("expected problems, got {refused:?}");
    };
    assert!(
        problems.has("/message_countries/1") && problems.has("/message_countries/3"),
        "{problems}"
    );
    assert!(
        !problems.has("/message_countries/0") && !problems.has("/message_countries/2"),
        "{problems}"
    );
    let mut abroad = defaults.value.clone();
    abroad.message_countries = ["VN", "SG"].map(String::from).to_vec();
    let saved = settings.put_tenant_settings(t, &abroad, 0).await.unwrap();
    assert_eq!(saved.value.message_countries, ["VN", "SG"]);
    assert_eq!(
        settings.tenant_settings(t).await.unwrap().value,
        abroad,
        "read back"
    );
}

fn brandname_provider(base_url: &str) -> Setting {
    serde_json::from_value(json!({
        "kind": "sms_provider", "name": "eSMS",
        "gateway": {"type": "brandname", "base_url": base_url, "brandname": "ACME"}
    }))
    .unwrap()
}

#[tokio::test]
async fn credentials_are_kept_under_the_tenants_own_name_and_never_read_back() {
    let w = World::new().await;
    let settings = settings(&w);
    let (t, id) = (&w.tenant, sid("esms"));
    settings
        .create(t, &id, &brandname_provider("https://api.esms.vn"))
        .await
        .unwrap();
    let status = settings
        .credentials_status(t, SettingKind::SmsProvider, &id)
        .await
        .unwrap();
    assert!(!status.configured);
    let status = settings
        .set_credentials(
            t,
            SettingKind::SmsProvider,
            &id,
            json!({"api_key": "key-acme", "secret_key": "secret-acme"}),
        )
        .await
        .unwrap();
    assert!(status.configured && status.updated_at.is_some());
    assert_eq!(w.secrets.names(), ["crm/acme/sms-providers/esms"]);
    // What the API answers about the setting says nothing of the value.
    let shown = serde_json::to_string(
        &settings
            .get(t, SettingKind::SmsProvider, &id)
            .await
            .unwrap()
            .value,
    )
    .unwrap();
    assert!(!shown.contains("key-acme"), "{shown}");

    // A body of the wrong shape changes nothing.
    let wrong = settings
        .set_credentials(
            t,
            SettingKind::SmsProvider,
            &id,
            json!({"access_token": "x"}),
        )
        .await;
    assert!(matches!(wrong, Err(SettingError::Invalid(_))), "{wrong:?}");
    assert!(
        w.secrets
            .value(&secret_name(t, "esms"))
            .unwrap()
            .contains("key-acme")
    );

    // Settings without credentials take none; deleting the provider deletes them.
    settings
        .create(t, &sid("hello"), &sms_template("Xin chào #Name"))
        .await
        .unwrap();
    assert!(matches!(
        settings
            .set_credentials(t, SettingKind::SmsTemplate, &sid("hello"), json!({}))
            .await,
        Err(SettingError::NoCredentials)
    ));
    settings
        .delete(t, SettingKind::SmsProvider, &id, 1)
        .await
        .unwrap();
    assert!(w.secrets.names().is_empty());
}

fn secret_name(
    tenant: &crm_model::ids::TenantId,
    id: &str,
) -> crm_model::settings::secrets::SecretName {
    crm_model::settings::secrets::SecretName::for_setting(
        tenant,
        SettingKind::SmsProvider,
        &sid(id),
    )
}

#[tokio::test]
async fn provider_urls_reach_public_https_hosts_only() {
    let w = World::new().await;
    let settings = settings(&w);
    let t = &w.tenant;
    for url in [
        "http://api.esms.vn",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.5/",
        "https://localhost:8443/",
    ] {
        let refused = settings
            .create(t, &sid("esms"), &brandname_provider(url))
            .await;
        let Err(SettingError::Invalid(problems)) = refused else {
            panic!("{url}: expected problems, got {refused:?}");
        };
        assert!(problems.has("/gateway/base_url"), "{url}: {problems}");
    }
    // A public-looking name that resolves inside the network is refused too.
    w.resolver.answer(
        "sms.attacker.example",
        &["169.254.169.254".parse().unwrap()],
    );
    let refused = settings
        .create(
            t,
            &sid("esms"),
            &brandname_provider("https://sms.attacker.example/"),
        )
        .await;
    let Err(SettingError::Invalid(problems)) = refused else {
        panic!("expected problems, got {refused:?}");
    };
    assert!(
        problems.to_string().contains("169.254.169.254"),
        "{problems}"
    );
    w.resolver
        .answer("api.esms.vn", &["203.162.1.10".parse().unwrap()]);
    settings
        .create(t, &sid("esms"), &brandname_provider("https://api.esms.vn/"))
        .await
        .unwrap();
}
