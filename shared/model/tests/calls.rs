//! Calls through the tenant's VOIP switchboard, over the in-memory stores: a user calls the
//! customer from the CRM (the switchboard rings their extension, once per key), and the
//! switchboard's signed call events become one Call record per call, whatever their repeats
//! and order.

mod support;

use crm_model::action::SettingKind;
use crm_model::ids::SettingId;
use crm_model::ports::{SecretVault, SendError, SettingsStore};
use crm_model::record::service::{CallEventError, CallRequest, RecordError, Telephony};
use crm_model::schema::Module;
use crm_model::settings::secrets::{SecretName, SecretValue};
use crm_model::testing::memory::RecordingSwitchboard;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use support::crm::{Crm, rid};

const SECRET: &str = "whsec-lan-anh";

/// Lan (`c1`, 0912345678) and her contact Tuấn (`k1`, 0987654321); the switchboard `pbx`
/// where the salesperson is extension 101.
async fn lan() -> (Crm, RecordingSwitchboard) {
    let crm = Crm::new().await;
    crm.create(
        Module::Customer,
        "c1",
        json!({"Name": "Lan", "Phone": "0912345678"}),
    )
    .await;
    crm.create(
        Module::Contact,
        "k1",
        json!({"Name": "Tuấn", "Customer": "c1", "Phone": "0987654321"}),
    )
    .await;
    crm.w
        .stores
        .settings
        .create(
            &crm.w.tenant,
            &SettingId::new("pbx").unwrap(),
            &serde_json::from_value(json!({"kind": "voip_provider", "name": "Tổng đài",
                "base_url": "https://pbx.example.vn", "extensions": {"u-sales": "101"}}))
            .unwrap(),
        )
        .await
        .unwrap();
    let name = SecretName::for_setting(
        &crm.w.tenant,
        SettingKind::VoipProvider,
        &SettingId::new("pbx").unwrap(),
    );
    crm.w
        .secrets
        .put(
            &name,
            &SecretValue::new(json!({"api_key": "key-1", "secret_key": SECRET}).to_string()),
        )
        .await
        .unwrap();
    (crm, RecordingSwitchboard::new())
}

fn telephony<'a>(crm: &'a Crm, switchboard: &'a RecordingSwitchboard) -> Telephony<'a> {
    Telephony {
        records: crm.records(),
        switchboard,
        secrets: &crm.w.secrets,
    }
}

fn call(key: &str, phone: &str) -> CallRequest {
    CallRequest {
        key: key.into(),
        phone: phone.into(),
        contact: None,
        provider: None,
    }
}

fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

async fn event(crm: &Crm, switchboard: &RecordingSwitchboard, body: Value) -> String {
    let bytes = body.to_string().into_bytes();
    telephony(crm, switchboard)
        .call_event(&format!("{}.pbx", crm.w.tenant), &sign(&bytes), &bytes)
        .await
        .unwrap()
        .to_string()
}

fn field(record: &crm_model::ports::StoredRecord, name: &str) -> Value {
    record.fields.get(name).cloned().unwrap_or(Value::Null)
}

