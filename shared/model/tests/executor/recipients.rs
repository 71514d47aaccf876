//! SMS and ZNS recipients: a number of a country the tenant does not send to, of a type texts
//! never go to (premium rate, …) or not valid is skipped, never sent, and recorded in the run;
//! a send with nobody left fails for good and says why.

use super::*;
use crm_model::action::SettingKind;
use crm_model::ids::UserId;
use crm_model::ports::SettingsStore;
use crm_model::ports::UserDirectory;
use crm_model::run::{SkipReason, SkippedRecipient};
use crm_model::settings::TenantSettings;
use crm_model::user::{Role, User};

/// The manager's number (a Vietnamese mobile, see the world's users), as the gateway gets it.
const MANAGER: &str = "+84982000002";

/// A birthday SMS to the customer's phone and to the manager.
fn sms_to_customer_and_manager() -> serde_json::Value {
    let mut definition = birthday_workflow();
    definition["actions"][0]["users"] = json!(["u-manager"]);
    definition
}

async fn send_to_countries(w: &World, countries: &[&str]) {
    let settings = TenantSettings {
        message_countries: countries.iter().map(|c| (*c).to_owned()).collect(),
        ..TenantSettings::default()
    };
    assert!(settings.validate().is_empty(), "{}", settings.validate());
    w.stores
        .settings
        .put_tenant_settings(&w.tenant, &settings, 0)
        .await
        .unwrap();
}

/// A salesperson with `phone`, stored as it is (the directory checks nothing).
async fn user_with_phone(w: &World, id: &str, phone: &str) {
    let user = User {
        id: UserId::new(id).unwrap(),
        name: format!("Người dùng {id}"),
        email: format!("{id}@example.vn"),
        phone: Some(phone.to_owned()),
        team: None,
        role: Role::Salesperson,
        manager: None,
        active: true,
    };
    w.stores.users.put(&w.tenant, &user).await.unwrap();
}

fn recipients(sent: &[crm_model::testing::memory::SmsMessage]) -> Vec<&str> {
    let mut to: Vec<&str> = sent.iter().map(|s| s.to.as_str()).collect();
    to.sort();
    to
}

#[tokio::test]
async fn a_foreign_number_is_skipped_and_recorded_when_the_tenant_sends_to_vietnam_only() {
    let w = World::new().await;
    let customer = w
        .customer(
            "c1",
            json!({"Name": "Emma", "Phone": "+44 7400 123456", "Owner": "u-owner"}),
        )
        .await;
    let workflow = w.workflow("wf-abroad", sms_to_customer_and_manager()).await;
    let job = w.job(&workflow, &customer, "sms");
    let outcome = w.deliver_twice(Delivery::InTurn, &job).await;
    assert_eq!(outcome, JobOutcome::Succeeded(vec!["sms-1".into()]));
    assert_eq!(
        recipients(&w.sms.delivered()),
        [MANAGER],
        "only the manager"
    );
    assert_eq!(w.sms.attempts(), 1, "the UK number was not even tried");
    let run = w.run(&job.idempotency_key()).await;
    assert_eq!(
        (run.status, run.error.as_deref()),
        (RunStatus::Succeeded, None)
    );
    assert_eq!(
        run.skipped,
        [SkippedRecipient {
            recipient: "+44 7400 123456".into(),
            reason: SkipReason::Country,
            detail: "a number of GB (+44), not among the countries the tenant sends SMS and ZNS to"
                .into(),
        }]
    );
    // As the run history shows it.
    assert_eq!(
        serde_json::to_value(&run).unwrap()["skipped"],
        json!([{"recipient": "+44 7400 123456", "reason": "country",
                "detail": "a number of GB (+44), not among the countries the tenant sends SMS and ZNS to"}])
    );
}

#[tokio::test]
async fn allowing_its_country_sends_to_the_foreign_number() {
    let w = World::new().await;
    send_to_countries(&w, &["VN", "GB"]).await;
    let customer = w
        .customer(
            "c1",
            json!({"Name": "Emma", "Phone": "+44 7400 123456", "Owner": "u-owner"}),
        )
        .await;
    let workflow = w.workflow("wf-abroad", sms_to_customer_and_manager()).await;
    let job = w.job(&workflow, &customer, "sms");
    let outcome = w.deliver_twice(Delivery::AtOnce, &job).await;
    assert!(
        matches!(&outcome, JobOutcome::Succeeded(ids) if ids.len() == 2),
        "{outcome:?}"
    );
    assert_eq!(
        recipients(&w.sms.delivered()),
        ["+447400123456", MANAGER],
        "each once, in E.164"
    );
    let run = w.run(&job.idempotency_key()).await;
    assert_eq!(run.status, RunStatus::Succeeded);
    assert!(run.skipped.is_empty(), "{:?}", run.skipped);
    assert!(
        serde_json::to_value(&run).unwrap().get("skipped").is_none(),
        "absent when nobody was skipped"
    );
}

#[tokio::test]
async fn a_premium_rate_number_is_never_sent_even_in_a_country_the_tenant_sends_to() {
    let w = World::new().await;
    send_to_countries(&w, &["VN", "GB"]).await;
    let customer = w
        .customer(
            "c1",
            json!({"Name": "Oliver", "Phone": "+44 909 876 5432", "Owner": "u-owner"}),
        )
        .await;
    let workflow = w
        .workflow("wf-premium", sms_to_customer_and_manager())
        .await;
    let job = w.job(&workflow, &customer, "sms");
    assert!(matches!(
        w.execute(&job).await.unwrap(),
        JobOutcome::Succeeded(_)
    ));
    assert_eq!(recipients(&w.sms.delivered()), [MANAGER]);
    let run = w.run(&job.idempotency_key()).await;
    assert_eq!(run.status, RunStatus::Succeeded);
    assert_eq!(run.skipped.len(), 1, "{:?}", run.skipped);
    assert_eq!(
        (run.skipped[0].recipient.as_str(), run.skipped[0].reason),
        ("+44 909 876 5432", SkipReason::NumberType)
    );
    assert!(
        run.skipped[0].detail.starts_with("a premium-rate number"),
        "{}",
        run.skipped[0].detail
    );
}