#[tokio::test]
async fn a_user_calls_the_customer_through_their_extension_once_per_key_and_the_events_fill_the_call()
 {
    let (crm, switchboard) = lan().await;
    let calls = telephony(&crm, &switchboard);
    let placed = calls
        .click_to_call(&crm.sales(), &rid("c1"), &call("c-1", "+84 912 345 678"))
        .await
        .unwrap();
    assert!(!placed.replayed);
    let id = placed.call.value.id.clone();
    assert_eq!(field(&placed.call.value, "Status"), json!("Ringing"));
    assert_eq!(field(&placed.call.value, "Customer"), json!("c1"));
    assert_eq!(field(&placed.call.value, "Direction"), json!("Outbound"));
    let asked = switchboard.delivered();
    assert_eq!(asked.len(), 1);
    assert_eq!(
        (
            asked[0].extension.as_str(),
            asked[0].phone.as_str(),
            asked[0].call_ref.as_str()
        ),
        ("101", "+84912345678", id.as_str())
    );
    assert_eq!(asked[0].api_key, "key-1");
    // A double click: the same call, the switchboard not asked again.
    let again = calls
        .click_to_call(&crm.sales(), &rid("c1"), &call("c-1", "0912345678"))
        .await
        .unwrap();
    assert!(again.replayed && again.call.value.id == id);
    assert_eq!(switchboard.delivered().len(), 1);

    // The switchboard's events, one repeated and one late, all on that call.
    let provider_id = asked[0].call_id.clone();
    let base = json!({"call_id": provider_id, "direction": "outbound", "from": "101",
        "to": "0912345678", "extension": "101", "call_ref": id.as_str()});
    let with = |stage: &str, at: &str, extra: Value| {
        let mut body = base.clone();
        body["event"] = json!(stage);
        body["at"] = json!(at);
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    for body in [
        with("answered", "2026-06-01T02:00:10Z", json!({})),
        with(
            "ended",
            "2026-06-01T02:03:10Z",
            json!({"duration_seconds": 180, "recording_url": "https://pbx.example.vn/r/1.mp3"}),
        ),
        with(
            "ended",
            "2026-06-01T02:03:10Z",
            json!({"duration_seconds": 180}),
        ),
        with("ringing", "2026-06-01T02:00:01Z", json!({})),
    ] {
        assert_eq!(event(&crm, &switchboard, body).await, id.as_str());
    }
    let stored = crm.stored(id.as_str()).await.unwrap().value;
    assert_eq!(field(&stored, "Status"), json!("Ended"), "never taken back");
    assert_eq!(field(&stored, "DurationSeconds"), json!(180));
    assert_eq!(
        field(&stored, "Recording"),
        json!("https://pbx.example.vn/r/1.mp3")
    );
    let all = crm
        .records()
        .activities(&crm.sales(), Module::Customer, &rid("c1"), false, 50, None)
        .await
        .unwrap();
    let logged = all
        .items
        .iter()
        .filter(|a| matches!(a, crm_model::record::service::Activity::Record(r) if r.value.module == Module::Call))
        .count();
    assert_eq!(logged, 1, "one call, whatever the events");
}

#[tokio::test]
async fn an_incoming_call_is_logged_once_on_the_customer_whose_number_rang_for_the_extensions_user()
{
    let (crm, switchboard) = lan().await;
    let body = json!({"call_id": "in-77", "event": "ringing", "direction": "inbound",
        "from": "0912 345 678", "to": "19001234", "extension": "101", "at": "2026-06-01T03:00:00Z"});
    let id = event(&crm, &switchboard, body.clone()).await;
    assert_eq!(
        event(&crm, &switchboard, body).await,
        id,
        "a repeat: the same call"
    );
    let missed = json!({"call_id": "in-77", "event": "missed", "direction": "inbound",
        "from": "0912345678", "to": "19001234", "at": "2026-06-01T03:00:30Z"});
    event(&crm, &switchboard, missed).await;
    let stored = crm.stored(&id).await.unwrap().value;
    assert_eq!(field(&stored, "Customer"), json!("c1"));
    assert_eq!(field(&stored, "Owner"), json!("u-sales"));
    assert_eq!(field(&stored, "Direction"), json!("Inbound"));
    assert_eq!(field(&stored, "Status"), json!("Missed"));
    assert_eq!(field(&stored, "Phone"), json!("+84912345678"));
}

#[tokio::test]
async fn an_event_is_taken_only_with_the_switchboards_own_signature_and_in_shape() {
    let (crm, switchboard) = lan().await;
    let calls = telephony(&crm, &switchboard);
    let body = json!({"call_id": "x", "event": "ringing", "direction": "inbound",
        "from": "0912345678", "to": "1900", "at": "2026-06-01T03:00:00Z"})
    .to_string()
    .into_bytes();
    let endpoint = format!("{}.pbx", crm.w.tenant);
    let forged = calls.call_event(&endpoint, "sha256=00ff", &body).await;
    assert!(
        matches!(forged, Err(CallEventError::BadSignature)),
        "{forged:?}"
    );
    let unsigned = calls.call_event(&endpoint, "", &body).await;
    assert!(matches!(unsigned, Err(CallEventError::BadSignature)));
    // The right signature for another tenant's name is nobody's switchboard.
    let elsewhere = calls
        .call_event("other-tenant.pbx", &sign(&body), &body)
        .await;
    assert!(
        matches!(elsewhere, Err(CallEventError::NotFound)),
        "{elsewhere:?}"
    );
    let bad = json!({"call_id": "", "event": "ringing", "direction": "inbound",
        "from": "0912345678", "to": "1900", "at": "2026-06-01T03:00:00Z",
        "recording_url": "http://pbx.example.vn/r.mp3"})
    .to_string()
    .into_bytes();
    match calls.call_event(&endpoint, &sign(&bad), &bad).await {
        Err(CallEventError::Invalid(problems)) => {
            let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
            assert_eq!(paths, ["/call_id", "/recording_url"]);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_call_is_refused_in_words_for_a_stranger_number_a_user_without_extension_or_a_switchboard_that_says_no()
 {
    let (crm, switchboard) = lan().await;
    let calls = telephony(&crm, &switchboard);
    let stranger = calls
        .click_to_call(&crm.sales(), &rid("c1"), &call("c-2", "0900000000"))
        .await;
    assert!(
        matches!(&stranger, Err(RecordError::Invalid(p)) if p.iter().any(|p| p.path == "/phone")),
        "{stranger:?}"
    );
    let no_extension = calls
        .click_to_call(
            &crm.actor("u-manager"),
            &rid("c1"),
            &call("c-3", "0912345678"),
        )
        .await;
    assert!(
        matches!(&no_extension, Err(RecordError::Conflict(m)) if m.contains("extension")),
        "{no_extension:?}"
    );
    assert!(switchboard.delivered().is_empty());
    // The contact's number is called on the contact.
    switchboard.fail_next(1, SendError::Permanent("extension 101 is offline".into()));
    let refused = calls
        .click_to_call(&crm.sales(), &rid("c1"), &call("c-4", "0987654321"))
        .await
        .unwrap();
    assert_eq!(field(&refused.call.value, "Status"), json!("Failed"));
    assert_eq!(field(&refused.call.value, "Contact"), json!("k1"));
    assert_eq!(
        field(&refused.call.value, "Description"),
        json!("extension 101 is offline")
    );
    // A switchboard that does not answer: the call stays asked for, and the error says retry.
    switchboard.fail_next(1, SendError::Transient("timeout".into()));
    let down = calls
        .click_to_call(&crm.sales(), &rid("c1"), &call("c-5", "0912345678"))
        .await;
    assert!(matches!(down, Err(RecordError::Store(_))), "{down:?}");
}

#[tokio::test]
async fn a_key_names_one_call_a_call_never_placed_is_asked_again_once_and_a_hand_logged_call_is_never_taken_over()
 {
    let (crm, switchboard) = lan().await;
    let calls = telephony(&crm, &switchboard);
    // The number must be the named contact's.
    let mut wrong = call("c-6", "0912345678");
    wrong.contact = Some(rid("k1"));
    let refused = calls.click_to_call(&crm.sales(), &rid("c1"), &wrong).await;
    assert!(
        matches!(&refused, Err(RecordError::Invalid(p)) if p.iter().any(|p| p.path == "/contact")),
        "{refused:?}"
    );
    // No answer from the switchboard: the call stays asked for; the same key at once is told to
    // wait, and half a minute later asks again, once.
    switchboard.fail_next(1, SendError::Transient("timeout".into()));
    let first = calls
        .click_to_call(&crm.sales(), &rid("c1"), &call("c-7", "0912345678"))
        .await;
    assert!(matches!(first, Err(RecordError::Store(_))), "{first:?}");
    let soon = calls
        .click_to_call(&crm.sales(), &rid("c1"), &call("c-7", "0912345678"))
        .await;
    assert!(
        matches!(&soon, Err(RecordError::Conflict(m)) if m.contains("being placed")),
        "{soon:?}"
    );
    crm.clock.advance(chrono::Duration::seconds(31));
    let later = calls
        .click_to_call(&crm.sales(), &rid("c1"), &call("c-7", "0912345678"))
        .await
        .unwrap();
    assert_eq!(field(&later.call.value, "Status"), json!("Ringing"));
    assert_eq!(switchboard.attempts(), 2, "the first try and the one again");
    let again = calls
        .click_to_call(&crm.sales(), &rid("c1"), &call("c-7", "0912345678"))
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(switchboard.attempts(), 2);
    // The same key for another number is a mistake, said as such.
    let reused = calls
        .click_to_call(&crm.sales(), &rid("c1"), &call("c-7", "0987654321"))
        .await;
    assert!(
        matches!(reused, Err(RecordError::Conflict(_))),
        "{reused:?}"
    );

    // A call logged by hand is the user's: an event naming it is a call of its own.
    let logged = crm
        .create(
            Module::Call,
            "call-by-hand",
            json!({"Subject": "Gọi tư vấn", "Customer": "c1", "Status": "Ended"}),
        )
        .await;
    let body = json!({"call_id": "x-9", "event": "ringing", "direction": "outbound",
        "from": "101", "to": "0912345678", "at": "2026-06-01T05:00:00Z",
        "call_ref": logged.value.id.as_str()});
    let id = event(&crm, &switchboard, body).await;
    assert_ne!(id, logged.value.id.as_str());
    let untouched = crm.stored("call-by-hand").await.unwrap().value;
    assert_eq!(field(&untouched, "Status"), json!("Ended"));
    assert_eq!(field(&untouched, "ProviderCallId"), Value::Null);
}