#[tokio::test]
async fn when_every_recipient_is_skipped_the_send_fails_for_good_and_says_why() {
    let w = World::new().await;
    // A Vietnamese premium-rate hotline; the tenant sends to Vietnam.
    let customer = w
        .customer(
            "c1",
            json!({"Name": "Tổng đài", "Phone": "1900 1234", "Owner": "u-owner"}),
        )
        .await;
    let workflow = w.workflow("wf-hotline", birthday_workflow()).await;
    let job = w.job(&workflow, &customer, "sms");
    let reason = "every recipient was skipped (1 of a type texts never go to); nothing was sent";
    assert_eq!(
        w.execute(&job).await.unwrap(),
        JobOutcome::Failed(reason.into())
    );
    assert_eq!(w.execute(&job).await.unwrap(), JobOutcome::Duplicate);
    assert_eq!(w.sms.attempts(), 0, "nothing sent, nothing tried");
    let run = w.run(&job.idempotency_key()).await;
    assert_eq!(
        (run.status, run.error.as_deref()),
        (RunStatus::Failed, Some(reason))
    );
    assert_eq!(run.skipped.len(), 1);
    assert_eq!(
        (run.skipped[0].recipient.as_str(), run.skipped[0].reason),
        ("1900 1234", SkipReason::NumberType)
    );

    // Every reason at once: a premium-rate number, a foreign one, an invalid one (stored before
    // numbers were checked as they are now).
    user_with_phone(&w, "u-abroad", "+1 415 555 0100").await;
    user_with_phone(&w, "u-typo", "0612 345 678").await;
    let mut definition = birthday_workflow();
    definition["actions"][0]["users"] = json!(["u-abroad", "u-typo"]);
    let workflow = w.workflow("wf-nobody", definition).await;
    let job = w.job(&workflow, &customer, "sms");
    let reason = "every recipient was skipped (1 not a valid phone number, 1 of a type texts \
                  never go to, 1 of a country the tenant does not send to); nothing was sent";
    assert_eq!(
        w.execute(&job).await.unwrap(),
        JobOutcome::Failed(reason.into())
    );
    let run = w.run(&job.idempotency_key()).await;
    let why: Vec<_> = run
        .skipped
        .iter()
        .map(|s| (s.recipient.as_str(), s.reason))
        .collect();
    assert_eq!(
        why,
        [
            ("1900 1234", SkipReason::NumberType),
            ("+1 415 555 0100", SkipReason::Country),
            ("0612 345 678", SkipReason::InvalidNumber),
        ]
    );
    assert_eq!(w.sms.attempts(), 0);
}

#[tokio::test]
async fn spellings_of_one_skipped_number_are_one_skipped_recipient() {
    let w = World::new().await;
    user_with_phone(&w, "u-emma", "+447400123456").await;
    let mut definition = sms_to_customer_and_manager();
    definition["actions"][0]["users"] = json!(["u-manager", "u-emma"]);
    let workflow = w.workflow("wf-twice", definition).await;
    let customer = w
        .customer(
            "c1",
            json!({"Name": "Emma", "Phone": "+44 7400 123456", "Owner": "u-owner"}),
        )
        .await;
    let job = w.job(&workflow, &customer, "sms");
    assert!(matches!(
        w.execute(&job).await.unwrap(),
        JobOutcome::Succeeded(_)
    ));
    let run = w.run(&job.idempotency_key()).await;
    assert_eq!(run.skipped.len(), 1, "{:?}", run.skipped);
    assert_eq!(
        run.skipped[0].recipient, "+44 7400 123456",
        "as first entered"
    );
}

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
        json!({"kind": "zns_template", "name": "HPBD", "zalo_template_id": "231677", "parameters": ["customer_name"]}),
    )
    .await;
    w
}

#[tokio::test]
async fn a_zns_skips_a_foreign_number_and_sends_to_the_vietnamese_ones() {
    let w = zns_world().await;
    let customer = w
        .customer(
            "c1",
            json!({"Name": "John", "Phone": "+1 415 555 0100", "Owner": "u-owner"}),
        )
        .await;
    let workflow = w
        .workflow(
            "wf-zns",
            json!({
                "module": "Customer", "name": "ZNS",
                "trigger": {"type": "time", "date_field": "Birthday", "recurrence": "yearly", "time_of_day": "08:00:00"},
                "actions": [{"kind": "zns", "id": "zns", "name": "ZNS", "provider": "oa", "recipient_field": {"field": "Phone"},
                             "users": ["u-owner"], "template": "zns-hpbd", "parameters": {"customer_name": "#Name"}}]
            }),
        )
        .await;
    let job = w.job(&workflow, &customer, "zns");
    assert!(matches!(
        w.deliver_twice(Delivery::InTurn, &job).await,
        JobOutcome::Succeeded(_)
    ));
    let sent: Vec<String> = w.zns.delivered().into_iter().map(|z| z.phone).collect();
    assert_eq!(sent, ["84981000001"], "the owner only, without the plus");
    let run = w.run(&job.idempotency_key()).await;
    let why: Vec<_> = run
        .skipped
        .iter()
        .map(|s| (s.recipient.as_str(), s.reason))
        .collect();
    assert_eq!(why, [("+1 415 555 0100", SkipReason::Country)]);
}
